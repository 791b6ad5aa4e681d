"""Letters to and from a government (with their attachments), and letter templates: the wording of a
letter, per language, with merge fields filled in when composing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import HEX, UTCDateTime, enum_check, only_chars, utc_day, utcnow
from crm.extensions import db

# Spanish and English first; French and Portuguese have room as soon as someone writes the templates.
LETTER_LANGUAGES = ("es", "en", "fr", "pt")
# The longest subject a letter or a template may have (their columns' length).
SUBJECT_MAX = 300
LETTER_DIRECTIONS = ("outgoing", "incoming")
LETTER_CHANNELS = ("email", "post", "hand_delivery", "web_form", "fax", "other")


class Letter(db.Model):
    """An outgoing letter, or an incoming reply. When delivered, the signature totals of that moment
    are frozen on it: later imports never change what was delivered."""

    __tablename__ = "letter"
    __table_args__ = (
        enum_check("direction", LETTER_DIRECTIONS),
        sa.CheckConstraint(
            f"channel IS NULL OR channel IN ({', '.join(repr(c) for c in LETTER_CHANNELS)})", name="channel_valid"
        ),
        sa.CheckConstraint("in_reply_to_id IS NULL OR direction = 'incoming'", name="only_replies_reply"),
        sa.CheckConstraint(
            "delivered_on IS NULL OR sent_on IS NULL OR delivered_on >= sent_on", name="delivered_after_sent"
        ),
        sa.CheckConstraint(
            "acknowledged_on IS NULL OR delivered_on IS NULL OR acknowledged_on >= delivered_on",
            name="acknowledged_after_delivered",
        ),
        sa.CheckConstraint("signatures_total IS NULL OR signatures_total >= 0", name="total_not_negative"),
        sa.CheckConstraint("signatures_resident IS NULL OR signatures_resident >= 0", name="resident_not_negative"),
        sa.CheckConstraint(
            "signatures_resident IS NULL OR signatures_total IS NULL OR signatures_resident <= signatures_total",
            name="resident_within_total",
        ),
        sa.CheckConstraint(
            "signatures_total_upper IS NULL OR signatures_total_upper >= signatures_total", name="upper_total_at_least"
        ),
        sa.CheckConstraint(
            "signatures_resident_upper IS NULL OR signatures_resident_upper >= signatures_resident",
            name="upper_resident_at_least",
        ),
        sa.CheckConstraint("length(trim(subject)) > 0", name="subject_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outreach_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach_record.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(sa.String(16), default="outgoing")
    in_reply_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letter.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    language: Mapped[str | None] = mapped_column(sa.String(8))
    recipient_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    recipient_office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"), index=True)
    recipient_name: Mapped[str | None] = mapped_column(sa.String(300))
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX))
    body: Mapped[str | None] = mapped_column(sa.Text)
    sent_on: Mapped[dt.date | None]
    delivered_on: Mapped[dt.date | None]
    acknowledged_on: Mapped[dt.date | None]
    received_on: Mapped[dt.date | None]
    # Snapshot at delivery.
    signatures_total: Mapped[int | None]
    signatures_resident: Mapped[int | None]
    signatures_by_country: Mapped[dict | None] = mapped_column(sa.JSON)
    # The higher end where signers without an e-mail address could not be matched with the others
    # (crm/signatures/totals.py, "between N and M"); the figures above are the lower end, N.
    signatures_total_upper: Mapped[int | None]
    signatures_resident_upper: Mapped[int | None]
    signatures_snapshot_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    outreach = relationship("OutreachRecord", back_populates="letters")
    in_reply_to = relationship("Letter", remote_side=[id], backref="replies")
    recipient_contact = relationship("Contact")
    recipient_office = relationship("Office")
    attachments = relationship("LetterAttachment", back_populates="letter", cascade="all, delete-orphan")
    created_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}


def letter_day():
    """SQL: a letter's day as its record's timeline orders it: received, else sent, else the UTC day it was
    recorded."""
    return sa.func.coalesce(Letter.received_on, Letter.sent_on, utc_day(Letter.created_at))


# A record's latest letters, read from the index in their timeline's order (the busiest government's
# records have some nine hundred letters each, which were sorted for every card); on PostgreSQL the index
# also holds the day's columns, so that the letters' ids and days come from it alone.
sa.Index(
    "ix_letter_outreach_day",
    Letter.outreach_id,
    letter_day(),
    Letter.id,
    postgresql_include=["received_on", "sent_on", "created_at"],
)


class LetterAttachment(db.Model):
    """A file kept with a letter. Stored outside the static folder under storage_key; never served inline."""

    __tablename__ = "letter_attachment"
    __table_args__ = (
        sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        sa.CheckConstraint(f"length(sha256) = 64 AND {only_chars('sha256', HEX)}", name="sha256_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(sa.ForeignKey("letter.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    letter = relationship(Letter, back_populates="attachments")


class LetterTemplate(db.Model):
    """One template in one language. Templates sharing a name are the same letter in other languages."""

    __tablename__ = "letter_template"
    __table_args__ = (
        sa.UniqueConstraint("name", "language"),
        enum_check("language", LETTER_LANGUAGES),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint("length(trim(subject)) > 0", name="subject_not_blank"),
        sa.CheckConstraint("length(trim(body)) > 0", name="body_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    language: Mapped[str] = mapped_column(sa.String(8))
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    updated_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<LetterTemplate {self.name!r} {self.language}>"
