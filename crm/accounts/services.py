"""Account rules: creating users, signing in, roles. Shared by the pages and the `users` commands."""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from crm.accounts.models import LANGUAGES, ROLES, User, verify_dummy_password
from crm.audit import services as audit
from crm.database import utcnow
from crm.extensions import db

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


class AccountError(ValueError):
    """A request about an account that cannot be carried out, with a message for the user."""


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise AccountError(f"invalid e-mail address: {error}") from None


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(email: str, name: str, role: str, password: str, *, language: str = "en", actor=None) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    if language not in LANGUAGES:
        raise AccountError(f"unknown language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    if not name or not name.strip():
        raise AccountError("a name is required")
    check_password_policy(password)
    if find_by_email(email):
        raise AccountError(f"a user with the e-mail {email} already exists")
    user = User(email=email, name=name.strip(), role=role, language=language)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", actor=actor, entity=user, after={"email": email, "role": role, "name": user.name})
    return user


def set_role(user: User, role: str, *, actor=None) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    before = user.role
    user.role = role
    audit.record("user.set_role", actor=actor, entity=user, before={"role": before}, after={"role": role})


def deactivate(user: User, *, actor=None) -> None:
    user.active = False
    user.end_all_sessions()
    audit.record("user.deactivate", actor=actor, entity=user, before={"active": True}, after={"active": False})


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
    user.last_login_at = utcnow()
    audit.record("auth.login", actor=user, entity=user)
    return user


def ensure_first_admin(email: str | None, password: str | None) -> tuple[User | None, str | None]:
    """Create an admin when there is none. Returns the new user and the generated password, if any."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == "admin")):
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

    @login_manager.user_loader
    def _load(session_token: str):
        return db.session.scalar(sa.select(User).where(User.session_token == session_token))
