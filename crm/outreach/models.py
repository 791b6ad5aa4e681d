"""Outreach: one campaign's work with one government, its positions, meetings, letters and follow-ups."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from crm.database import UTCDateTime, enum_check, utcnow
from crm.encryption import EncryptedText
from crm.extensions import db

STAGES = (
    "not_started",
    "contacted",
    "meeting_requested",
    "meeting_held",
    "responded",
    "committed",
    "closed",
)
STANCES = ("unknown", "opposed", "non_committal", "supportive", "acted")
FOLLOW_UP_STATUSES = ("open", "done", "snoozed")
STILL_TO_DO = ("open", "snoozed")  # the follow-ups that still ask for something


def _literal(value: str):
    # Written into the SQL rather than bound, so that PostgreSQL and SQLite see the same expressions as in
    # the follow-ups' partial expression index below and can read the list in its order.
    return sa.literal_column(f"'{value}'")


class OutreachRecord(db.Model):
    """One per campaign x country."""

    __tablename__ = "outreach_record"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "country_id"),
        # Lets positions prove, in the database, that they belong to this record's campaign.
        sa.UniqueConstraint("campaign_id", "id"),
        enum_check("stage", STAGES),
        sa.CheckConstraint("priority BETWEEN 1 AND 3", name="priority_range"),
        sa.Index("ix_outreach_record_assignee", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(24), default="not_started")
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    coordinator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # 1 high, 2 normal, 3 low.
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=2)
    next_follow_up_on: Mapped[dt.date | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    campaign = relationship("Campaign", back_populates="outreach_records")
    country = relationship("Country")
    assignee = relationship("User", foreign_keys=[assignee_id])
    coordinator = relationship("User", foreign_keys=[coordinator_id])
    positions = relationship(
        "Position",
        back_populates="outreach",
        order_by="Position.id",
        primaryjoin="Position.outreach_id == OutreachRecord.id",
        foreign_keys="Position.outreach_id",
    )
    letters = relationship("Letter", back_populates="outreach", order_by="Letter.id")
    follow_ups = relationship(
        "FollowUp",
        back_populates="outreach",
        order_by="FollowUp.due_on",
        primaryjoin="FollowUp.outreach_id == OutreachRecord.id",
        foreign_keys="FollowUp.outreach_id",
    )
    meetings = relationship("Meeting", secondary="meeting_outreach", back_populates="outreach_records")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<OutreachRecord campaign={self.campaign_id} country={self.country_id} {self.stage}>"


class Position(db.Model):
    """A government's stance on one demand, as of a date, with evidence. Never overwritten: a new
    position is a new row, and the current one is the latest."""

    __tablename__ = "position"
    __table_args__ = (
        enum_check("stance", STANCES),
        sa.ForeignKeyConstraint(
            ["campaign_id", "outreach_id"],
            ["outreach_record.campaign_id", "outreach_record.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["campaign_id", "demand_id"], ["demand.campaign_id", "demand.id"]),
        sa.Index("ix_position_outreach_demand", "outreach_id", "demand_id", "stated_on"),
        # A campaign's positions in the order they were stated (the dashboard's history of responses).
        sa.Index("ix_position_campaign_stated", "campaign_id", "stated_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column()
    outreach_id: Mapped[int] = mapped_column()
    demand_id: Mapped[int] = mapped_column()
    stance: Mapped[str] = mapped_column(sa.String(16))
    stated_on: Mapped[dt.date]
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    evidence_url: Mapped[str | None] = mapped_column(sa.String(1000))
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True)
    letter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letter.id", ondelete="SET NULL"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The composite keys above guard the data; these joins on the single ids are for reading.
    outreach = relationship(
        OutreachRecord,
        back_populates="positions",
        foreign_keys=[outreach_id],
        primaryjoin="Position.outreach_id == OutreachRecord.id",
    )
    demand = relationship("Demand", foreign_keys=[demand_id], primaryjoin="Position.demand_id == Demand.id")
    recorded_by = relationship("User")


class PositionHistoryIsKept(Exception):
    pass


@event.listens_for(Position, "before_update")
def _refuse_position_update(_mapper, _connection, target):
    raise PositionHistoryIsKept("a position is never overwritten: record a new one")


meeting_outreach = sa.Table(
    "meeting_outreach",
    db.metadata,
    sa.Column("meeting_id", sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("outreach_id", sa.ForeignKey("outreach_record.id", ondelete="CASCADE"), primary_key=True),
    # The meeting's UTC day (the day a timeline shows it on), copied here by the database (the triggers
    # below): a record's latest meetings are then read from this index alone, however many it has had.
    sa.Column("held_on", sa.Date),
    sa.Index("ix_meeting_outreach_held", "outreach_id", "held_on", "meeting_id"),
)

# The database keeps meeting_outreach.held_on equal to its meeting's UTC day, whoever writes (the app, an
# import, raw SQL): set on every link, updated when a meeting moves. Migration 0023 creates the same on an
# existing database. On SQLite a batch_alter_table of meeting_outreach re-creates the table without its
# trigger: re-create it after one.
HELD_ON_POSTGRESQL = (
    """CREATE OR REPLACE FUNCTION meeting_outreach_held_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.held_on := (SELECT (timezone('UTC', held_at))::date FROM meeting WHERE id = NEW.meeting_id);
  RETURN NEW;
