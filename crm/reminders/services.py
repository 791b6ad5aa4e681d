"""Reminder rules: who is reminded of what and when, each user's preferences and calendar secret, the
contents of digests and weekly reports, and the reply clock. Plain functions; they queue messages and
flush, the caller (a job, a command or a view) commits."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from crm import clock
from crm.accounts.models import LANGUAGES, User
from crm.audit import services as audit
from crm.campaigns.models import Campaign
from crm.campaigns.services import open_records
from crm.database import upsert_insert, utcnow
from crm.encryption import token_hash
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import show_date
from crm.letters.models import Letter
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, Position, meeting_outreach, meeting_staff
from crm.outreach.services import add_follow_up, effective_due
from crm.permissions import can_view_outreach, follow_up_visibility, meeting_visibility, roles_that_can
from crm.reminders.models import DEFAULT_DIGEST_HOUR, ReminderPreference, ReplyClock
from crm.signatures.models import Signature
from crm.translation import gettext
from crm.webhooks import services as webhooks

UPCOMING_DAYS = 7
# The reply clock looks back this far for delivered letters and held meetings, so that old history
# (or a first run on an old database) does not turn into a flood of follow-ups.
REPLY_CLOCK_LOOKBACK_DAYS = 90


class ReminderError(DomainError):
    """A preference or request that breaks a reminder rule, with a message for the user."""


# --- Preferences -------------------------------------------------------------------------------------


def preference_for(user) -> ReminderPreference:
    """The user's preferences; the defaults (not saved) when they never chose."""
    preference = db.session.get(ReminderPreference, user.id)
    if preference is None:
        preference = ReminderPreference(
            user_id=user.id,
            reminders_enabled=True,
            digest_enabled=True,
            weekly_report_enabled=True,
            digest_hour=DEFAULT_DIGEST_HOUR,
        )
    return preference


def _stored_preference(user) -> ReminderPreference:
    preference = preference_for(user)
    if preference not in db.session:
        db.session.add(preference)
    return preference


def timezone_names() -> list[str]:
    """Region/City names and UTC; not the system's aliases such as "localtime" or "Factory"."""
    return sorted(
        name
        for name in zoneinfo.available_timezones()
        if name == "UTC" or ("/" in name and not name.startswith(("Etc/", "posix/", "right/")))
    )


def save_preferences(
    user,
    *,
    actor,
    reminders_enabled: bool,
    digest_enabled: bool,
    digest_hour: int,
    timezone: str,
    language: str,
    weekly_report_enabled: bool | None = None,
) -> None:
    if not isinstance(digest_hour, int) or not 0 <= digest_hour <= 23:
        raise ReminderError(gettext("Choose an hour between 0 and 23."))
    if timezone not in zoneinfo.available_timezones():
        raise ReminderError(gettext("Choose a time zone from the list."))
    if language not in LANGUAGES:
        raise ReminderError(gettext("Choose a language from the list."))
    preference = _stored_preference(user)
    fields = ("reminders_enabled", "digest_enabled", "weekly_report_enabled", "digest_hour")
    before = {**audit.snapshot(preference, fields), **audit.snapshot(user, ("timezone", "language"))}
    preference.reminders_enabled = bool(reminders_enabled)
    preference.digest_enabled = bool(digest_enabled)
    if weekly_report_enabled is not None:
        preference.weekly_report_enabled = bool(weekly_report_enabled)
    preference.digest_hour = digest_hour
    user.timezone = timezone
    user.language = language
    db.session.flush()
    after = {**audit.snapshot(preference, fields), **audit.snapshot(user, ("timezone", "language"))}
    if after != before:
        audit.record("reminders.preferences", actor=actor, entity=user, before=before, after=after)


# --- Calendar feed secret ------------------------------------------------------------------------------


