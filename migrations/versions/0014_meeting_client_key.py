"""a meeting remembers the key of the form that logged it, so that a form sent twice (a retried save
after the connection dropped, or a double tap) logs one meeting

Revision ID: 0014_meeting_client_key
Revises: 0013_invitations
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_meeting_client_key"
down_revision = "0013_invitations"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_meeting_client_key", ["client_key"])


def downgrade():
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint("uq_meeting_client_key", type_="unique")
        batch_op.drop_column("client_key")
