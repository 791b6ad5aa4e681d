"""a record's latest timeline entries read from indexes: meeting_outreach carries its meeting's UTC day
(held_on, kept by triggers), and meetings, letters and follow-ups are indexed by record with the columns
of their day, so the country page reads a few entries per record instead of all of them; a campaign's
positions are indexed in the order they were stated, for the dashboard

Revision ID: 0023_timeline_indexes
Revises: 0022_public_board

The triggers are this revision's own copy of crm/outreach/models.py's SQL: a migration builds the schema
of its revision, whatever the models say later.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_timeline_indexes"
down_revision = "0022_public_board"
branch_labels = None
depends_on = None

POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION meeting_outreach_held_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.held_on := (SELECT (timezone('UTC', held_at))::date FROM meeting WHERE id = NEW.meeting_id);
  RETURN NEW;
END
$$""",
    "CREATE TRIGGER meeting_outreach_held_on BEFORE INSERT OR UPDATE ON meeting_outreach "
    "FOR EACH ROW EXECUTE FUNCTION meeting_outreach_held_on()",
    """CREATE OR REPLACE FUNCTION meeting_held_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE meeting_outreach SET held_on = (timezone('UTC', NEW.held_at))::date WHERE meeting_id = NEW.id;
  RETURN NULL;
END
$$""",
    "CREATE TRIGGER meeting_held_on AFTER UPDATE OF held_at ON meeting "
    "FOR EACH ROW WHEN (OLD.held_at IS DISTINCT FROM NEW.held_at) EXECUTE FUNCTION meeting_held_on()",
)
SQLITE_TRIGGERS = (
    """CREATE TRIGGER meeting_outreach_held_on AFTER INSERT ON meeting_outreach
BEGIN
  UPDATE meeting_outreach SET held_on = (SELECT date(held_at) FROM meeting WHERE id = NEW.meeting_id)
  WHERE meeting_id = NEW.meeting_id AND outreach_id = NEW.outreach_id;
END""",
    """CREATE TRIGGER meeting_held_on AFTER UPDATE OF held_at ON meeting
BEGIN
  UPDATE meeting_outreach SET held_on = date(NEW.held_at) WHERE meeting_id = NEW.id;
END""",
)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("meeting_outreach", sa.Column("held_on", sa.Date(), nullable=True))
    if postgresql:
        op.execute(
            "UPDATE meeting_outreach SET held_on = (timezone('UTC', meeting.held_at))::date "
            "FROM meeting WHERE meeting.id = meeting_outreach.meeting_id"
        )
    else:
        op.execute(
            "UPDATE meeting_outreach SET held_on = "
            "(SELECT date(held_at) FROM meeting WHERE meeting.id = meeting_outreach.meeting_id)"
        )
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    op.create_index(
        op.f("ix_meeting_outreach_held"), "meeting_outreach", ["outreach_id", "held_on", "meeting_id"], unique=False
    )
    op.drop_index(op.f("ix_meeting_outreach_outreach_id"), table_name="meeting_outreach")
    op.create_index(
        op.f("ix_letter_outreach_days"),
        "letter",
        ["outreach_id", "received_on", "sent_on", "created_at", "id"],
        unique=False,
    )
    op.drop_index(op.f("ix_letter_outreach_id"), table_name="letter")
    op.create_index(op.f("ix_follow_up_outreach_due"), "follow_up", ["outreach_id", "due_on", "id"], unique=False)
    op.drop_index(op.f("ix_follow_up_outreach_id"), table_name="follow_up")
    op.create_index(op.f("ix_position_campaign_stated"), "position", ["campaign_id", "stated_on", "id"], unique=False)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index(op.f("ix_position_campaign_stated"), table_name="position")
    op.create_index(op.f("ix_follow_up_outreach_id"), "follow_up", ["outreach_id"], unique=False)
    op.drop_index(op.f("ix_follow_up_outreach_due"), table_name="follow_up")
    op.create_index(op.f("ix_letter_outreach_id"), "letter", ["outreach_id"], unique=False)
    op.drop_index(op.f("ix_letter_outreach_days"), table_name="letter")
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS meeting_held_on ON meeting")
        op.execute("DROP TRIGGER IF EXISTS meeting_outreach_held_on ON meeting_outreach")
        op.execute("DROP FUNCTION IF EXISTS meeting_held_on()")
        op.execute("DROP FUNCTION IF EXISTS meeting_outreach_held_on()")
    else:
        op.execute("DROP TRIGGER IF EXISTS meeting_held_on")
        op.execute("DROP TRIGGER IF EXISTS meeting_outreach_held_on")
    op.drop_index(op.f("ix_meeting_outreach_held"), table_name="meeting_outreach")
    with op.batch_alter_table("meeting_outreach", schema=None) as batch_op:
        batch_op.drop_column("held_on")
    op.create_index(op.f("ix_meeting_outreach_outreach_id"), "meeting_outreach", ["outreach_id"], unique=False)
