"""joint statements: a campaign's statements, their text per language (frozen at the first signature), the
signatures organisations give on the public page (confirmed by e-mail, moderated, withdrawable), the
statements going with a letter (their signatories frozen at delivery), the confirmation e-mail in the mail
queue, and the public forms' rate-limit counts kept in the database

Revision ID: 0024_statements
Revises: 0023_timeline_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_statements"
down_revision = "0023_timeline_indexes"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset', "
    "'invitation', 'reassignment')"
)
NEW_KINDS = (
    "kind IN ('due_reminder', 'digest', 'weekly_report', 'escalation', 'assignment', 'password_reset', "
    "'invitation', 'reassignment', 'statement_confirmation')"
)
HEX = "0123456789abcdef"
SLUG = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _hash_format(column: str) -> str:
    return f"length({column}) = 64 AND ltrim({column}, '{HEX}') = ''"


def upgrade():
    op.create_table(
        "public_form_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(trim(form)) > 0", name=op.f("ck_public_form_hit_form_not_blank")),
        sa.CheckConstraint("length(trim(key)) > 0", name=op.f("ck_public_form_hit_key_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_form_hit")),
    )
    with op.batch_alter_table("public_form_hit", schema=None) as batch_op:
        batch_op.create_index("ix_public_form_hit_form_key", ["form", "key", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_public_form_hit_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=True),
        sa.Column("individuals_may_sign", sa.Boolean(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"slug <> '' AND ltrim(slug, '{SLUG}') = ''", name=op.f("ck_statement_slug_format")),
        sa.CheckConstraint(
            "closes_on IS NULL OR opens_on IS NULL OR closes_on >= opens_on", name=op.f("ck_statement_dates_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_statement_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_statement_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement")),
        sa.UniqueConstraint("slug", name=op.f("uq_statement_slug")),
    )
    with op.batch_alter_table("statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "statement_text",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.CheckConstraint("language IN ('en', 'es')", name=op.f("ck_statement_text_language_valid")),
        sa.CheckConstraint("length(trim(title)) > 0", name=op.f("ck_statement_text_title_not_blank")),
        sa.CheckConstraint("length(trim(body)) > 0", name=op.f("ck_statement_text_body_not_blank")),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statement.id"],
            name=op.f("fk_statement_text_statement_id_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("statement_id", "language", name=op.f("pk_statement_text")),
    )

    op.create_table(
        "statement_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=True),
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=True),
        sa.Column("signer_role", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("listing", sa.String(length=16), nullable=False),
        sa.Column("publish_logo", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("withdraw_token_hash", sa.String(length=64), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('organisation', 'individual')", name=op.f("ck_statement_signature_kind_valid")),
        sa.CheckConstraint(
            "listing IN ('named', 'withheld', 'unlisted')", name=op.f("ck_statement_signature_listing_valid")
        ),
        sa.CheckConstraint(
            "status IN ('unconfirmed', 'confirmed', 'approved', 'rejected', 'withdrawn', 'merged')",
            name=op.f("ck_statement_signature_status_valid"),
        ),
        sa.CheckConstraint("language IN ('en', 'es')", name=op.f("ck_statement_signature_language_valid")),
        sa.CheckConstraint(
            "kind <> 'organisation' OR organisation IS NOT NULL", name=op.f("ck_statement_signature_organisation_named")
        ),
        sa.CheckConstraint(
            "organisation IS NULL OR length(trim(organisation)) > 0",
            name=op.f("ck_statement_signature_organisation_not_blank"),
        ),
        sa.CheckConstraint(
            "erased_at IS NOT NULL OR (email IS NOT NULL AND signer_name IS NOT NULL)",
            name=op.f("ck_statement_signature_signer_unless_erased"),
        ),
        sa.CheckConstraint(
            "signer_name IS NULL OR length(trim(signer_name)) > 0",
            name=op.f("ck_statement_signature_signer_name_not_blank"),
        ),
        sa.CheckConstraint(
            "email IS NULL OR (email = lower(email) AND email LIKE '%_@_%')",
            name=op.f("ck_statement_signature_email_shape"),
        ),
        sa.CheckConstraint(
            "confirm_token_hash IS NULL OR (" + _hash_format("confirm_token_hash") + ")",
            name=op.f("ck_statement_signature_confirm_token_hash_format"),
        ),
        sa.CheckConstraint(
            _hash_format("withdraw_token_hash"), name=op.f("ck_statement_signature_withdraw_token_hash_format")
        ),
        sa.CheckConstraint(
            "status <> 'unconfirmed' OR confirm_token_hash IS NOT NULL",
            name=op.f("ck_statement_signature_unconfirmed_has_link"),
        ),
        sa.CheckConstraint(
            "status IN ('unconfirmed', 'withdrawn') OR confirmed_at IS NOT NULL",
            name=op.f("ck_statement_signature_confirmed_has_time"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'rejected') OR decided_at IS NOT NULL",
            name=op.f("ck_statement_signature_decided_has_time"),
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR (reject_reason IS NOT NULL AND length(trim(reject_reason)) > 0)",
            name=op.f("ck_statement_signature_rejection_has_reason"),
        ),
        sa.CheckConstraint(
            "status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name=op.f("ck_statement_signature_withdrawn_has_time")
        ),
        sa.CheckConstraint(
            "(status = 'merged') = (merged_into_id IS NOT NULL)",
            name=op.f("ck_statement_signature_merged_has_survivor"),
        ),
        sa.CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id", name=op.f("ck_statement_signature_not_merged_into_self")
        ),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_statement_signature_expires_after_creation")),
        sa.ForeignKeyConstraint(["country_id"], ["country.id"], name=op.f("fk_statement_signature_country_id_country")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_statement_signature_decided_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["statement_signature.id"],
            name=op.f("fk_statement_signature_merged_into_id_statement_signature"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statement.id"],
            name=op.f("fk_statement_signature_statement_id_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_signature")),
        sa.UniqueConstraint("confirm_token_hash", name=op.f("uq_statement_signature_confirm_token_hash")),
        sa.UniqueConstraint("withdraw_token_hash", name=op.f("uq_statement_signature_withdraw_token_hash")),
    )
    with op.batch_alter_table("statement_signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_signature_country_id"), ["country_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_statement_signature_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_statement_signature_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_index("ix_statement_signature_statement_status", ["statement_id", "status"], unique=False)

    op.create_table(
        "letter_statement",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_by_id", sa.Integer(), nullable=True),
        sa.Column("signatories", sa.JSON(), nullable=True),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(signatories IS NULL) = (frozen_at IS NULL)", name=op.f("ck_letter_statement_frozen_with_list")
        ),
        sa.ForeignKeyConstraint(
            ["attached_by_id"], ["user.id"], name=op.f("fk_letter_statement_attached_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letter.id"], name=op.f("fk_letter_statement_letter_id_letter"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statement.id"],
            name=op.f("fk_letter_statement_statement_id_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", "statement_id", name=op.f("pk_letter_statement")),
    )
    with op.batch_alter_table("letter_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_statement_statement_id"), ["statement_id"], unique=False)

    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_kind_valid"), NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM outbound_message WHERE kind = 'statement_confirmation'")
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_kind_valid"), OLD_KINDS)
    with op.batch_alter_table("letter_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_statement_statement_id"))
    op.drop_table("letter_statement")
    with op.batch_alter_table("statement_signature", schema=None) as batch_op:
        batch_op.drop_index("ix_statement_signature_statement_status")
        batch_op.drop_index(batch_op.f("ix_statement_signature_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_statement_signature_email"))
        batch_op.drop_index(batch_op.f("ix_statement_signature_country_id"))
    op.drop_table("statement_signature")
    op.drop_table("statement_text")
    with op.batch_alter_table("statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_campaign_id"))
    op.drop_table("statement")
    with op.batch_alter_table("public_form_hit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_form_hit_occurred_at"))
        batch_op.drop_index("ix_public_form_hit_form_key")
    op.drop_table("public_form_hit")
