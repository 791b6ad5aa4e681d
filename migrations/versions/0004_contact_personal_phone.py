"""contacts' personal phone numbers, encrypted at rest

Revision ID: 0004_contact_personal_phone
Revises: 0003_assignments
Create Date: 2026-11-23

"""

import sqlalchemy as sa
from alembic import op

revision = "0004_contact_personal_phone"
down_revision = "0003_assignments"
branch_labels = None
depends_on = None


def upgrade():
    # Fernet tokens (crm.encryption.EncryptedText): text in the database, never the number itself.
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_phone", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("personal_phone")
