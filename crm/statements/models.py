"""A campaign's joint statements, their wording in each language, and the signatures they gather. A
statement's text is frozen once the first signature comes in (signers signed those words): a new version
is a new statement. A signature is never rewritten into someone else's: it moves through its statuses and
keeps its history (confirmed, decided, withdrawn), and only the privacy tools blank the signer's details."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.campaigns.models import CAMPAIGN_LANGUAGES, DEFAULT_LANGUAGE
from crm.database import EMAIL_SHAPE, HEX, SLUG, UTCDateTime, enum_check, only_chars, utcnow
from crm.extensions import db

STATEMENT_LANGUAGES = CAMPAIGN_LANGUAGES
SIGNER_KINDS = ("organisation", "individual")
# named: the name (and the logo, if allowed) may be published; withheld: listed as "an organisation in
# <country>, name withheld for its safety"; unlisted: counted, never shown.
LISTINGS = ("named", "withheld", "unlisted")
# unconfirmed: waiting for the link in the e-mail (dropped after a week); confirmed: waiting for a
# moderator; approved: on the public list; rejected: never listed (the reason stays inside); withdrawn: by
# the signer, off the list; merged: a duplicate of another signature, which stands for both.
SIGNATURE_STATUSES = ("unconfirmed", "confirmed", "approved", "rejected", "withdrawn", "merged")
TOKEN_HASH_FORMAT = "length({0}) = 64 AND " + only_chars("{0}", HEX)


class Statement(db.Model):
    __tablename__ = "statement"
    __table_args__ = (
        sa.CheckConstraint(f"slug <> '' AND {only_chars('slug', SLUG)}", name="slug_format"),
        sa.CheckConstraint("closes_on IS NULL OR opens_on IS NULL OR closes_on >= opens_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    # Its public address, /s/<slug>.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # Signing is open from the first day to the last (UTC), both included; without a date, open that side.
    opens_on: Mapped[dt.date | None]
    closes_on: Mapped[dt.date | None]
    # Organisations always sign; individuals only when the campaign wants them, listed apart.
    individuals_may_sign: Mapped[bool] = mapped_column(default=False)
    # When the first signature came in: from then on the text cannot change.
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    campaign = relationship("Campaign")
    texts = relationship(
        "StatementText",
        back_populates="statement",
        cascade="all, delete-orphan",
        order_by="StatementText.language",
        lazy="selectin",
    )

    def __repr__(self) -> str:
        return f"<Statement {self.slug}>"

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    def text(self, language=DEFAULT_LANGUAGE) -> StatementText | None:
        """The wording in `language`, else in the default language, else in whichever it was written."""
        wanted = str(language or DEFAULT_LANGUAGE).split("_")[0].split("-")[0].lower()
        by_language = {text.language: text for text in self.texts}
        return by_language.get(wanted) or by_language.get(DEFAULT_LANGUAGE) or next(iter(self.texts), None)

    def title(self, language=DEFAULT_LANGUAGE) -> str:
        text = self.text(language)
        return text.title if text is not None else self.slug

    @property
    def languages(self) -> list[str]:
        return [text.language for text in self.texts]

    def is_open(self, day: dt.date) -> bool:
        return (self.opens_on is None or self.opens_on <= day) and (self.closes_on is None or day <= self.closes_on)

    def has_opened(self, day: dt.date) -> bool:
        return self.opens_on is None or self.opens_on <= day


class StatementText(db.Model):
    """A statement's title and text in one language."""

    __tablename__ = "statement_text"
    __table_args__ = (
        enum_check("language", STATEMENT_LANGUAGES),
        sa.CheckConstraint("length(trim(title)) > 0", name="title_not_blank"),
        sa.CheckConstraint("length(trim(body)) > 0", name="body_not_blank"),
    )

    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)

    statement = relationship("Statement", back_populates="texts")


class TextIsFrozen(Exception):
    """The wording of a statement that has signatures was about to change (the services refuse it first,
    with a message; this keeps any other path from doing it)."""


def _refuse_if_frozen(_mapper, connection, target):
    frozen = connection.execute(
        sa.select(Statement.__table__.c.frozen_at).where(Statement.__table__.c.id == target.statement_id)
    ).scalar()
    if frozen is not None:
        raise TextIsFrozen("a statement's text is frozen once signed: make a new version")


for _change in ("before_insert", "before_update", "before_delete"):
    event.listen(StatementText, _change, _refuse_if_frozen)


