"""indexes for the lookups pages make by a foreign key (a letter's replies, a contact's merged duplicates,
a meeting's or letter's positions and follow-ups, an office's letters), and the follow-ups still to do in
the order they are listed

Without them PostgreSQL read every letter (100,000 at an organisation's size) to find one letter's
replies, and sorted every open follow-up for each page of the follow-ups list.

Revision ID: 0030_lookup_indexes
Revises: 0029_webhooks
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_lookup_indexes"
down_revision = "0029_webhooks"
branch_labels = None
depends_on = None

LOOKUPS = (
    ("letter", "in_reply_to_id"),
    ("letter", "recipient_office_id"),
    ("contact", "merged_into_id"),
    ("position", "meeting_id"),
    ("position", "letter_id"),
    ("follow_up", "meeting_id"),
    ("follow_up", "letter_id"),
    ("reply_clock", "meeting_id"),
    ("reply_clock", "letter_id"),
    ("reply_clock", "follow_up_id"),
)

DUE = "(CASE WHEN (status = 'snoozed') THEN snoozed_until ELSE due_on END)"
STILL_TO_DO = "status IN ('open', 'snoozed')"


def upgrade():
    for table, column in LOOKUPS:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])
    op.create_index(
        "ix_follow_up_to_do_due",
        "follow_up",
        [sa.text(DUE), "id"],
        postgresql_where=sa.text(STILL_TO_DO),
        sqlite_where=sa.text(STILL_TO_DO),
    )


def downgrade():
    op.drop_index("ix_follow_up_to_do_due", table_name="follow_up")
    for table, column in reversed(LOOKUPS):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
