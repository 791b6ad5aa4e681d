"""signatures without an e-mail address: a signature's kind, the counts of such signers, and the higher
end of the range a delivered letter's totals then have

Revision ID: 0025_signature_kinds
Revises: 0024_statements
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_signature_kinds"
down_revision = "0024_statements"
branch_labels = None
depends_on = None


def upgrade():
    # Every signature so far was recognised by its e-mail address: the default says so.
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="email", nullable=False))
        batch_op.create_check_constraint(op.f("ck_signature_kind_valid"), "kind IN ('email', 'name')")
    with op.batch_alter_table("staged_signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="email", nullable=False))
    with op.batch_alter_table("signature_count", schema=None) as batch_op:
        batch_op.add_column(sa.Column("without_email", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_signature_count_without_email_within_signers"),
            "without_email >= 0 AND (without_email <= signers OR signers < 0)",
        )
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signatures_total_upper", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("signatures_resident_upper", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_letter_upper_total_at_least"),
            "signatures_total_upper IS NULL OR signatures_total_upper >= signatures_total",
        )
        batch_op.create_check_constraint(
            op.f("ck_letter_upper_resident_at_least"),
            "signatures_resident_upper IS NULL OR signatures_resident_upper >= signatures_resident",
        )


def downgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_letter_upper_resident_at_least"), type_="check")
        batch_op.drop_constraint(op.f("ck_letter_upper_total_at_least"), type_="check")
        batch_op.drop_column("signatures_resident_upper")
        batch_op.drop_column("signatures_total_upper")
    with op.batch_alter_table("signature_count", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signature_count_without_email_within_signers"), type_="check")
        batch_op.drop_column("without_email")
    with op.batch_alter_table("staged_signature", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signature_kind_valid"), type_="check")
        batch_op.drop_column("kind")
