"""a campaign carries signatures_version, a random number the database renews whenever a row its signature
totals are made from changes (its petitions' counts per country, their tallies, the petitions and their
imports), so that the dashboard keeps the totals it made until they change; campaign_versions(campaign)
gives both numbers at once on PostgreSQL, in place of campaign_figures_version(campaign)

Revision ID: 0038_campaign_signatures_version
Revises: 0037_campaign_figures_version

The triggers are this revision's own copy of crm/campaigns/models.py's SQL: a migration builds the schema
of its revision, whatever the models say later. Existing campaigns each get a random number of their own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0038_campaign_signatures_version"
down_revision = "0037_campaign_figures_version"
branch_labels = None
depends_on = None

RENEW = "UPDATE campaign SET signatures_version = floor(random() * 9.0e18)::bigint"
OF_PETITION = "(SELECT campaign_id FROM petition WHERE id = {}.petition_id)"
CAMPAIGN_OF = {
    "signature_total": "ROW.campaign_id",
    "signature_tally": OF_PETITION.format("ROW"),
    "signature_import": OF_PETITION.format("ROW"),
    "petition": "ROW.campaign_id",
}
POSTGRESQL = (
    f"""CREATE OR REPLACE FUNCTION campaign_signatures_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME IN ('signature_total', 'petition') THEN
    {RENEW} WHERE id IN (OLD.campaign_id, NEW.campaign_id);
  ELSIF TG_TABLE_NAME IN ('signature_tally', 'signature_import') THEN
    {RENEW} WHERE id IN ({OF_PETITION.format("OLD")}, {OF_PETITION.format("NEW")});
  END IF;
  RETURN NULL;
END
$$""",
    *(
        f"CREATE CONSTRAINT TRIGGER {table}_signatures_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION campaign_signatures_changed()"
        for table in CAMPAIGN_OF
    ),
    "DROP FUNCTION IF EXISTS campaign_figures_version(integer)",
    # Made anew: a failed restore removes the tables but leaves the functions, a later revision's among them.
    "DROP FUNCTION IF EXISTS campaign_versions(integer)",
    """CREATE FUNCTION campaign_versions(wanted integer, OUT figures bigint, OUT signatures bigint)
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    SET CONSTRAINTS ALL IMMEDIATE;
  END IF;
  SELECT figures_version, signatures_version INTO figures, signatures FROM campaign WHERE id = wanted;
END
$$""",
)
# 0037's, given back by the downgrade.
FIGURES_VERSION = """CREATE OR REPLACE FUNCTION campaign_figures_version(wanted integer) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    SET CONSTRAINTS ALL IMMEDIATE;
  END IF;
  RETURN (SELECT figures_version FROM campaign WHERE id = wanted);
END
$$"""


def _sqlite():
    for table, campaign in CAMPAIGN_OF.items():
        for name, event, rows in (
            ("added", "INSERT", ("NEW",)),
            ("changed", "UPDATE", ("OLD", "NEW")),
            ("removed", "DELETE", ("OLD",)),
        ):
            where = ", ".join(campaign.replace("ROW", r) for r in rows)
            yield (
                f"CREATE TRIGGER {table}_signatures_{name} AFTER {event} ON {table} BEGIN "
                f"UPDATE campaign SET signatures_version = random() WHERE id IN ({where}); END"
            )


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMN (no batch: on SQLite a batch re-creates the table).
    op.add_column("campaign", sa.Column("signatures_version", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(RENEW if postgresql else "UPDATE campaign SET signatures_version = random()")
    for statement in POSTGRESQL if postgresql else _sqlite():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS campaign_signatures_changed() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS campaign_versions(integer)")
        op.execute(FIGURES_VERSION)
    else:
        for table in CAMPAIGN_OF:
            for name in ("added", "changed", "removed"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_signatures_{name}")
    # Plain DROP COLUMN (SQLite 3.35 and later): a batch would re-create the table, which 0037's triggers on
    # other tables name.
    op.execute("ALTER TABLE campaign DROP COLUMN signatures_version")
