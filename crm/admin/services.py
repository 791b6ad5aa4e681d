"""User administration and reading the audit log: rules shared by the admin pages."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.accounts.models import User
from crm.accounts.services import AccountError, deactivate, set_role
from crm.audit import services as audit
from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.permissions import role_can, roles_that_can
from crm.translation import gettext


def update_user(user: User, *, actor, name: str, role: str, language: str) -> None:
    if user.id == actor.id and role != user.role:
        raise AccountError(gettext("you cannot change your own role; ask another administrator"))
    if role_can(user.role, "manage_users") and not role_can(role, "manage_users") and _other_active_admins(user) == 0:
        raise AccountError(gettext("this is the last active administrator; name another one first"))
    before = audit.snapshot(user, ("name", "language"))
    user.name, user.language = name.strip(), language
    if before != audit.snapshot(user, ("name", "language")):
        audit.record(
            "user.update", actor=actor, entity=user, before=before, after=audit.snapshot(user, ("name", "language"))
        )
    if role != user.role:
        set_role(user, role, actor=actor)


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role.in_(roles_that_can("manage_users")), User.active.is_(True), User.id != user.id)
    )


def set_active(user: User, active: bool, *, actor) -> None:
    if user.id == actor.id:
        raise AccountError(gettext("you cannot deactivate your own account"))
    if not active and role_can(user.role, "manage_users") and _other_active_admins(user) == 0:
        raise AccountError(gettext("this is the last active administrator; name another one first"))
    if active == user.active:
        return
    if active:
        user.active = True
        audit.record("user.reactivate", actor=actor, entity=user, before={"active": False}, after={"active": True})
    else:
        deactivate(user, actor=actor)


AUDITED_TYPES = (
    "user",
    "outreach_record",
    "position",
    "meeting",
    "letter",
    "letter_attachment",
    "follow_up",
    "contact",
    "office",
    "country",
    "claim",
    "signature_import",
    "petition",
)


def audit_events(
    *,
    action=None,
    actor=None,
    entity_type=None,
    entity_id=None,
    since: dt.date | None = None,
    until: dt.date | None = None,
):
    """A select of audit events, newest first, narrowed by any of the filters."""
    statement = sa.select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if action:
        statement = statement.where(AuditEvent.action.startswith(action.strip(), autoescape=True))
    if actor:
        statement = statement.where(sa.func.lower(AuditEvent.actor_label) == actor.strip().lower())
    if entity_type:
        statement = statement.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        statement = statement.where(AuditEvent.entity_id == entity_id.strip())
    if since:
        start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
        statement = statement.where(AuditEvent.occurred_at >= start)
    if until:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        statement = statement.where(AuditEvent.occurred_at < end)
    return statement