def new_calendar_token(user, *, actor) -> str:
    """A new secret for the user's calendar feed. Any earlier feed URL stops working. The secret is
    returned once, to be shown once; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    preference = _stored_preference(user)
    replaced = preference.calendar_token_hash is not None
    preference.calendar_token_hash = token_hash(token)
    preference.calendar_token_created_at = utcnow()
    db.session.flush()
    audit.record(
        "reminders.calendar_token", actor=actor, entity=user, after={"action": "replaced" if replaced else "created"}
    )
    return token


def retry_message(message: OutboundMessage, *, actor) -> None:
    """An administrator puts a failed message back in the queue; the audit log says who."""
    mailer.retry_message(message)
    audit.record("reminders.retry", actor=actor, entity=message)


def revoke_calendar_token(user, *, actor) -> bool:
    preference = db.session.get(ReminderPreference, user.id)
    if preference is None or preference.calendar_token_hash is None:
        return False
    preference.calendar_token_hash = None
    preference.calendar_token_created_at = None
    db.session.flush()
    audit.record("reminders.calendar_token", actor=actor, entity=user, after={"action": "revoked"})
    return True


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    user = db.session.scalar(
        sa.select(User)
        .join(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(ReminderPreference.calendar_token_hash == token_hash(token))
    )
    if user is None or not user.active:
        return None
    return user


# --- Due reminders -------------------------------------------------------------------------------------


def _wants(column):
    """Users without a preference row get the default: on."""
    return sa.or_(column.is_(None), column.is_(True))


def due_follow_ups(now: dt.datetime) -> list[FollowUp]:
    """Open (or snoozed) follow-ups that have fallen due in their owner's time zone, for which no reminder
    to this owner about this due date exists yet. The delivery rows, not follow_up.reminder_sent_at, decide:
    a snooze moves the due date, so the day it ends gets its own reminder even if a page saved the
    follow-up while its earlier reminder was being marked. A follow-up on a record its owner may not open
    is not mailed to them (the note would show what the record's page hides)."""
    due = FollowUp.due
    queued = sa.exists().where(
        OutboundMessage.follow_up_id == FollowUp.id,
        OutboundMessage.kind == "due_reminder",
        OutboundMessage.recipient_id == FollowUp.owner_id,
        OutboundMessage.for_date == due,
    )
    # Nowhere is it later than UTC+14: one day past UTC today covers every time zone.
    horizon = now.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    statement = (
        sa.select(FollowUp)
        .join(User, User.id == FollowUp.owner_id)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(
            FollowUp.still_to_do,
            due <= horizon,
            User.active.is_(True),
            _wants(ReminderPreference.reminders_enabled),
            ~queued,
            FollowUp.outreach_id.in_(open_records()),
        )
        .order_by(due, FollowUp.id)
        .options(
            selectinload(FollowUp.owner),
            selectinload(FollowUp.outreach).selectinload(OutreachRecord.country),
            selectinload(FollowUp.outreach).selectinload(OutreachRecord.campaign),
        )
    )
    return [
        f
        for f in db.session.scalars(statement)
        if effective_due(f) <= clock.today(f.owner, now) and can_view_outreach(f.owner, f.outreach)
    ]


def _short(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def render_due_reminder(follow_up: FollowUp, now: dt.datetime) -> mailer.Rendered:
    owner = follow_up.owner
    due_on = effective_due(follow_up)
    language = mailer.user_language(owner)
    record = follow_up.outreach
    country = record.country.name(language)
    days_overdue = (clock.today(owner, now) - due_on).days
    return mailer.render_message(
        "due_reminder",
        owner,
        lambda: gettext(
            "Follow-up due: %(country)s, %(next_step)s", country=country, next_step=_short(follow_up.note, 60)
        ),
        follow_up=follow_up,
        record=record,
        country=country,
        due_on=due_on,
        days_overdue=days_overdue,
    )


def queue_due_reminders(now: dt.datetime | None = None) -> int:
    """Queue one reminder per follow-up that has fallen due. Safe to run in several processes at once."""
    now = now or utcnow()
    queued = 0
    for follow_up in due_follow_ups(now):
        due_on = effective_due(follow_up)
        key = f"due_reminder:{follow_up.id}:{due_on.isoformat()}:{follow_up.owner_id}"
        if mailer.queue(
            "due_reminder",
            key,
            follow_up.owner,
            render_due_reminder(follow_up, now),
            now=now,
            follow_up_id=follow_up.id,
            for_date=due_on,
        ):
            queued += 1
            # Once per follow-up and due day, as its reminder (the same unique key decides).
            webhooks.follow_up_overdue(follow_up, due_on, now)
    db.session.flush()
    return queued


# --- Daily digest --------------------------------------------------------------------------------------


@dataclass
class Digest:
    user: User
    day: dt.date
    overdue: list = field(default_factory=list)
    due_today: list = field(default_factory=list)
    upcoming: list = field(default_factory=list)
    meetings: list = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.overdue or self.due_today or self.upcoming or self.meetings)


def digest_for(user, day: dt.date) -> Digest:
    """The user's follow-ups (overdue, due on `day`, due in the week after) and their meetings from the
    day before to a week after, `day` being a date in the user's time zone. Only what the user may open:
    the same visibility as the pages, the follow-ups list and the calendar feed."""
    digest = Digest(user=user, day=day)
    due = FollowUp.due
    follow_ups = db.session.scalars(
        follow_up_visibility(
            user,
            sa.select(FollowUp).where(
                FollowUp.owner_id == user.id,
                FollowUp.still_to_do,
                due <= day + dt.timedelta(days=UPCOMING_DAYS),
                FollowUp.outreach_id.in_(open_records()),
            ),
        )
        .order_by(due, FollowUp.id)
        .options(
            selectinload(FollowUp.outreach).selectinload(OutreachRecord.country),
            selectinload(FollowUp.outreach).selectinload(OutreachRecord.campaign),
        )
    )
    for follow_up in follow_ups:
        when = effective_due(follow_up)
        (digest.overdue if when < day else digest.due_today if when == day else digest.upcoming).append(follow_up)
    zone = clock.user_zone(user)
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=UPCOMING_DAYS + 1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    staffed = sa.select(meeting_staff.c.meeting_id).where(meeting_staff.c.user_id == user.id)
    digest.meetings = db.session.scalars(
        meeting_visibility(
            user,
            sa.select(Meeting).where(
                Meeting.held_at >= start,
                Meeting.held_at < end,
                sa.or_(Meeting.id.in_(staffed), Meeting.created_by_id == user.id),
            ),
        )
        .order_by(Meeting.held_at)
        .options(
            selectinload(Meeting.office), selectinload(Meeting.outreach_records).selectinload(OutreachRecord.country)
        )
    ).all()
    return digest


def render_digest(digest: Digest) -> mailer.Rendered:
    language = mailer.user_language(digest.user)
    return mailer.render_message(
        "digest",
        digest.user,
        lambda: gettext("Your follow-ups for %(date)s", date=show_date(digest.day, language)),
        digest=digest,
        effective_due=effective_due,
    )


def _digest_hour_reached(preference: ReminderPreference | None, user, now: dt.datetime) -> bool:
    hour = preference.digest_hour if preference is not None else DEFAULT_DIGEST_HOUR
    return now.astimezone(clock.user_zone(user)).hour >= hour


def _users_with_preferences(enabled_column, *roles):
    statement = (
        sa.select(User, ReminderPreference)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.active.is_(True), _wants(enabled_column))
        .order_by(User.id)
    )
    if roles:
        statement = statement.where(User.role.in_(roles))
    return db.session.execute(statement).all()


