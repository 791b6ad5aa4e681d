"""login attempts remember the device that made them: a browser that signed in before is throttled on
its own failures, not held back by failures from elsewhere

Revision ID: 0008_login_attempt_device
Revises: 0007_audit_append_only
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_login_attempt_device"
down_revision = "0007_audit_append_only"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_login_attempt_device", ["kind", "device", "occurred_at"], unique=False)


def downgrade():
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_device")
        batch_op.drop_column("device")
