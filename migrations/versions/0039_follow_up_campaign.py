"""a follow-up carries its record's campaign, kept equal to it by a key on (campaign, record), and an index of
each campaign's follow-ups still to do by due day replaces 0032's by record

The dashboard's overdue follow-ups were found by probing 0032's index once for each of the campaign's records
(about 170 probes at an organisation's size, the page's dearest statement); now they are one range of an
index.

Revision ID: 0039_follow_up_campaign
Revises: 0038_campaign_signatures_version
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0039_follow_up_campaign"
down_revision = "0038_campaign_signatures_version"
branch_labels = None
depends_on = None

# The expressions of crm/outreach/models.py's FollowUp.due and still_to_do, as 0030 writes them.
DUE = "(CASE WHEN (status = 'snoozed') THEN snoozed_until ELSE due_on END)"
STILL_TO_DO = "status IN ('open', 'snoozed')"
RECORD_KEY = "fk_follow_up_outreach_id_outreach_record"
CAMPAIGN_KEY = "fk_follow_up_campaign_id_outreach_id_outreach_record"


def _index(name: str, columns: list) -> None:
    op.create_index(
        name, "follow_up", columns, postgresql_where=sa.text(STILL_TO_DO), sqlite_where=sa.text(STILL_TO_DO)
    )


def _rebuilt_on_sqlite(change) -> None:
    """`change(batch)` on follow_up. SQLite alters a key by copying the table, and the copy would lose the
    indexes on expressions (reflection skips them): 0030's is dropped first and made again after."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("ix_follow_up_to_do_due", table_name="follow_up")
    with warnings.catch_warnings():
        # Reflecting follow_up reflects the tables it points at, letter's index on an expression among them.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table("follow_up", schema=None) as batch_op:
            change(batch_op)
    if sqlite:
        _index("ix_follow_up_to_do_due", [sa.text(DUE), "id"])


def upgrade():
    op.add_column("follow_up", sa.Column("campaign_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE follow_up SET campaign_id = (SELECT campaign_id FROM outreach_record "
        "WHERE outreach_record.id = follow_up.outreach_id)"
    )
    op.drop_index("ix_follow_up_outreach_to_do_due", table_name="follow_up")

    def change(batch_op):
        batch_op.alter_column("campaign_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(RECORD_KEY, type_="foreignkey")
        batch_op.create_foreign_key(
            CAMPAIGN_KEY, "outreach_record", ["campaign_id", "outreach_id"], ["campaign_id", "id"], ondelete="CASCADE"
        )

    _rebuilt_on_sqlite(change)
    _index("ix_follow_up_campaign_to_do_due", ["campaign_id", sa.text(DUE)])


def downgrade():
    op.drop_index("ix_follow_up_campaign_to_do_due", table_name="follow_up")

    def change(batch_op):
        batch_op.drop_constraint(CAMPAIGN_KEY, type_="foreignkey")
        batch_op.create_foreign_key(RECORD_KEY, "outreach_record", ["outreach_id"], ["id"], ondelete="CASCADE")
        batch_op.drop_column("campaign_id")

    _rebuilt_on_sqlite(change)
    _index("ix_follow_up_outreach_to_do_due", ["outreach_id", sa.text(DUE)])
