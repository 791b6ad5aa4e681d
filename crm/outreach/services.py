"""Outreach rules: stages, positions, meetings, follow-ups and the timeline. Plain functions shared by
the pages, the command line and scheduled jobs; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import aliased, defer, selectinload

from crm import clock
from crm.accounts.models import User
from crm.audit import services as audit
from crm.campaigns.models import Campaign, CampaignTranslation, Demand
from crm.contacts.models import Office
from crm.countries.models import Country
from crm.database import check_version, utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import STAGES, STANCES, FollowUp, Meeting, OutreachRecord, Position, meeting_outreach
from crm.permissions import can_edit_outreach, office_visibility, outreach_visibility

STAGE_RANK = {stage: rank for rank, stage in enumerate(STAGES)}
# What a logged event implies about the stage; a record never moves back by itself.
STANCE_STAGE = {"opposed": "responded", "non_committal": "responded", "supportive": "responded", "acted": "committed"}


class OutreachError(DomainError):
    """A request that breaks an outreach rule, with a message for the user."""


def _snapshot(record: OutreachRecord) -> dict:
    return audit.snapshot(record, ("stage", "assignee_id", "coordinator_id", "priority", "next_follow_up_on"))


def advance_stage(record: OutreachRecord, stage: str, *, actor=None, reason: str | None = None) -> bool:
    """Move a record forward to `stage` because of something logged. Never moves it back."""
    if stage not in STAGE_RANK:
        raise OutreachError(gettext("unknown stage %(stage)s", stage=repr(stage)))
    if record.stage == "closed" or STAGE_RANK[stage] <= STAGE_RANK[record.stage]:
        return False
    before = record.stage
    record.stage = stage
    audit.record(
        "outreach.stage",
        actor=actor,
        entity=record,
        before={"stage": before},
        after={"stage": stage, "reason": reason or "logged activity"},
    )
    return True


def set_stage(record: OutreachRecord, stage: str, *, actor, expected_version=None) -> None:
    """Set the stage by hand, in either direction."""
    check_version(record, expected_version)
    if stage not in STAGE_RANK:
        raise OutreachError(gettext("unknown stage %(stage)s", stage=repr(stage)))
    if stage == record.stage:
        return
    before = record.stage
    record.stage = stage
    audit.record(
        "outreach.stage",
        actor=actor,
        entity=record,
        before={"stage": before},
        after={"stage": stage, "reason": "set by hand"},
    )


def update_record(record: OutreachRecord, *, actor, expected_version=None, **changes) -> None:
    """Change the coordinator or priority of a record (the assignee changes through
    `crm.outreach.assignments.set_assignee`, which keeps the history)."""
    check_version(record, expected_version)
    allowed = {"coordinator_id", "priority"}
    unknown = set(changes) - allowed
    if unknown:
        raise OutreachError(gettext("cannot change %(fields)s here", fields=", ".join(sorted(unknown))))
    before = _snapshot(record)
    for name, value in changes.items():
        setattr(record, name, value)
    if _snapshot(record) != before:
        audit.record("outreach.update", actor=actor, entity=record, before=before, after=_snapshot(record))


def record_position(
    record: OutreachRecord,
    demand,
    stance: str,
    stated_on: dt.date,
    *,
    actor,
    evidence: str | None = None,
    evidence_url: str | None = None,
    meeting=None,
    letter=None,
) -> Position:
    """A new position of this government on one demand. The old ones stay: history is never rewritten."""
    if demand.campaign_id != record.campaign_id:
        raise OutreachError(gettext("that demand belongs to another campaign"))
    if stance not in STANCES:
        raise OutreachError(gettext("unknown position %(stance)s", stance=repr(stance)))
    if clock.not_begun_anywhere(stated_on):
        raise OutreachError(gettext("a position cannot be dated in the future"))
    position = Position(
        campaign_id=record.campaign_id,
        outreach_id=record.id,
        demand_id=demand.id,
        stance=stance,
        stated_on=stated_on,
        evidence=(evidence or "").strip() or None,
        evidence_url=(evidence_url or "").strip() or None,
        meeting_id=getattr(meeting, "id", None),
        letter_id=getattr(letter, "id", None),
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(position)
    db.session.flush()
    audit.record(
        "position.create",
        actor=actor,
        entity=position,
        after={"outreach_id": record.id, "demand_id": demand.id, "stance": stance, "stated_on": stated_on.isoformat()},
    )
    if stance in STANCE_STAGE:
        advance_stage(record, STANCE_STAGE[stance], actor=actor, reason="position recorded")
    return position


def latest_positions(positions) -> dict[tuple[int, int], Position]:
    """The current position per (record, demand): the latest stated, the latest recorded on a tie."""
    latest: dict[tuple[int, int], Position] = {}
    for position in sorted(positions, key=lambda p: (p.stated_on, p.id)):
        latest[(position.outreach_id, position.demand_id)] = position
    return latest


def current_positions(records) -> dict[tuple[int, int], Position]:
    """The latest position per (record, demand) for many records, in one query that reads only those."""
    ids = [record.id for record in records]
    if not ids:
        return {}
    rank = sa.func.row_number().over(
        partition_by=(Position.outreach_id, Position.demand_id),
        order_by=(Position.stated_on.desc(), Position.id.desc()),
    )
    ranked = sa.select(Position, rank.label("rank")).where(Position.outreach_id.in_(ids)).subquery()
    latest = aliased(Position, ranked)
    return latest_positions(db.session.scalars(sa.select(latest).where(ranked.c.rank == 1)))


def current_stances(record_ids) -> dict[tuple[int, int], str]:
    """The current stance per (record, demand) for many records: plain values, in one query."""
    ids = list(record_ids)
    if not ids:
        return {}
    rank = sa.func.row_number().over(
        partition_by=(Position.outreach_id, Position.demand_id),
        order_by=(Position.stated_on.desc(), Position.id.desc()),
    )
    ranked = (
        sa.select(Position.outreach_id, Position.demand_id, Position.stance, rank.label("rank"))
        .where(Position.outreach_id.in_(ids))
        .subquery()
    )
    return {
        (outreach_id, demand_id): stance
        for outreach_id, demand_id, stance in db.session.execute(
            sa.select(ranked.c.outreach_id, ranked.c.demand_id, ranked.c.stance).where(ranked.c.rank == 1)
        )
    }


@dataclass(frozen=True)
class CampaignRow:
    """One government on a campaign's page: what its row shows, without loading records and people."""

    id: int
    stage: str
    next_follow_up_on: dt.date | None
    country_en: str
    country_es: str
    assignee_name: str | None

    def country_name(self, language: str) -> str:
        return self.country_es if str(language).startswith("es") else self.country_en


