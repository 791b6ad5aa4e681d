"""Outreach rules: stages, positions, meetings, follow-ups and the timeline. Plain functions shared by
the pages, the command line and scheduled jobs; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, defer, selectinload

from crm import clock
from crm.accounts.models import User
from crm.audit import services as audit
from crm.campaigns.models import Campaign, CampaignTranslation, Demand, DemandTranslation
from crm.contacts.models import Office
from crm.countries.models import Country
from crm.database import UTCDateTime, check_version, utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.letters.models import Letter, letter_day
from crm.outreach.models import STAGES, STANCES, FollowUp, Meeting, OutreachRecord, Position, meeting_outreach
from crm.permissions import can_edit_outreach_row, outreach_visibility, visibility_scope
from crm.translation import gettext
from crm.webhooks import services as webhooks

STAGE_RANK = {stage: rank for rank, stage in enumerate(STAGES)}
# What a logged event implies about the stage; a record never moves back by itself.
STANCE_STAGE = {"opposed": "responded", "non_committal": "responded", "supportive": "responded", "acted": "committed"}


# A campaign's name in the reader's language, where it has one: an alias made once, as the ORM takes a
# millisecond or two to make one (each page of outreach would otherwise pay for it with every query).
TRANSLATED_CAMPAIGN = aliased(CampaignTranslation)


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
    audit.created(
        "position.create",
        position,
        actor=actor,
        after={"outreach_id": record.id, "demand_id": demand.id, "stance": stance, "stated_on": stated_on.isoformat()},
    )
    if stance in STANCE_STAGE:
        advance_stage(record, STANCE_STAGE[stance], actor=actor, reason="position recorded")
    webhooks.position_changed(position, record)
    return position


def latest_positions(positions) -> dict[tuple[int, int], Position]:
    """The current position per (record, demand): the latest stated, the latest recorded on a tie."""
    latest: dict[tuple[int, int], Position] = {}
    for position in sorted(positions, key=lambda p: (p.stated_on, p.id)):
        latest[(position.outreach_id, position.demand_id)] = position
    return latest


def _current(which, *columns):
    """The current position per (record, demand) of the positions `which` selects (a condition on
    Position), as a subquery of `columns`: the latest stated, the latest recorded on a tie (as
    `latest_positions` decides), ranked in the database."""
    rank = sa.func.row_number().over(
        partition_by=(Position.outreach_id, Position.demand_id),
        order_by=(Position.stated_on.desc(), Position.id.desc()),
    )
    ranked = sa.select(*columns, rank.label("rank")).where(which).subquery()
    return ranked, ranked.c.rank == 1


def current_positions(records) -> dict[tuple[int, int], Position]:
    """The latest position per (record, demand) for many records, in one query that reads only those."""
    ids = [record.id for record in records]
    if not ids:
        return {}
    ranked, first = _current(Position.outreach_id.in_(ids), Position)
    return latest_positions(db.session.scalars(sa.select(aliased(Position, ranked)).where(first)))


class CampaignRow(NamedTuple):
    """One government on a campaign's page: what its row shows, without loading records and people."""

    id: int
    stage: str
    next_follow_up_on: dt.date | None
    country: str  # its name in the reader's language
    assignee_name: str | None
    stances: tuple[str | None, ...]  # its current stance on each demand asked about, in their order


