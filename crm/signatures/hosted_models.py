"""A petition hosted on the campaign's own server (platform "hosted"): its public page's settings and the
signatures people give there, confirmed by a single-use link before they count. What is kept of a signer
shrinks at confirmation: the plain address (and postal code) only with the second consent, the name only if
they asked to be shown or to hear again; otherwise the keyed hash the imported signatures use, the
country and the day. The database refuses a row that keeps more (the *_kept_only_with_consent checks)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.campaigns.models import CAMPAIGN_LANGUAGES, DEFAULT_LANGUAGE
from crm.database import EMAIL_SHAPE, HEX, UTCDateTime, enum_check, only_chars, utcnow
from crm.extensions import db

# pending: waiting for the link in the e-mail (dropped after a week); held: confirmed, but one of a burst
# from one network, waiting for a coordinator (not counted); confirmed: counted; rejected: a held one a
# coordinator refused (not counted); withdrawn: by the signer (not counted).
HOSTED_STATUSES = ("pending", "held", "confirmed", "rejected", "withdrawn")
COUNTED = "confirmed"
_TOKEN = "length({0}) = 64 AND " + only_chars("{0}", HEX)


class HostedPetition(db.Model):
    """The public page of a hosted petition: its text in each language, whether the running total is shown
    by country, and the sites allowed to show the form in a frame."""

    __tablename__ = "hosted_petition"
    __table_args__ = ({"sqlite_with_rowid": False},)  # a lone INTEGER key would be SQLite's rowid (NULL → next id)

    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    # {"es": {"title": ..., "body": ...}, ...}; a language without one falls back to English, then to any.
    texts: Mapped[dict] = mapped_column(sa.JSON(none_as_null=True), default=dict)
    totals_by_country: Mapped[bool] = mapped_column(default=True)
    # Origins ("https://example.org") that may show /sign/<slug> in a frame, one per line; none: no site.
    frame_origins: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    petition = relationship("Petition")

    def text(self, language: str) -> tuple[str | None, str | None, str | None]:
        """(title, body, the language they are in), in `language` if written, else English, else any."""
        texts = self.texts or {}
        for candidate in (language, DEFAULT_LANGUAGE, *sorted(texts)):
            wording = texts.get(candidate)
            if isinstance(wording, dict) and (wording.get("title") or wording.get("body")):
                return wording.get("title"), wording.get("body"), candidate
        return None, None, None

    @property
    def origins(self) -> list[str]:
        return [line.strip() for line in (self.frame_origins or "").splitlines() if line.strip()]


class HostedSignature(db.Model):
    """One sign-up on a hosted petition, from the form to its end. A counted one points at the campaign's
    `signature` row it added; one whose address was already counted (imported from a platform, or signed on
    another hosted petition) points at nothing: that person already counts once."""

    __tablename__ = "hosted_signature"
    __table_args__ = (
        enum_check("status", HOSTED_STATUSES),
        enum_check("language", CAMPAIGN_LANGUAGES),
        sa.ForeignKeyConstraint(
            ["campaign_id", "petition_id"], ["petition.campaign_id", "petition.id"], ondelete="CASCADE"
        ),
        sa.CheckConstraint(_TOKEN.format("email_hash"), name="email_hash_format"),
        sa.CheckConstraint(f"email IS NULL OR (email = lower(email) AND email {EMAIL_SHAPE})", name="email_shape"),
        sa.CheckConstraint("name IS NULL OR length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint("postal_code IS NULL OR length(trim(postal_code)) > 0", name="postal_code_not_blank"),
        sa.CheckConstraint(
            "confirm_token_hash IS NULL OR (" + _TOKEN.format("confirm_token_hash") + ")",
            name="confirm_token_hash_format",
        ),
        sa.CheckConstraint(_TOKEN.format("withdraw_token_hash"), name="withdraw_token_hash_format"),
        # The confirmation link works while, and only while, the sign-up waits for it.
        sa.CheckConstraint("(status = 'pending') = (confirm_token_hash IS NOT NULL)", name="link_only_when_pending"),
        sa.CheckConstraint("status <> 'pending' OR email IS NOT NULL", name="pending_has_address"),
        sa.CheckConstraint(
            "status = 'pending' OR wants_contact OR (email IS NULL AND postal_code IS NULL)",
            name="address_kept_only_with_consent",
        ),
        sa.CheckConstraint(
            "status = 'pending' OR wants_contact OR show_name OR name IS NULL", name="name_kept_only_with_consent"
        ),
        sa.CheckConstraint("status IN ('pending', 'withdrawn') OR confirmed_at IS NOT NULL", name="confirmed_has_time"),
        sa.CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_time"),
        sa.CheckConstraint("status <> 'rejected' OR decided_at IS NOT NULL", name="rejected_has_time"),
        sa.CheckConstraint("status = 'confirmed' OR signature_id IS NULL", name="only_counted_has_signature"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.Index("ix_hosted_signature_petition_status", "petition_id", "status"),
        sa.Index("ix_hosted_signature_campaign_hash", "campaign_id", "email_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    petition_id: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    # The keyed hash of the normalised address (crm.signatures.normalise.EmailHasher), as imports keep it.
    email_hash: Mapped[str] = mapped_column(sa.String(64))
    # The plain address: until confirmation, then only with the second consent (until the retention ends).
    email: Mapped[str | None] = mapped_column(sa.String(254))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    show_name: Mapped[bool] = mapped_column(default=False)
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"), index=True)
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    # The second consent, unticked by default: to hear from the campaign again.
    wants_contact: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(sa.String(8), default=DEFAULT_LANGUAGE)
    # A burst from one network: once confirmed it waits for a coordinator instead of counting.
    for_review: Mapped[bool] = mapped_column(default=False)
    # SHA-256 of the links' secrets (crm.encryption.token_hash); the secrets are only in the e-mail.
    confirm_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    withdraw_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The consent to be counted and delivered, given on the form.
    consented_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id", ondelete="SET NULL"), index=True)

    petition = relationship("Petition")
    country = relationship("Country")

    def __repr__(self) -> str:
        return f"<HostedSignature {self.id} {self.status}>"
