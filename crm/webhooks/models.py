"""Webhook subscriptions, the deliveries queued for them, and every attempt to deliver one (the log)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import UTCDateTime, enum_check, utcnow
from crm.encryption import EncryptedText
from crm.extensions import db

EVENTS = (
    "meeting.logged",
    "position.changed",
    "letter.delivered",
    "follow_up.overdue",
    "signatures.totals_changed",
    "webhook.test",
)
# The events an admin may subscribe to; "webhook.test" goes only where an admin sends it.
SUBSCRIBABLE = EVENTS[:-1]
# The mail queue's statuses (crm/mail/models.py): pending until the receiver answered 2xx, failed when
# given up after too many attempts or refused at delivery time (a private address).
DELIVERY_STATUSES = ("pending", "sent", "failed")


class WebhookSubscription(db.Model):
    __tablename__ = "webhook_subscription"
    __table_args__ = (
        sa.CheckConstraint("length(trim(url)) > 0", name="url_not_blank"),
        sa.CheckConstraint("length(trim(events)) > 0", name="events_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    # Space-separated event names (SUBSCRIBABLE).
    events: Mapped[str] = mapped_column(sa.String(300))
    # Kept encrypted (it signs every delivery, so it cannot be a hash); shown once, on creation.
    secret: Mapped[str] = mapped_column(EncryptedText)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by = relationship("User")

    @property
    def event_list(self) -> list[str]:
        return self.events.split()

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.id} {self.url}>"


class WebhookDelivery(db.Model):
    """One event for one subscription. The claim columns and their meaning are the mail queue's: the
    same lease and backoff (crm/mail/services.py) drain both."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        enum_check("event", EVENTS),
        enum_check("status", DELIVERY_STATUSES),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
        sa.Index("ix_webhook_delivery_queue", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_subscription_id", "subscription_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(32))
    # Sent as Alcance-Delivery: the same on every retry, so a receiver can drop a repeat.
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription = relationship("WebhookSubscription")


class WebhookAttempt(db.Model):
    """The delivery log: one row per try, with the receiver's status code or the error."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        sa.CheckConstraint(
            "status_code IS NULL OR (status_code >= 100 AND status_code < 600)", name="status_code_valid"
        ),
        sa.CheckConstraint("status_code IS NOT NULL OR error IS NOT NULL", name="has_outcome"),
        sa.Index("ix_webhook_attempt_delivery_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_delivery.id", ondelete="CASCADE"))
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)

    delivery = relationship("WebhookDelivery")
