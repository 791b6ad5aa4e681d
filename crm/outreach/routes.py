"""Outreach pages: campaign overview, the outreach record with its timeline, and the forms that log
positions, meetings and follow-ups. Views load, check, validate, call a service, redirect."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2.filters import do_truncate
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from crm import clock
from crm.accounts.models import User
from crm.campaigns.models import Campaign
from crm.campaigns.services import demand_headings, demands_of
from crm.contacts import services as contact_services
from crm.contacts.models import Contact, Office
from crm.core import submissions
from crm.core.forms import ConfirmForm
from crm.countries.models import Country
from crm.dashboard import services as dashboards
from crm.database import pageable, utcnow
from crm.errors import DomainError, StaleRecord
from crm.extensions import db
from crm.i18n import (
    current_language,
    demand_title,
    once_per_language,
    readers_date,
    readers_datetime,
    request_zone,
    show_date,
    show_datetime,
    stance_badge,
)
from crm.outreach import assignments
from crm.outreach import services as outreach
from crm.outreach.campaign_table import campaign_table_rows
from crm.outreach.forms import (
    FollowUpFilterForm,
    FollowUpForm,
    MeetingDeleteForm,
    MeetingEditForm,
    PositionForm,
    RecordForm,
    SnoozeForm,
    StageForm,
    follow_up_actions,
    meeting_form,
)
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, Position
from crm.permissions import (
    can,
    can_edit_outreach,
    get_campaign_or_404,
    get_follow_up_or_404,
    get_meeting_for_change_or_404,
    get_meeting_or_404,
    get_outreach_or_404,
    is_read_only,
    may_change_meeting,
    outreach_visibility,
    role_can,
)
from crm.translation import gettext
from crm.web import flash_message, form_status, id_url, page_of, refusal, safe_next

bp = Blueprint("outreach", __name__)


class OutreachWords(NamedTuple):
    """The words the outreach macros (templates/_macros/outreach.html) repeat on every line of a timeline
    or a list of follow-ups, in the reader's language."""

    meeting: str
    letter: str
    reply: str
    follow_up: str
    position: str
    done: str
    overdue: str
    done_button: str
    snooze_button: str
    snooze_until: str
    demand: str
    current_position: str
    since: str
    evidence: str
    snoozed_until: str  # "snoozed until %(date)s", translated, its date to put in
    reminder_sent: str  # "Reminder sent %(when)s", translated, its moment to put in


@bp.app_template_global("outreach_words")
def outreach_words() -> OutreachWords:
    """The outreach macros' words, translated once per request and language: a country page's timelines
    and positions asked for each again on every line (forty lines, eight tables)."""
    return once_per_language("outreach_words", _outreach_words)


def _outreach_words() -> OutreachWords:
    return OutreachWords(
        meeting=gettext("Meeting"),
        letter=gettext("Letter"),
        reply=gettext("Reply"),
        follow_up=gettext("Follow-up"),
        position=gettext("Position"),
        done=gettext("done"),
        overdue=gettext("overdue"),
        done_button=gettext("Done"),
        snooze_button=gettext("Snooze"),
        snooze_until=gettext("Snooze until"),
        demand=gettext("Demand"),
        current_position=gettext("Current position"),
        since=gettext("Since"),
        evidence=gettext("Evidence"),
        snoozed_until=gettext("snoozed until %(date)s"),
        reminder_sent=gettext("Reminder sent %(when)s"),
    )


_BADGE = Markup('<span class="badge">%s</span>')
_OVERDUE_BADGE = Markup('<span class="badge overdue">%s</span>')
_REMINDER_SENT = Markup('<small class="hint">%s</small>')


# The follow-ups list and the timelines show these on every row: functions, not macros (a macro's call
# cost more than what it writes).
@bp.app_template_global("follow_up_status")
def follow_up_status(follow_up, today: dt.date, words: OutreachWords | None = None) -> Markup:
    """A follow-up's badge: done, snoozed until when, or overdue (nothing while it is open and not due).
    `words`: outreach_words(), when a list has found them once."""
    if follow_up.status == "done":
        return _BADGE % (words or outreach_words()).done
    if follow_up.status == "snoozed":
        # The day snoozed to is a date, shown as it is (readers_date).
        return _BADGE % ((words or outreach_words()).snoozed_until % {"date": readers_date(follow_up.snoozed_until)})
    if follow_up.due_on < today:
        return _OVERDUE_BADGE % (words or outreach_words()).overdue
    return Markup()