@cache
def _campaign_rows_statement(in_spanish: bool, demands: int) -> sa.Select:
    """Built once for each language and number of demands, the campaign and the demands' ids (demand_0,
    demand_1, ...) parameters (visibility narrows it as before): each record with its current stance on
    each demand in a column of its own, the campaign's positions ranked (through their index) and set
    side by side per record in the database. Read apart, the stances came as a row per record and demand,
    some seven hundred, put in a dict and looked up again for each cell."""
    statement = (
        sa.select(
            OutreachRecord.id,
            OutreachRecord.stage,
            OutreachRecord.next_follow_up_on,
            Country.name_es if in_spanish else Country.name_en,
            User.name,
        )
        .join(Country, Country.id == OutreachRecord.country_id)
        .outerjoin(User, User.id == OutreachRecord.assignee_id)
        .where(OutreachRecord.campaign_id == sa.bindparam("campaign_id"))
    )
    if not demands:
        return statement
    ranked, first = _current(
        Position.campaign_id == sa.bindparam("campaign_id"), Position.outreach_id, Position.demand_id, Position.stance
    )
    stances = (
        sa.select(
            ranked.c.outreach_id,
            *(
                sa.func.max(sa.case((ranked.c.demand_id == sa.bindparam(f"demand_{n}"), ranked.c.stance))).label(
                    f"stance_{n}"
                )
                for n in range(demands)
            ),
        )
        .where(first)
        .group_by(ranked.c.outreach_id)
        .subquery()
    )
    return statement.add_columns(*list(stances.c)[1:]).outerjoin(stances, stances.c.outreach_id == OutreachRecord.id)


def campaign_rows(campaign, user, language: str, demand_ids, *, current: dict | None = None) -> list[CampaignRow]:
    """The campaign's governments that `user` may see, as plain rows sorted by their country's name in
    `language`, each with its current stance on each of `demand_ids` (one query). `current`, when given,
    holds those stances already (record id -> demand id -> stance: the dashboard's kept figures), and the
    query leaves them out."""
    ranked = demand_ids if current is None else ()
    statement = outreach_visibility(user, _campaign_rows_statement(str(language).startswith("es"), len(ranked)))
    params = {"campaign_id": campaign.id, **{f"demand_{n}": demand for n, demand in enumerate(ranked)}}
    found = db.session.connection().execute(statement, params).all()
    if current is None:
        rows = [
            CampaignRow(record_id, stage, due, country, assignee, tuple(stances))
            for record_id, stage, due, country, assignee, *stances in found
        ]
    else:
        none: dict = {}
        rows = [
            CampaignRow(
                record_id, stage, due, country, assignee, tuple(map(current.get(record_id, none).get, demand_ids))
            )
            for record_id, stage, due, country, assignee in found
        ]
    rows.sort(key=attrgetter("country"))
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
        sa.select(sa.func.min(FollowUp.due)).where(FollowUp.outreach_id == record.id, FollowUp.still_to_do)
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
        campaign_id=record.campaign_id,
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
    audit.created(
        "meeting.create",
        meeting,
        actor=actor,
        after=lambda meeting: {
            "outreach_ids": [r.id for r in records],
            "held_at": held_at.isoformat(),
            "office_id": meeting.office_id,
            "contact_ids": [c.id for c in contacts],
        },
    )
    for record in records:
        advance_stage(record, "meeting_held", actor=actor, reason="meeting logged")
    webhooks.meeting_logged(meeting, records)
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


def _meeting_options(entity=Meeting):
    # The timeline never shows confidential notes: do not load (and decrypt) them.
    return (defer(entity.confidential_notes), selectinload(entity.office), selectinload(entity.outreach_records))


def _position_options(entity=Position):
    return (selectinload(entity.demand).selectinload(Demand.translations), selectinload(entity.recorded_by))


def _timeline(record: OutreachRecord, positions: list[Position], newest: int | None) -> list[TimelineEntry]:
    """The record's entries newest first: all of them, or only the `newest` of each kind, which hold the
    `newest` entries of the whole timeline (each kind is read in the timeline's own order)."""
    meetings = db.session.scalars(
        sa.select(Meeting)
        .join(meeting_outreach, meeting_outreach.c.meeting_id == Meeting.id)
        .where(meeting_outreach.c.outreach_id == record.id)
        .order_by(meeting_outreach.c.held_on.desc(), Meeting.id.desc())
        .limit(newest)
        .options(*_meeting_options())
    )
    entries = [TimelineEntry("meeting", m.held_at.date(), m) for m in meetings]
    letters = db.session.scalars(
        sa.select(Letter)
        .where(Letter.outreach_id == record.id)
        .order_by(letter_day().desc(), Letter.id.desc())
        .limit(newest)
        .options(selectinload(Letter.recipient_contact))
    )
    entries += [
        TimelineEntry("letter", letter.received_on or letter.sent_on or letter.created_at.date(), letter)
        for letter in letters
    ]
    follow_ups = db.session.scalars(
        sa.select(FollowUp)
        .where(FollowUp.outreach_id == record.id)
        .order_by(FollowUp.due_on.desc(), FollowUp.id.desc())
        .limit(newest)
        .options(selectinload(FollowUp.owner))
    )
    entries += [TimelineEntry("follow_up", f.due_on, f) for f in follow_ups]
    entries += [TimelineEntry("position", p.stated_on, p) for p in positions]
    return _newest_first(entries)[:newest]