def queue_digests(now: dt.datetime | None = None) -> int:
    """Queue today's digest for every user whose digest hour has come in their own time zone (later in
    the same day if the scheduler was down at that hour). A day with nothing to tell is recorded as
    skipped, so the user is not considered again that day."""
    now = now or utcnow()
    queued = 0
    for user, preference in _users_with_preferences(ReminderPreference.digest_enabled):
        if not _digest_hour_reached(preference, user, now):
            continue
        day = clock.today(user, now)
        key = f"digest:{user.id}:{day.isoformat()}"
        if db.session.scalar(sa.select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)):
            continue
        digest = digest_for(user, day)
        if digest.is_empty:
            mailer.queue("digest", key, user, render_digest(digest), now=now, for_date=day, skip="nothing to report")
        elif mailer.queue("digest", key, user, render_digest(digest), now=now, for_date=day):
            queued += 1
    db.session.flush()
    return queued


# --- Weekly report to managers -------------------------------------------------------------------------


@dataclass
class PositionChange:
    position: Position
    previous: str | None


@dataclass
class WeeklyReport:
    start: dt.datetime
    end: dt.datetime
    replies: list = field(default_factory=list)
    position_changes: list = field(default_factory=list)
    signatures: list = field(default_factory=list)  # (campaign, new signatures): named in the reader's language

    @property
    def new_signatures(self) -> int:
        return sum(count for _, count in self.signatures)


