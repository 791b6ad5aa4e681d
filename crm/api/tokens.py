"""Personal access tokens: made on the account page, shown once, kept hashed, revoked there; and the
check that turns an `Authorization: Bearer` header into the user the request acts as.

Use is audited without writing on every request: `last_used_at` is rewritten when it is more than
LAST_USED_RESOLUTION old, and an `api_token.used` event is written on a token's first use of each UTC day
(so the audit log says on which days a token was used, from which address first, in at most one row a day)."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from crm.accounts.models import User
from crm.accounts.twofactor import enrolment_needed
from crm.api.models import SCOPES, ApiToken
from crm.audit import services as audit
from crm.encryption import token_hash
from crm.errors import DomainError
from crm.extensions import db
from crm.translation import gettext

# What a token starts with: recognisable in a leaked file or a secret scanner's rules.
TOKEN_PREFIX = "alc_"
# The choices the account page offers, in days; a token never lives longer than a year.
LIFETIMES = (7, 30, 90, 365)
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
# A user keeps at most this many tokens that still work (a limit on what a stolen session could leave).
MAX_LIVE_TOKENS = 20


class TokenRefused(DomainError):
    status = 400


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create(user: User, *, name: str, scope: str, days: int, now: dt.datetime) -> tuple[ApiToken, str]:
    """A new token for `user`, and its secret (shown once: only its hash is stored)."""
    name = (name or "").strip()
    if not name:
        raise TokenRefused(gettext("Give the token a name."), field="name")
    if scope not in SCOPES:
        raise TokenRefused(gettext("Choose what the token may do."), field="scope")
    if days not in LIFETIMES:
        raise TokenRefused(gettext("Choose how long the token works."), field="days")
    if len(live_tokens(user, now)) >= MAX_LIVE_TOKENS:
        raise TokenRefused(
            gettext("You have %(count)s working tokens: revoke one before making another.", count=MAX_LIVE_TOKENS)
        )
    secret = new_secret()
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        token_hash=token_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scope=scope,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.created",
        actor=user,
        entity=token,
        after={"name": token.name, "scope": scope, "expires_at": token.expires_at.isoformat()},
    )
    return token, secret


def tokens_of(user: User) -> list[ApiToken]:
    """Every token of `user`, newest first, revoked and expired ones included (the page says which)."""
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def live_tokens(user: User, now: dt.datetime) -> list[ApiToken]:
    return [token for token in tokens_of(user) if token.is_usable(now)]


def token_of(user: User, token_id: int) -> ApiToken | None:
    """`user`'s own token `token_id`; None for anyone else's (nobody revokes another user's token here)."""
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.user_id == user.id else None


def revoke(token: ApiToken, *, actor: User, now: dt.datetime) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    audit.record("api_token.revoked", actor=actor, entity=token, after={"name": token.name})


def authenticate(secret: str | None, now: dt.datetime) -> ApiToken | None:
    """The token `secret` names if it works now: not revoked, not expired, and its owner active (a
    deactivated user's tokens stop at once, since this is asked on every request) and not held back to
    enrol a second factor. None otherwise, whatever the reason: the answer does not say which."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if token is None or not token.is_usable(now):
        return None
    user = token.user
    if user is None or not user.is_active or enrolment_needed(user):
        return None
    _note_use(token, now)
    return token


def _note_use(token: ApiToken, now: dt.datetime) -> None:
    last = token.last_used_at
    if last is None or last.date() != now.date():
        audit.record("api_token.used", actor=token.user, entity=token, after={"name": token.name})
    if last is None or now - last >= LAST_USED_RESOLUTION:
        token.last_used_at = now
