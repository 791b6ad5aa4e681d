"""Device cookies: a browser that completed a sign-in to an account is recognised at the next one, so that
the sign-in throttle can count its failures apart from everyone else's (crm/accounts/throttle.py).

The cookie is signed with the app's secret and holds a random device id and a hash of the account name
(not the address itself: a cookie is readable by whoever holds the browser). It grants no access: it
only decides which failures count against this browser. Names: `alcance_device`, HttpOnly,
SameSite=Lax, Secure outside development, for DEVICE_COOKIE_DAYS (default 180); one account per browser
(the last one signed in to).
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from crm.accounts.throttle import account_key

COOKIE = "alcance_device"
_SALT = "alcance.device-cookie"
DAY_SECONDS = 24 * 60 * 60


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _account_digest(email: str | None) -> str | None:
    account = account_key(email)
    return hashlib.sha256(account.encode()).hexdigest()[:32] if account else None


def _lifetime_seconds() -> int:
    return int(current_app.config["DEVICE_COOKIE_DAYS"]) * DAY_SECONDS


def presented(email: str | None) -> str | None:
    """The device id this request's cookie gives for the account `email`, or None (no cookie, another
    account's, expired or tampered with)."""
    value, account = request.cookies.get(COOKIE), _account_digest(email)
    if not value or not account:
        return None
    try:
        data = _serializer().loads(value, max_age=_lifetime_seconds())
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("account") != account or not isinstance(data.get("device"), str):
        return None
    return data["device"][:32]


def remember(response, email: str):
    """Set the cookie on `response` after a completed sign-in: the same device id if this browser
    already had one for the account, else a new one."""
    device = presented(email) or secrets.token_urlsafe(16)
    response.set_cookie(
        COOKIE,
        _serializer().dumps({"account": _account_digest(email), "device": device}),
        max_age=_lifetime_seconds(),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response
