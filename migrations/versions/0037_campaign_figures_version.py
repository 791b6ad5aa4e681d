"""a campaign carries figures_version, a random number the database renews whenever a row its figures are made
from changes (its outreach records' country, stage or assignee, its positions, its demands and their
wording, any country), so that the dashboard keeps the figures it made until they change

Revision ID: 0037_campaign_figures_version
Revises: 0036_signature_day_signers

The triggers are this revision's own copy of crm/campaigns/models.py's SQL: a migration builds the schema
of its revision, whatever the models say later. Existing campaigns each get a random number of their own.
On PostgreSQL, campaign_figures_version(campaign) gives the number as a reader may keep figures under it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0037_campaign_figures_version"
down_revision = "0036_signature_day_signers"
branch_labels = None
depends_on = None

RENEW = "UPDATE campaign SET figures_version = floor(random() * 9.0e18)::bigint"
POSTGRESQL = (
    f"""CREATE OR REPLACE FUNCTION campaign_figures_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'country' THEN
    {RENEW};
  ELSIF TG_TABLE_NAME = 'demand_translation' THEN
    {RENEW} WHERE id IN ((SELECT campaign_id FROM demand WHERE id = OLD.demand_id), (SELECT campaign_id FROM demand WHERE id = NEW.demand_id));
  ELSE
    {RENEW} WHERE id IN (OLD.campaign_id, NEW.campaign_id);
  END IF;
  RETURN NULL;
END
$$""",
    "CREATE CONSTRAINT TRIGGER outreach_record_figures_changed AFTER INSERT OR UPDATE OF campaign_id, country_id, "
    "stage, assignee_id OR DELETE ON outreach_record DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "EXECUTE FUNCTION campaign_figures_changed()",
    *(
        f"CREATE CONSTRAINT TRIGGER {table}_figures_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION campaign_figures_changed()"
        for table in ("position", "demand", "demand_translation")
    ),
    "CREATE TRIGGER country_figures_changed AFTER INSERT OR UPDATE OR DELETE ON country "
    "FOR EACH STATEMENT EXECUTE FUNCTION campaign_figures_changed()",
    """CREATE OR REPLACE FUNCTION campaign_figures_version(wanted integer) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    SET CONSTRAINTS ALL IMMEDIATE;
  END IF;
  RETURN (SELECT figures_version FROM campaign WHERE id = wanted);
END
$$""",
)
CAMPAIGN_OF = {
    "outreach_record": "ROW.campaign_id",
    "position": "ROW.campaign_id",
    "demand": "ROW.campaign_id",
    "demand_translation": "(SELECT campaign_id FROM demand WHERE id = ROW.demand_id)",
    "country": None,
}


def _sqlite():
    for table, campaign in CAMPAIGN_OF.items():
        update = "UPDATE OF campaign_id, country_id, stage, assignee_id" if table == "outreach_record" else "UPDATE"
        for name, event, rows in (
            ("added", "INSERT", ("NEW",)),
            ("changed", update, ("OLD", "NEW")),
            ("removed", "DELETE", ("OLD",)),
        ):
            where = (
                ""
                if campaign is None
                else " WHERE id IN ({})".format(", ".join(campaign.replace("ROW", r) for r in rows))
            )
            yield (
                f"CREATE TRIGGER {table}_figures_{name} AFTER {event} ON {table} BEGIN "
                f"UPDATE campaign SET figures_version = random(){where}; END"
            )


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMN (no batch: on SQLite a batch re-creates the table).
    op.add_column("campaign", sa.Column("figures_version", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(f"{RENEW}" if postgresql else "UPDATE campaign SET figures_version = random()")
    for statement in POSTGRESQL if postgresql else _sqlite():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS campaign_figures_changed() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS campaign_figures_version(integer)")
    else:
        for table in CAMPAIGN_OF:
            for name in ("added", "changed", "removed"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_figures_{name}")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("figures_version")
