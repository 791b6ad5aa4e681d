"""Personal access tokens: how a program reaches the JSON API as one user, with that user's permissions.

Only the token's SHA-256 is kept (crm.encryption.token_hash), so the database never holds a working
token; the user sees the token once, when it is made, and afterwards only its name and its first
characters (`prefix`), enough to tell two tokens apart."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.database import HEX, UTCDateTime, enum_check, only_chars, utcnow
from crm.extensions import db

# "read": GET only; "write": also the changes the owner may make on the pages.
SCOPES = ("read", "write")


class ApiToken(db.Model):
    __tablename__ = "api_token"
    __table_args__ = (
        enum_check("scope", SCOPES),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint(f"length(token_hash) = 64 AND {only_chars('token_hash', HEX)}", name="token_hash_format"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.Index("ix_api_token_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scope: Mapped[str] = mapped_column(sa.String(8), default="read")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Written at most every few minutes (crm/api/tokens.py), not on every request.
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user = db.relationship("User")

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix} of user {self.user_id}>"

    @property
    def may_write(self) -> bool:
        return self.scope == "write"

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
