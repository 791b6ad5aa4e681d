"""a campaign's signers kept in one row (signature_campaign_total), with the sum of its overlaps, so that
the campaign page reads its total from that row instead of summing a row per petition and country

Revision ID: 0035_signature_campaign_total
Revises: 0034_office_government_order

The rows are filled from signature_total and signature_overlap (this revision's own copy of the rules in
crm/signatures/counts.py: rebuild_kept).
"""

import sqlalchemy as sa
from alembic import op

revision = "0035_signature_campaign_total"
down_revision = "0034_office_government_order"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "signature_campaign_total",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("signers", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("signers >= 0", name=op.f("ck_signature_campaign_total_signers_not_negative")),
        sa.CheckConstraint("overlap >= 0", name=op.f("ck_signature_campaign_total_overlap_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_signature_campaign_total_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_signature_campaign_total")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO signature_campaign_total (campaign_id, signers, overlap) "
        "SELECT campaign_id, sum(signers), 0 FROM signature_total GROUP BY campaign_id"
    )
    op.execute(
        "UPDATE signature_campaign_total SET overlap = (SELECT coalesce(sum(signers), 0) FROM signature_overlap "
        "WHERE signature_overlap.campaign_id = signature_campaign_total.campaign_id)"
    )


def downgrade():
    op.drop_table("signature_campaign_total")