def timeline(record: OutreachRecord, positions: list[Position] | None = None) -> list[TimelineEntry]:
    """Meetings, letters, follow-ups and position changes of one record, newest first (four queries, or
    three when the caller already holds the record's positions)."""
    return _timeline(record, positions_of(record) if positions is None else positions, None)


def timeline_page(
    record: OutreachRecord, page: int | None, positions: list[Position] | None = None, per_page: int | None = None
) -> ListPage:
    """One page of a record's timeline, newest first; a page out of range gives the nearest one. Reads
    the counts, then only the newest page × per_page entries of each kind: a record with thousands of
    entries costs what its first pages show, not its whole history."""
    per_page = per_page or TIMELINE_PAGE
    positions = positions_of(record) if positions is None else positions
    counts = db.session.execute(
        sa.select(
            sa.select(sa.func.count())
            .select_from(meeting_outreach)
            .where(meeting_outreach.c.outreach_id == record.id)
            .scalar_subquery(),
            sa.select(sa.func.count()).select_from(Letter).where(Letter.outreach_id == record.id).scalar_subquery(),
            sa.select(sa.func.count()).select_from(FollowUp).where(FollowUp.outreach_id == record.id).scalar_subquery(),
        )
    ).one()
    pages = max(1, -(-(sum(counts) + len(positions)) // per_page))
    page = min(max(page or 1, 1), pages)
    return ListPage(_timeline(record, positions, page * per_page)[(page - 1) * per_page :], page, pages)


@dataclass
class RecentTimeline:
    """The latest entries of one record's timeline, and whether it holds older ones."""

    entries: list[TimelineEntry]
    more: bool


# What a line of a short timeline (the country page's cards) shows of each kind of entry: the columns it
# reads, not the records. Named like the models' attributes, so the timeline macro shows either.
@dataclass(frozen=True)
class Named:
    name: str


@dataclass(frozen=True)
class MeetingLine:
    id: int
    summary: str
    office: Named | None
    governments: int  # the records it is on: more than one for a joint meeting


@dataclass(frozen=True)
class LetterLine:
    id: int
    direction: str
    subject: str


@dataclass(frozen=True)
class FollowUpLine:
    id: int
    status: str
    due_on: dt.date
    snoozed_until: dt.date | None
    note: str
    owner: Named
    reminder_sent_at: dt.datetime | None


@dataclass(frozen=True)
class PositionLine:
    id: int
    stance: str
    demand: object  # a Demand with its translations, or a DemandLine


def _latest_per_record(dialect, records, kind: str, record_column, entry_id, day, source) -> sa.Select:
    """A select of (record_id, kind, id, day): for each record in the expanding parameter `ids` (on
    PostgreSQL, each of `records`, a common table of them), its `fetch` (a parameter) newest entries of one
    kind in `source` (a join or a table), newest by (`day`, `entry_id`), read from an index. On PostgreSQL
    a lateral subquery per record reads only those; SQLite, which has no LATERAL, ranks the records'
    entries."""
    ids, fetch = sa.bindparam("ids", expanding=True), sa.bindparam("fetch")
    kind = sa.literal_column(f"'{kind}'", sa.Text).label("kind")
    if dialect == "postgresql":
        latest = (
            sa.select(entry_id.label("id"), sa.type_coerce(day, sa.Date).label("day"))
            .select_from(source)
            .where(record_column == records.c.record_id)
            .order_by(day.desc(), entry_id.desc())
            .limit(fetch)
            .lateral("latest")
        )
        return sa.select(records.c.record_id, kind, latest.c.id, latest.c.day).join_from(records, latest, sa.true())
    rank = sa.func.row_number().over(partition_by=record_column, order_by=(day.desc(), entry_id.desc()))
    ranked = (
        sa.select(
            record_column.label("record_id"),
            entry_id.label("id"),
            sa.type_coerce(day, sa.Date).label("day"),
            rank.label("rank"),
        )
        .select_from(source)
        .where(record_column.in_(ids))
        .subquery()
    )
    return sa.select(ranked.c.record_id, kind, ranked.c.id, ranked.c.day).where(ranked.c.rank <= fetch)


@cache
def _recent_statement(dialect: str) -> sa.CompoundSelect:
    """recent_timelines' select, for `dialect`, in one statement: each record's latest meetings, letters,
    follow-ups and positions found from their indexes (their ids and days), the newest of them all kept
    in the timeline's order (TIMELINE_ORDER on a day), and only those read, in columns the four kinds
    share. Built once, with the records and the number of entries as parameters: building it, and
    finding its compiled SQL again by walking it, cost more than running it. Its SQL is kept short (the
    records listed once, the kinds and their order written in, not sent as parameters): psycopg parses a
    statement of more than 4 KB again on every execution."""
    records = (
        sa.select(OutreachRecord.id.label("record_id"))
        .where(OutreachRecord.id.in_(sa.bindparam("ids", expanding=True)))
        .cte("r")
    )
    candidates = sa.union_all(
        # The link carries its meeting's UTC day (held_on, kept by the database): the index of the links
        # is enough to find a record's latest meetings.
        _latest_per_record(
            dialect,
            records,
            "meeting",
            meeting_outreach.c.outreach_id,
            meeting_outreach.c.meeting_id,
            meeting_outreach.c.held_on,
            meeting_outreach,
        ),
        _latest_per_record(
            dialect,
            records,
            "letter",
            Letter.outreach_id,
            Letter.id,
            letter_day(),
            Letter.__table__,
        ),
        _latest_per_record(
            dialect, records, "follow_up", FollowUp.outreach_id, FollowUp.id, FollowUp.due_on, FollowUp.__table__
        ),
        _latest_per_record(
            dialect, records, "position", Position.outreach_id, Position.id, Position.stated_on, Position.__table__
        ),
    ).subquery("candidates")
    order = sa.case(
        {sa.literal_column(f"'{kind}'"): sa.literal_column(str(rank)) for kind, rank in TIMELINE_ORDER.items()},
        value=candidates.c.kind,
    )
    place = sa.func.row_number().over(
        partition_by=candidates.c.record_id, order_by=(candidates.c.day.desc(), order.desc(), candidates.c.id.desc())
    )
    ranked = sa.select(candidates, place.label("place")).subquery("ranked")
    top = sa.select(ranked).where(ranked.c.place <= sa.bindparam("fetch")).cte("top")
    joint = sa.select(sa.func.count()).where(meeting_outreach.c.meeting_id == Meeting.id).scalar_subquery()
    meetings = (
        _line(top, moment=Meeting.held_at, text=Meeting.summary, detail=Office.name, number=joint)
        .join(Meeting, Meeting.id == top.c.id)
        .outerjoin(Office, Office.id == Meeting.office_id)
    )
    letters = _line(top, text=Letter.subject, detail=Letter.direction).join(Letter, Letter.id == top.c.id)
    follow_ups = (
        _line(
            top,
            moment=FollowUp.reminder_sent_at,
            text=FollowUp.note,
            detail=FollowUp.status,
            owner=User.name,
            until=FollowUp.snoozed_until,
        )
        .join(FollowUp, FollowUp.id == top.c.id)
        .join(User, User.id == FollowUp.owner_id)
    )
    positions = _line(top, text=Position.stance, number=Position.demand_id).join(Position, Position.id == top.c.id)
    # Each kind's lines join its own table by primary key, for the entries kept only.
    return sa.union_all(
        *(
            kind_lines.where(top.c.kind == sa.literal_column(f"'{kind}'"))
            for kind, kind_lines in (
                ("meeting", meetings),
                ("letter", letters),
                ("follow_up", follow_ups),
                ("position", positions),
            )
        )
    ).order_by(sa.literal_column("record_id"), sa.literal_column("place"))


# What each kind of entry shows, in columns shared by the four kinds (none where a kind has nothing to
# say: a null of the column's type, as PostgreSQL takes an untyped null for text).
_LINE_COLUMNS = (
    ("moment", UTCDateTime),  # a meeting's time; a follow-up's reminder
    ("text", sa.Text),  # the summary, subject, note or stance
    ("detail", sa.Text),  # the meeting's office, the letter's direction, the follow-up's status
    ("owner", sa.Text),  # the follow-up's owner
    ("number", sa.Integer),  # the meeting's governments, the position's demand
    ("until", sa.Date),  # the follow-up's snooze
)


def _line(top, **columns) -> sa.Select:
    return sa.select(
        top.c.record_id,
        top.c.kind,
        top.c.id,
        top.c.day,
        top.c.place,
        *(
            (sa.type_coerce(columns[name], type_) if name in columns else sa.cast(sa.null(), type_)).label(name)
            for name, type_ in _LINE_COLUMNS
        ),
    )


def recent_timelines(records, limit: int, demands: dict | None = None) -> dict[int, RecentTimeline]:
    """The `limit` newest timeline entries of each record, as lines (the columns a timeline shows), in one
    query whatever the number of records or entries. `demands` (id -> the demand, a Demand or a DemandLine)
    names the positions' demands; without it they are read (two more queries)."""
    ids = [record.id for record in records]
    if not ids:
        return {}
    # One more tells whether older entries exist. Plain rows, read through the session's connection:
    # nothing is flushed first (the pages that ask have changed nothing).
    rows = (
        db.session.connection()
        .execute(_recent_statement(db.session.get_bind().dialect.name), {"ids": ids, "fetch": limit + 1})
        .all()
    )
    if demands is None:
        demands = _demands_by_id({row.number for row in rows if row.kind == "position"})
    found: dict[int, list[TimelineEntry]] = {record_id: [] for record_id in ids}
    for record_id, kind, entry_id, day, _, moment, text, detail, owner, number, until in rows:
        if kind == "meeting":
            line = MeetingLine(entry_id, text, Named(detail) if detail is not None else None, number)
        elif kind == "letter":
            line = LetterLine(entry_id, detail, text)
        elif kind == "follow_up":
            line = FollowUpLine(entry_id, detail, day, until, text, Named(owner), moment)
        else:
            line = PositionLine(entry_id, text, demands[number])
        found[record_id].append(TimelineEntry(kind, day, line))
    return {record_id: RecentTimeline(entries[:limit], len(entries) > limit) for record_id, entries in found.items()}


def _demands_by_id(ids) -> dict:
    if not ids:
        return {}
    return {
        demand.id: demand
        for demand in db.session.scalars(
            sa.select(Demand).where(Demand.id.in_(ids)).options(selectinload(Demand.translations))
        )
    }


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


@cache
def _stages_statement(by_campaign: bool) -> sa.Select:
    # Built once, with the countries and the campaign as parameters (see _recent_statements). Each record's
    # campaign by its id: the list names the campaigns from its filter's choices, which it reads anyway,
    # rather than each campaign's name repeated on each of its records (some seven hundred a page).
    statement = (
        sa.select(OutreachRecord.id, OutreachRecord.country_id, OutreachRecord.stage, OutreachRecord.campaign_id)
        .where(OutreachRecord.country_id.in_(sa.bindparam("country_ids", expanding=True)))
        .order_by(OutreachRecord.id)
    )
    if by_campaign:
        statement = statement.join(Campaign, Campaign.id == OutreachRecord.campaign_id).where(
            Campaign.slug == sa.bindparam("campaign_slug")
        )
    return statement


def outreach_stages(country_ids, user, *, campaign_slug=None) -> dict[int, list]:
    """The outreach records (visible to `user`) of the listed countries, by country id, in one query, as
    rows of what the countries list shows, in this order: id, country_id, stage and campaign_id."""
    ids = list(country_ids)
    if not ids:
        return {}
    params = {"country_ids": ids}
    if campaign_slug:
        params["campaign_slug"] = campaign_slug
    # Read through the session's connection: plain rows, without the ORM's pass over each of some seven
    # hundred (a third of the time). Nothing is flushed first; the list that asks has changed nothing.
    statement = outreach_visibility(user, _stages_statement(bool(campaign_slug)))
    rows = db.session.connection().execute(statement, params).all()
    result: dict[int, list] = {}
    for record in rows:
        result.setdefault(record[1], []).append(record)
    return result


# Timeline entries shown per record on a country page; the record's own page has them all, paged.
CARD_TIMELINE = 5
# Campaigns shown in full (positions and latest entries) on a country page, the newest active ones; the
# government's other records are listed a line each (campaign, stage, assignee), each linking to its record's
# page, which has its positions and its whole timeline. A government worked on for years is in every
# campaign: eight cards in full were some two-fifths of the busiest government's page (its CPU and its SQL).
CARDS_SHOWN = 4


class DemandLine(NamedTuple):
    """A demand as a country page's card names it, read as a row: its number, and its wording in the
    language it was read in (its title where it has no translation in that language)."""

    id: int
    ordinal: int
    wording: str
    language: str
    title: str  # as first written

    def text(self, language: str) -> tuple[str, None]:
        """Demand.text's title (a card reads no description): the wording read, in its language."""
        return (self.wording if language == self.language else self.title), None


class CardRecord(NamedTuple):
    """An outreach record as a country page lists it."""

    id: int
    campaign_id: int
    stage: str
    assignee_id: int | None
    assignee_name: str | None
    campaign_name: str
    archived: bool


class CurrentPosition(NamedTuple):
    """A record's current position on a demand, as a card's positions table shows it."""

    stance: str
    stated_on: dt.date
    evidence: str | None
    evidence_url: str | None
    meeting_id: int | None


@dataclass
class OutreachCard:
    record: CardRecord
    demands: list[DemandLine]
    positions: dict  # (record id, demand id) -> the current position: stance, stated_on, evidence, ...
    timeline: list[TimelineEntry]
    may_edit: bool
    more: bool = False  # older entries are on the record's page


@dataclass
class CountryOutreach:
    cards: list[OutreachCard]  # the newest active campaigns' records, in full
    others: list[CardRecord]  # the rest (older or archived campaigns), a line each

    def __bool__(self) -> bool:
        return bool(self.cards or self.others)


TRANSLATED_DEMAND = aliased(DemandTranslation)


@cache
def _card_records() -> sa.Select:
    """A government's outreach records as the country page lists them, newest active campaigns first, each
    with its `place` in that order (the country and the language are parameters)."""
    translated = TRANSLATED_CAMPAIGN
    order = (
        Campaign.archived_at.is_not(None),
        Campaign.starts_on.is_(None),
        Campaign.starts_on.desc(),
        Campaign.id.desc(),
    )
    return (
        sa.select(
            OutreachRecord.id,
            OutreachRecord.campaign_id,
            OutreachRecord.stage,
            OutreachRecord.assignee_id,
            User.name.label("assignee_name"),
            sa.func.coalesce(translated.name, Campaign.name).label("campaign_name"),
            Campaign.archived_at.is_not(None).label("archived"),
            sa.func.row_number().over(order_by=order).label("place"),
        )
        .join(Campaign, Campaign.id == OutreachRecord.campaign_id)
        .outerjoin(
            translated,
            sa.and_(translated.campaign_id == Campaign.id, translated.language == sa.bindparam("language")),
        )
        .outerjoin(User, User.id == OutreachRecord.assignee_id)
        .where(OutreachRecord.country_id == sa.bindparam("country_id"))
    )


def _cards_statement(records: sa.Select) -> sa.Select:
    """The records `records` selects, in their order, and for those shown in full (the first `shown` of
    active campaigns, a parameter: the archived come last) the demands of their campaign in the reader's
    language, each with the record's current position on it if it has one: a row per demand, or one row
    for a record without."""
    listed = records.cte("listed")
    full = sa.and_(sa.not_(listed.c.archived), listed.c.place <= sa.bindparam("shown"))
    current, first = _current(
        Position.outreach_id.in_(sa.select(listed.c.id).where(full)),
        Position.outreach_id,
        Position.demand_id,
        Position.stance,
        Position.stated_on,
        Position.evidence,
        Position.evidence_url,
        Position.meeting_id,
    )
    # outreach_cards reads the columns by their place: a CardRecord, the demand, a CurrentPosition.
    return (
        sa.select(
            listed.c.id,
            listed.c.campaign_id,
            listed.c.stage,
            listed.c.assignee_id,
            listed.c.assignee_name,
            listed.c.campaign_name,
            listed.c.archived,
            Demand.id.label("demand_id"),
            Demand.ordinal,
            sa.func.coalesce(TRANSLATED_DEMAND.title, Demand.title).label("wording"),
            Demand.title,
            current.c.stance,
            current.c.stated_on,
            current.c.evidence,
            current.c.evidence_url,
            current.c.meeting_id,
        )
        .select_from(listed)
        .outerjoin(Demand, sa.and_(Demand.campaign_id == listed.c.campaign_id, full))
        .outerjoin(
            TRANSLATED_DEMAND,
            sa.and_(TRANSLATED_DEMAND.demand_id == Demand.id, TRANSLATED_DEMAND.language == sa.bindparam("language")),
        )
        .outerjoin(
            current,
            sa.and_(current.c.outreach_id == listed.c.id, current.c.demand_id == Demand.id, first),
        )
        .order_by(listed.c.place, Demand.ordinal)
    )


# outreach_cards' statements, each built once for a visibility scope (those who see every record,
# volunteers: permissions.visibility_scope), the volunteer's id a parameter.
_CARDS: dict[str, sa.Select] = {}
_VIEWER = sa.bindparam("viewer_id")


def outreach_cards(country, user, shown: int = CARDS_SHOWN, *, language: str = "en") -> CountryOutreach:
    """This government's outreach, per campaign: the `shown` newest active campaigns' records with their
    current positions and latest timeline entries, and the others a line each. The records are rows of
    what the page shows (the campaign and the demands named in `language`); two queries, reading the
    latest entries of the records shown only. Plain rows, read through the session's connection: nothing
    is flushed first (the page has changed nothing)."""
    scope = visibility_scope(user)
    statement = _CARDS.get(scope)
    if statement is None:
        statement = _CARDS[scope] = _cards_statement(outreach_visibility(user, _card_records(), viewer=_VIEWER))
    params = {"country_id": country.id, "language": language, "shown": shown, "viewer_id": user.id}
    found: dict[int, CardRecord] = {}  # the records, in their order
    demands: dict[int, list[DemandLine]] = {}
    positions = {}
    by_id = {}
    # A row per demand of each record shown in full (some thirty at a busy government): unpacked, and kept
    # as tuples, not asked for each column by name (SQLAlchemy's Row finds each name in a lookup).
    for row in db.session.connection().execute(statement, params).all():
        record_id, demand_id, ordinal, wording, title, stance = row[0], *row[7:12]
        if record_id not in found:
            found[record_id] = CardRecord(*row[:7])
        if demand_id is None:
            continue
        demand = by_id.get(demand_id)
        if demand is None:
            demand = by_id[demand_id] = DemandLine(demand_id, ordinal, wording, language, title)
        demands.setdefault(record_id, []).append(demand)
        if stance is not None:
            positions[(record_id, demand_id)] = CurrentPosition(*row[11:])
    # The statement's own choice of the records shown in full: the first of the active campaigns.
    full = [record for record in found.values() if not record.archived][:shown]
    listed = {record.id for record in full}
    others = [record for record in found.values() if record.id not in listed]
    timelines = recent_timelines(full, CARD_TIMELINE, by_id)
    cards = [
        OutreachCard(
            record,
            demands.get(record.id, []),
            positions,
            timelines[record.id].entries,
            can_edit_outreach_row(user, record),
            timelines[record.id].more,
        )
        for record in full
    ]
    return CountryOutreach(cards, others)