END
$$""",
    "CREATE TRIGGER meeting_outreach_held_on BEFORE INSERT OR UPDATE ON meeting_outreach "
    "FOR EACH ROW EXECUTE FUNCTION meeting_outreach_held_on()",
    """CREATE OR REPLACE FUNCTION meeting_held_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE meeting_outreach SET held_on = (timezone('UTC', NEW.held_at))::date WHERE meeting_id = NEW.id;
  RETURN NULL;
END
$$""",
    "CREATE TRIGGER meeting_held_on AFTER UPDATE OF held_at ON meeting "
    "FOR EACH ROW WHEN (OLD.held_at IS DISTINCT FROM NEW.held_at) EXECUTE FUNCTION meeting_held_on()",
)
HELD_ON_SQLITE = (
    """CREATE TRIGGER meeting_outreach_held_on AFTER INSERT ON meeting_outreach
BEGIN
  UPDATE meeting_outreach SET held_on = (SELECT date(held_at) FROM meeting WHERE id = NEW.meeting_id)
  WHERE meeting_id = NEW.meeting_id AND outreach_id = NEW.outreach_id;
END""",
    """CREATE TRIGGER meeting_held_on AFTER UPDATE OF held_at ON meeting
BEGIN
  UPDATE meeting_outreach SET held_on = date(NEW.held_at) WHERE meeting_id = NEW.id;
