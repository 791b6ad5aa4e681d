"""campaigns are set up from the interface: Spanish name and description, default letter language,
default coordinator, archiving, and demands retired instead of deleted

Revision ID: 0012_campaign_setup
Revises: 0011_form_submission
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_campaign_setup"
down_revision = "0011_form_submission"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_es", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("description_es", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("letter_language", sa.String(length=8), nullable=False, server_default="en"))
        batch_op.add_column(sa.Column("default_coordinator_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaign_default_coordinator_id_user"),
            "user",
            ["default_coordinator_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(op.f("ck_campaign_letter_language_format"), "length(letter_language) >= 2")
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_letter_language_format"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_campaign_default_coordinator_id_user"), type_="foreignkey")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("default_coordinator_id")
        batch_op.drop_column("letter_language")
        batch_op.drop_column("description_es")
        batch_op.drop_column("name_es")
