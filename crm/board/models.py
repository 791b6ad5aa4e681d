"""What a manager has made public: a campaign's board, a government's entry on it, and each position
shown there. Kept beside the records they publish (positions are never rewritten: a position's history
is kept, so being public is a fact about it recorded here, not a change to it)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.database import UTCDateTime, utcnow
from crm.extensions import db


class PublishedBoard(db.Model):
    __tablename__ = "published_board"
    __table_args__ = ({"sqlite_with_rowid": False},)  # a lone INTEGER key would be SQLite's rowid (NULL → next id)

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))


class PublishedEntry(db.Model):
    """A target government shown on its campaign's board."""

    __tablename__ = "published_entry"
    __table_args__ = ({"sqlite_with_rowid": False},)  # a lone INTEGER key would be SQLite's rowid (NULL → next id)

    outreach_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach_record.id", ondelete="CASCADE"), primary_key=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))


class PublishedPosition(db.Model):
    """A position whose stance, date and public evidence may be shown on the board."""

    __tablename__ = "published_position"
    __table_args__ = ({"sqlite_with_rowid": False},)  # a lone INTEGER key would be SQLite's rowid (NULL → next id)

    position_id: Mapped[int] = mapped_column(sa.ForeignKey("position.id", ondelete="CASCADE"), primary_key=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
