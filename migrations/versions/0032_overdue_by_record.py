"""an index of the follow-ups still to do by outreach record and due day, so that a campaign's overdue
follow-ups (the dashboard) are found from its own records

Without it PostgreSQL read every overdue follow-up of every campaign (4,900 rows in 1,000 heap blocks at an
organisation's size) to keep the few on one campaign's records: follow_up has no campaign of its own.

Revision ID: 0032_overdue_by_record
Revises: 0031_signature_totals
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_overdue_by_record"
down_revision = "0031_signature_totals"
branch_labels = None
depends_on = None

# The expressions of crm/outreach/models.py's FollowUp.due and still_to_do, as 0030 writes them.
DUE = "(CASE WHEN (status = 'snoozed') THEN snoozed_until ELSE due_on END)"
STILL_TO_DO = "status IN ('open', 'snoozed')"


def upgrade():
    op.create_index(
        "ix_follow_up_outreach_to_do_due",
        "follow_up",
        ["outreach_id", sa.text(DUE)],
        postgresql_where=sa.text(STILL_TO_DO),
        sqlite_where=sa.text(STILL_TO_DO),
    )


def downgrade():
    op.drop_index("ix_follow_up_outreach_to_do_due", table_name="follow_up")