def weekly_report(start: dt.datetime, end: dt.datetime) -> WeeklyReport:
    """What changed between `start` and `end`: governments that replied (an incoming letter), positions that
    changed (with the stance they replaced) and new signatures per campaign."""
    report = WeeklyReport(start=start, end=end)
    report.replies = db.session.scalars(
        sa.select(Letter)
        .where(Letter.direction == "incoming", Letter.received_on >= start.date(), Letter.received_on <= end.date())
        .order_by(Letter.received_on, Letter.id)
        .options(
            selectinload(Letter.outreach).selectinload(OutreachRecord.country),
            selectinload(Letter.outreach).selectinload(OutreachRecord.campaign),
        )
    ).all()
    changed = db.session.scalars(
        sa.select(Position)
        .where(Position.recorded_at >= start, Position.recorded_at < end)
        .order_by(Position.recorded_at, Position.id)
        .options(selectinload(Position.demand), selectinload(Position.outreach).selectinload(OutreachRecord.country))
    ).all()
    history: dict[tuple[int, int], list[Position]] = {}
    if changed:
        for position in db.session.scalars(
            sa.select(Position)
            .where(Position.outreach_id.in_({p.outreach_id for p in changed}))
            .order_by(Position.stated_on, Position.id)
        ):
            history.setdefault((position.outreach_id, position.demand_id), []).append(position)
    for position in changed:
        earlier = [
            p
            for p in history.get((position.outreach_id, position.demand_id), [])
            if (p.stated_on, p.id) < (position.stated_on, position.id)
        ]
        previous = earlier[-1].stance if earlier else None
        # Restating the same stance is evidence, not a change.
        if previous != position.stance:
            report.position_changes.append(PositionChange(position, previous))
    counts = db.session.execute(
        sa.select(Signature.campaign_id, sa.func.count(Signature.id))
        .where(Signature.created_at >= start, Signature.created_at < end)
        .group_by(Signature.campaign_id)
    ).all()
    campaigns = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Campaign).where(Campaign.id.in_([campaign_id for campaign_id, _ in counts]))
        )
    }
    report.signatures = sorted(
        ((campaigns[campaign_id], count) for campaign_id, count in counts), key=lambda item: (item[0].name, item[0].id)
    )
    return report


def render_weekly_report(user, report: WeeklyReport) -> mailer.Rendered:
    language, zone = mailer.user_language(user), clock.user_zone(user)
    return mailer.render_message(
        "weekly_report",
        user,
        lambda: gettext(
            "Weekly report: %(start)s to %(end)s",
            start=show_date(report.start, language, zone),
            end=show_date(report.end, language, zone),
        ),
        report=report,
    )


def queue_weekly_reports(now: dt.datetime | None = None) -> int:
    """Each manager's report on the past seven days, once per ISO week: on Monday at their digest hour,
    or later that week if the scheduler was down then."""
    now = now or utcnow()
    queued = 0
    report = None
    for user, preference in _users_with_preferences(
        ReminderPreference.weekly_report_enabled, *roles_that_can("receive_weekly_report")
    ):
        local = now.astimezone(clock.user_zone(user))
        if local.weekday() == 0 and not _digest_hour_reached(preference, user, now):
            continue
        year, week, _ = local.isocalendar()
        key = f"weekly_report:{user.id}:{year}-W{week:02d}"
        if db.session.scalar(sa.select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)):
            continue
        report = report or weekly_report(now - dt.timedelta(days=7), now)
        monday = local.date() - dt.timedelta(days=local.weekday())
        if mailer.queue("weekly_report", key, user, render_weekly_report(user, report), now=now, for_date=monday):
            queued += 1
    db.session.flush()
    return queued