def campaign_rows(campaign, user, language: str) -> list[CampaignRow]:
    """The campaign's governments that `user` may see, as plain rows sorted by country name (one query)."""

    statement = outreach_visibility(
        user,
        sa.select(
            OutreachRecord.id,
            OutreachRecord.stage,
            OutreachRecord.next_follow_up_on,
            Country.name_en,
            Country.name_es,
            User.name,
        )
        .join(Country, Country.id == OutreachRecord.country_id)
        .outerjoin(User, User.id == OutreachRecord.assignee_id)
        .where(OutreachRecord.campaign_id == campaign.id),
    )
    rows = [CampaignRow(*row) for row in db.session.execute(statement)]
    rows.sort(key=lambda row: row.country_name(language))
    return rows


def positions_of(record: OutreachRecord) -> list[Position]:
    """Every position recorded for one government, newest first, with its demand and author."""
    return db.session.scalars(
        sa.select(Position)
        .where(Position.outreach_id == record.id)
        .order_by(Position.stated_on.desc(), Position.id.desc())
        .options(*_position_options())
    ).all()


def refresh_next_follow_up(record: OutreachRecord) -> None:
    """Keep the record's next follow-up date equal to its earliest open or snoozed follow-up."""
    db.session.flush()
    due = db.session.scalar(
        sa.select(
            sa.func.min(sa.case((FollowUp.status == "snoozed", FollowUp.snoozed_until), else_=FollowUp.due_on))
        ).where(FollowUp.outreach_id == record.id, FollowUp.status.in_(("open", "snoozed")))
    )
    record.next_follow_up_on = due