@bp.app_template_global("reminder_sent")
def reminder_sent(follow_up, reader: tuple | None = None) -> Markup:
    """When the follow-up's reminder was sent, if it was, in the reader's language and time zone.
    `reader`: (outreach_words(), the language, the time zone), when a list has found them once."""
    if not follow_up.reminder_sent_at:
        return Markup()
    if reader is None:
        return _REMINDER_SENT % (
            outreach_words().reminder_sent % {"when": readers_datetime(follow_up.reminder_sent_at)}
        )
    words, language, zone = reader
    return _REMINDER_SENT % (words.reminder_sent % {"when": show_datetime(follow_up.reminder_sent_at, language, zone)})


@bp.app_template_global("position_rows")
def position_rows(record_id: int, demands, positions: dict) -> Markup:
    """A positions table's rows (templates/_macros/outreach.html, positions_table): each demand with the
    record's current position on it, from `positions` by (record id, demand id), records or rows. A
    function for the reason timeline_entries is: a country page shows eight tables."""
    words, language = outreach_words(), current_language()
    current, since, evidence = map(escape, (words.current_position, words.since, words.evidence))
    meeting_url = id_url("outreach.meeting", "meeting_id")
    badges: dict[str, Markup] = {}  # each stance's badge, found once for the table
    days: dict[dt.date, str] = {}  # each day stated, written once for the table
    rows = []
    for demand in demands:
        p = positions.get((record_id, demand.id))
        stance = "unknown" if p is None else p.stance
        badge = badges.get(stance)
        if badge is None:
            badge = badges[stance] = stance_badge(stance)
        if p is None:
            day, source = "—", ""
        else:
            day = days.get(p.stated_on)
            if day is None:
                day = days[p.stated_on] = escape(show_date(p.stated_on, language))
            # A position stated at a meeting has the meeting's summary as its evidence: link to the meeting,
            # where the summary is written once, instead of repeating it for each demand.
            if p.meeting_id:
                stated = escape(gettext("Stated at the meeting of %(date)s", date=day))
                source = f'<a href="{meeting_url(p.meeting_id)}">{stated}</a>'
            else:
                source = escape(p.evidence or "")
            if p.evidence_url:
                source = (
                    f'{source} <a href="{escape(p.evidence_url)}" rel="noopener noreferrer nofollow">'
                    f"{escape(gettext('source'))}</a>"
                )
        rows.append(
            f'\n    <tr>\n      <th scope="row">{demand.ordinal}. {escape(demand_title(demand, language))}</th>'
            f'\n      <td data-label="{current}">{badge}</td>\n      <td data-label="{since}">{day}</td>'
            f'\n      <td class="source" data-label="{evidence}">{source}</td>\n    </tr>\n'
        )
    return Markup("".join(rows))


@bp.app_template_global("positions_table")
def positions_table(record, demands, positions: dict) -> Markup:
    """A record's positions table (templates/_macros/outreach.html, positions_table): its headings, then
    position_rows. A function, so that a country page's cards write theirs without a macro's call each."""
    words = outreach_words()
    headings = "".join(
        f"<th>{escape(word)}</th>" for word in (words.demand, words.current_position, words.since, words.evidence)
    )
    return Markup(
        f'\n<table class="positions">\n  <thead><tr>{headings}</tr></thead>\n'
        f"  <tbody>{position_rows(record.id, demands, positions)}</tbody>\n</table>\n"
    )


@bp.app_template_global("timeline_list")
def timeline_list(entries, today: dt.date, action_forms=None) -> Markup:
    """A timeline as its ordered list (templates/_macros/outreach.html, timeline_list): its entries
    (timeline_entries), or a line saying nothing was logged."""
    if entries:
        items = timeline_entries(entries, today, action_forms)
    else:
        items = f"\n  <li>{escape(gettext('Nothing logged yet.'))}</li>\n"
    return Markup(f'\n<ol class="timeline">\n{items}\n</ol>\n')


