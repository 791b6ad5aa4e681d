"""the public board of responses: a campaign's board, each government's entry on it and each position
shown there are published by a manager (positions themselves are never rewritten, so being public is
recorded beside them)

Revision ID: 0022_public_board
Revises: 0021_backup_run
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_public_board"
down_revision = "0021_backup_run"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "published_board",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_published_board_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["user.id"], name=op.f("fk_published_board_published_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_published_board")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "published_entry",
        sa.Column("outreach_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outreach_id"],
            ["outreach_record.id"],
            name=op.f("fk_published_entry_outreach_id_outreach_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["user.id"], name=op.f("fk_published_entry_published_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("outreach_id", name=op.f("pk_published_entry")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "published_position",
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["position.id"],
            name=op.f("fk_published_position_position_id_position"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["user.id"],
            name=op.f("fk_published_position_published_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("position_id", name=op.f("pk_published_position")),
        sqlite_with_rowid=False,
    )


def downgrade():
    op.drop_table("published_position")
    op.drop_table("published_entry")
    op.drop_table("published_board")
