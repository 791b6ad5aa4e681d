"""Staff accounts: who may sign in, with which role, language and second factor; and the records that
keep sign-in safe (recovery codes, password-reset tokens, failed attempts)."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, deferred, mapped_column

from crm.database import EMAIL_SHAPE, UTCDateTime, enum_check, utcnow
from crm.encryption import EncryptedText
from crm.extensions import db

ROLES = ("admin", "manager", "coordinator", "volunteer")
LANGUAGES = ("en", "es")
# Roles that may not use Alcance without a second factor (REQUIRE_2FA_FOR_ALL extends it to everyone).
# What a row of login_attempt counts: a failed sign-in step (password, code, recovery code, the
# password asked again) or a request for a password-reset e-mail.
ATTEMPT_KINDS = ("failure", "reset_request")

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
        sa.CheckConstraint("(totp_secret IS NULL) = (totp_enabled_at IS NULL)", name="totp_enabled_iff_secret"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16), default="volunteer")
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Reset links made before this moment no longer work.
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Flask-Login's alternative id: changing it ends every session of this user.
    session_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_token)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The TOTP factor in use (base32, encrypted at rest; never shown again after enrolment), the one
    # being enrolled (shown until confirmed with a code), and the last 30-second time step a code was
    # accepted for: a code is accepted once, and never one older than the last accepted.
    # Both secrets are deferred: every signed-in request loads its user, and only signing in, enrolling
    # and the account page need a secret, so the others never read or decrypt one.
    totp_secret: Mapped[str | None] = deferred(mapped_column(EncryptedText))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_pending_secret: Mapped[str | None] = deferred(mapped_column(EncryptedText))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"

    # Flask-Login
    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    @property
    def has_two_factor(self) -> bool:
        # The database keeps the two together (totp_enabled_iff_secret); this one needs no decryption.
        return self.totp_enabled_at is not None

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)
        self.password_changed_at = utcnow()
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            # An account without a password (not yet set) answers in the time a real check takes: a
            # quick "no" would tell which addresses have accounts.
            verify_dummy_password(password)
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


class RecoveryCode(db.Model):
    """One of a user's one-time codes for signing in without the authenticator. Only a SHA-256 of
    the code is kept: the codes are random (80 bits), so a slow hash would add nothing."""

    __tablename__ = "recovery_code"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PasswordResetToken(db.Model):
    """A password-reset link: only a SHA-256 of its secret is kept. It works once, until it expires,
    and not after the password was changed another way."""

    __tablename__ = "password_reset_token"
    __table_args__ = (sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user = db.relationship("User")


class LoginAttempt(db.Model):
    """A failed sign-in step or a reset request, by the account name typed (known or not) and the
    client's address. Kept in the database, so that every web worker counts the same attempts."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        enum_check("kind", ATTEMPT_KINDS),
        sa.Index("ix_login_attempt_account", "kind", "account", "occurred_at"),
        sa.Index("ix_login_attempt_address", "kind", "address", "occurred_at"),
        sa.Index("ix_login_attempt_device", "kind", "device", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    # The e-mail as typed, lower-cased: the same count whether or not such an account exists.
    account: Mapped[str | None] = mapped_column(sa.String(254))
    # The client's address; an IPv6 address by its /64 network, which one client usually holds whole.
    address: Mapped[str | None] = mapped_column(sa.String(64))
    # The browser's device id (crm/accounts/devices.py) when it had signed in to this account before:
    # its failures are counted apart, so that failures from elsewhere cannot hold it back.
    device: Mapped[str | None] = mapped_column(sa.String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def verify_dummy_password(password: str) -> None:
    """Spend the same time as a real check, so an unknown e-mail answers no faster than a known one."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Invitation(db.Model):
    """An invitation to a new staff member: the account exists without a password until the invitee
    chooses one through the link. Only a SHA-256 of the link's secret is kept; a resend replaces it (the
    old link stops working), the link works once, until it expires, and not after it was revoked."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("send_count > 0", name="sent_at_least_once"),
        sa.CheckConstraint("accepted_at IS NULL OR revoked_at IS NULL", name="accepted_or_revoked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    send_count: Mapped[int] = mapped_column(default=1)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user = db.relationship("User", foreign_keys=[user_id])
    invited_by = db.relationship("User", foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
