"""Reminder tables: each user's preferences, every e-mail Alcance sends (the delivery queue and its
record), and the reply clock started by each delivered letter or held meeting."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import HEX, UTCDateTime, enum_check, only_chars, utcnow
from crm.extensions import db

MESSAGE_KINDS = (
    "due_reminder",
    "digest",
    "weekly_report",
    "escalation",
    "assignment",
    "password_reset",
    "invitation",
    "reassignment",
    "statement_confirmation",
)
# pending: waiting to be sent (or retried); sent: the mail server accepted it (or it went to the
# development outbox); failed: given up after too many attempts, an admin may retry it; skipped: no
# longer needed when its turn came (the follow-up was done or snoozed, the digest had nothing in it).
MESSAGE_STATUSES = ("pending", "sent", "failed", "skipped")
# smtp: accepted by the configured mail server; outbox: kept in this table because no mail server is
# configured (development), for an admin to read in the app.
TRANSPORTS = ("smtp", "outbox")

DEFAULT_DIGEST_HOUR = 8


class ReminderPreference(db.Model):
    """What e-mail one user wants, and when. No row means the defaults. Language and time zone are the
    user's own (on `user`), shared with the interface."""

    __tablename__ = "reminder_preference"
    __table_args__ = (
        sa.CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour_range"),
        sa.CheckConstraint(
            f"calendar_token_hash IS NULL OR (length(calendar_token_hash) = 64 AND "
            f"{only_chars('calendar_token_hash', HEX)})",
            name="calendar_token_hash_format",
        ),
        # A lone INTEGER PRIMARY KEY would be SQLite's rowid, which turns an explicit NULL into the next
        # id (possibly another user's); WITHOUT ROWID keeps it an ordinary, NOT NULL key.
        {"sqlite_with_rowid": False},
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    reminders_enabled: Mapped[bool] = mapped_column(default=True)
    digest_enabled: Mapped[bool] = mapped_column(default=True)
    weekly_report_enabled: Mapped[bool] = mapped_column(default=True)
    # Local hour (in the user's time zone) at which the daily digest goes out.
    digest_hour: Mapped[int] = mapped_column(sa.SmallInteger, default=DEFAULT_DIGEST_HOUR)
    # SHA-256 of the secret in the user's calendar feed URL; the secret itself is never stored.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    calendar_token_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User")


class OutboundMessage(db.Model):
    """One e-mail to one person. The unique dedupe_key (kind, subject of the message, recipient) is what
    makes each reminder go out once; the claim columns let several scheduler processes share the queue
    without two of them sending the same row."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        enum_check("kind", MESSAGE_KINDS),
        enum_check("status", MESSAGE_STATUSES),
        sa.CheckConstraint("transport IS NULL OR transport IN ('smtp', 'outbox')", name="transport_valid"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
        sa.CheckConstraint("status <> 'sent' OR transport IS NOT NULL", name="sent_has_transport"),
        sa.CheckConstraint("length(trim(subject)) > 0", name="subject_not_blank"),
        sa.Index("ix_outbound_message_queue", "status", "next_attempt_at"),
        sa.Index("ix_outbound_message_follow_up", "follow_up_id", "kind", "for_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    recipient_email: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up.id", ondelete="SET NULL"))
    # The follow-up's due date a reminder is about, or the (local) day of a digest, or a week's Monday.
    for_date: Mapped[dt.date | None]
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    # Chosen when the message is queued and kept across retries: a resend after a crash carries the same
    # Message-ID, so mail clients show it once.
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    transport: Mapped[str | None] = mapped_column(sa.String(16))
    sent_by: Mapped[str | None] = mapped_column(sa.String(120))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    recipient = relationship("User")
    follow_up = relationship("FollowUp")

    def __repr__(self) -> str:
        return f"<OutboundMessage {self.kind} {self.dedupe_key} {self.status}>"


class ReplyClock(db.Model):
    """Started by a delivered letter or a held meeting on one outreach record. When no reply comes in
    time it creates a follow-up for the assignee; after a second period it tells the coordinator. One
    row per event and record, so the clock acts once however many scheduler processes run."""

    __tablename__ = "reply_clock"
    __table_args__ = (
        sa.UniqueConstraint("outreach_id", "letter_id"),
        sa.UniqueConstraint("outreach_id", "meeting_id"),
        sa.CheckConstraint("(letter_id IS NULL) <> (meeting_id IS NULL)", name="one_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outreach_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach_record.id", ondelete="CASCADE"), index=True)
    letter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letter.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"))
    started_on: Mapped[dt.date]
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up.id", ondelete="SET NULL"))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    outreach = relationship("OutreachRecord")
    letter = relationship("Letter")
    meeting = relationship("Meeting")
    follow_up = relationship("FollowUp")
