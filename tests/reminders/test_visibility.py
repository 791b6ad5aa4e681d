"""The calendar feed and the follow-ups list show a meeting or a follow-up only to whoever may open its
record's page. A volunteer who names another volunteer as staff on a meeting, or as owner of a
follow-up, does not thereby show the other one what the other gets a 404 for."""

import datetime as dt

import icalendar

from crm.extensions import db
from crm.reminders import calendar

UTC = dt.UTC
NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def _uids(feed: bytes) -> set[str]:
    return {str(event["UID"]).split("@")[0] for event in icalendar.Calendar.from_ical(feed).walk("VEVENT")}


def _world(make_user, make_record, make_follow_up, make_meeting):
    ana = make_user("volunteer", name="Ana")
    bea = make_user("volunteer", name="Bea")
    anas = make_record("FRA", assignee=ana)
    beas = make_record("DEU", assignee=bea)
    # Ana, on her own record, names Bea: as staff at a meeting, and as owner of a follow-up.
    meeting = make_meeting(
        [anas], NOW - dt.timedelta(days=1), staff=[ana, bea], summary="Ana secret summary", location="Ana secret place"
    )
    meeting.outcome = "Ana secret outcome"
    handed = make_follow_up(anas, bea, TODAY, note="Ana secret note")
    own_meeting = make_meeting([beas], NOW - dt.timedelta(days=1), staff=[bea], summary="Bea own")
    own = make_follow_up(beas, bea, TODAY, note="Bea own note")
    db.session.commit()
    return ana, bea, meeting, handed, own_meeting, own


def test_the_calendar_feed_shows_only_what_the_pages_show(
    client, make_user, make_record, make_follow_up, make_meeting, signed_in
):
    ana, bea, meeting, handed, own_meeting, own = _world(make_user, make_record, make_follow_up, make_meeting)
    feed = calendar.user_feed(bea, now=NOW)
    assert _uids(feed) == {f"meeting-{own_meeting.id}", f"follow-up-{own.id}"}
    assert b"secret" not in feed
    # Ana, whose record it is, still has the meeting (the follow-up is Bea's to do, not hers).
    assert _uids(calendar.user_feed(ana, now=NOW)) == {f"meeting-{meeting.id}"}


def test_the_follow_ups_list_shows_only_follow_ups_on_records_i_may_open(
    client, make_user, make_record, make_follow_up, make_meeting
):
    from tests.conftest import sign_in

    ana, bea, meeting, handed, own_meeting, own = _world(make_user, make_record, make_follow_up, make_meeting)
    sign_in(client, bea)
    for query in ("", "?scope=mine", "?scope=all", "?status=done"):
        page = client.get("/follow-ups" + query)
        assert page.status_code == 200 and "Ana secret note" not in page.get_data(as_text=True), query
    assert "Bea own note" in client.get("/follow-ups?scope=mine").get_data(as_text=True)
    assert client.get(f"/outreach/{handed.outreach_id}").status_code == 404  # the page the list must match


def test_the_digest_tells_only_what_the_pages_show(client, make_user, make_record, make_follow_up, make_meeting):
    from crm.reminders import services

    ana, bea, meeting, handed, own_meeting, own = _world(make_user, make_record, make_follow_up, make_meeting)
    digest = services.digest_for(bea, TODAY)
    assert [f.id for f in digest.overdue + digest.due_today + digest.upcoming] == [own.id]
    assert [m.id for m in digest.meetings] == [own_meeting.id]
    mail = services.render_digest(digest)
    assert "secret" not in mail.text and "secret" not in mail.html
    assert "Bea own note" in mail.text
    # Ana's digest still has the meeting on her record.
    assert [m.id for m in services.digest_for(ana, TODAY).meetings] == [meeting.id]


def test_no_due_reminder_tells_a_note_its_owner_may_not_open(
    client, make_user, make_record, make_follow_up, make_meeting
):
    import sqlalchemy as sa

    from crm.mail.models import OutboundMessage
    from crm.reminders import services

    ana, bea, meeting, handed, own_meeting, own = _world(make_user, make_record, make_follow_up, make_meeting)
    later = NOW + dt.timedelta(hours=12)
    assert [f.id for f in services.due_follow_ups(later)] == [own.id]
    services.queue_due_reminders(later)
    queued = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "due_reminder")).all()
    assert [m.follow_up_id for m in queued] == [own.id]
    assert all("secret" not in (m.subject + m.body_text + (m.body_html or "")) for m in queued)