def add_follow_up(
    record: OutreachRecord, *, owner, due_on: dt.date, note: str, actor, meeting=None, letter=None
) -> FollowUp:
    if not note or not note.strip():
        raise OutreachError(gettext("say what the next step is"))
    if owner is None or not owner.active:
        raise OutreachError(gettext("a follow-up needs an active owner"))
    follow_up = FollowUp(
        outreach_id=record.id,
        owner_id=owner.id,
        due_on=due_on,
        note=note.strip(),
        meeting_id=getattr(meeting, "id", None),
        letter_id=getattr(letter, "id", None),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(follow_up)
    db.session.flush()
    refresh_next_follow_up(record)
    audit.record(
        "follow_up.create",
        actor=actor,
        entity=follow_up,
        after={"outreach_id": record.id, "owner_id": owner.id, "due_on": due_on.isoformat()},
    )
    return follow_up


def complete_follow_up(follow_up: FollowUp, *, actor) -> None:
    if follow_up.status == "done":
        raise OutreachError(gettext("this follow-up is already done"))
    before = follow_up.status
    follow_up.status = "done"
    follow_up.completed_at = utcnow()
    follow_up.snoozed_until = None
    refresh_next_follow_up(follow_up.outreach)
    audit.record(
        "follow_up.complete", actor=actor, entity=follow_up, before={"status": before}, after={"status": "done"}
    )


def snooze_follow_up(follow_up: FollowUp, until: dt.date, *, actor) -> None:
    if follow_up.status == "done":
        raise OutreachError(gettext("a follow-up that is done cannot be snoozed"))
    if until <= clock.today(actor):
        raise OutreachError(gettext("snooze until a day after today"))
    before = {
        "status": follow_up.status,
        "snoozed_until": follow_up.snoozed_until and follow_up.snoozed_until.isoformat(),
    }
    follow_up.status = "snoozed"
    follow_up.snoozed_until = until
    # A snoozed follow-up is reminded again when the snooze ends.
    follow_up.reminder_sent_at = None
    refresh_next_follow_up(follow_up.outreach)
    audit.record(
        "follow_up.snooze",
        actor=actor,
        entity=follow_up,
        before=before,
        after={"status": "snoozed", "snoozed_until": until.isoformat()},
    )


def effective_due(follow_up: FollowUp) -> dt.date:
    return follow_up.snoozed_until if follow_up.status == "snoozed" and follow_up.snoozed_until else follow_up.due_on


@dataclass
class StatedPosition:
    demand: object
    stance: str
    evidence: str | None = None


@dataclass
class NextStep:
    owner: object
    due_on: dt.date
    note: str


def log_meeting(
    records: list[OutreachRecord],
    *,
    actor,
    held_at: dt.datetime,
    summary: str,
    office=None,
    outcome: str | None = None,
    location: str | None = None,
    contacts=(),
    staff=(),
    positions: list[StatedPosition] = (),
    next_step: NextStep | None = None,
    confidential_notes: str | None = None,
) -> Meeting:
    """Log a meeting on one or several outreach records (a joint meeting with several embassies), with
    the positions stated (for the first record) and an optional next step, all in one transaction."""
    if not records:
        raise OutreachError(gettext("a meeting belongs to at least one outreach record"))
    if len({record.id for record in records}) != len(records):
        raise OutreachError(gettext("a government is listed twice"))
    _check_meeting(held_at, summary)
    meeting = Meeting(
        office_id=getattr(office, "id", None),
        held_at=held_at,
        summary=summary.strip(),
        outcome=(outcome or "").strip() or None,
        location=(location or "").strip() or None,
        confidential_notes=(confidential_notes or "").strip() or None,
        created_by_id=getattr(actor, "id", None),
    )
    meeting.outreach_records = list(records)
    meeting.contacts = list(contacts)
    meeting.staff = list(staff)
    db.session.add(meeting)
    db.session.flush()
    audit.record(
        "meeting.create",
        actor=actor,
        entity=meeting,
        after={
            "outreach_ids": [r.id for r in records],
            "held_at": held_at.isoformat(),
            "office_id": meeting.office_id,
            "contact_ids": [c.id for c in contacts],
        },
    )
    for record in records:
        advance_stage(record, "meeting_held", actor=actor, reason="meeting logged")
    primary = records[0]
    for stated in positions:
        record_position(
            primary,
            stated.demand,
            stated.stance,
            held_at.date(),
            actor=actor,
            evidence=stated.evidence or summary,
            meeting=meeting,
        )
    if next_step is not None:
        add_follow_up(
            primary, owner=next_step.owner, due_on=next_step.due_on, note=next_step.note, actor=actor, meeting=meeting
        )
    return meeting


def _check_meeting(held_at: dt.datetime, summary: str | None) -> None:
    if held_at > utcnow() + dt.timedelta(days=1):
        raise OutreachError(gettext("log a meeting once it has been held (the date is in the future)"))
    if not summary or not summary.strip():
        raise OutreachError(gettext("write a short summary"))


def _meeting_snapshot(meeting: Meeting) -> dict:
    """A meeting as the audit log keeps it: never its confidential notes (encrypted at rest; the log is
    not), only whether it has some."""
    snapshot = audit.snapshot(meeting, ("held_at", "office_id", "location", "summary", "outcome"))
    snapshot.update(
        contact_ids=sorted(c.id for c in meeting.contacts),
        staff_ids=sorted(u.id for u in meeting.staff),
        has_confidential_notes=bool(meeting.confidential_notes),
    )
    return snapshot


def update_meeting(
    meeting: Meeting,
    *,
    actor,
    held_at: dt.datetime,
    summary: str,
    office=None,
    outcome: str | None = None,
    location: str | None = None,
    contacts=(),
    staff=(),
    confidential_notes: str | None = None,
    expected_version=None,
) -> bool:
    """Correct a logged meeting. The positions stated at it and its next steps are not touched here (a
    position is corrected by recording a new one). Returns whether anything changed."""
    check_version(meeting, expected_version)
    _check_meeting(held_at, summary)
    before, notes_before = _meeting_snapshot(meeting), meeting.confidential_notes
    meeting.held_at, meeting.summary = held_at, summary.strip()
    meeting.office_id = getattr(office, "id", None)
    meeting.outcome = (outcome or "").strip() or None
    meeting.location = (location or "").strip() or None
    meeting.confidential_notes = (confidential_notes or "").strip() or None
    meeting.contacts, meeting.staff = list(contacts), list(staff)
    after = _meeting_snapshot(meeting)
    changed = [key for key in after if after[key] != before[key]]
    logged_after = {key: after[key] for key in changed}
    if meeting.confidential_notes != notes_before:
        logged_after["confidential_notes"] = "changed"  # that they changed, never what they say
    if not logged_after:
        return False
    db.session.flush()
    audit.record(
        "meeting.update", actor=actor, entity=meeting, before={key: before[key] for key in changed}, after=logged_after
    )
    return True


def delete_meeting(meeting: Meeting, *, actor, expected_version=None) -> None:
    """Delete a meeting logged by mistake. Positions stated at it stay in the history, and its follow-ups
    stay too, without the link to it (the database sets it to NULL); the audit log keeps what it was."""
    check_version(meeting, expected_version)
    before = _meeting_snapshot(meeting)
    before["outreach_ids"] = sorted(record.id for record in meeting.outreach_records)
    before["position_ids"] = db.session.scalars(
        sa.select(Position.id).where(Position.meeting_id == meeting.id).order_by(Position.id)
    ).all()
    meeting_id, campaign_id = meeting.id, audit.campaign_of(meeting)
    db.session.delete(meeting)
    db.session.flush()
    audit.record(
        "meeting.delete",
        actor=actor,
        entity_type="meeting",
        entity_id=meeting_id,
        before=before,
        campaign_id=campaign_id,
    )


@dataclass
class TimelineEntry:
    kind: str  # meeting, letter, follow_up, position
    when: dt.date
    item: object


# Entries of the same day: position, then follow-up, letter, meeting (newest first reverses it).
TIMELINE_ORDER = {"position": 0, "follow_up": 1, "letter": 2, "meeting": 3}


def _newest_first(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    return sorted(entries, key=lambda e: (e.when, TIMELINE_ORDER[e.kind], getattr(e.item, "id", 0)), reverse=True)


def _utc_day(column):
    """The UTC calendar day of a timestamp column, in SQL (the day `timeline` shows for it)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.func.date(column)
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def _meeting_options(entity=Meeting):
    # The timeline never shows confidential notes: do not load (and decrypt) them.
    return (defer(entity.confidential_notes), selectinload(entity.office), selectinload(entity.outreach_records))


def _position_options(entity=Position):

    return (selectinload(entity.demand).selectinload(Demand.translations), selectinload(entity.recorded_by))


def timeline(record: OutreachRecord, positions: list[Position] | None = None) -> list[TimelineEntry]:
    """Meetings, letters, follow-ups and position changes of one record, newest first (four queries, or
    three when the caller already holds the record's positions)."""
    entries: list[TimelineEntry] = []
    meetings = db.session.scalars(
        sa.select(Meeting)
        .join(Meeting.outreach_records)
        .where(OutreachRecord.id == record.id)
        .options(*_meeting_options())
    )
    entries += [TimelineEntry("meeting", m.held_at.date(), m) for m in meetings]
    letters = db.session.scalars(
        sa.select(Letter).where(Letter.outreach_id == record.id).options(selectinload(Letter.recipient_contact))
    )
    entries += [
        TimelineEntry("letter", letter.received_on or letter.sent_on or letter.created_at.date(), letter)
        for letter in letters
    ]
    follow_ups = db.session.scalars(
        sa.select(FollowUp).where(FollowUp.outreach_id == record.id).options(selectinload(FollowUp.owner))
    )
    entries += [TimelineEntry("follow_up", f.due_on, f) for f in follow_ups]
    if positions is None:
        positions = positions_of(record)
    entries += [TimelineEntry("position", p.stated_on, p) for p in positions]
    return _newest_first(entries)


@dataclass
class RecentTimeline:
    """The latest entries of one record's timeline, and whether it holds older ones."""

    entries: list[TimelineEntry]
    more: bool


def _latest_per_record(model, partition, day, statement, limit, options=lambda entity: ()):
    """`statement` (a select of `model`) narrowed to the `limit` newest rows per `partition`, newest by
    (`day`, id), with the partition's value: one query whatever the number of records."""
    rank = sa.func.row_number().over(partition_by=partition, order_by=(day.desc(), model.id.desc()))
    ranked = statement.add_columns(partition.label("record_id"), rank.label("rank")).subquery()
    entity = aliased(model, ranked)
    return db.session.execute(
        sa.select(entity, ranked.c.record_id).where(ranked.c.rank <= limit).options(*options(entity))
    )


def recent_timelines(records, limit: int) -> dict[int, RecentTimeline]:
    """The `limit` newest timeline entries of each record, in one query per kind of entry (meetings,
    letters, follow-ups, positions) and their relations, whatever the number of records or entries."""

    ids = [record.id for record in records]
    found: dict[int, list[TimelineEntry]] = {record_id: [] for record_id in ids}
    if not ids:
        return {}
    fetch = limit + 1  # one more of each kind tells whether older entries exist
    meetings = _latest_per_record(
        Meeting,
        meeting_outreach.c.outreach_id,
        _utc_day(Meeting.held_at),
        sa.select(Meeting)
        .join(meeting_outreach, meeting_outreach.c.meeting_id == Meeting.id)
        .where(meeting_outreach.c.outreach_id.in_(ids)),
        fetch,
        _meeting_options,
    )
    for meeting, record_id in meetings:
        found[record_id].append(TimelineEntry("meeting", meeting.held_at.date(), meeting))
    letter_day = sa.func.coalesce(Letter.received_on, Letter.sent_on, _utc_day(Letter.created_at))
    letters = _latest_per_record(
        Letter, Letter.outreach_id, letter_day, sa.select(Letter).where(Letter.outreach_id.in_(ids)), fetch
    )
    for letter, record_id in letters:
        found[record_id].append(
            TimelineEntry("letter", letter.received_on or letter.sent_on or letter.created_at.date(), letter)
        )
    follow_ups = _latest_per_record(
        FollowUp,
        FollowUp.outreach_id,
        FollowUp.due_on,
        sa.select(FollowUp).where(FollowUp.outreach_id.in_(ids)),
        fetch,
        lambda entity: (selectinload(entity.owner),),
    )
    for follow_up, record_id in follow_ups:
        found[record_id].append(TimelineEntry("follow_up", follow_up.due_on, follow_up))
    positions = _latest_per_record(
        Position,
        Position.outreach_id,
        Position.stated_on,
        sa.select(Position).where(Position.outreach_id.in_(ids)),
        fetch,
        _position_options,
    )
    for position, record_id in positions:
        found[record_id].append(TimelineEntry("position", position.stated_on, position))
    result = {}
    for record_id, entries in found.items():
        entries = _newest_first(entries)
        result[record_id] = RecentTimeline(entries[:limit], len(entries) > limit)
    return result


@dataclass
class ListPage:
    """One page of a list already in memory, with what the pagination macro asks of a page."""

    items: list
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


TIMELINE_PAGE = 15


def paged(entries: list, page: int | None, per_page: int = TIMELINE_PAGE) -> ListPage:
    """A page of a long list (a record's timeline); a page out of range gives the nearest one."""
    pages = max(1, -(-len(entries) // per_page))
    page = min(max(page or 1, 1), pages)
    return ListPage(entries[(page - 1) * per_page : page * per_page], page, pages)


def filter_by_outreach(statement, user, *, campaign_slug=None, stage=None, assignee_id=None):
    """Narrow a select of countries to those with an outreach record (that `user` may see) matching a
    campaign, stage and assignee. No filter given: the select is unchanged."""

    if not (campaign_slug or stage or assignee_id):
        return statement
    records = sa.select(OutreachRecord.country_id)
    if campaign_slug:
        records = records.join(Campaign, Campaign.id == OutreachRecord.campaign_id).where(
            Campaign.slug == campaign_slug
        )
    if stage in STAGE_RANK:
        records = records.where(OutreachRecord.stage == stage)
    if assignee_id:
        try:
            records = records.where(OutreachRecord.assignee_id == int(assignee_id))
        except (TypeError, ValueError):
            return statement.where(sa.false())
    return statement.where(Country.id.in_(outreach_visibility(user, records)))


def outreach_stages(country_ids, user, *, campaign_slug=None, language: str = "en") -> dict[int, list]:
    """The outreach records (visible to `user`) of the listed countries, by country id, in one query, as
    rows of what the countries list shows: id, country_id, stage and campaign_name (in `language`)."""

    ids = list(country_ids)
    if not ids:
        return {}
    translated = sa.orm.aliased(CampaignTranslation)
    statement = (
        sa.select(
            OutreachRecord.id,
            OutreachRecord.country_id,
            OutreachRecord.stage,
            sa.func.coalesce(translated.name, Campaign.name).label("campaign_name"),
        )
        .join(Campaign, Campaign.id == OutreachRecord.campaign_id)
        .outerjoin(translated, sa.and_(translated.campaign_id == Campaign.id, translated.language == language))
        .where(OutreachRecord.country_id.in_(ids))
        .order_by(OutreachRecord.id)
    )
    if campaign_slug:
        statement = statement.where(Campaign.slug == campaign_slug)
    result: dict[int, list] = {}
    for record in db.session.execute(outreach_visibility(user, statement)):
        result.setdefault(record.country_id, []).append(record)
    return result


def government_offices(country, user):
    """The offices that represent this government (that `user` may see), with their contacts."""

    return db.session.scalars(
        office_visibility(user, sa.select(Office))
        .where(Office.country_id == country.id)
        .order_by(Office.active.desc(), Office.kind, Office.city)
        .options(selectinload(Office.host_country), selectinload(Office.contacts))
    ).all()


# Timeline entries shown per record on a country page; the record's own page has them all, paged.
CARD_TIMELINE = 5


@dataclass
class OutreachCard:
    record: OutreachRecord
    demands: list
    positions: dict
    timeline: list[TimelineEntry]
    may_edit: bool
    more: bool = False  # older entries are on the record's page


def outreach_cards(country, user) -> list[OutreachCard]:
    """Per campaign, this government's outreach: current positions and the timeline."""

    records = db.session.scalars(
        outreach_visibility(user, sa.select(OutreachRecord))
        .where(OutreachRecord.country_id == country.id)
        .options(selectinload(OutreachRecord.campaign), selectinload(OutreachRecord.assignee))
    ).all()
    positions = current_positions(records)
    demands: dict[int, list] = {}
    for demand in db.session.scalars(
        sa.select(Demand)
        .where(Demand.campaign_id.in_([r.campaign_id for r in records]))
        .order_by(Demand.ordinal)
        .options(selectinload(Demand.translations))
    ):
        demands.setdefault(demand.campaign_id, []).append(demand)
    timelines = recent_timelines(records, CARD_TIMELINE)
    return [
        OutreachCard(
            record,
            demands.get(record.campaign_id, []),
            positions,
            timelines[record.id].entries,
            can_edit_outreach(user, record),
            timelines[record.id].more,
        )
        for record in records
    ]
