"""The append-only record of who did what to which record.

Append-only twice over: the ORM refuses to change or delete an event (a clear error in the code that
tried), and the database refuses it too (triggers below), so neither raw SQL nor an injection that reaches
the database can rewrite history. The database allows exactly two changes: the redaction of an event's
before/after values on a data subject request (crm/privacy), and the actor's id becoming NULL when the
foreign key's ON DELETE SET NULL fires (the actor's label is kept).
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.orm import Mapped, mapped_column

from crm.database import UTCDateTime, utcnow
from crm.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity_type", "entity_id"),
        # A campaign's latest events (the dashboard's recent changes) without reading anyone else's.
        sa.Index("ix_audit_event_campaign", "campaign_id", "occurred_at"),
        sa.CheckConstraint("length(trim(action)) > 0", name="action_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # Kept even if the account is later removed: who it was, as they were then.
    actor_label: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    entity_type: Mapped[str | None] = mapped_column(sa.String(64))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    # The campaign the event's record belongs to, where it has one (crm/audit/services.py fills it in).
    # Like entity_id, not a foreign key: the log keeps the ids of what was later deleted.
    campaign_id: Mapped[int | None] = mapped_column(sa.Integer)

    actor = db.relationship("User", foreign_keys=[actor_id])


# What a redacted before/after holds: the one value the database lets an event's values be changed to.
REDACTION = {"redacted": "data subject request"}


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise AuditLogIsAppendOnly("audit events are never changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise AuditLogIsAppendOnly("audit events are never deleted")


# The database's guard. Migration 0007 creates the same triggers on an existing database (a migration
# keeps its own copy: it must build the schema of its revision, whatever this file says later; 0018 adds
# campaign_id to the columns that never change). On
# SQLite a batch_alter_table of audit_event re-creates the table without them: re-create them after one.
_UNCHANGED = ("id", "occurred_at", "actor_label", "action", "entity_type", "entity_id", "ip_address", "campaign_id")
_REDACTION_JSON = json.dumps(REDACTION).replace("'", "''")

_POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND {" AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _UNCHANGED)}
     AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
     AND (NEW.before::text IS NOT DISTINCT FROM OLD.before::text OR NEW.before::jsonb = '{_REDACTION_JSON}'::jsonb)
     AND (NEW.after::text IS NOT DISTINCT FROM OLD.after::text OR NEW.after::jsonb = '{_REDACTION_JSON}'::jsonb)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END
$$"""

POSTGRESQL_GUARD = (
    _POSTGRESQL_FUNCTION,
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)

SQLITE_GUARD = (
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END",
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _UNCHANGED)}
  OR (NEW.actor_id IS NOT OLD.actor_id AND NEW.actor_id IS NOT NULL)
  OR (NEW.before IS NOT OLD.before AND json(NEW.before) IS NOT json('{_REDACTION_JSON}'))
  OR (NEW.after IS NOT OLD.after AND json(NEW.after) IS NOT json('{_REDACTION_JSON}'))
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
)

for _dialect, _statements in (("postgresql", POSTGRESQL_GUARD), ("sqlite", SQLITE_GUARD)):
    for _statement in _statements:  # DDL() formats with %: the function's own % is written %%
        event.listen(
            AuditEvent.__table__, "after_create", DDL(_statement.replace("%", "%%")).execute_if(dialect=_dialect)
        )
event.listen(
    AuditEvent.__table__,
    "after_drop",
    DDL("DROP FUNCTION IF EXISTS audit_event_append_only()").execute_if(dialect="postgresql"),
)