@bp.app_template_global("follow_up_rows")
def follow_up_rows(follow_ups, today: dt.date, action_forms) -> Markup:
    """The follow-ups list's rows (templates/outreach/follow_ups.html), from its rows of columns: the day it
    is due (or snoozed to) with its badge and when its reminder went, its government linking to the record
    and its campaign, its note, its owner, and for one not done its Done and Snooze forms (`action_forms`,
    a function of its id). Joined here, each value escaped: a template pays for every value it writes."""
    language = current_language()
    record_url = id_url("outreach.show", "outreach_id")
    rows = []
    for f in follow_ups:
        overdue = "overdue" if f.status == "open" and f.due_on < today else ""
        due = escape(show_date(outreach.effective_due(f), language))
        forms = action_forms(f.id) if f.status != "done" else ""
        rows.append(
            f'\n    <tr class="{overdue}">'
            f"\n      <td>{due} {follow_up_status(f, today)} {reminder_sent(f)}</td>"
            f'\n      <td><a href="{record_url(f.outreach_id)}">{escape(f.country_name)}</a><br>'
            f"<small>{escape(f.campaign_name)}</small></td>"
            f"\n      <td>{escape(f.note)}</td>\n      <td>{escape(f.owner_name)}</td>\n      <td>{forms}</td>\n    </tr>"
        )
    return Markup("".join(rows))


@bp.app_template_global("timeline_entries")
def timeline_entries(entries, today: dt.date, action_forms=None) -> Markup:
    """A timeline's entries as the items of its list (templates/_macros/outreach.html, timeline_list):
    records (a record's page) or lines (a country page's cards, crm.outreach.services.recent_timelines).
    `action_forms`: a function of a follow-up's id giving its Done and Snooze forms, or none. A function,
    not a loop in the macro, and joined as text with each value escaped: a country page shows forty
    entries, and the template's calls and lookups for each cost more than what it writes."""
    words, language, environment = outreach_words(), current_language(), current_app.jinja_env
    meeting, letter, reply, follow_up, position = map(
        escape, (words.meeting, words.letter, words.reply, words.follow_up, words.position)
    )
    meeting_url, letter_url = id_url("outreach.meeting", "meeting_id"), id_url("letters.show", "letter_id")
    reader = (words, language, request_zone())  # for the reminders' moments: found once for the list
    # A timeline repeats its days, owners, badges and reminders' moments (a follow-up's reminders go out
    # together): each is written once for the list.
    days: dict[dt.date, str] = {}
    owners: dict[str, str] = {}
    badges: dict[tuple, Markup] = {}
    reminders: dict[dt.datetime, Markup] = {}
    items = []
    for entry in entries:
        kind, item = entry.kind, entry.item
        if kind == "meeting":
            office = f" · {escape(item.office.name)}" if item.office else ""
            # A short timeline's line counts the meeting's governments; a meeting itself lists them.
            governments = getattr(item, "governments", None)
            if governments is None:
                governments = len(item.outreach_records)
            joint = ""
            if governments > 1:
                joint = (
                    f'\n      <span class="badge">{escape(gettext("joint, %(n)s governments", n=governments))}</span>'
                )
            summary = escape(do_truncate(environment, item.summary, 140))
            line = f'<strong>{meeting}</strong>{office}{joint}\n      — <a href="{meeting_url(item.id)}">{summary}</a>'
        elif kind == "letter":
            word = reply if item.direction == "incoming" else letter
            line = f'<strong>{word}</strong> —\n      <a href="{letter_url(item.id)}">{escape(item.subject)}</a>'
        elif kind == "follow_up":
            sent = item.reminder_sent_at
            reminder = ""
            if sent:
                reminder = reminders.get(sent)
                if reminder is None:
                    reminder = reminders[sent] = reminder_sent(item, reader)
            # A badge says the status, the day snoozed to, or whether the day due is past.
            key = (item.status, item.snoozed_until, item.due_on < today)
            badge = badges.get(key)
            if badge is None:
                badge = badges[key] = follow_up_status(item, today, words)
            owner = owners.get(item.owner.name)
            if owner is None:
                owner = owners[item.owner.name] = escape(item.owner.name)
            forms = action_forms(item.id) if action_forms and item.status != "done" else ""
            line = f"<strong>{follow_up}</strong> {badge} — {escape(item.note)} ({owner}) {reminder}\n      {forms}"
        else:
            title = escape(do_truncate(environment, demand_title(item.demand, language), 60))
            line = f"<strong>{position}</strong> — {item.demand.ordinal}. {title}: {stance_badge(item.stance)}"
        # A timeline's days are dates, shown as they are (no time zone to apply).
        day = days.get(entry.when)
        if day is None:
            day = days[entry.when] = escape(show_date(entry.when, language))
        items.append(
            f'\n  <li class="entry entry-{kind}">\n    <span class="when">{day}</span>\n      {line}\n  </li>\n'
        )
    return Markup("".join(items))


