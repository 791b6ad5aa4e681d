"""iCalendar (RFC 5545) for a user's private feed of meetings and follow-ups, and for one meeting.
Confidential meeting notes never go into a calendar."""

from __future__ import annotations

import datetime as dt

import icalendar
import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from crm.database import utcnow
from crm.extensions import db
from crm.mail import services as mailer
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, meeting_outreach, meeting_staff
from crm.outreach.services import effective_due
from crm.permissions import follow_up_visibility, meeting_visibility
from crm.translation import gettext

# Meetings are logged with a start time only.
MEETING_LENGTH = dt.timedelta(hours=1)
FEED_PAST_DAYS = 180
PRODID = "-//Alcance//Reminders//EN"


def _calendar(name: str | None = None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    return calendar


def _countries(records, language: str) -> str:
    return ", ".join(sorted(record.country.name(language) for record in records))


def meeting_event(meeting: Meeting, language: str, stamp: dt.datetime) -> icalendar.Event:
    countries = _countries(meeting.outreach_records, language)
    event = icalendar.Event()
    event.add("uid", f"meeting-{meeting.id}@{mailer.mail_domain()}")
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.held_at)
    event.add("dtend", meeting.held_at + MEETING_LENGTH)
    event.add("sequence", max((meeting.version or 1) - 1, 0))
    office = meeting.office.name if meeting.office else countries
    event.add("summary", gettext("Meeting: %(office)s", office=office))
    location = meeting.location or (f"{meeting.office.name}, {meeting.office.city}" if meeting.office else None)
    if location:
        event.add("location", location)
    url = mailer.external_url("outreach.meeting", meeting_id=meeting.id)
    lines = [gettext("Governments: %(countries)s", countries=countries), "", meeting.summary]
    if meeting.outcome:
        lines += ["", meeting.outcome]
    lines += ["", url]
    event.add("description", "\n".join(lines))
    event.add("url", url)
    return event


def follow_up_event(follow_up: FollowUp, language: str, stamp: dt.datetime) -> icalendar.Event:
    due_on = effective_due(follow_up)
    record = follow_up.outreach
    event = icalendar.Event()
    event.add("uid", f"follow-up-{follow_up.id}@{mailer.mail_domain()}")
    event.add("dtstamp", stamp)
    # A follow-up is due on a day, not at a time: an all-day event.
    event.add("dtstart", due_on)
    event.add("dtend", due_on + dt.timedelta(days=1))
    event.add("sequence", max((follow_up.version or 1) - 1, 0))
    event.add("transp", "TRANSPARENT")
    note = " ".join(follow_up.note.split())
    event.add(
        "summary",
        gettext(
            "Follow-up: %(country)s, %(next_step)s",
            country=record.country.name(language),
            next_step=note if len(note) <= 80 else note[:79] + "…",
        ),
    )
    url = mailer.external_url("outreach.show", outreach_id=record.id)
    event.add("description", f"{follow_up.note}\n\n{record.campaign.display_name(language)}\n{url}")
    event.add("url", url)
    return event


def user_feed(user, *, now: dt.datetime | None = None) -> bytes:
    """The user's open follow-ups and their meetings (as staff, as the one who logged it, or on records
    assigned to them) from six months back on; only those whose pages the user may open."""
    now = now or utcnow()
    language = mailer.user_language(user)
    since = now - dt.timedelta(days=FEED_PAST_DAYS)
    staffed = sa.select(meeting_staff.c.meeting_id).where(meeting_staff.c.user_id == user.id)
    assigned = (
        sa.select(meeting_outreach.c.meeting_id)
        .join(OutreachRecord, OutreachRecord.id == meeting_outreach.c.outreach_id)
        .where(OutreachRecord.assignee_id == user.id)
    )
    meetings = db.session.scalars(
        meeting_visibility(
            user,
            sa.select(Meeting).where(
                Meeting.held_at >= since,
                sa.or_(Meeting.id.in_(staffed), Meeting.id.in_(assigned), Meeting.created_by_id == user.id),
            ),
        )
        .order_by(Meeting.held_at, Meeting.id)
        .options(
            selectinload(Meeting.office), selectinload(Meeting.outreach_records).selectinload(OutreachRecord.country)
        )
    ).all()
    follow_ups = db.session.scalars(
        follow_up_visibility(user, sa.select(FollowUp).where(FollowUp.owner_id == user.id, FollowUp.still_to_do))
        .order_by(FollowUp.due_on, FollowUp.id)
        .options(
            selectinload(FollowUp.outreach).selectinload(OutreachRecord.country),
            selectinload(FollowUp.outreach).selectinload(OutreachRecord.campaign),
        )
    ).all()
    with force_locale(language):
        calendar = _calendar(gettext("Alcance: %(name)s", name=user.name))
        for meeting in meetings:
            calendar.add_component(meeting_event(meeting, language, now))
        for follow_up in follow_ups:
            calendar.add_component(follow_up_event(follow_up, language, now))
    return calendar.to_ical()


def meeting_file(meeting: Meeting, language: str, *, now: dt.datetime | None = None) -> bytes:
    with force_locale(language):
        calendar = _calendar()
        calendar.add_component(meeting_event(meeting, language, now or utcnow()))
    return calendar.to_ical()
