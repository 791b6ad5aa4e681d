"""Staff accounts: who may sign in, with which role and language."""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from crm.database import EMAIL_SHAPE, UTCDateTime, enum_check, utcnow
from crm.extensions import db

ROLES = ("admin", "manager", "coordinator", "volunteer")
LANGUAGES = ("en", "es")

# Argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1) or above.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        enum_check("role", ROLES),
        enum_check("language", LANGUAGES),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint(f"email {EMAIL_SHAPE}", name="email_shape"),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16), default="volunteer")
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Flask-Login's alternative id: changing it ends every session of this user.
    session_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_token)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"

    # Flask-Login
    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.password_hash = _hasher.hash(password)
        return True

    def end_all_sessions(self) -> None:
        self.session_token = new_session_token()


def verify_dummy_password(password: str) -> None:
    """Spend the same time as a real check, so an unknown e-mail answers no faster than a known one."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
