"""Calendars: each user's private feed (secret URL, revocable) and one meeting as an .ics download; both
parsed back with the icalendar library."""

import datetime as dt
import re

import icalendar
import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.database import utcnow
from crm.extensions import db
from crm.reminders.models import ReminderPreference
from tests.conftest import utc_today

# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]

UTC = dt.UTC


def _new_link(client) -> str:
    response = client.post("/reminders/calendar")
    assert response.status_code == 200
    match = re.search(r'value="(http[^"]+/calendar/[^"]+\.ics)"', response.get_data(as_text=True))
    assert match, "the new link is shown once"
    return "/calendar/" + match.group(1).split("/calendar/", 1)[1]


def test_the_private_feed_has_my_meetings_and_follow_ups_and_validates(
    client, signed_in, make_user, make_record, make_follow_up, make_meeting, make_office
):
    me = signed_in("volunteer", language="en")
    other = make_user("volunteer")
    record = make_record("FRA", assignee=me)
    elsewhere = make_record("DEU", assignee=other)
    mine = make_follow_up(record, me, utc_today() + dt.timedelta(days=2), note="Send the totals")
    make_follow_up(record, me, utc_today(), note="Finished", status="done")
    make_follow_up(elsewhere, other, utc_today(), note="Not mine")
    office = make_office("FRA", host="ESP", city="Madrid", name="Ambassade de France en Espagne")
    held_at = utcnow().replace(microsecond=0) - dt.timedelta(days=1)
    meeting = make_meeting(
        [record],
        held_at,
        staff=[me],
        office=office,
        summary="Handed over the letter",
        confidential_notes="The counsellor's private remark",
    )
    make_meeting([elsewhere], held_at, staff=[other], summary="Someone else's meeting")
    db.session.commit()

    path = _new_link(client)
    stored = db.session.get(ReminderPreference, me.id)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert stored.calendar_token_hash and token not in stored.calendar_token_hash  # only the hash is kept

    client.post("/logout")
    response = client.get(path)  # a calendar application has no session: the secret is enough
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.get_data()
    assert b"private remark" not in body

    calendar = icalendar.Calendar.from_ical(body)
    calendar.validate()
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert {uid.split("@")[0] for uid in events} == {f"meeting-{meeting.id}", f"follow-up-{mine.id}"}
    for event in events.values():
        assert event.get("DTSTAMP") is not None and event.get("DTSTART") is not None
    meeting_event = next(e for uid, e in events.items() if uid.startswith("meeting-"))
    assert meeting_event.decoded("DTSTART") == held_at
    assert meeting_event.decoded("DTEND") - meeting_event.decoded("DTSTART") == dt.timedelta(hours=1)
    assert "Ambassade de France en Espagne" in str(meeting_event["SUMMARY"])
    assert "Handed over the letter" in str(meeting_event["DESCRIPTION"])
    follow_up_event = next(e for uid, e in events.items() if uid.startswith("follow-up-"))
    assert follow_up_event.decoded("DTSTART") == mine.due_on  # an all-day event
    assert "Send the totals" in str(follow_up_event["SUMMARY"]) and "France" in str(follow_up_event["SUMMARY"])


def test_a_revoked_or_replaced_link_is_a_404(client, signed_in):
    me = signed_in("coordinator")
    first = _new_link(client)
    assert client.get(first).status_code == 200
    second = _new_link(client)  # a new link replaces the old one
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    response = client.post("/reminders/calendar/revoke")
    assert response.status_code == 302
    assert client.get(second).status_code == 404
    assert db.session.get(ReminderPreference, me.id).calendar_token_hash is None
    actions = db.session.scalars(
        sa.select(AuditEvent.after).where(AuditEvent.action == "reminders.calendar_token").order_by(AuditEvent.id)
    ).all()
    assert [a["action"] for a in actions] == ["created", "replaced", "revoked"]


def test_unknown_links_and_inactive_users_get_404(client, signed_in):
    me = signed_in("volunteer")
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    path = _new_link(client)
    me.active = False
    db.session.commit()
    assert client.get(path).status_code == 404


def test_a_meeting_downloads_as_an_ics_file_for_those_who_may_see_it(
    client, signed_in, make_user, make_record, make_meeting
):
    me = signed_in("volunteer")
    mine = make_record("FRA", assignee=me)
    theirs = make_record("DEU", assignee=make_user("volunteer"))
    held_at = dt.datetime(2031, 6, 20, 10, 0, tzinfo=UTC)
    meeting = make_meeting([mine], held_at, summary="Delivered the letter", location="Calle de Salustiano Olózaga 9")
    hidden = make_meeting([theirs], held_at, summary="Not for me")
    db.session.commit()

    response = client.get(f"/meetings/{meeting.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="meeting-{meeting.id}.ics"'
    calendar = icalendar.Calendar.from_ical(response.get_data())
    calendar.validate()
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == held_at
    assert str(event["LOCATION"]) == "Calle de Salustiano Olózaga 9"
    assert client.get(f"/meetings/{hidden.id}.ics").status_code == 404
    assert client.get("/meetings/999999.ics").status_code == 404
    client.post("/logout")
    assert client.get(f"/meetings/{meeting.id}.ics").status_code == 302  # to the sign-in page
