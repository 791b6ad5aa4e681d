"""Petitions, the signatures gathered for them and the totals platforms give without names."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import HEX, SLUG, UTCDateTime, enum_check, only_chars, utcnow
from crm.extensions import db

# hosted: signed on this server, at /sign/<slug> (crm/signatures/hosted.py); the others are imported.
PLATFORMS = ("action_network", "change_org", "openpetition", "generic", "other", "hosted")
# How a signature is told apart from the others: by its e-mail address, across the campaign; or, for an
# export that carries no address, by name and place, within its petition only (crm/signatures/normalise.py).
SIGNATURE_KINDS = ("email", "name")


class Petition(db.Model):
    __tablename__ = "petition"
    __table_args__ = (
        enum_check("platform", PLATFORMS),
        sa.CheckConstraint(f"slug <> '' AND {only_chars('slug', SLUG)}", name="slug_format"),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        # Lets signatures prove, in the database, that their petition belongs to their campaign.
        sa.UniqueConstraint("campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    platform: Mapped[str] = mapped_column(sa.String(24), default="generic")
    language: Mapped[str | None] = mapped_column(sa.String(8))
    # The column mapping the user confirmed for this petition's files, remembered for the next import.
    column_mapping: Mapped[dict | None] = mapped_column(sa.JSON)
    # Hash of the per-petition secret that authenticates pushed signatures.
    webhook_secret_hash: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign = relationship("Campaign")


class SignatureImport(db.Model):
    """One file (or one push) taken in, with its report."""

    __tablename__ = "signature_import"
    __table_args__ = (
        sa.CheckConstraint(
            "rows_read >= 0 AND rows_new >= 0 AND rows_duplicate >= 0 AND rows_invalid >= 0",
            name="counts_not_negative",
        ),
        sa.CheckConstraint("rows_new + rows_duplicate + rows_invalid <= rows_read", name="counts_add_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    format: Mapped[str | None] = mapped_column(sa.String(24))
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_new: Mapped[int] = mapped_column(default=0)
    rows_duplicate: Mapped[int] = mapped_column(default=0)
    rows_invalid: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict | None] = mapped_column(sa.JSON)
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Signature(db.Model):
    """One person's support, counted once per campaign. The e-mail is kept only as a keyed hash.

    A signature of kind "name" came from an export without e-mail addresses: its `email_hash` is then the
    keyed hash of the petition, the normalised full name, postal code (or city) and country, so it is
    unique within its petition only and never equal to an address's hash (see NameKeyer)."""

    __tablename__ = "signature"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "email_hash"),
        sa.CheckConstraint(f"length(email_hash) = 64 AND {only_chars('email_hash', HEX)}", name="email_hash_format"),
        enum_check("kind", SIGNATURE_KINDS),
        sa.ForeignKeyConstraint(
            ["campaign_id", "petition_id"], ["petition.campaign_id", "petition.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_signature_campaign_country", "campaign_id", "country_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    petition_id: Mapped[int] = mapped_column(index=True)
    # Indexed: an import's new signatures are counted by it (crm/signatures/counts.py).
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature_import.id", ondelete="SET NULL"), index=True)
    email_hash: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(8), default="email", server_default="email")
    # Country of residence; None where the file did not say.
    country_id: Mapped[int | None] = mapped_column(sa.ForeignKey("country.id"))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_name: Mapped[str | None] = mapped_column(sa.String(120))
    last_name: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# The country of signers whose country of residence is not known, in SignatureCount.
UNKNOWN_COUNTRY = 0


def _petition_counts() -> tuple:
    """A table of one petition's counts: the petition, in its campaign, and the bounds of its figures."""
    return (
        sa.ForeignKeyConstraint(
            ["campaign_id", "petition_id"], ["petition.campaign_id", "petition.id"], ondelete="CASCADE"
        ),
        sa.CheckConstraint("signers >= 0", name="signers_not_negative"),
        sa.CheckConstraint(
            "without_email >= 0 AND (without_email <= signers OR signers < 0)", name="without_email_within_signers"
        ),
    )


class SignatureCount(db.Model):
    """How many signatures a petition holds per country of residence and day (the day signed, or imported
    when the platform gave no date): the totals every page shows, kept by the writes that add or remove
    signatures (crm/signatures/counts.py) instead of counting hundreds of thousands of rows per page.
    Signatures are unique per campaign in the table itself, so these counts add up to unique signers."""

    __tablename__ = "signature_count"
    __table_args__ = _petition_counts()

    petition_id: Mapped[int] = mapped_column(primary_key=True)
    # A country's id, or UNKNOWN_COUNTRY (0): part of the key, so never NULL, and no foreign key for it.
    country_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    signers: Mapped[int]
    # How many of `signers` are of kind "name" (no e-mail address): the totals give a range where they
    # and signers known by their address meet in one country.
    without_email: Mapped[int] = mapped_column(default=0, server_default="0")


class SignatureTotal(db.Model):
    """A petition's signers per country of residence, all days together (signature_count summed over its
    days), kept by the same writes (crm/signatures/counts.py): the totals read a row per petition and
    country instead of summing years of days."""

    __tablename__ = "signature_total"
    __table_args__ = _petition_counts()

    petition_id: Mapped[int] = mapped_column(primary_key=True)
    # A country's id, or UNKNOWN_COUNTRY (0), as in SignatureCount.
    country_id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    signers: Mapped[int]
    without_email: Mapped[int] = mapped_column(default=0, server_default="0")


class SignatureDay(db.Model):
    """A campaign's signers per day (signature_count summed over its petitions and countries), kept by the
    same writes: the series by day reads a row per day."""

    __tablename__ = "signature_day"
    __table_args__ = (
        sa.CheckConstraint("signers >= 0", name="signers_not_negative"),
        # The totals page's months are summed from the index alone: the key's rows hold no signers, and a
        # campaign's days lie on as many table pages as it has days (0036).
        sa.Index("ix_signature_day_signers", "campaign_id", "day", "signers"),
    )

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    signers: Mapped[int]


class SignatureOverlap(db.Model):
    """Where a campaign counts, in one country, signers known by their address and signers known by name and
    place, the country's figure is the larger kind, not both (crm/signatures/totals.py): by how much the
    smaller kind (what the two have in common at most) grew on a day. A campaign's figure on a day is then
    its signers (SignatureDay) less these, plus what tallies exceed. Kept by the same writes; only such
    countries have rows, and only on the days the smaller kind grew."""

    __tablename__ = "signature_overlap"
    __table_args__ = (sa.CheckConstraint("signers > 0", name="signers_positive"),)

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    # A country's id, or UNKNOWN_COUNTRY (0), as in SignatureCount.
    country_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    signers: Mapped[int]


class SignatureCampaignTotal(db.Model):
    """A campaign's signers, all petitions, countries and days together (signature_count summed), and the
    overlaps' sum (signature_overlap summed: in each country with signers of both kinds, the smaller kind),
    kept by the same writes: the campaign's total (its lower end, N) is then `signers - overlap` and what
    its few tallies exceed, read from one row rather than summed from a row per petition and country."""

    __tablename__ = "signature_campaign_total"
    __table_args__ = (
        sa.CheckConstraint("signers >= 0", name="signers_not_negative"),
        sa.CheckConstraint("overlap >= 0", name="overlap_not_negative"),
        {"sqlite_with_rowid": False},  # a lone INTEGER key would be SQLite's rowid (NULL → next id)
    )

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    signers: Mapped[int]
    overlap: Mapped[int] = mapped_column(default=0, server_default="0")


class SignatureTally(db.Model):
    """A platform's total for one country ("1,204 from Spain as of 1 June"). A newer tally of the same
    petition and country replaces the older one."""

    __tablename__ = "signature_tally"
    __table_args__ = (
        sa.UniqueConstraint("petition_id", "country_id"),
        sa.CheckConstraint("signers >= 0", name="signers_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petition.id", ondelete="CASCADE"))
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"))
    signers: Mapped[int]
    as_of: Mapped[dt.date]
    source: Mapped[str | None] = mapped_column(sa.Text)
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    petition = relationship(Petition)
    country = relationship("Country")


class StagedImport(db.Model):
    """A file import under way. Its rows are written in short transactions to `staged_signature`, where
    no page counts them, and published into `signature` in one short transaction at the end; so a long
    import never holds SQLite's write lock for the whole file, and a refused or killed one publishes
    nothing. The importing process touches `heartbeat_at` at every chunk: a run that stopped beating
    was killed, and the next import (or `flask signatures sweep`) deletes what it left."""

    __tablename__ = "staged_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class StagedSignature(db.Model):
    """One row of a file being imported, as it will be published (see StagedImport)."""

    __tablename__ = "staged_signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    staged_import_id: Mapped[int] = mapped_column(sa.ForeignKey("staged_import.id", ondelete="CASCADE"), index=True)
    email_hash: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(8), default="email", server_default="email")
    country_id: Mapped[int | None]
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_name: Mapped[str | None] = mapped_column(sa.String(120))
    last_name: Mapped[str | None] = mapped_column(sa.String(120))


class ErasedSigner(db.Model):
    """A signer the privacy tools erased, by the keyed hash of their address (the address itself is never
    stored): an import or a push that lists them again (a platform's export lists every signer it ever had,
    and a file may have been uploaded before the erasure) leaves them out, and its report says how many."""

    __tablename__ = "erased_signer"
    __table_args__ = (
        sa.CheckConstraint(f"length(email_hash) = 64 AND {only_chars('email_hash', HEX)}", name="email_hash_format"),
    )

    email_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    erased_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