# --- Reply clock ---------------------------------------------------------------------------------------


@dataclass
class ReplyClockReport:
    follow_ups_created: int = 0
    escalations_queued: int = 0


@dataclass
class _Event:
    record: OutreachRecord
    started_on: dt.date
    letter: Letter | None = None
    meeting: Meeting | None = None


def _clock_events(today: dt.date, now: dt.datetime) -> list[_Event]:
    """Delivered letters and held meetings, within the look-back, on records that are not closed."""
    since = today - dt.timedelta(days=REPLY_CLOCK_LOOKBACK_DAYS)
    events = [
        _Event(record, letter.delivered_on, letter=letter)
        for letter, record in db.session.execute(
            sa.select(Letter, OutreachRecord)
            .join(OutreachRecord, OutreachRecord.id == Letter.outreach_id)
            .where(
                Letter.direction == "outgoing",
                Letter.delivered_on.is_not(None),
                Letter.delivered_on >= since,
                OutreachRecord.stage != "closed",
                OutreachRecord.id.in_(open_records()),
            )
            .options(selectinload(OutreachRecord.campaign))
        )
    ]
    since_moment = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    events += [
        _Event(record, meeting.held_at.date(), meeting=meeting)
        for meeting, record in db.session.execute(
            sa.select(Meeting, OutreachRecord)
            .join(meeting_outreach, meeting_outreach.c.meeting_id == Meeting.id)
            .join(OutreachRecord, OutreachRecord.id == meeting_outreach.c.outreach_id)
            .where(
                Meeting.held_at >= since_moment,
                Meeting.held_at <= now,
                OutreachRecord.stage != "closed",
                OutreachRecord.id.in_(open_records()),
            )
            .options(selectinload(OutreachRecord.campaign))
        )
    ]
    return events


def _last_replies(record_ids) -> dict[int, dt.date]:
    """The latest day each record received a reply (an incoming letter)."""
    if not record_ids:
        return {}
    latest: dict[int, dt.date] = {}
    for outreach_id, received_on, created_at in db.session.execute(
        sa.select(Letter.outreach_id, Letter.received_on, Letter.created_at).where(
            Letter.direction == "incoming", Letter.outreach_id.in_(record_ids)
        )
    ):
        day = received_on or created_at.date()
        if outreach_id not in latest or day > latest[outreach_id]:
            latest[outreach_id] = day
    return latest


def _active(user) -> User | None:
    return user if user is not None and user.active else None


def _clock_for(event: _Event) -> tuple[ReplyClock, bool]:
    """This event's clock, and whether this call started it (so only one process acts on a new clock)."""
    table = ReplyClock.__table__
    values = dict(
        outreach_id=event.record.id,
        letter_id=getattr(event.letter, "id", None),
        meeting_id=getattr(event.meeting, "id", None),
        started_on=event.started_on,
        created_at=utcnow(),
    )
    started = (
        db.session.execute(
            upsert_insert(db.session, table).values(**values).on_conflict_do_nothing().returning(table.c.id)
        ).first()
        is not None
    )
    column = ReplyClock.letter_id if event.letter is not None else ReplyClock.meeting_id
    clock = db.session.scalar(
        sa.select(ReplyClock).where(
            ReplyClock.outreach_id == event.record.id, column == (event.letter or event.meeting).id
        )
    )
    return clock, started


def _chase_note(event: _Event, owner) -> str:
    language = mailer.user_language(owner)
    day = show_date(event.started_on, language)
    with force_locale(language):
        if event.letter is not None:
            return gettext(
                "No reply yet to the letter “%(subject)s”, delivered on %(date)s. Chase it.",
                subject=event.letter.subject,
                date=day,
            )
        return gettext("No reply yet after the meeting of %(date)s. Chase it.", date=day)