END""",
)

# Both on the link table's creation: it comes after the meeting table, which one of them watches.
for _dialect, _statements in (("postgresql", HELD_ON_POSTGRESQL), ("sqlite", HELD_ON_SQLITE)):
    for _statement in _statements:
        event.listen(meeting_outreach, "after_create", sa.DDL(_statement).execute_if(dialect=_dialect))
# Dropped with the link table, the watch on meetings goes too (its function writes to the link table).
for _dialect, _statement in (
    ("postgresql", "DROP TRIGGER IF EXISTS meeting_held_on ON meeting"),
    ("postgresql", "DROP FUNCTION IF EXISTS meeting_held_on()"),
    ("postgresql", "DROP FUNCTION IF EXISTS meeting_outreach_held_on()"),
    ("sqlite", "DROP TRIGGER IF EXISTS meeting_held_on"),
):
    event.listen(meeting_outreach, "after_drop", sa.DDL(_statement).execute_if(dialect=_dialect))

meeting_contact = sa.Table(
    "meeting_contact",
    db.metadata,
    sa.Column("meeting_id", sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("contact_id", sa.ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True, index=True),
)

meeting_staff = sa.Table(
    "meeting_staff",
    db.metadata,
    sa.Column("meeting_id", sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Meeting(db.Model):
    """A meeting with an office. A joint meeting with several embassies sits on each of their records."""

    __tablename__ = "meeting"
    __table_args__ = (sa.CheckConstraint("length(trim(summary)) > 0", name="summary_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"), index=True)
    held_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    location: Mapped[str | None] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    # Encrypted at rest (crm.encryption): read by whoever may see the meeting, unreadable in a stolen database.
    # Deferred: lists and timelines of meetings never decrypt it; the meeting's own page loads it.
    confidential_notes: Mapped[str | None] = deferred(mapped_column(EncryptedText))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    office = relationship("Office")
    outreach_records = relationship(OutreachRecord, secondary=meeting_outreach, back_populates="meetings")
    contacts = relationship("Contact", secondary=meeting_contact)
    staff = relationship("User", secondary=meeting_staff)
    created_by = relationship("User", foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": version}


class FollowUp(db.Model):
    """The next step on an outreach record, with an owner and a due date."""

    __tablename__ = "follow_up"
    __table_args__ = (
        enum_check("status", FOLLOW_UP_STATUSES),
        sa.CheckConstraint("status <> 'snoozed' OR snoozed_until IS NOT NULL", name="snooze_has_date"),
        sa.CheckConstraint("status <> 'done' OR completed_at IS NOT NULL", name="done_has_time"),
        sa.CheckConstraint("length(trim(note)) > 0", name="note_not_blank"),
        # Its campaign is its record's: carried so that a campaign's follow-ups are found by an index of their
        # own (ix_follow_up_campaign_to_do_due below), and kept equal to the record's by this key.
        sa.ForeignKeyConstraint(
            ["campaign_id", "outreach_id"],
            ["outreach_record.campaign_id", "outreach_record.id"],
            ondelete="CASCADE",
        ),
        sa.Index("ix_follow_up_owner_status_due", "owner_id", "status", "due_on"),
        sa.Index("ix_follow_up_due_reminder", "status", "due_on", "reminder_sent_at"),
        # A record's follow-ups by due day: its latest are the last entries of the index.
        sa.Index("ix_follow_up_outreach_due", "outreach_id", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set from the record as the follow-up is first written (_campaign_of_record, below).
    campaign_id: Mapped[int] = mapped_column()
    outreach_id: Mapped[int] = mapped_column()
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    due_on: Mapped[dt.date]
    note: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    snoozed_until: Mapped[dt.date | None]
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True)
    letter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letter.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    # The composite key above guards the data; this join on the single id is for reading.
    outreach = relationship(
        OutreachRecord,
        back_populates="follow_ups",
        foreign_keys=[outreach_id],
        primaryjoin="FollowUp.outreach_id == OutreachRecord.id",
    )
    owner = relationship("User", foreign_keys=[owner_id])
    created_by = relationship("User", foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": version}

    @hybrid_property
    def due(self) -> dt.date:
        """When it is due: the end of its snooze while snoozed, else its due day."""
        return self.snoozed_until if self.status == "snoozed" and self.snoozed_until else self.due_on

    @due.inplace.expression
    @classmethod
    def _due_expression(cls):
        return sa.case((cls.status == _literal("snoozed"), cls.snoozed_until), else_=cls.due_on)

    @hybrid_property
    def still_to_do(self) -> bool:
        return self.status in STILL_TO_DO

    @still_to_do.inplace.expression
    @classmethod
    def _still_to_do_expression(cls):
        return cls.status.in_([_literal(status) for status in STILL_TO_DO])


# What is still to do, soonest first (the follow-ups list, the reminders, the dashboard): read in this
# index's order instead of sorting every open follow-up for each page.
sa.Index(
    "ix_follow_up_to_do_due",
    sa.sql.expression.Grouping(FollowUp.due),  # PostgreSQL wants an expression in parentheses
    FollowUp.id,
    postgresql_where=FollowUp.still_to_do,
    sqlite_where=FollowUp.still_to_do,
)
# A campaign's follow-ups still to do by due day (the dashboard's overdue ones): one range of this index,
# rather than a probe for each of the campaign's records or every campaign's overdue follow-ups.
sa.Index(
    "ix_follow_up_campaign_to_do_due",
    FollowUp.campaign_id,
    sa.sql.expression.Grouping(FollowUp.due),
    postgresql_where=FollowUp.still_to_do,
    sqlite_where=FollowUp.still_to_do,
)


@event.listens_for(FollowUp, "before_insert")
def _campaign_of_record(_mapper, _connection, follow_up: FollowUp) -> None:
    """A new follow-up's campaign is its record's: taken from the record if it is at hand, else read by
    the insert itself. (Inserts that bypass the ORM give it, and the key refuses any other.)"""
    if follow_up.campaign_id is not None:
        return
    record = follow_up.__dict__.get("outreach")  # never loaded here: no query in the middle of a flush
    if record is not None and record.campaign_id is not None:
        follow_up.campaign_id = record.campaign_id
    else:
        follow_up.campaign_id = (
            sa.select(OutreachRecord.campaign_id).where(OutreachRecord.id == follow_up.outreach_id).scalar_subquery()
        )


ASSIGNMENT_REASONS = ("assigned", "unassigned", "claimed", "claim_approved")
CLAIM_STATUSES = ("pending", "approved", "rejected", "withdrawn")


class Assignment(db.Model):
    """One change of who works an outreach record: the history of reassignments (who, when, from whom)."""

    __tablename__ = "assignment"
    __table_args__ = (
        enum_check("reason", ASSIGNMENT_REASONS),
        sa.CheckConstraint("(assignee_id IS NULL) = (reason = 'unassigned')", name="assignee_unless_unassigned"),
        sa.Index("ix_assignment_outreach_changed", "outreach_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outreach_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach_record.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    previous_assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(16))

    outreach = relationship(OutreachRecord)
    assignee = relationship("User", foreign_keys=[assignee_id])
    previous_assignee = relationship("User", foreign_keys=[previous_assignee_id])
    changed_by = relationship("User", foreign_keys=[changed_by_id])


class Claim(db.Model):
    """A volunteer asking to take an unassigned record; approved at once unless the campaign wants
    a coordinator's approval."""

    __tablename__ = "claim"
    __table_args__ = (
        enum_check("status", CLAIM_STATUSES),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_has_time"),
        # At most one pending claim per record and volunteer.
        sa.Index(
            "uq_claim_pending",
            "outreach_id",
            "volunteer_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outreach_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach_record.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    outreach = relationship(OutreachRecord)
    volunteer = relationship("User", foreign_keys=[volunteer_id])
