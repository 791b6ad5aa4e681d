"""a state's entry into force may come before its deposit (a successor state is bound from independence,
as Montenegro is), but never before 1 July 2002, when the Statute itself entered into force

Revision ID: 0009_entry_into_force_statute
Revises: 0008_login_attempt_device
"""

from alembic import op

revision = "0009_entry_into_force_statute"
down_revision = "0008_login_attempt_device"
branch_labels = None
depends_on = None

OLD = (
    "ck_country_entry_into_force_after_ratification",
    "rs_entry_into_force_date IS NULL OR rs_ratification_date IS NULL "
    "OR rs_entry_into_force_date >= rs_ratification_date",
)
NEW = (
    "ck_country_entry_into_force_after_statute",
    "rs_entry_into_force_date IS NULL OR rs_entry_into_force_date >= '2002-07-01'",
)


def _swap(drop, create):
    with op.batch_alter_table("country", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(drop[0]), type_="check")
        batch_op.create_check_constraint(op.f(create[0]), create[1])


def upgrade():
    _swap(OLD, NEW)


def downgrade():
    _swap(NEW, OLD)
