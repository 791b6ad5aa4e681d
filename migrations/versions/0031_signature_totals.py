"""signature counts kept per petition and country (signature_total), per campaign and day (signature_day),
and the daily growth of the smaller kind of signers where a country has both (signature_overlap), so that
the totals and the series by day read a bounded number of rows instead of summing signature_count

Revision ID: 0031_signature_totals
Revises: 0030_lookup_indexes

The three tables are filled from signature_count (this revision's own copy of the rules in
crm/signatures/counts.py: rebuild_kept).
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0031_signature_totals"
down_revision = "0030_lookup_indexes"
branch_labels = None
depends_on = None


def _fill():
    connection = op.get_bind()
    op.execute(
        "INSERT INTO signature_total (campaign_id, petition_id, country_id, signers, without_email) "
        "SELECT campaign_id, petition_id, country_id, sum(signers), sum(without_email) FROM signature_count "
        "GROUP BY campaign_id, petition_id, country_id"
    )
    op.execute(
        "INSERT INTO signature_day (campaign_id, day, signers) "
        "SELECT campaign_id, day, sum(signers) FROM signature_count GROUP BY campaign_id, day"
    )
    # Countries with signers of both kinds (by address and by name and place): the smaller kind's growth.
    both = connection.execute(
        sa.text(
            "SELECT campaign_id, country_id FROM signature_total GROUP BY campaign_id, country_id "
            "HAVING sum(signers - without_email) > 0 AND sum(without_email) > 0"
        )
    ).all()
    for campaign_id, country_id in both:
        days = defaultdict(lambda: [0, 0])
        for day, by_email, by_name in connection.execute(
            sa.text(
                "SELECT day, signers - without_email, without_email FROM signature_count "
                "WHERE campaign_id = :c AND country_id = :k"
            ),
            {"c": campaign_id, "k": country_id},
        ):
            days[day][0] += by_email
            days[day][1] += by_name
        email = name = common = 0
        grew = []
        for day in sorted(days):
            email, name = email + days[day][0], name + days[day][1]
            if min(email, name) > common:
                grew.append({"c": campaign_id, "k": country_id, "d": day, "n": min(email, name) - common})
                common = min(email, name)
        if grew:
            connection.execute(
                sa.text(
                    "INSERT INTO signature_overlap (campaign_id, country_id, day, signers) VALUES (:c, :k, :d, :n)"
                ),
                grew,
            )


def upgrade():
    op.create_table(
        "signature_total",
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("signers", sa.Integer(), nullable=False),
        sa.Column("without_email", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("signers >= 0", name=op.f("ck_signature_total_signers_not_negative")),
        sa.CheckConstraint(
            "without_email >= 0 AND (without_email <= signers OR signers < 0)",
            name=op.f("ck_signature_total_without_email_within_signers"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id", "petition_id"],
            ["petition.campaign_id", "petition.id"],
            name=op.f("fk_signature_total_campaign_id_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_signature_total_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("petition_id", "country_id", name=op.f("pk_signature_total")),
    )
    op.create_index(op.f("ix_signature_total_campaign_id"), "signature_total", ["campaign_id"], unique=False)
    op.create_table(
        "signature_day",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("signers", sa.Integer(), nullable=False),
        sa.CheckConstraint("signers >= 0", name=op.f("ck_signature_day_signers_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_signature_day_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "day", name=op.f("pk_signature_day")),
    )
    op.create_table(
        "signature_overlap",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("signers", sa.Integer(), nullable=False),
        sa.CheckConstraint("signers > 0", name=op.f("ck_signature_overlap_signers_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_signature_overlap_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "country_id", "day", name=op.f("pk_signature_overlap")),
    )
    _fill()


def downgrade():
    op.drop_table("signature_overlap")
    op.drop_table("signature_day")
    op.drop_index(op.f("ix_signature_total_campaign_id"), table_name="signature_total")
    op.drop_table("signature_total")
