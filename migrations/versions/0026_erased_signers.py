"""erased signers: the keyed hashes of the addresses the privacy tools erased, which later imports and pushes
leave out

Revision ID: 0026_erased_signers
Revises: 0025_signature_kinds
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_erased_signers"
down_revision = "0025_signature_kinds"
branch_labels = None
depends_on = None

HEX = "0123456789abcdef"


def upgrade():
    op.create_table(
        "erased_signer",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"length(email_hash) = 64 AND ltrim(email_hash, '{HEX}') = ''",
            name=op.f("ck_erased_signer_email_hash_format"),
        ),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_erased_signer")),
    )


def downgrade():
    op.drop_table("erased_signer")