def _active_users():
    return db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name)).all()


@bp.route("/campaigns/<slug>")
@login_required
def campaign(slug):
    campaign = get_campaign_or_404(slug)
    language = current_language()
    # A wide list: plain rows and stances, not records, countries, users and demands built as objects.
    demands = demand_headings(campaign.id, language)
    records = outreach.campaign_rows(
        campaign,
        current_user,
        language,
        [demand.id for demand in demands],
        current=dashboards.kept_stances(campaign, current_user, language),
    )
    return render_template(
        "outreach/campaign.html",
        campaign=campaign,
        demands=demands,
        records=campaign_table_rows(records, language, id_url("outreach.show", "outreach_id")) if records else None,
    )


@bp.route("/outreach/<int:outreach_id>")
@login_required
def show(outreach_id):
    record = get_outreach_or_404(outreach_id)
    demands = demands_of(record.campaign_id)
    history = outreach.positions_of(record)
    stage_form = StageForm(stage=record.stage, version=record.version)
    return render_template(
        "outreach/show.html",
        record=record,
        demands=demands,
        positions=outreach.latest_positions(history),
        history=history,
        timeline=outreach.timeline_page(record, request.args.get("page", type=int), history),
        stage_form=stage_form,
        may_edit=can_edit_outreach(current_user, record),
        actions=follow_up_actions(current_user),
        today=clock.today(current_user),
        may_assign=can(current_user, "edit_all"),
        assignment_history=assignments.history(record),
    )


@bp.route("/outreach/<int:outreach_id>/stage", methods=["POST"])
@login_required
def set_stage(outreach_id):
    record = get_outreach_or_404(outreach_id, need="edit")
    form = StageForm()
    if form.validate_on_submit():
        try:
            outreach.set_stage(record, form.stage.data, actor=current_user, expected_version=form.version.data)
        except DomainError as error:
            refusal(error, prefix=gettext("Stage not changed: %(reason)s"))
        else:
            flash_message(gettext("Stage saved."), "success")
    else:
        flash_message(gettext("Stage not changed: choose a stage from the list."), "error")
    return redirect(url_for("outreach.show", outreach_id=record.id))


@bp.route("/outreach/<int:outreach_id>/edit", methods=["GET", "POST"])
@login_required
def edit(outreach_id):
    record = get_outreach_or_404(outreach_id, need="manage")
    form = RecordForm(
        obj=None if request.method == "POST" else record,
        assignee=record.assignee_id or 0,
        coordinator=record.coordinator_id or 0,
        version=record.version,
    )
    people = [(0, gettext("— nobody —"))] + [(u.id, u.name) for u in _active_users()]
    form.assignee.choices = form.coordinator.choices = people
    if form.validate_on_submit():
        try:
            outreach.update_record(
                record,
                actor=current_user,
                expected_version=form.version.data,
                coordinator_id=form.coordinator.data or None,
                priority=form.priority.data,
            )
            assignments.set_assignee(
                [record], db.session.get(User, form.assignee.data) if form.assignee.data else None, actor=current_user
            )
        except DomainError as error:
            refusal(error, form, record=record, beside="version" if isinstance(error, StaleRecord) else "assignee")
        else:
            flash_message(gettext("Saved."), "success")
            return redirect(url_for("outreach.show", outreach_id=record.id))
    return render_template("outreach/edit.html", record=record, form=form), form_status(form)


def _demands(record):
    """The demands a new position or meeting can be about: a retired demand keeps its history only."""
    return demands_of(record.campaign_id, active_only=True)


@bp.route("/outreach/<int:outreach_id>/positions/new", methods=["GET", "POST"])
@login_required
def new_position(outreach_id):
    record = get_outreach_or_404(outreach_id, need="edit")
    demands = {demand.id: demand for demand in _demands(record)}
    form = PositionForm(demand=request.args.get("demand", type=int))
    language = current_language()
    form.demand.choices = [(d.id, f"{d.ordinal}. {d.text(language)[0]}") for d in demands.values()]
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            outreach.record_position(
                record,
                demands[form.demand.data],
                form.stance.data,
                form.stated_on.data,
                actor=current_user,
                evidence=form.evidence.data,
                evidence_url=form.evidence_url.data,
            )
        except DomainError as error:
            refusal(error, form, beside="stance")
        else:
            done = submissions.led_to(form, url_for("outreach.show", outreach_id=record.id))
            flash_message(gettext("Position recorded."), "success")
            return redirect(done)
    return render_template("outreach/position_form.html", record=record, form=form), form_status(form)


