"""Account rules: creating users, signing in (password, then the second factor), changing passwords,
roles. Shared by the pages and the `users` commands."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from crm.accounts import throttle, twofactor
from crm.accounts.errors import AccountError, TooManyAttempts, WrongPassword  # noqa: F401 (re-exported)
from crm.accounts.models import (
    LANGUAGES,
    ROLES,
    PasswordResetToken,
    User,
    verify_dummy_password,
)
from crm.accounts.passwords import (  # noqa: F401
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    check_password,
)
from crm.audit import services as audit
from crm.database import utcnow
from crm.extensions import db
from crm.permissions import roles_that_can
from crm.translation import gettext
from crm.translation import lazy_gettext as _l


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise AccountError(gettext("invalid e-mail address: %(reason)s", reason=str(error))) from None


def check_password_policy(password: str, *, email: str | None = None, name: str | None = None) -> None:
    try:
        check_password(password, email=email, name=name)
    except PasswordRejected as error:
        raise AccountError(str(error)) from None


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def _new_user(email: str, name: str, role: str, password: str | None, *, language: str, timezone: str) -> User:
    """A checked new account, added and flushed; with no password when `password` is None."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(
            gettext("unknown role %(role)s; choose one of: %(roles)s", role=repr(role), roles=", ".join(ROLES))
        )
    if language not in LANGUAGES:
        raise AccountError(
            gettext(
                "unknown language %(language)s; choose one of: %(languages)s",
                language=repr(language),
                languages=", ".join(LANGUAGES),
            )
        )
    if not name or not name.strip():
        raise AccountError(gettext("a name is required"))
    if timezone not in zoneinfo.available_timezones():
        raise AccountError(gettext("unknown time zone %(timezone)s", timezone=repr(timezone)))
    if password is not None:
        check_password_policy(password, email=email, name=name)
    if find_by_email(email):
        raise AccountError(gettext("a user with the e-mail %(email)s already exists", email=email))
    user = User(email=email, name=name.strip(), role=role, language=language, timezone=timezone, password_hash=None)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def create_user(email: str, name: str, role: str, password: str, *, language: str = "en", actor=None) -> User:
    user = _new_user(email, name, role, password, language=language, timezone="UTC")
    audit.record("user.create", actor=actor, entity=user, after={"email": user.email, "role": role, "name": user.name})
    return user


def create_user_without_sign_in(
    email: str, name: str, role: str, *, language: str = "en", timezone: str = "UTC", actor=None
) -> User:
    """An account nobody can sign in to: no password, and no invitation sent. For staff who are only named
    on records (the demo's fictional coordinators and volunteers); a password set later opens it."""
    user = _new_user(email, name, role, None, language=language, timezone=timezone)
    audit.record(
        "user.create",
        actor=actor,
        entity=user,
        after={"email": user.email, "role": role, "name": user.name, "sign_in": False},
    )
    return user


def set_role(user: User, role: str, *, actor=None) -> None:
    if role not in ROLES:
        raise AccountError(
            gettext("unknown role %(role)s; choose one of: %(roles)s", role=repr(role), roles=", ".join(ROLES))
        )
    before = user.role
    user.role = role
    audit.record("user.set_role", actor=actor, entity=user, before={"role": before}, after={"role": role})


def deactivate(user: User, *, actor=None) -> None:
    user.active = False
    user.end_all_sessions()
    audit.record("user.deactivate", actor=actor, entity=user, before={"active": True}, after={"active": False})


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise AccountError(
            gettext(
                "unknown language %(language)s; choose one of: %(languages)s",
                language=repr(language),
                languages=", ".join(LANGUAGES),
            )
        )
    user.language = language


# --- Signing in ------------------------------------------------------------------------------------


def too_many_attempts_message() -> str:
    # The same words whether or not the account exists, and the same as the 429 error page.
    return gettext("Too many attempts. Wait a few minutes and try again.")


def authenticate(email: str, password: str) -> User | None:
    """The user if the e-mail and password match an active account, else None. Unknown accounts,
    wrong passwords and deactivated accounts give the same answer in about the same time."""
    user = find_by_email(email) if email else None
    if user is None:
        verify_dummy_password(password)
        audit.record("auth.login_failed", actor=email[:254] if email else None)
        return None
    if not user.check_password(password) or not user.is_active:
        audit.record("auth.login_failed", actor=user)
        return None
    return user


@dataclass
class SignIn:
    """What a sign-in step came to: "throttled", "failed", "second_factor" (the password was right;
    a code is needed next) or "signed_in"."""

    outcome: str
    user: User | None = None


