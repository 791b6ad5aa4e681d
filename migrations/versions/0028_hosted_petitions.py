"""hosted petitions: a petition signed on the campaign's own server (platform "hosted", its page at
/sign/<slug>), its page's settings (texts, totals by country, origins allowed to frame it), the signatures
given there (pending a single-use link, held for review, confirmed, rejected, withdrawn), and their
confirmation e-mail in the mail queue

Revision ID: 0028_hosted_petitions
Revises: 0027_api_tokens
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_hosted_petitions"
down_revision = "0027_api_tokens"
branch_labels = None
depends_on = None

OLD_PLATFORMS = "platform IN ('action_network', 'change_org', 'openpetition', 'generic', 'other')"
NEW_PLATFORMS = "platform IN ('action_network', 'change_org', 'openpetition', 'generic', 'other', 'hosted')"
OLD_KINDS = (
    "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset', "
    "'invitation', 'reassignment', 'statement_confirmation')"
)
NEW_KINDS = (
    "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset', "
    "'invitation', 'reassignment', 'statement_confirmation', 'hosted_confirmation')"
)


def _checks(platforms: str, kinds: str) -> None:
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_petition_platform_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_petition_platform_valid"), platforms)
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_kind_valid"), kinds)


def upgrade():
    _checks(NEW_PLATFORMS, NEW_KINDS)
    op.create_table(
        "hosted_petition",
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("totals_by_country", sa.Boolean(), nullable=False),
        sa.Column("frame_origins", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["petition_id"], ["petition.id"], name=op.f("fk_hosted_petition_petition_id_petition"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("petition_id", name=op.f("pk_hosted_petition")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "hosted_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("show_name", sa.Boolean(), nullable=False),
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("wants_contact", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("for_review", sa.Boolean(), nullable=False),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("withdraw_token_hash", sa.String(length=64), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(status = 'pending') = (confirm_token_hash IS NOT NULL)",
            name=op.f("ck_hosted_signature_link_only_when_pending"),
        ),
        sa.CheckConstraint(
            "confirm_token_hash IS NULL OR (length(confirm_token_hash) = 64 AND ltrim(confirm_token_hash, '0123456789abcdef') = '')",
            name=op.f("ck_hosted_signature_confirm_token_hash_format"),
        ),
        sa.CheckConstraint(
            "email IS NULL OR (email = lower(email) AND email LIKE '%_@_%')",
            name=op.f("ck_hosted_signature_email_shape"),
        ),
        sa.CheckConstraint("language IN ('en', 'es')", name=op.f("ck_hosted_signature_language_valid")),
        sa.CheckConstraint(
            "length(email_hash) = 64 AND ltrim(email_hash, '0123456789abcdef') = ''",
            name=op.f("ck_hosted_signature_email_hash_format"),
        ),
        sa.CheckConstraint(
            "length(withdraw_token_hash) = 64 AND ltrim(withdraw_token_hash, '0123456789abcdef') = ''",
            name=op.f("ck_hosted_signature_withdraw_token_hash_format"),
        ),
        sa.CheckConstraint(
            "status <> 'pending' OR email IS NOT NULL", name=op.f("ck_hosted_signature_pending_has_address")
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR decided_at IS NOT NULL", name=op.f("ck_hosted_signature_rejected_has_time")
        ),
        sa.CheckConstraint(
            "status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name=op.f("ck_hosted_signature_withdrawn_has_time")
        ),
        sa.CheckConstraint(
            "status = 'confirmed' OR signature_id IS NULL", name=op.f("ck_hosted_signature_only_counted_has_signature")
        ),
        sa.CheckConstraint(
            "status = 'pending' OR wants_contact OR (email IS NULL AND postal_code IS NULL)",
            name=op.f("ck_hosted_signature_address_kept_only_with_consent"),
        ),
        sa.CheckConstraint(
            "status = 'pending' OR wants_contact OR show_name OR name IS NULL",
            name=op.f("ck_hosted_signature_name_kept_only_with_consent"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'held', 'confirmed', 'rejected', 'withdrawn')",
            name=op.f("ck_hosted_signature_status_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'withdrawn') OR confirmed_at IS NOT NULL",
            name=op.f("ck_hosted_signature_confirmed_has_time"),
        ),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_hosted_signature_expires_after_creation")),
        sa.CheckConstraint("name IS NULL OR length(trim(name)) > 0", name=op.f("ck_hosted_signature_name_not_blank")),
        sa.CheckConstraint(
            "postal_code IS NULL OR length(trim(postal_code)) > 0",
            name=op.f("ck_hosted_signature_postal_code_not_blank"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id", "petition_id"],
            ["petition.campaign_id", "petition.id"],
            name=op.f("fk_hosted_signature_campaign_id_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_hosted_signature_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["country_id"], ["country.id"], name=op.f("fk_hosted_signature_country_id_country")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_hosted_signature_decided_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_hosted_signature_signature_id_signature"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_signature")),
        sa.UniqueConstraint("confirm_token_hash", name=op.f("uq_hosted_signature_confirm_token_hash")),
        sa.UniqueConstraint("withdraw_token_hash", name=op.f("uq_hosted_signature_withdraw_token_hash")),
    )
    with op.batch_alter_table("hosted_signature", schema=None) as batch_op:
        batch_op.create_index("ix_hosted_signature_campaign_hash", ["campaign_id", "email_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_hosted_signature_country_id"), ["country_id"], unique=False)
        batch_op.create_index("ix_hosted_signature_petition_status", ["petition_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_hosted_signature_signature_id"), ["signature_id"], unique=False)


def downgrade():
    op.execute("DELETE FROM outbound_message WHERE kind = 'hosted_confirmation'")
    op.execute("DELETE FROM petition WHERE platform = 'hosted'")
    with op.batch_alter_table("hosted_signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hosted_signature_signature_id"))
        batch_op.drop_index("ix_hosted_signature_petition_status")
        batch_op.drop_index(batch_op.f("ix_hosted_signature_country_id"))
        batch_op.drop_index("ix_hosted_signature_campaign_hash")

    op.drop_table("hosted_signature")
    op.drop_table("hosted_petition")
    _checks(OLD_PLATFORMS, OLD_KINDS)