def _attendee_choices(form, country_ids, meeting: Meeting | None = None):
    """The offices and people of these governments, and the staff, as the form's choices. A meeting
    being corrected keeps its own office and attendees among them even if they have left since."""
    offices = db.session.scalars(
        sa.select(Office)
        .where(
            Office.country_id.in_(country_ids),
            sa.or_(Office.active.is_(True), Office.id == getattr(meeting, "office_id", None)),
        )
        .order_by(Office.name)
    ).all()
    form.office.choices = [(0, gettext("— none —"))] + [(o.id, f"{o.name} ({o.city})") for o in offices]
    kept_contacts = [c.id for c in meeting.contacts] if meeting else []
    contacts = db.session.scalars(
        sa.select(Contact)
        .join(Contact.office)
        .where(Office.country_id.in_(country_ids), sa.or_(Contact.active.is_(True), Contact.id.in_(kept_contacts)))
        .order_by(Contact.name)
    ).all()
    form.contacts.choices = [(c.id, f"{c.name}{' — ' + c.title if c.title else ''}") for c in contacts]
    users = _our_side(meeting)
    form.staff.choices = [(u.id, u.name) for u in users]
    return {o.id: o for o in offices}, {c.id: c for c in contacts}, {u.id: u for u in users}


def _our_side(meeting: Meeting | None = None) -> list[User]:
    """Who may have been at a meeting for the campaign: the person logging it first, then the staff who
    do outreach. Admins run the system and are not listed, unless they are the one logging or are
    already on the meeting being corrected."""
    me = current_user._get_current_object()
    people = [me] + [u for u in _active_users() if u.id != me.id and role_can(u.role, "attend_meetings")]
    return people + [u for u in (meeting.staff if meeting else []) if u not in people]


def _meeting_choices(form, record):
    offices, contacts, users = _attendee_choices(form, [record.country_id])
    form.next_owner.choices = [(0, "—")] + [(u.id, u.name) for u in users.values()]
    others = db.session.scalars(
        outreach_visibility(current_user, sa.select(OutreachRecord))
        .where(OutreachRecord.campaign_id == record.campaign_id, OutreachRecord.id != record.id)
        .options(selectinload(OutreachRecord.country))
    ).all()
    language = str(current_user.language)
    form.joint_with.choices = sorted(((r.id, r.country.name(language)) for r in others), key=lambda c: c[1])
    return offices, contacts, users, {r.id: r for r in others}


