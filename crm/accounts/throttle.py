"""Sign-in throttling kept in the database (table login_attempt), so that every web worker and every
server counts the same attempts. Failures are counted per account name typed, whether or not such an
account exists, and per client address; an answer over the limit is the same in both cases.

A browser that has signed in to the account before shows its device id (crm/accounts/devices.py, after
OWASP's "device cookies"): its failures are counted for that device alone, against the account limit, and
failures from other clients do not count against it. So someone who knows a defender's e-mail address can
hold the account shut to every new browser, but not to the laptop and phone the defender already uses."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from crm.accounts.models import LoginAttempt
from crm.database import serialise, utcnow
from crm.extensions import db
from crm.web import client_key

# kind -> (config key, default) for the window and the two limits.
LIMITS = {
    "failure": {
        "window": ("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60),
        "account": ("LOGIN_THROTTLE_ACCOUNT_LIMIT", 5),
        "address": ("LOGIN_THROTTLE_ADDRESS_LIMIT", 20),
    },
    "reset_request": {
        "window": ("PASSWORD_RESET_THROTTLE_WINDOW_SECONDS", 60 * 60),
        "account": ("PASSWORD_RESET_THROTTLE_ACCOUNT_LIMIT", 3),
        "address": ("PASSWORD_RESET_THROTTLE_ADDRESS_LIMIT", 10),
    },
}
# Rows older than this are deleted as new ones come in: long past every window, short enough that the
# table stays small and says little about who tried to sign in when.
RETENTION = dt.timedelta(days=1)


def _setting(kind: str, what: str) -> int:
    name, default = LIMITS[kind][what]
    return int(current_app.config.get(name, default))


def account_key(email: str | None) -> str | None:
    key = (email or "").strip().lower()[:254]
    return key or None


def address_key(address: str | None) -> str | None:
    """The address as counted (crm.web.client_key); something that is no address, as it came."""
    return client_key(address) or (address[:64] if address else None)


def _count(kind: str, since: dt.datetime, *conditions) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.kind == kind, LoginAttempt.occurred_at > since, *conditions)
    )


def _serialise(kind: str, *keys: str | None) -> None:
    """Attempts on the same account, address or device wait here for one another until the earlier one's
    transaction ends (its failure counted)."""
    serialise(db.session, *(f"alcance.throttle:{kind}:{key}" for key in keys if key))


def is_throttled(
    account: str | None,
    address: str | None,
    *,
    kind: str = "failure",
    device: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """True when `kind` has reached its limit within the window: for a known `device`, its own failures
    against the account limit; otherwise the account's and the address's failures from unknown clients.
    Until the caller's transaction ends, no other attempt on the same keys passes this check, so the
    failure the caller records is counted before the next check (N parallel guesses cannot all pass)."""
    now = now or utcnow()
    since = now - dt.timedelta(seconds=_setting(kind, "window"))
    if device:
        _serialise(kind, f"device:{device}")
    else:
        _serialise(
            kind,
            f"account:{account_key(account)}" if account_key(account) else None,
            f"address:{address_key(address)}" if address_key(address) else None,
        )
    if device:
        return _count(kind, since, LoginAttempt.device == device) >= _setting(kind, "account")
    account, address = account_key(account), address_key(address)
    unknown = LoginAttempt.device.is_(None)
    if account and _count(kind, since, unknown, LoginAttempt.account == account) >= _setting(kind, "account"):
        return True
    if address and _count(kind, since, unknown, LoginAttempt.address == address) >= _setting(kind, "address"):
        return True
    return False


def record(
    kind: str, account: str | None, address: str | None, *, device: str | None = None, now: dt.datetime | None = None
) -> None:
    """Count one attempt. The caller commits (even when the request then fails)."""
    now = now or utcnow()
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.occurred_at < now - RETENTION))
    db.session.add(
        LoginAttempt(
            kind=kind,
            account=account_key(account),
            address=address_key(address),
            device=device or None,
            occurred_at=now,
        )
    )
    db.session.flush()
