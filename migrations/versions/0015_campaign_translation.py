"""a campaign's name and description in other languages live in campaign_translation, one row per
language, as a demand's wording does; the Spanish columns on campaign are carried over and dropped

Revision ID: 0015_campaign_translation
Revises: 0014_meeting_client_key
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_campaign_translation"
down_revision = "0014_meeting_client_key"
branch_labels = None
depends_on = None


def upgrade():
    translation = op.create_table(
        "campaign_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.CheckConstraint("length(language) BETWEEN 2 AND 8", name=op.f("ck_campaign_translation_language_format")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_campaign_translation_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_translation_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_translation")),
        sa.UniqueConstraint("campaign_id", "language", name=op.f("uq_campaign_translation_campaign_id_language")),
    )
    campaign = sa.table(
        "campaign",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_es", sa.String),
        sa.column("description_es", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(campaign.c.id, campaign.c.name, campaign.c.name_es, campaign.c.description_es).where(
            sa.or_(
                sa.func.length(sa.func.trim(sa.func.coalesce(campaign.c.name_es, ""))) > 0,
                sa.func.length(sa.func.trim(sa.func.coalesce(campaign.c.description_es, ""))) > 0,
            )
        )
    ).all()
    # A Spanish description without a Spanish name keeps the English name, which is what it showed beside.
    values = [
        {
            "campaign_id": row.id,
            "language": "es",
            "name": row.name_es if row.name_es and row.name_es.strip() else row.name,
            "description": row.description_es if row.description_es and row.description_es.strip() else None,
        }
        for row in rows
    ]
    if values:
        op.bulk_insert(translation, values)
    # Plain ALTER TABLE, not a batch: on SQLite a batch copies and drops the campaign table, and with foreign
    # keys on, dropping it cascades to every table that points at it (demands, records, translations...).
    # SQLite has dropped and added plain columns in place since 3.35.
    op.drop_column("campaign", "description_es")
    op.drop_column("campaign", "name_es")


def downgrade():
    op.add_column("campaign", sa.Column("name_es", sa.String(length=200), nullable=True))
    op.add_column("campaign", sa.Column("description_es", sa.Text(), nullable=True))
    campaign = sa.table(
        "campaign", sa.column("id", sa.Integer), sa.column("name_es", sa.String), sa.column("description_es", sa.Text)
    )
    translation = sa.table(
        "campaign_translation",
        sa.column("campaign_id", sa.Integer),
        sa.column("language", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
    )
    connection = op.get_bind()
    # Only Spanish has columns to go back to; wording in any later language is lost on the way down.
    for row in connection.execute(
        sa.select(translation.c.campaign_id, translation.c.name, translation.c.description).where(
            translation.c.language == "es"
        )
    ).all():
        connection.execute(
            campaign.update()
            .where(campaign.c.id == row.campaign_id)
            .values(name_es=row.name, description_es=row.description)
        )
    op.drop_table("campaign_translation")
