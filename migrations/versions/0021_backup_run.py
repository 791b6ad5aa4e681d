"""a record of each backup made, by the command or the scheduled job, so the admin page can say when
the last good one was

Revision ID: 0021_backup_run
Revises: 0020_job_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_backup_run"
down_revision = "0020_job_status"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "backup_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("schema_revision", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("origin IN ('command', 'schedule')", name=op.f("ck_backup_run_origin_valid")),
        sa.CheckConstraint("ok OR error IS NOT NULL", name=op.f("ck_backup_run_failure_has_reason")),
        sa.CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name=op.f("ck_backup_run_size_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_run")),
    )
    with op.batch_alter_table("backup_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backup_run_finished_at"), ["finished_at"], unique=False)


def downgrade():
    with op.batch_alter_table("backup_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_run_finished_at"))
    op.drop_table("backup_run")