@bp.route("/outreach/<int:outreach_id>/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting(outreach_id):
    record = get_outreach_or_404(outreach_id, need="edit")
    demands = _demands(record)
    now_local = utcnow().astimezone(clock.user_zone(current_user)).replace(second=0, microsecond=0, tzinfo=None)
    form = meeting_form(
        demands, current_language(), held_at=now_local, staff=[current_user.id], next_owner=current_user.id
    )
    offices, contacts, users, others = _meeting_choices(form, record)
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        stated = [
            outreach.StatedPosition(demand=d, stance=form[f"stance_{d.id}"].data)
            for d in demands
            if form[f"stance_{d.id}"].data
        ]
        next_step = None
        if form.next_note.data and form.next_note.data.strip():
            next_step = outreach.NextStep(
                owner=users.get(form.next_owner.data), due_on=form.next_due.data, note=form.next_note.data
            )
        joint = [others[i] for i in form.joint_with.data if i in others]
        attendees = [contacts[i] for i in form.contacts.data]
        held_at = form.held_at.data.replace(tzinfo=clock.user_zone(current_user)).astimezone(dt.UTC)
        try:
            if form.new_contact_name.data and form.new_contact_name.data.strip():
                attendees.append(
                    contact_services.add_contact_met(
                        actor=current_user,
                        office=offices.get(form.office.data),
                        name=form.new_contact_name.data,
                        title=form.new_contact_title.data,
                        met_on=form.held_at.data.date(),
                    )
                )
            meeting = outreach.log_meeting(
                [record, *[r for r in joint if can_edit_outreach(current_user, r)]],
                actor=current_user,
                held_at=held_at,
                summary=form.summary.data,
                outcome=form.outcome.data,
                location=form.location.data,
                office=offices.get(form.office.data),
                contacts=attendees,
                staff=[users[i] for i in form.staff.data],
                positions=stated,
                next_step=next_step,
                confidential_notes=form.confidential_notes.data,
            )
            submissions.led_to(form, url_for("outreach.meeting", meeting_id=meeting.id))
        except contact_services.ContactError as error:
            refusal(error, form, beside="new_contact_name")
        except DomainError as error:
            refusal(error, form, beside="summary")
        else:
            flash_message(gettext("Meeting logged."), "success")
            return redirect(url_for("outreach.meeting", meeting_id=meeting.id))
    return render_template("outreach/meeting_form.html", record=record, form=form), form_status(form)


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id):
    meeting = get_meeting_or_404(meeting_id)
    positions = db.session.scalars(
        sa.select(Position).where(Position.meeting_id == meeting.id).options(selectinload(Position.demand))
    ).all()
    return render_template(
        "outreach/meeting.html",
        meeting=meeting,
        positions=positions,
        may_change=may_change_meeting(current_user, meeting)
        and not any(is_read_only(r.campaign) for r in meeting.outreach_records),
    )


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit_meeting(meeting_id):
    meeting = get_meeting_for_change_or_404(meeting_id)
    zone = clock.user_zone(current_user)
    form = MeetingEditForm(
        version=meeting.version,
        held_at=meeting.held_at.astimezone(zone).replace(tzinfo=None),
        office=meeting.office_id or 0,
        location=meeting.location,
        summary=meeting.summary,
        outcome=meeting.outcome,
        confidential_notes=meeting.confidential_notes,
        contacts=[c.id for c in meeting.contacts],
        staff=[u.id for u in meeting.staff],
    )
    offices, contacts, users = _attendee_choices(form, [r.country_id for r in meeting.outreach_records], meeting)
    if form.validate_on_submit():
        try:
            changed = outreach.update_meeting(
                meeting,
                actor=current_user,
                expected_version=form.version.data,
                held_at=form.held_at.data.replace(tzinfo=zone).astimezone(dt.UTC),
                summary=form.summary.data,
                outcome=form.outcome.data,
                location=form.location.data,
                office=offices.get(form.office.data),
                contacts=[contacts[i] for i in form.contacts.data],
                staff=[users[i] for i in form.staff.data],
                confidential_notes=form.confidential_notes.data,
            )
        except DomainError as error:
            refusal(error, form, record=meeting, beside="version" if isinstance(error, StaleRecord) else "summary")
        else:
            flash_message(gettext("Meeting saved.") if changed else gettext("Nothing to change."), "success")
            return redirect(url_for("outreach.meeting", meeting_id=meeting.id))
    return render_template("outreach/meeting_edit.html", meeting=meeting, form=form), form_status(form)


@bp.route("/meetings/<int:meeting_id>/delete", methods=["GET", "POST"])
@login_required
def delete_meeting(meeting_id):
    meeting = get_meeting_for_change_or_404(meeting_id)
    form = MeetingDeleteForm(version=meeting.version)
    if form.validate_on_submit():
        record_id = meeting.outreach_records[0].id
        try:
            outreach.delete_meeting(meeting, actor=current_user, expected_version=form.version.data)
        except DomainError as error:
            refusal(error, form, record=meeting, beside="confirm")
        else:
            flash_message(gettext("Meeting deleted."), "success")
            return redirect(url_for("outreach.show", outreach_id=record_id))
    positions = db.session.scalar(sa.select(sa.func.count()).where(Position.meeting_id == meeting.id))
    governments = ", ".join(r.country.name(current_language()) for r in meeting.outreach_records)
    return render_template(
        "outreach/meeting_delete.html", meeting=meeting, form=form, positions=positions, governments=governments
    ), form_status(form)


@bp.route("/outreach/<int:outreach_id>/follow-ups/new", methods=["GET", "POST"])
@login_required
def new_follow_up(outreach_id):
    record = get_outreach_or_404(outreach_id, need="edit")
    users = {u.id: u for u in _active_users()}
    form = FollowUpForm(
        owner=record.assignee_id or current_user.id, due_on=clock.today(current_user) + dt.timedelta(days=7)
    )
    form.owner.choices = [(u.id, u.name) for u in users.values()]
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            outreach.add_follow_up(
                record,
                owner=users.get(form.owner.data),
                due_on=form.due_on.data,
                note=form.note.data,
                actor=current_user,
            )
        except DomainError as error:
            refusal(error, form, beside="note")
        else:
            done = submissions.led_to(form, url_for("outreach.show", outreach_id=record.id))
            flash_message(gettext("Follow-up added."), "success")
            return redirect(done)
    return render_template("outreach/follow_up_form.html", record=record, form=form), form_status(form)


