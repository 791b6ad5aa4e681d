"""an index of a government's offices in the order its country page lists them (active first, then by kind
and city), so that the first are read from it

Without it PostgreSQL sorted every office of the government on each country page to show ten: some 650
for the busiest, about a millisecond of the page.

Revision ID: 0034_office_government_order
Revises: 0033_letter_day_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_office_government_order"
down_revision = "0033_letter_day_index"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_office_government_order", "office", ["country_id", sa.text("active DESC"), "kind", "city", "id"]
    )


def downgrade():
    op.drop_index("ix_office_government_order", table_name="office")
