"""a record's letters indexed by their timeline's day (received, else sent, else the UTC day recorded), so
that a record's latest letters are read from the index in order

The index it replaces held the day's columns but not the day: PostgreSQL read and sorted every letter of
each record on a country page's cards (some nine hundred a record for the busiest government) to keep six.
On PostgreSQL the new index also includes the day's columns, so that the ids and days come from it alone.

Revision ID: 0033_letter_day_index
Revises: 0032_overdue_by_record
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_letter_day_index"
down_revision = "0032_overdue_by_record"
branch_labels = None
depends_on = None

# crm/letters/models.py's letter_day, as each database writes it (crm.database.utc_day).
DAY = {
    "postgresql": "coalesce(received_on, sent_on, CAST(timezone('UTC', created_at) AS DATE))",
    "sqlite": "coalesce(received_on, sent_on, date(created_at))",
}


def upgrade():
    op.drop_index("ix_letter_outreach_days", table_name="letter")
    op.create_index(
        "ix_letter_outreach_day",
        "letter",
        ["outreach_id", sa.text(DAY[op.get_bind().dialect.name]), "id"],
        postgresql_include=["received_on", "sent_on", "created_at"],
    )


def downgrade():
    op.drop_index("ix_letter_outreach_day", table_name="letter")
    op.create_index("ix_letter_outreach_days", "letter", ["outreach_id", "received_on", "sent_on", "created_at", "id"])