def _start_follow_up(event: _Event, clock: ReplyClock, today: dt.date) -> bool:
    record = event.record
    link = (
        FollowUp.letter_id == event.letter.id if event.letter is not None else FollowUp.meeting_id == event.meeting.id
    )
    existing = db.session.scalar(
        sa.select(FollowUp).where(FollowUp.outreach_id == record.id, link, FollowUp.still_to_do).order_by(FollowUp.id)
    )
    if existing is not None:
        # A next step on this letter or meeting is already planned: the clock follows it.
        clock.follow_up_id = existing.id
        return False
    owner = _active(record.assignee) or _active(record.coordinator)
    if owner is None:
        return False
    follow_up = add_follow_up(
        record,
        owner=owner,
        due_on=today,
        note=_chase_note(event, owner),
        actor="reply clock",
        meeting=event.meeting,
        letter=event.letter,
    )
    clock.follow_up_id = follow_up.id
    return True


def render_escalation(
    recipient, event: _Event, clock: ReplyClock, days: int, *, uncoordinated: bool = False
) -> mailer.Rendered:
    language = mailer.user_language(recipient)
    country = event.record.country.name(language)
    return mailer.render_message(
        "escalation",
        recipient,
        lambda: gettext("No reply from %(country)s after %(days)s days", country=country, days=days),
        record=event.record,
        country=country,
        letter=event.letter,
        meeting=event.meeting,
        started_on=event.started_on,
        days=days,
        follow_up=clock.follow_up,
        uncoordinated=uncoordinated,
    )


def _active_managers() -> list[User]:
    return db.session.scalars(
        sa.select(User)
        .where(User.role.in_(roles_that_can("receive_escalations")), User.active.is_(True))
        .order_by(User.id)
    ).all()


def run_reply_clock(now: dt.datetime | None = None) -> ReplyClockReport:
    """When no reply is logged `reply_days` (per campaign) after a letter was delivered or a meeting held,
    create a follow-up for the assignee; after a second period with still no reply, tell the coordinator
    (or, when the record has no active coordinator, the managers).
    A reply is an incoming letter on the same outreach record, received on or after that day."""
    now = now or utcnow()
    today = now.astimezone(dt.UTC).date()
    report = ReplyClockReport()
    managers: list[User] | None = None  # read once, when a record without a coordinator needs them
    events = _clock_events(today, now)
    replies = _last_replies({event.record.id for event in events})
    for event in events:
        period = dt.timedelta(days=event.record.campaign.reply_days or 14)
        if today < event.started_on + period:
            continue
        replied = replies.get(event.record.id)
        if replied is not None and replied >= event.started_on:
            continue
        clock, started = _clock_for(event)
        if started and _start_follow_up(event, clock, today):
            report.follow_ups_created += 1
        if today < event.started_on + 2 * period or clock.escalated_at is not None:
            continue
        # Claim the escalation on the row itself: whichever process sets escalated_at sends it.
        table = ReplyClock.__table__
        claimed = (
            db.session.execute(
                sa.update(table).where(table.c.id == clock.id, table.c.escalated_at.is_(None)).values(escalated_at=now)
            ).rowcount
            == 1
        )
        db.session.expire(clock, ["escalated_at"])
        if not claimed:
            continue
        # The record's coordinator hears of it; a record nobody coordinates goes to the managers instead
        # of nowhere.
        coordinator = _active(event.record.coordinator)
        if coordinator is None and managers is None:
            managers = _active_managers()
        days = (today - event.started_on).days
        for recipient in [coordinator] if coordinator is not None else managers:
            if mailer.queue(
                "escalation",
                f"escalation:{clock.id}:{recipient.id}",
                recipient,
                render_escalation(recipient, event, clock, days, uncoordinated=coordinator is None),
                now=now,
            ):
                report.escalations_queued += 1
    db.session.flush()
    return report
