"""audit events carry their campaign (indexed with the time) for the dashboard's recent changes; signature
counts per petition, country and day, kept by the writes, for the totals

Revision ID: 0018_campaign_counts
Revises: 0017_contact_search_text

Existing events get their campaign where it can be derived from the record they name (records that were
deleted since keep none); existing signatures are counted into signature_count. The audit log's triggers
(this revision's own copy of crm/audit/models.py's SQL) then also refuse any change of campaign_id.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_campaign_counts"
down_revision = "0017_contact_search_text"
branch_labels = None
depends_on = None

REDACTION = '{"redacted": "data subject request"}'
UNCHANGED = ("id", "occurred_at", "actor_label", "action", "entity_type", "entity_id", "ip_address")

ENTITY = "CAST(audit_event.entity_id AS INTEGER)"
# entity type -> the campaign of the record it names (its id is a number for these types).
CAMPAIGN_OF = {
    "outreach_record": f"SELECT campaign_id FROM outreach_record WHERE id = {ENTITY}",
    "position": f"SELECT campaign_id FROM position WHERE id = {ENTITY}",
    "demand": f"SELECT campaign_id FROM demand WHERE id = {ENTITY}",
    "petition": f"SELECT campaign_id FROM petition WHERE id = {ENTITY}",
    "follow_up": "SELECT r.campaign_id FROM follow_up x JOIN outreach_record r ON r.id = x.outreach_id "
    f"WHERE x.id = {ENTITY}",
    "letter": "SELECT r.campaign_id FROM letter x JOIN outreach_record r ON r.id = x.outreach_id "
    f"WHERE x.id = {ENTITY}",
    "assignment": "SELECT r.campaign_id FROM assignment x JOIN outreach_record r ON r.id = x.outreach_id "
    f"WHERE x.id = {ENTITY}",
    "claim": f"SELECT r.campaign_id FROM claim x JOIN outreach_record r ON r.id = x.outreach_id WHERE x.id = {ENTITY}",
    "signature_import": "SELECT p.campaign_id FROM signature_import x JOIN petition p ON p.id = x.petition_id "
    f"WHERE x.id = {ENTITY}",
    "signature_tally": "SELECT p.campaign_id FROM signature_tally x JOIN petition p ON p.id = x.petition_id "
    f"WHERE x.id = {ENTITY}",
    # A joint meeting belongs to a campaign only when all its governments are in that one.
    "meeting": "SELECT CASE WHEN count(DISTINCT r.campaign_id) = 1 THEN min(r.campaign_id) END "
    "FROM meeting_outreach x JOIN outreach_record r ON r.id = x.outreach_id "
    f"WHERE x.meeting_id = {ENTITY}",
    # Some campaign events name the campaign by its slug: compare as text.
    "campaign": "SELECT id FROM campaign WHERE CAST(id AS VARCHAR(64)) = audit_event.entity_id",
}


def _postgresql_function(unchanged):
    return f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND {" AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in unchanged)}
     AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
     AND (NEW.before::text IS NOT DISTINCT FROM OLD.before::text OR NEW.before::jsonb = '{REDACTION}'::jsonb)
     AND (NEW.after::text IS NOT DISTINCT FROM OLD.after::text OR NEW.after::jsonb = '{REDACTION}'::jsonb)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END
$$"""


def _sqlite_update_trigger(unchanged):
    return f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in unchanged)}
  OR (NEW.actor_id IS NOT OLD.actor_id AND NEW.actor_id IS NOT NULL)
  OR (NEW.before IS NOT OLD.before AND json(NEW.before) IS NOT json('{REDACTION}'))
  OR (NEW.after IS NOT OLD.after AND json(NEW.after) IS NOT json('{REDACTION}'))
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END"""


def _guard(unchanged):
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_postgresql_function(unchanged))
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(_sqlite_update_trigger(unchanged))


def upgrade():
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN (no batch: on SQLite a batch re-creates the table without its triggers).
    op.add_column("audit_event", sa.Column("campaign_id", sa.Integer(), nullable=True))
    op.create_index("ix_audit_event_campaign", "audit_event", ["campaign_id", "occurred_at"], unique=False)
    for entity_type, campaign in CAMPAIGN_OF.items():
        op.execute(
            f"UPDATE audit_event SET campaign_id = ({campaign}) WHERE entity_type = '{entity_type}'"
            + (
                " AND entity_id ~ '^[0-9]+$'"
                if dialect == "postgresql" and entity_type != "campaign"
                else " AND entity_id NOT GLOB '*[^0-9]*'"
                if entity_type != "campaign"
                else ""
            )
        )
    _guard((*UNCHANGED, "campaign_id"))

    op.create_table(
        "signature_count",
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("signers", sa.Integer(), nullable=False),
        sa.CheckConstraint("signers >= 0", name=op.f("ck_signature_count_signers_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id", "petition_id"],
            ["petition.campaign_id", "petition.id"],
            name=op.f("fk_signature_count_campaign_id_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_signature_count_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("petition_id", "country_id", "day", name=op.f("pk_signature_count")),
    )
    op.create_index(op.f("ix_signature_count_campaign_id"), "signature_count", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_signature_import_id"), "signature", ["import_id"], unique=False)
    day = (
        "date(coalesce(signed_at, created_at))"
        if dialect == "sqlite"
        else "CAST(timezone('UTC', coalesce(signed_at, created_at)) AS DATE)"
    )
    op.execute(
        f"INSERT INTO signature_count (campaign_id, petition_id, country_id, day, signers) "
        f"SELECT campaign_id, petition_id, coalesce(country_id, 0), {day}, count(*) FROM signature "
        f"GROUP BY campaign_id, petition_id, coalesce(country_id, 0), {day}"
    )


def downgrade():
    op.drop_index(op.f("ix_signature_import_id"), table_name="signature")
    op.drop_index(op.f("ix_signature_count_campaign_id"), table_name="signature_count")
    op.drop_table("signature_count")
    _guard(UNCHANGED)
    op.drop_index("ix_audit_event_campaign", table_name="audit_event")
    # SQLite drops a column only by re-creating the table, which loses the triggers: re-create them.
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("campaign_id")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute(
            "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END"
        )
        op.execute(_sqlite_update_trigger(UNCHANGED))
