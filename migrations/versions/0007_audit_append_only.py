"""audit log append-only in the database: triggers refuse UPDATE, DELETE and TRUNCATE of audit_event,
except a data subject request's redaction of before/after and ON DELETE SET NULL of the actor

Revision ID: 0007_audit_append_only
Revises: 0006_reminders

The SQL is this revision's own copy (crm/audit/models.py builds the same for create_all): a migration
must build the schema of its revision whatever the models say later.
"""

from alembic import op

revision = "0007_audit_append_only"
down_revision = "0006_reminders"
branch_labels = None
depends_on = None

REDACTION = '{"redacted": "data subject request"}'

POSTGRESQL = (
    f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.id IS NOT DISTINCT FROM OLD.id
     AND NEW.occurred_at IS NOT DISTINCT FROM OLD.occurred_at
     AND NEW.actor_label IS NOT DISTINCT FROM OLD.actor_label
     AND NEW.action IS NOT DISTINCT FROM OLD.action
     AND NEW.entity_type IS NOT DISTINCT FROM OLD.entity_type
     AND NEW.entity_id IS NOT DISTINCT FROM OLD.entity_id
     AND NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address
     AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
     AND (NEW.before::text IS NOT DISTINCT FROM OLD.before::text OR NEW.before::jsonb = '{REDACTION}'::jsonb)
     AND (NEW.after::text IS NOT DISTINCT FROM OLD.after::text OR NEW.after::jsonb = '{REDACTION}'::jsonb)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END
$$""",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)

SQLITE = (
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END",
    f"""
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN NEW.id IS NOT OLD.id
  OR NEW.occurred_at IS NOT OLD.occurred_at
  OR NEW.actor_label IS NOT OLD.actor_label
  OR NEW.action IS NOT OLD.action
  OR NEW.entity_type IS NOT OLD.entity_type
  OR NEW.entity_id IS NOT OLD.entity_id
  OR NEW.ip_address IS NOT OLD.ip_address
  OR (NEW.actor_id IS NOT OLD.actor_id AND NEW.actor_id IS NOT NULL)
  OR (NEW.before IS NOT OLD.before AND json(NEW.before) IS NOT json('{REDACTION}'))
  OR (NEW.after IS NOT OLD.after AND json(NEW.after) IS NOT json('{REDACTION}'))
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
)


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE if dialect == "sqlite" else ():
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