def _back_to(follow_up):
    target = request.form.get("next")
    return redirect(safe_next(target) if target else url_for("outreach.show", outreach_id=follow_up.outreach_id))


@bp.route("/follow-ups/<int:follow_up_id>/complete", methods=["POST"])
@login_required
def complete_follow_up(follow_up_id):
    follow_up = get_follow_up_or_404(follow_up_id, need="change")
    if ConfirmForm().validate_on_submit():
        try:
            outreach.complete_follow_up(follow_up, actor=current_user)
        except DomainError as error:
            refusal(error)
        else:
            flash_message(gettext("Follow-up done."), "success")
    return _back_to(follow_up)


@bp.route("/follow-ups/<int:follow_up_id>/snooze", methods=["POST"])
@login_required
def snooze_follow_up(follow_up_id):
    follow_up = get_follow_up_or_404(follow_up_id, need="change")
    form = SnoozeForm()
    if form.validate_on_submit():
        try:
            outreach.snooze_follow_up(follow_up, form.until.data, actor=current_user)
        except DomainError as error:
            refusal(error, prefix=gettext("Not snoozed: %(reason)s"))
        else:
            flash_message(gettext("Follow-up snoozed."), "success")
    else:
        flash_message(gettext("Not snoozed: give a valid date."), "error")
    return _back_to(follow_up)


@lru_cache(maxsize=8)
def _follow_ups_statement(in_spanish: bool, mine: bool, done: bool) -> sa.Select:
    """The follow-ups list's statement, built once for each of its shapes (the language and the owner are
    parameters). The columns the list shows, as rows: a page of follow-ups with their records, countries,
    campaigns and owners as objects cost more to build than to read."""
    country_name = Country.name_es if in_spanish else Country.name_en
    translated = outreach.TRANSLATED_CAMPAIGN
    statement = (
        sa.select(
            FollowUp.id,
            FollowUp.outreach_id,
            FollowUp.status,
            FollowUp.due_on,
            FollowUp.snoozed_until,
            FollowUp.reminder_sent_at,
            FollowUp.note,
            country_name.label("country_name"),
            sa.func.coalesce(translated.name, Campaign.name).label("campaign_name"),
            User.name.label("owner_name"),
        )
        .join(FollowUp.outreach)
        .join(Country, Country.id == OutreachRecord.country_id)
        .join(Campaign, Campaign.id == OutreachRecord.campaign_id)
        .join(User, User.id == FollowUp.owner_id)
        .outerjoin(
            translated, sa.and_(translated.campaign_id == Campaign.id, translated.language == sa.bindparam("language"))
        )
    )
    if mine:
        statement = statement.where(FollowUp.owner_id == sa.bindparam("owner"))
    if done:
        statement = statement.where(FollowUp.status == "done").order_by(FollowUp.completed_at.desc())
    else:
        # What is still to do: an archived campaign's follow-ups leave the list (done ones stay as history),
        # on the campaign already joined (open_records()'s rule) rather than a subquery of every open record.
        statement = statement.where(FollowUp.still_to_do, Campaign.archived_at.is_(None)).order_by(
            FollowUp.due, FollowUp.id
        )
    return pageable(statement)


@bp.route("/follow-ups")
@login_required
def follow_ups():
    form = FollowUpFilterForm(request.args)
    if not form.validate():
        form = FollowUpFilterForm(formdata=None)
    language, mine = current_language(), form.scope.data == "mine"
    statement = _follow_ups_statement(language == "es", mine, form.status.data == "done")
    params = {"language": language, "owner": current_user.id} if mine else {"language": language}
    statement = outreach_visibility(current_user, statement)
    page = page_of(statement, rows=True, params=params)
    return render_template(
        "outreach/follow_ups.html",
        form=form,
        page=page,
        today=clock.today(current_user),
        actions=follow_up_actions(current_user),
        back=request.full_path,
        may_see_all=can(current_user, "view_all"),
    )