class StatementSignature(db.Model):
    """One organisation's (or person's) signature on a statement, from the sign-up to its end."""

    __tablename__ = "statement_signature"
    __table_args__ = (
        enum_check("kind", SIGNER_KINDS),
        enum_check("listing", LISTINGS),
        enum_check("status", SIGNATURE_STATUSES),
        enum_check("language", STATEMENT_LANGUAGES),
        sa.CheckConstraint("kind <> 'organisation' OR organisation IS NOT NULL", name="organisation_named"),
        sa.CheckConstraint("organisation IS NULL OR length(trim(organisation)) > 0", name="organisation_not_blank"),
        sa.CheckConstraint(
            "erased_at IS NOT NULL OR (email IS NOT NULL AND signer_name IS NOT NULL)", name="signer_unless_erased"
        ),
        sa.CheckConstraint("signer_name IS NULL OR length(trim(signer_name)) > 0", name="signer_name_not_blank"),
        sa.CheckConstraint(f"email IS NULL OR (email = lower(email) AND email {EMAIL_SHAPE})", name="email_shape"),
        sa.CheckConstraint(
            "confirm_token_hash IS NULL OR (" + TOKEN_HASH_FORMAT.format("confirm_token_hash") + ")",
            name="confirm_token_hash_format",
        ),
        sa.CheckConstraint(TOKEN_HASH_FORMAT.format("withdraw_token_hash"), name="withdraw_token_hash_format"),
        sa.CheckConstraint("status <> 'unconfirmed' OR confirm_token_hash IS NOT NULL", name="unconfirmed_has_link"),
        sa.CheckConstraint(
            "status IN ('unconfirmed', 'withdrawn') OR confirmed_at IS NOT NULL", name="confirmed_has_time"
        ),
        sa.CheckConstraint("status NOT IN ('approved', 'rejected') OR decided_at IS NOT NULL", name="decided_has_time"),
        sa.CheckConstraint(
            "status <> 'rejected' OR (reject_reason IS NOT NULL AND length(trim(reject_reason)) > 0)",
            name="rejection_has_reason",
        ),
        sa.CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_time"),
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_survivor"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.Index("ix_statement_signature_statement_status", "statement_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16), default="organisation")
    # The organisation that signs (for an individual: the one they name, if any).
    organisation: Mapped[str | None] = mapped_column(sa.String(300))
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"), index=True)
    website: Mapped[str | None] = mapped_column(sa.String(500))
    # Who signed for it, and as what. Blanked (with the e-mail) by the privacy tools: the organisation's
    # signature stands, the person's details go.
    signer_name: Mapped[str | None] = mapped_column(sa.String(200))
    signer_role: Mapped[str | None] = mapped_column(sa.String(200))
    # The work address the link was sent to: seen by coordinators and above, never on a public page.
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    listing: Mapped[str] = mapped_column(sa.String(16), default="named")
    publish_logo: Mapped[bool] = mapped_column(default=False)
    # The page's language when they signed: their e-mail is written in it.
    language: Mapped[str] = mapped_column(sa.String(8), default=DEFAULT_LANGUAGE)
    status: Mapped[str] = mapped_column(sa.String(16), default="unconfirmed")
    # SHA-256 of the links' secrets; the secrets themselves are only in the e-mail. The confirmation link
    # works once; the withdrawal link for as long as there is a signature to withdraw.
    confirm_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    withdraw_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The explicit consent to the campaign keeping these details, given on the form.
    consented_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An unconfirmed sign-up is dropped after this.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Why a moderator rejected it: kept inside, never shown to the signer or the public.
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A duplicate points at the signature that stands for both (which goes if the duplicate's person is
    # erased with it: the same person).
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("statement_signature.id", ondelete="CASCADE"), index=True
    )
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    statement = relationship("Statement")
    country = relationship("Country")
    decided_by = relationship("User")
    merged_into = relationship("StatementSignature", remote_side=[id])

    def __repr__(self) -> str:
        return f"<StatementSignature {self.id} {self.status}>"

    @property
    def is_organisation(self) -> bool:
        return self.kind == "organisation"

    @property
    def email_domain(self) -> str | None:
        if not self.email or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1].lower()

    @property
    def website_domain(self) -> str | None:
        return website_domain(self.website)

    @property
    def domain_matches(self) -> bool:
        """Whether the address is at the website's domain (or a subdomain of it, or it of the address's):
        a moderator looks twice at one that is not (a personal address, another organisation's)."""
        return domains_match(self.email_domain, self.website_domain)


def website_domain(website: str | None) -> str | None:
    if not website:
        return None
    host = (urlsplit(website).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.") or None


def domains_match(email_domain: str | None, site_domain: str | None) -> bool:
    if not email_domain or not site_domain:
        return False
    return (
        email_domain == site_domain
        or email_domain.endswith("." + site_domain)
        or site_domain.endswith("." + email_domain)
    )


class LetterStatement(db.Model):
    """A statement delivered with a letter: attached while the letter is prepared, its signatories frozen
    when the letter is marked delivered (what the government was handed stays what it was, as the
    signature totals on the letter do)."""

    __tablename__ = "letter_statement"
    __table_args__ = (sa.CheckConstraint("(signatories IS NULL) = (frozen_at IS NULL)", name="frozen_with_list"),)

    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("letter.id", ondelete="CASCADE"), primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("statement.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    attached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attached_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # The public list at delivery: {"organisations": [...], "individuals": [...], "unlisted": n, "total": n};
    # each entry {"id", "name", "role", "country", "withheld"} as the public page showed it.
    signatories: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    statement = relationship("Statement")
    letter = relationship("Letter")
