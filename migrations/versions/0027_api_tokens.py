"""personal access tokens for the JSON API: named, scoped (read, or read and write), expiring, revocable,
kept as their SHA-256 only

Revision ID: 0027_api_tokens
Revises: 0026_erased_signers
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_api_tokens"
down_revision = "0026_erased_signers"
branch_labels = None
depends_on = None

HEX = "0123456789abcdef"


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f("ck_api_token_scope_valid")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_api_token_name_not_blank")),
        sa.CheckConstraint(
            f"length(token_hash) = 64 AND ltrim(token_hash, '{HEX}') = ''", name=op.f("ck_api_token_token_hash_format")
        ),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_api_token_expires_after_creation")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_api_token_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index("ix_api_token_user_id", ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index("ix_api_token_user_id")
    op.drop_table("api_token")