def sign_in_with_password(
    email: str, password: str, address: str | None, *, device: str | None = None, now: dt.datetime | None = None
) -> SignIn:
    """`device`: the id of this browser's device cookie for the account, if any (crm/accounts/devices.py)."""
    account = throttle.account_key(email)
    if throttle.is_throttled(account, address, device=device, now=now):
        audit.record("auth.login_throttled", actor=account, after={"step": "password"})
        return SignIn("throttled")
    user = authenticate(email, password)
    if user is None:
        throttle.record("failure", account, address, device=device, now=now)
        return SignIn("failed")
    if user.has_two_factor:
        return SignIn("second_factor", user)
    complete_sign_in(user, method="password", now=now)
    return SignIn("signed_in", user)


def sign_in_second_step(
    user: User,
    code: str,
    address: str | None,
    *,
    method: str = "totp",
    device: str | None = None,
    now: dt.datetime | None = None,
) -> SignIn:
    """The second step, with a TOTP code (method "totp") or a recovery code ("recovery_code")."""
    if throttle.is_throttled(user.email, address, device=device, now=now):
        audit.record("auth.login_throttled", actor=user, entity=user, after={"step": method})
        return SignIn("throttled", user)
    if method == "recovery_code":
        accepted = twofactor.use_recovery_code(user, code, now=now)
    else:
        accepted = twofactor.verify_totp(user, code, now=now)
    if not accepted:
        throttle.record("failure", user.email, address, device=device, now=now)
        # The password was right: a failure here means someone else may know it.
        audit.record("auth.2fa_failed", actor=user, entity=user, after={"method": method})
        return SignIn("failed", user)
    complete_sign_in(user, method=method, now=now)
    return SignIn("signed_in", user)


def complete_sign_in(user: User, *, method: str, now: dt.datetime | None = None) -> None:
    user.last_login_at = now or utcnow()
    audit.record("auth.login", actor=user, entity=user, after={"method": method})


def confirm_password(
    user: User, password: str, address: str | None, *, device: str | None = None, now: dt.datetime | None = None
) -> None:
    """Re-authentication: the signed-in user types their password again. Failures count like sign-in
    failures, so that a stolen session cannot be used to guess the password."""
    if throttle.is_throttled(user.email, address, device=device, now=now):
        audit.record("auth.login_throttled", actor=user, entity=user, after={"step": "reauthenticate"})
        raise TooManyAttempts(too_many_attempts_message())
    if not user.check_password(password):
        throttle.record("failure", user.email, address, device=device, now=now)
        audit.record("auth.reauthenticate_failed", actor=user, entity=user)
        raise WrongPassword(gettext("The password is wrong."))


# --- Passwords ---------------------------------------------------------------------------------------


def replace_password(user: User, new_password: str) -> None:
    """Set a new password: every session of the user ends and every reset link stops working."""
    user.set_password(new_password)
    db.session.execute(
        sa.delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
    )


def change_password(
    user: User,
    current_password: str,
    new_password: str,
    address: str | None,
    *,
    device: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """The signed-in user changes their password, giving the current one. The caller renews the current
    session (every other one ends)."""
    confirm_password(user, current_password, address, device=device, now=now)
    check_password_policy(new_password, email=user.email, name=user.name)
    if user.check_password(new_password):
        raise AccountError(gettext("the new password must be different from the current one"))
    replace_password(user, new_password)
    audit.record("auth.password_change", actor=user, entity=user)


# --- Setup -------------------------------------------------------------------------------------------


def ensure_first_admin(email: str | None, password: str | None) -> tuple[User | None, str | None]:
    """Create an admin when there is none. Returns the new user and the generated password, if any."""
    if db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role.in_(roles_that_can("manage_users")))
    ):
        return None, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(15)
    user = create_user(email or "admin@example.org", "Administrator", "admin", password, actor="setup")
    return user, generated


def configure_login(login_manager) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # Flask-Login flashes the result: made a plain str in the reader's language, never a lazy string
    # (which would come back from the session as trusted Markup; see crm.web.flash_message).
    login_manager.localize_callback = str
    login_manager.session_protection = "strong"

    # Every signed-in request asks this: the statement is built once, its token a parameter.
    by_token = sa.select(User).where(User.session_token == sa.bindparam("token"))

    @login_manager.user_loader
    def _load(session_token: str):
        return db.session.scalar(by_token, {"token": session_token})
