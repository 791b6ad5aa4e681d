"""The e-mail queue: every message Alcance sends, from the moment it is queued until the mail server accepted
it (or it was given up), shared safely by several scheduler processes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import UTCDateTime, enum_check, utcnow
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
    "hosted_confirmation",
)
# pending: waiting to be sent (or retried); sent: the mail server accepted it (or it went to the
# development outbox); failed: given up after too many attempts, an admin may retry it; skipped: no
# longer needed when its turn came (the follow-up was done or snoozed, the digest had nothing in it).
MESSAGE_STATUSES = ("pending", "sent", "failed", "skipped")
# smtp: accepted by the configured mail server; outbox: kept in this table because no mail server is
# configured (development), for an admin to read in the app.
TRANSPORTS = ("smtp", "outbox")


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
