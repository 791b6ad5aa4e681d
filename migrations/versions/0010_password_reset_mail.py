"""password-reset mail goes through the outbox like all mail: a message kind of its own

Revision ID: 0010_password_reset_mail
Revises: 0009_entry_into_force_statute
"""

from alembic import op

revision = "0010_password_reset_mail"
down_revision = "0009_entry_into_force_statute"
branch_labels = None
depends_on = None

OLD = "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment')"
NEW = "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset')"


def upgrade():
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint("kind_valid", NEW)


def downgrade():
    op.execute("DELETE FROM outbound_message WHERE kind = 'password_reset'")
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint("kind_valid", OLD)
