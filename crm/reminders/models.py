"""Reminder tables: each user's preferences, and the reply clock started by each delivered letter or held
meeting. (The e-mail queue is crm/mail's.)"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import HEX, UTCDateTime, only_chars, utcnow
from crm.extensions import db

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
    letter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letter.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    started_on: Mapped[dt.date]
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up.id", ondelete="SET NULL"), index=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    outreach = relationship("OutreachRecord")
    letter = relationship("Letter")
    meeting = relationship("Meeting")
    follow_up = relationship("FollowUp")
