"""The second factor: TOTP (RFC 6238, 30-second steps, 6 digits) with one-time recovery codes.

A code is accepted once: the last accepted time step is kept per user, and a code for that step or an
earlier one is refused, also when two workers receive the same code at the same moment (the step is
advanced with a conditional UPDATE). The secret is stored encrypted (crm.encryption) and shown only
while it is being enrolled."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app

from crm.accounts.errors import AccountError, WrongCode
from crm.accounts.models import RecoveryCode, User
from crm.audit import services as audit
from crm.database import utcnow
from crm.extensions import db
from crm.permissions import role_can
from crm.translation import gettext

INTERVAL = 30
DIGITS = 6
# Steps accepted either side of now, for phones whose clock is a little off.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# Crockford's base32 (no i, l, o, u): 16 characters are 80 random bits.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_CODE_LENGTH = 16


def two_factor_required(user) -> bool:
    """Whether this user may use Alcance only with a second factor."""
    return role_can(user.role, "second_factor_required") or bool(current_app.config.get("REQUIRE_2FA_FOR_ALL", False))


def enrolment_needed(user) -> bool:
    return two_factor_required(user) and not user.has_two_factor


def issuer() -> str:
    # Configurable, because the name shows in the authenticator app of a phone that may be searched.
    return str(current_app.config.get("TOTP_ISSUER") or "Alcance")


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=user.email, issuer_name=issuer())


def qr_code(uri: str) -> str:
    """The URI as a QR code, an SVG data: URI drawn here (no outside service ever sees the secret)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _digits(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def step_at(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // INTERVAL


def matching_step(secret: str, code: str, *, now: dt.datetime, after: int | None = None) -> int | None:
    """The time step `code` belongs to, within the window around `now` and later than `after`."""
    code = _digits(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    current = step_at(now)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Every candidate is compared, in constant time, so the answer takes as long whichever matches.
        if hmac.compare_digest(totp.generate_otp(step), code) and (after is None or step > after):
            found = step if found is None else found
    return found


def _advance_step(user: User, step: int) -> bool:
    """Record `step` as used unless it (or a later one) already was. Atomic across workers."""
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(user, ["totp_last_step"])
    return True


def verify_totp(user: User, code: str, *, now: dt.datetime | None = None) -> bool:
    if not user.has_two_factor:
        return False
    step = matching_step(user.totp_secret, code, now=now or utcnow(), after=user.totp_last_step)
    return step is not None and _advance_step(user, step)


# --- Recovery codes ---------------------------------------------------------------------------------


def _normalise_recovery_code(code: str | None) -> str:
    # Crockford's reading: o is 0, i and l are 1; dashes and spaces are only for the eye.
    text = "".join(ch for ch in (code or "").lower() if ch not in " -\t")
    return text.translate(str.maketrans({"o": "0", "i": "1", "l": "1"}))


def _hash_recovery_code(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("ascii", "replace")).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def replace_recovery_codes(user: User, *, now: dt.datetime | None = None) -> list[str]:
    """Delete the user's recovery codes and make new ones. The codes are returned once, never stored."""
    now = now or utcnow()
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(_normalise_recovery_code(code)), created_at=now)
        )
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def use_recovery_code(user: User, code: str, *, now: dt.datetime | None = None) -> bool:
    """Spend one recovery code. Atomic: two workers given the same code accept it once."""
    normalised = _normalise_recovery_code(code)
    if not user.has_two_factor or len(normalised) != RECOVERY_CODE_LENGTH:
        return False
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery_code(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    audit.record("auth.recovery_code_used", actor=user, entity=user, after={"left": recovery_codes_left(user)})
    return True


def verify_second_factor(user: User, code: str, *, now: dt.datetime | None = None) -> str | None:
    """Either kind of code in one field (the reset form): which one was accepted, or None."""
    if verify_totp(user, code, now=now):
        return "totp"
    if use_recovery_code(user, code, now=now):
        return "recovery_code"
    return None


# --- Enrolment and removal ----------------------------------------------------------------------------


def pending_secret(user: User) -> str:
    """The secret being enrolled, made on first call and kept until confirmed or replaced."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = new_secret()
        db.session.flush()
    return user.totp_pending_secret


def confirm_enrolment(user: User, code: str, *, now: dt.datetime | None = None) -> list[str]:
    """Make the pending secret the user's factor once they typed a code from it. Returns the new
    recovery codes (shown once). Every session of the user ends; the caller renews the current one."""
    now = now or utcnow()
    if not user.totp_pending_secret:
        raise AccountError(gettext("Start again: open the set-up page to get a new key."))
    step = matching_step(user.totp_pending_secret, code, now=now)
    if step is None:
        raise WrongCode(gettext("That code does not match. Check the time on your phone and type the newest code."))
    replacing = user.has_two_factor
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = replace_recovery_codes(user, now=now)
    user.end_all_sessions()
    audit.record("auth.2fa_enrol", actor=user, entity=user, after={"by": "user", "replaced": replacing})
    return codes


def enrol_by_command(user: User, *, actor="cli", now: dt.datetime | None = None) -> str:
    """A new factor set by an administrator (`flask users enroll-2fa`): replaces any old one, removes
    the recovery codes, ends every session. Returns the otpauth:// URI, to be handed over safely."""
    now = now or utcnow()
    replacing = user.has_two_factor
    secret = new_secret()
    user.totp_secret, user.totp_pending_secret = secret, None
    user.totp_enabled_at = now
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_all_sessions()
    audit.record("auth.2fa_enrol", actor=actor, entity=user, after={"by": "command", "replaced": replacing})
    return provisioning_uri(user, secret)


def _remove(user: User) -> None:
    user.totp_secret = user.totp_pending_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_all_sessions()


def disable(user: User) -> None:
    """The user turns their own second factor off, where their role allows it."""
    if two_factor_required(user):
        raise AccountError(
            gettext("Your account must use two-step sign-in. You can set up a new authenticator, but not turn it off.")
        )
    if not user.has_two_factor:
        raise AccountError(gettext("Two-step sign-in is already off."))
    _remove(user)
    audit.record("auth.2fa_disable", actor=user, entity=user, before={"enabled": True}, after={"enabled": False})


def reset_by_command(user: User, *, actor="cli") -> bool:
    """`flask users reset-2fa`: remove the factor (a lost phone). True if there was one."""
    had = user.has_two_factor or bool(user.totp_pending_secret)
    _remove(user)
    audit.record("auth.2fa_reset", actor=actor, entity=user, before={"enabled": had}, after={"enabled": False})
    return had


def regenerate_recovery_codes(user: User, *, now: dt.datetime | None = None) -> list[str]:
    if not user.has_two_factor:
        raise AccountError(gettext("Set up two-step sign-in first."))
    codes = replace_recovery_codes(user, now=now)
    user.end_all_sessions()
    audit.record("auth.2fa_recovery_codes", actor=user, entity=user, after={"count": len(codes)})
    return codes
