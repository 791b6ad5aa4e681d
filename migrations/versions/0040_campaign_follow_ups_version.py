"""a campaign carries follow_ups_version, a random number the database renews whenever a row its overdue
follow-ups are made from changes (its follow-ups, but not their reminders, and anyone's name or address), so
that the dashboard keeps the list it made until it changes; campaign_versions(campaign) gives the three
numbers at once on PostgreSQL

Revision ID: 0040_campaign_follow_ups_version
Revises: 0039_follow_up_campaign

The triggers are this revision's own copy of crm/campaigns/models.py's SQL: a migration builds the schema
of its revision, whatever the models say later. Existing campaigns each get a random number of their own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0040_campaign_follow_ups_version"
down_revision = "0039_follow_up_campaign"
branch_labels = None
depends_on = None

RENEW = "UPDATE campaign SET follow_ups_version = floor(random() * 9.0e18)::bigint"
FOLLOW_UP_COLUMNS = "campaign_id, outreach_id, owner_id, due_on, note, status, snoozed_until"
POSTGRESQL = (
    f"""CREATE OR REPLACE FUNCTION campaign_follow_ups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME IN ('follow_up') THEN
    {RENEW} WHERE id IN (OLD.campaign_id, NEW.campaign_id);
  ELSIF TG_TABLE_NAME IN ('user') THEN
    {RENEW};
  END IF;
  RETURN NULL;
END
$$""",
    f"CREATE CONSTRAINT TRIGGER follow_up_follow_ups_changed AFTER INSERT OR UPDATE OF {FOLLOW_UP_COLUMNS} OR DELETE "
    'ON "follow_up" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION campaign_follow_ups_changed()',
    'CREATE TRIGGER user_follow_ups_changed AFTER UPDATE OF name, email ON "user" '
    "FOR EACH STATEMENT EXECUTE FUNCTION campaign_follow_ups_changed()",
    # Its answer gains a column: made anew, not replaced.
    "DROP FUNCTION IF EXISTS campaign_versions(integer)",
    """CREATE FUNCTION campaign_versions(
  wanted integer, OUT figures bigint, OUT signatures bigint, OUT follow_ups bigint
) LANGUAGE plpgsql AS $$
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    SET CONSTRAINTS ALL IMMEDIATE;
  END IF;
  SELECT figures_version, signatures_version, follow_ups_version INTO figures, signatures, follow_ups
    FROM campaign WHERE id = wanted;
END
$$""",
)
# 0038's, given back by the downgrade.
VERSIONS_0038 = """CREATE FUNCTION campaign_versions(wanted integer, OUT figures bigint, OUT signatures bigint)
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    SET CONSTRAINTS ALL IMMEDIATE;
  END IF;
  SELECT figures_version, signatures_version INTO figures, signatures FROM campaign WHERE id = wanted;
END
$$"""
SQLITE = (
    'CREATE TRIGGER follow_up_follow_ups_added AFTER INSERT ON "follow_up" BEGIN '
    "UPDATE campaign SET follow_ups_version = random() WHERE id IN (NEW.campaign_id); END",
    f'CREATE TRIGGER follow_up_follow_ups_changed AFTER UPDATE OF {FOLLOW_UP_COLUMNS} ON "follow_up" BEGIN '
    "UPDATE campaign SET follow_ups_version = random() WHERE id IN (OLD.campaign_id, NEW.campaign_id); END",
    'CREATE TRIGGER follow_up_follow_ups_removed AFTER DELETE ON "follow_up" BEGIN '
    "UPDATE campaign SET follow_ups_version = random() WHERE id IN (OLD.campaign_id); END",
    'CREATE TRIGGER user_follow_ups_changed AFTER UPDATE OF name, email ON "user" BEGIN '
    "UPDATE campaign SET follow_ups_version = random(); END",
)
SQLITE_TRIGGERS = (
    "follow_up_follow_ups_added",
    "follow_up_follow_ups_changed",
    "follow_up_follow_ups_removed",
    "user_follow_ups_changed",
)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMN (no batch: on SQLite a batch re-creates the table).
    op.add_column("campaign", sa.Column("follow_ups_version", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(RENEW if postgresql else "UPDATE campaign SET follow_ups_version = random()")
    for statement in POSTGRESQL if postgresql else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS campaign_follow_ups_changed() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS campaign_versions(integer)")
        op.execute(VERSIONS_0038)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    # Plain DROP COLUMN (SQLite 3.35 and later): a batch would re-create the table, which other triggers name.
    op.execute("ALTER TABLE campaign DROP COLUMN follow_ups_version")
