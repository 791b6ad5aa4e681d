"""Signed-in sessions: starting one (always a new session), the pending second sign-in step, idle and
absolute time-outs, re-authentication before sensitive changes, and the gate that keeps a user who must
enrol a second factor on the enrolment page.

The times live in the (signed) session cookie as UNIX seconds: auth_started (sign-in), auth_seen (last
request, to the minute) and auth_fresh (last time the password was typed)."""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm.accounts.models import User
from crm.accounts.twofactor import enrolment_needed
from crm.api.problems import is_api_request
from crm.audit import services as audit
from crm.database import utcnow
from crm.extensions import db
from crm.translation import gettext
from crm.web import flash_message, keep_changes

STARTED, SEEN, FRESH, PENDING = "auth_started", "auth_seen", "auth_fresh", "auth_pending"
# How long the second step may wait after the password was accepted.
PENDING_SECONDS = 5 * 60
# auth_seen is rewritten at most this often, so that not every response sets a new cookie.
SEEN_RESOLUTION_SECONDS = 60
# What a user who must enrol a second factor may still reach before they have.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "accounts.two_factor_setup",
        "accounts.reauthenticate",
        "accounts.logout",
        "core.set_language",
        "core.healthz",
        "static",
    }
)


def _seconds(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def idle_timeout() -> int:
    return _seconds("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)


def absolute_timeout() -> int:
    return _seconds("SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 60 * 60)


def reauthentication_max_age() -> int:
    return _seconds("REAUTHENTICATION_MAX_AGE_SECONDS", 5 * 60)


def _clear_keeping_language() -> None:
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def start(user: User) -> None:
    """Sign `user` in, in a new session: nothing from before sign-in is carried over but the language."""
    _clear_keeping_language()
    login_user(user)
    now = utcnow().timestamp()
    session[STARTED] = session[SEEN] = session[FRESH] = now


def renew(user: User) -> None:
    """Keep this session signed in after the user's session token changed (their own password or
    second-factor change ends every other session). The absolute time-out still counts from sign-in."""
    started = session.get(STARTED)
    start(user)
    if started is not None:
        session[STARTED] = started


def end() -> None:
    logout_user()
    _clear_keeping_language()


def begin_second_step(user: User, next_url: str) -> None:
    _clear_keeping_language()
    session[PENDING] = {"token": user.session_token, "at": utcnow().timestamp(), "next": next_url}


def pending_user() -> User | None:
    """The user whose password was accepted in this browser within PENDING_SECONDS, if still valid."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db.session.scalar(sa.select(User).where(User.session_token == str(pending.get("token", ""))))
    if user is None or not user.is_active or not user.has_two_factor:
        return None
    return user


def pending_next() -> str:
    pending = session.get(PENDING) or {}
    return pending.get("next") or url_for("core.home")


def is_fresh() -> bool:
    fresh = session.get(FRESH)
    return fresh is not None and utcnow().timestamp() - float(fresh) <= reauthentication_max_age()


def mark_fresh() -> None:
    session[FRESH] = utcnow().timestamp()


def fresh_login_required(view):
    """Ask for the password again when it was last typed more than REAUTHENTICATION_MAX_AGE_SECONDS
    ago. A GET comes back to the same page afterwards; a POST to the account page (its form is lost)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_fresh():
            target = request.full_path if request.method == "GET" else url_for("accounts.account")
            return redirect(url_for("accounts.reauthenticate", next=target.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


# --- Hooks run before every request (registered by the accounts blueprint) --------------------------


def enforce_session_lifetime():
    """End a session idle for longer than SESSION_IDLE_TIMEOUT_SECONDS or older than
    SESSION_ABSOLUTE_TIMEOUT_SECONDS. A session without the times (made before they existed) ends too."""
    if request.endpoint == "static" or is_api_request() or not current_user.is_authenticated:
        return None
    now = utcnow().timestamp()
    started, seen = session.get(STARTED), session.get(SEEN)
    reason = None
    if started is None or seen is None:
        reason = "unknown"
    elif now - float(started) > absolute_timeout():
        reason = "absolute"
    elif now - float(seen) > idle_timeout():
        reason = "idle"
    if reason is None:
        if now - float(seen) >= SEEN_RESOLUTION_SECONDS:
            session[SEEN] = now
        return None

    user = current_user._get_current_object()
    audit.record("auth.session_expired", actor=user, entity=user, after={"reason": reason})
    keep_changes()  # with the request's commit, even when the page then answers with an error
    end()
    flash_message(gettext("Your session has ended. Please sign in again."), "info")
    return None  # the view's login_required sends the visitor to the sign-in page


def require_two_factor_enrolment():
    """A user who must have a second factor and has none can do nothing but enrol (or sign out)."""
    if is_api_request():
        return None  # a token of a user who must enrol does not work at all (crm/api/tokens.py)
    if not current_user.is_authenticated or request.endpoint is None or request.endpoint in ENROLMENT_ENDPOINTS:
        return None

    if enrolment_needed(current_user):
        return redirect(url_for("accounts.two_factor_setup"))
    return None
