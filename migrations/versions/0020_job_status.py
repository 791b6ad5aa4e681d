"""each scheduled job's last run, success and failure, for /metrics

Revision ID: 0020_job_status
Revises: 0018_campaign_counts
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_job_status"
down_revision = "0018_campaign_counts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_status",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_status")),
    )


def downgrade():
    op.drop_table("job_status")
