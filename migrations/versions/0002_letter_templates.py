"""letter templates: the wording of letters per language, with merge fields

Revision ID: 0002_letter_templates
Revises: 97bc5965acab
Create Date: 2026-11-24 10:00:00

Written by hand to match crm/letters/models.py (tests/schema/test_migrations.py checks there is no drift).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002_letter_templates"
down_revision = "97bc5965acab"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "letter_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("language IN ('es', 'en', 'fr', 'pt')", name=op.f("ck_letter_template_language_valid")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_letter_template_name_not_blank")),
        sa.CheckConstraint("length(trim(subject)) > 0", name=op.f("ck_letter_template_subject_not_blank")),
        sa.CheckConstraint("length(trim(body)) > 0", name=op.f("ck_letter_template_body_not_blank")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_letter_template_updated_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_template")),
        sa.UniqueConstraint("name", "language", name=op.f("uq_letter_template_name_language")),
    )


def downgrade():
    op.drop_table("letter_template")
