"""Inviting staff by e-mail: the account is made without a password, and the invitee chooses their own
through a single-use, expiring link (with a second factor afterwards where their role requires it). No
password is ever typed by someone else or printed. The e-mail goes through the mail queue, so without
SMTP the link waits in the outbox as other mail does."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask import current_app

from crm.accounts.errors import AccountError
from crm.accounts.models import LANGUAGES, ROLES, Invitation, User
from crm.accounts.services import check_password_policy, find_by_email, normalise_email, replace_password
from crm.audit import services as audit
from crm.encryption import token_hash
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.translation import gettext

# A resend is refused within this time of the last one, and after this many sends in all.
RESEND_INTERVAL = dt.timedelta(minutes=10)
MAX_SENDS = 5


class InvitationError(AccountError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=int(current_app.config.get("INVITATION_MAX_AGE_HOURS", 7 * 24)))


def _new_link(invitation: Invitation, now: dt.datetime) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.expires_at = now + max_age()
    invitation.last_sent_at = now
    return token


def _queue_mail(invitation: Invitation, token: str, now: dt.datetime) -> None:
    user = invitation.user
    rendered = mailer.render_message(
        "invitation",
        user,
        lambda: gettext("You are invited to Alcance"),
        accept_link=mailer.external_url("accounts.accept_invitation", token=token),
        role=user.role,
        inviter=invitation.invited_by,
        expires_at=invitation.expires_at,
    )
    mailer.queue("invitation", f"invitation:{invitation.id}:{invitation.send_count}", user, rendered, now=now)


def invite(
    email: str, role: str, *, actor, now: dt.datetime, language: str = "en", name: str | None = None
) -> Invitation:
    """Make the account (no password, so nobody can sign in to it yet) and queue the e-mail with its link."""
    try:
        address = normalise_email(email or "")
    except AccountError as error:
        raise InvitationError(str(error), "email") from None
    if role not in ROLES:
        raise InvitationError(gettext("Choose a role."), "role")
    if language not in LANGUAGES:
        raise InvitationError(gettext("Choose a language."), "language")
    if find_by_email(address) is not None:
        raise InvitationError(
            gettext(
                "Someone already has an account with this address; resend their "
                "invitation from the list of users instead."
            ),
            "email",
        )
    user = User(
        email=address,
        name=(name or "").strip() or address.split("@", 1)[0],
        role=role,
        language=language,
        password_hash=None,
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    invitation = Invitation(
        user_id=user.id, invited_by_id=getattr(actor, "id", None), created_at=now, send_count=1, token_hash=""
    )
    invitation.user = user
    invitation.invited_by = actor if isinstance(actor, User) else None
    token = _new_link(invitation, now)
    db.session.add(invitation)
    db.session.flush()
    _queue_mail(invitation, token, now)
    audit.record("user.invite", actor=actor, entity=user, after={"email": address, "role": role})
    return invitation


def resend(invitation: Invitation, *, actor, now: dt.datetime) -> None:
    """A new link (the old one stops working) by e-mail again; rate-limited."""
    if not invitation.is_open:
        raise InvitationError(gettext("This invitation was already accepted or revoked."))
    if invitation.send_count >= MAX_SENDS:
        raise InvitationError(
            gettext(
                "This invitation was sent %(count)s times already; revoke it and check the address.",
                count=invitation.send_count,
            )
        )
    if now - invitation.last_sent_at < RESEND_INTERVAL:
        raise InvitationError(
            gettext(
                "The invitation was sent less than %(minutes)s minutes ago; wait before sending it again.",
                minutes=int(RESEND_INTERVAL.total_seconds() // 60),
            )
        )
    invitation.send_count += 1
    token = _new_link(invitation, now)
    db.session.flush()
    _queue_mail(invitation, token, now)
    audit.record("user.invite_resend", actor=actor, entity=invitation.user, after={"sends": invitation.send_count})


def revoke(invitation: Invitation, *, actor, now: dt.datetime) -> None:
    """The link stops working, the account (which never had a password) is deactivated, and the e-mail, if
    still waiting in the queue, is not sent."""
    if not invitation.is_open:
        raise InvitationError(gettext("This invitation was already accepted or revoked."))
    invitation.revoked_at = now
    invitation.user.active = False
    db.session.execute(
        sa.update(OutboundMessage)
        .where(
            OutboundMessage.kind == "invitation",
            OutboundMessage.recipient_id == invitation.user_id,
            OutboundMessage.status == "pending",
        )
        .values(status="skipped", last_error="invitation revoked")
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    audit.record("user.invite_revoke", actor=actor, entity=invitation.user)


def find_valid(token: str, *, now: dt.datetime) -> Invitation | None:
    if not token or len(token) > 128:
        return None
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None or not invitation.is_open or invitation.expires_at <= now:
        return None
    return invitation


def accept(invitation: Invitation, *, name: str, password: str, now: dt.datetime) -> User:
    """The invitee chooses their password (and confirms their name). The link is used up."""
    name = (name or "").strip()
    if not name:
        raise InvitationError(gettext("Give your name as colleagues know it."), "name")
    user = invitation.user
    check_password_policy(password, email=user.email, name=name)
    used = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        raise InvitationError(gettext("This link has already been used."))
    user.name = name[:200]
    replace_password(user, password)
    audit.record("user.invite_accept", actor=user, entity=user)
    return user


def open_invitations() -> dict[int, Invitation]:
    """Each user's invitation still waiting for an answer, by user id."""
    rows = db.session.scalars(
        sa.select(Invitation).where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    )
    return {invitation.user_id: invitation for invitation in rows}
