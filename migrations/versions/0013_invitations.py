"""staff are invited by e-mail and choose their own password through a single-use, expiring link; the
invitation goes out through the mail queue like other mail, as does the notice to someone whose records
were reassigned

Revision ID: 0013_invitations
Revises: 0012_campaign_setup
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_invitations"
down_revision = "0012_campaign_setup"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset')"
NEW_KINDS = (
    "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset', "
    "'invitation', 'reassignment')"
)


def upgrade():
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_count", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_invitation_expires_after_creation")),
        sa.CheckConstraint("send_count > 0", name=op.f("ck_invitation_sent_at_least_once")),
        sa.CheckConstraint("accepted_at IS NULL OR revoked_at IS NULL", name=op.f("ck_invitation_accepted_or_revoked")),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["user.id"], name=op.f("fk_invitation_invited_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_invitation_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_kind_valid"), NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM outbound_message WHERE kind IN ('invitation', 'reassignment')")
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_kind_valid"), OLD_KINDS)
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_user_id"))
    op.drop_table("invitation")
