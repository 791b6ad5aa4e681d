"""Outreach pages through HTTP: record page, positions, meetings, follow-ups, campaign, lists."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from crm.accounts.models import User
from crm.audit.models import AuditEvent
from crm.campaigns.models import Demand, DemandTranslation
from crm.core.submissions import new_key
from crm.dashboard.services import kept_stances
from crm.database import utcnow
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, Position
from crm.web import LARGEST_ID
from tests.conftest import utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def test_record_page_shows_positions_and_timeline(client, signed_in, campaign, make_record):
    user = signed_in("coordinator")
    record = make_record("CAN")
    outreach.record_position(
        record,
        campaign.demands[2],
        "acted",
        dt.date(2018, 9, 26),
        actor=user,
        evidence="Referred the situation to the ICC",
    )
    db.session.commit()
    page = client.get(f"/outreach/{record.id}").get_data(as_text=True)
    assert "Canada" in page and "Acted" in page and "Referred the situation to the ICC" in page
    assert "Log a meeting" in page
    assert client.get("/outreach/999999").status_code == 404


def test_volunteers_see_only_their_own_records(client, signed_in, make_user, make_record):
    me = signed_in("volunteer")
    mine, theirs = make_record("FRA", assignee=me), make_record("DEU", assignee=make_user("volunteer"))
    db.session.commit()
    assert client.get(f"/outreach/{mine.id}").status_code == 200
    for url in (
        f"/outreach/{theirs.id}",
        f"/outreach/{theirs.id}/meetings/new",
        f"/outreach/{theirs.id}/positions/new",
        f"/outreach/{theirs.id}/follow-ups/new",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/outreach/{theirs.id}/stage", data={"stage": "closed"}).status_code == 404
    page = client.get("/campaigns/test-campaign").get_data(as_text=True)
    assert "France" in page and "Germany" not in page


def test_record_a_position(client, signed_in, campaign, make_record):
    signed_in("coordinator")
    record = make_record()
    db.session.commit()
    response = client.post(
        f"/outreach/{record.id}/positions/new",
        data={
            "demand": campaign.demands[0].id,
            "stance": "supportive",
            "stated_on": "2018-05-21",
            "evidence": "Signed the Lima Group statement",
            "evidence_url": "https://example.org/lima",
            "submission_key": "position-key-0123456789abcdef",
        },
    )
    assert response.status_code == 302
    position = db.session.scalars(sa.select(Position)).one()
    assert (position.stance, position.stated_on) == ("supportive", dt.date(2018, 5, 21))
    assert db.session.get(OutreachRecord, record.id).stage == "responded"


def test_a_position_form_sent_twice_is_recorded_once(client, signed_in, campaign, make_record):
    signed_in("coordinator")
    record = make_record()
    db.session.commit()
    data = {
        "demand": campaign.demands[0].id,
        "stance": "supportive",
        "stated_on": "2018-05-21",
        "submission_key": "position-key-sent-twice-0123",
    }
    assert client.post(f"/outreach/{record.id}/positions/new", data=data).status_code == 302
    again = client.post(f"/outreach/{record.id}/positions/new", data=data)
    assert again.status_code == 302 and again.headers["Location"] == f"/outreach/{record.id}"
    assert "This form was already sent and saved" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Position)) == 1


@pytest.mark.parametrize(
    "change,message",
    [
        ({"stated_on": "2999-01-01"}, "in the future"),
        ({"stated_on": "21/05/2018"}, "Not a valid date"),
        ({"stance": "delighted"}, "Not a valid choice"),
        ({"demand": "999999"}, "Not a valid choice"),
        ({"evidence_url": "javascript:alert(1)"}, "Invalid URL"),
        ({"evidence": "x" * 5001}, "5000"),
    ],
)
def test_bad_position_input_is_refused_beside_the_field(client, signed_in, campaign, make_record, change, message):
    signed_in("coordinator")
    record = make_record()
    db.session.commit()
    data = {
        "demand": campaign.demands[0].id,
        "stance": "supportive",
        "stated_on": "2018-05-21",
        "submission_key": "position-key-0123456789abcdef",
        **change,
    }
    response = client.post(f"/outreach/{record.id}/positions/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Position)) == 0


def _meeting_data(campaign, **extra):
    data = {
        "held_at": (utcnow() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "summary": "Met the ambassador",
        "outcome": "Will consult the capital",
        f"stance_{campaign.demands[1].id}": "supportive",
        "submission_key": new_key(),
    }
    data.update(extra)
    return data


def test_log_a_meeting_with_positions_and_a_follow_up_in_one_submit(
    client, signed_in, campaign, make_record, make_office, make_contact
):
    user = signed_in("volunteer")
    record, joint = make_record("FRA", assignee=user), make_record("SWE", assignee=user)
    office = make_office("FRA")
    contact = make_contact(office)
    db.session.commit()
    form = client.get(f"/outreach/{record.id}/meetings/new").get_data(as_text=True)
    assert "Jean Exemple" in form and "Sweden" in form
    response = client.post(
        f"/outreach/{record.id}/meetings/new",
        data=_meeting_data(
            campaign,
            office=office.id,
            contacts=[contact.id],
            staff=[user.id],
            joint_with=[joint.id],
            next_note="Send the signatures",
            next_due=(utc_today() + dt.timedelta(days=7)).isoformat(),
            next_owner=user.id,
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = db.session.scalars(sa.select(Meeting)).one()
    assert {r.country.alpha3 for r in meeting.outreach_records} == {"FRA", "SWE"}
    assert [c.name for c in meeting.contacts] == ["Jean Exemple"]
    assert db.session.scalars(sa.select(Position.stance)).all() == ["supportive"]
    follow_up = db.session.scalars(sa.select(FollowUp)).one()
    assert follow_up.note == "Send the signatures" and follow_up.owner_id == user.id
    assert db.session.get(OutreachRecord, joint.id).stage == "meeting_held"
    assert "Met the ambassador" in client.get(f"/outreach/{joint.id}").get_data(as_text=True)
    assert "Met the ambassador" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"summary": ""}, "This field is required"),
        ({"held_at": "yesterday"}, "Not a valid datetime value"),
        ({"held_at": "2999-01-01T10:00"}, "once it has been held"),
        ({"next_note": "Call again"}, "Give the next step a due date"),
        ({"next_note": "Call again", "next_due": "2030-01-01", "next_owner": "0"}, "Choose who owns the next step"),
        ({"contacts": ["999999"]}, "not a valid choice"),
        ({"joint_with": ["999999"]}, "not a valid choice"),
        ({"summary": "x" * 10001}, "10000"),
    ],
)
def test_bad_meeting_input_saves_nothing(client, signed_in, campaign, make_record, change, message):
    user = signed_in("volunteer")
    record = make_record(assignee=user)
    db.session.commit()
    response = client.post(f"/outreach/{record.id}/meetings/new", data=_meeting_data(campaign, **change))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Position)) == 0


def _logged_meeting(record, user, **extra):
    meeting = outreach.log_meeting(
        [record],
        actor=user,
        held_at=dt.datetime(2018, 5, 21, 10, 0, tzinfo=dt.UTC),
        summary="Met the ambasador",
        staff=[user],
        **extra,
    )
    db.session.commit()
    return meeting


def _edit_data(meeting, **changes):
    data = {
        "held_at": "2018-05-21T12:00",
        "summary": meeting.summary,
        "outcome": meeting.outcome or "",
        "location": meeting.location or "",
        "office": meeting.office_id or 0,
        "staff": [u.id for u in meeting.staff],
        "contacts": [c.id for c in meeting.contacts],
        "confidential_notes": meeting.confidential_notes or "",
        "version": meeting.version,
    }
    data.update(changes)
    return data


def test_confidential_notes_are_logged_encrypted_and_shown_only_on_the_meeting(
    client, signed_in, campaign, make_record
):
    user = signed_in("volunteer")
    record = make_record(assignee=user)
    db.session.commit()
    response = client.post(
        f"/outreach/{record.id}/meetings/new",
        data=_meeting_data(campaign, confidential_notes="The deputy minister asked not to be named"),
    )
    assert response.status_code == 302
    meeting = db.session.scalars(sa.select(Meeting)).one()
    stored = db.session.execute(sa.text("SELECT confidential_notes FROM meeting")).scalar()
    assert "deputy minister" not in stored and meeting.confidential_notes == "The deputy minister asked not to be named"
    assert "asked not to be named" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    for url in (f"/outreach/{record.id}", f"/meetings/{meeting.id}.ics"):
        assert "asked not to be named" not in client.get(url).get_data(as_text=True), url
    assert "asked not to be named" not in str(db.session.scalars(sa.select(AuditEvent.after)).all())


def test_correct_a_meeting_keeps_the_history_in_the_audit_log(
    client, signed_in, campaign, make_record, make_office, make_contact, make_user
):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    office = make_office("FRA")
    contact, left = make_contact(office), make_contact(office, name="Former Counsellor")
    meeting = _logged_meeting(record, user, contacts=[left], confidential_notes="First notes")
    left.active = False  # left the embassy since: still shown as an attendee of this meeting
    db.session.commit()
    page = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    # In the user's time zone (UTC here), with the attendee who has left since still on the list.
    assert "Met the ambasador" in page and "Former Counsellor" in page and 'value="2018-05-21T10:00"' in page

    response = client.post(
        f"/meetings/{meeting.id}/edit",
        data=_edit_data(
            meeting,
            summary="Met the ambassador",
            office=office.id,
            contacts=[contact.id, left.id],
            confidential_notes="Second notes",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = db.session.get(Meeting, meeting.id)
    assert (meeting.summary, meeting.office_id, meeting.confidential_notes) == (
        "Met the ambassador",
        office.id,
        "Second notes",
    )
    assert sorted(c.name for c in meeting.contacts) == ["Former Counsellor", "Jean Exemple"]
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "meeting.update")).all()
    assert event.actor_id == user.id and event.before["summary"] == "Met the ambasador"
    assert event.after["summary"] == "Met the ambassador" and event.after["confidential_notes"] == "changed"
    assert "First notes" not in str(event.before) and "Second notes" not in str(event.after)
    # Saving the same again changes nothing and logs nothing.
    client.post(f"/meetings/{meeting.id}/edit", data=_edit_data(meeting))
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "meeting.update")) == 1


@pytest.mark.parametrize(
    "change,status,message",
    [
        ({"summary": "  "}, 400, "This field is required"),
        ({"held_at": "2999-01-01T10:00"}, 400, "once it has been held"),
        ({"contacts": ["999999"]}, 400, "not a valid choice"),
        ({"version": "1"}, 409, "Someone else saved this record"),  # a conflict, as on every other form
    ],
)
def test_bad_corrections_save_nothing(client, signed_in, campaign, make_record, change, status, message):
    user = signed_in("coordinator")
    record = make_record()
    meeting = _logged_meeting(record, user)
    meeting.location = "Madrid"  # someone else's save: the version moves on
    db.session.commit()
    response = client.post(f"/meetings/{meeting.id}/edit", data=_edit_data(meeting, **{"summary": "Changed", **change}))
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.get(Meeting, meeting.id).summary == "Met the ambasador"


def test_delete_a_meeting_logged_by_mistake(client, signed_in, campaign, make_record):
    user = signed_in("volunteer")
    record = make_record(assignee=user)
    db.session.commit()
    client.post(
        f"/outreach/{record.id}/meetings/new",
        data=_meeting_data(campaign, next_note="Send the letter", next_due=utc_today().isoformat(), next_owner=user.id),
    )
    meeting = db.session.scalars(sa.select(Meeting)).one()
    meeting_id, version = meeting.id, meeting.version
    page = client.get(f"/meetings/{meeting_id}/delete").get_data(as_text=True)
    assert "stays in the history" in page
    # Without the box ticked, nothing happens.
    assert client.post(f"/meetings/{meeting_id}/delete", data={"version": version}).status_code == 400
    assert db.session.get(Meeting, meeting_id) is not None

    response = client.post(f"/meetings/{meeting_id}/delete", data={"confirm": "y", "version": version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/outreach/{record.id}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0
    [position] = db.session.scalars(sa.select(Position)).all()
    [follow_up] = db.session.scalars(sa.select(FollowUp)).all()
    assert position.meeting_id is None and follow_up.meeting_id is None and follow_up.note == "Send the letter"
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "meeting.delete")).all()
    assert event.entity_id == str(meeting_id) and event.before["summary"] == "Met the ambassador"
    assert event.before["position_ids"] == [position.id] and event.before["outreach_ids"] == [record.id]
    assert client.get(f"/meetings/{meeting_id}").status_code == 404


def test_a_joint_meeting_is_changed_only_by_who_may_edit_all_its_records(client, signed_in, make_user, make_record):
    me = signed_in("volunteer")
    mine, theirs = make_record("FRA", assignee=me), make_record("DEU", assignee=make_user("volunteer"))
    meeting = outreach.log_meeting(
        [mine, theirs], actor=me, held_at=dt.datetime(2018, 5, 21, tzinfo=dt.UTC), summary="Joint meeting"
    )
    db.session.commit()
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Joint meeting" in page and "Correct the meeting" not in page
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 404
    assert client.post(f"/meetings/{meeting.id}/delete", data={"confirm": "y"}).status_code == 404
    assert db.session.get(Meeting, meeting.id) is not None


def test_follow_ups_mine_everyone_overdue_complete_and_snooze(client, signed_in, make_user, make_record):
    me = signed_in("coordinator")
    other = make_user("volunteer", name="Other Person")
    record = make_record("PER", assignee=me)
    overdue = outreach.add_follow_up(
        record, owner=me, due_on=utc_today() - dt.timedelta(days=3), note="Overdue call", actor=me
    )
    outreach.add_follow_up(record, owner=other, due_on=utc_today() + dt.timedelta(days=3), note="Their task", actor=me)
    db.session.commit()
    mine = client.get("/follow-ups").get_data(as_text=True)
    assert "Overdue call" in mine and "Their task" not in mine and 'class="overdue"' in mine
    assert "Their task" in client.get("/follow-ups?scope=all").get_data(as_text=True)
    response = client.post(
        f"/follow-ups/{overdue.id}/snooze", data={"until": (utc_today() - dt.timedelta(days=1)).isoformat()}
    )
    assert response.status_code == 302
    assert db.session.get(FollowUp, overdue.id).status == "open"
    client.post(f"/follow-ups/{overdue.id}/snooze", data={"until": (utc_today() + dt.timedelta(days=2)).isoformat()})
    assert db.session.get(FollowUp, overdue.id).status == "snoozed"
    client.post(f"/follow-ups/{overdue.id}/complete", data={"next": "/follow-ups"})
    assert db.session.get(FollowUp, overdue.id).status == "done"
    assert "Overdue call" in client.get("/follow-ups?status=done").get_data(as_text=True)
    assert client.post("/follow-ups/999999/complete").status_code == 404


def test_each_follow_up_on_the_list_has_its_own_done_and_snooze_forms(client, signed_in, make_record):
    """A list renders a row's forms once and puts each row's id in: each row's forms still act on that
    row's follow-up and come back to the list as the reader sees it, also when the reader's URL holds the
    very number those forms are first rendered with."""
    me = signed_in("coordinator")
    record = make_record("PER", assignee=me)
    first, second = (
        outreach.add_follow_up(record, owner=me, due_on=utc_today(), note=note, actor=me) for note in ("Call", "Write")
    )
    db.session.commit()
    for url in ("/follow-ups", f"/follow-ups?status=open&mark={LARGEST_ID}"):
        page = client.get(url).get_data(as_text=True)
        back = escape(url if "?" in url else f"{url}?")  # the request's full path, as each form sends it back
        for follow_up in (first, second):
            for action in ("complete", "snooze"):
                forms = re.findall(rf'<form[^>]*action="/follow-ups/{follow_up.id}/{action}".*?</form>', page, re.S)
                assert len(forms) == 1 and f'name="next" value="{back}"' in forms[0], (action, forms)
        assert f"/follow-ups/{LARGEST_ID}/" not in page and f"/follow-ups/{LARGEST_ID - 1}/" not in page


def test_add_follow_up_form_validates(client, signed_in, make_record):
    user = signed_in("volunteer")
    record = make_record(assignee=user)
    db.session.commit()
    bad = client.post(
        f"/outreach/{record.id}/follow-ups/new",
        data={"submission_key": new_key(), "note": "", "due_on": "nope", "owner": user.id},
    )
    assert bad.status_code == 400 and "This field is required" in bad.get_data(as_text=True)
    good = client.post(
        f"/outreach/{record.id}/follow-ups/new",
        data={"note": "Ask for a meeting", "due_on": "2030-01-02", "owner": user.id, "submission_key": "k" * 32},
    )
    assert good.status_code == 302
    assert db.session.get(OutreachRecord, record.id).next_follow_up_on == dt.date(2030, 1, 2)


def test_a_follow_up_form_sent_twice_is_saved_once(client, signed_in, make_record):
    """The answer to the first submit was lost (a dropped connection, a double click): the browser sends
    the same form again, with the same submission key. One follow-up, and the user is told."""
    import re

    from crm.outreach.models import FollowUp

    user = signed_in("volunteer")
    record = make_record(assignee=user)
    db.session.commit()
    page = client.get(f"/outreach/{record.id}/follow-ups/new").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page).group(1)
    data = {"note": "Ask for a meeting", "due_on": "2030-01-02", "owner": user.id, "submission_key": key}
    first = client.post(f"/outreach/{record.id}/follow-ups/new", data=data)
    again = client.post(f"/outreach/{record.id}/follow-ups/new", data=data)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] == f"/outreach/{record.id}"
    assert "This form was already sent and saved" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1
    # A new form is a new key: a second follow-up on purpose is saved.
    page = client.get(f"/outreach/{record.id}/follow-ups/new").get_data(as_text=True)
    other = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page).group(1)
    assert other != key
    assert (
        client.post(f"/outreach/{record.id}/follow-ups/new", data={**data, "submission_key": other}).status_code == 302
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 2
    # Without a key (a crafted request), nothing is saved.
    assert (
        client.post(
            f"/outreach/{record.id}/follow-ups/new", data={k: v for k, v in data.items() if k != "submission_key"}
        ).status_code
        == 400
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 2


def test_stale_stage_change_is_refused_with_a_message(client, signed_in, make_record):
    signed_in("coordinator")
    record = make_record()
    db.session.commit()
    seen = record.version
    assert client.post(f"/outreach/{record.id}/stage", data={"stage": "contacted", "version": seen}).status_code == 302
    client.post(f"/outreach/{record.id}/stage", data={"stage": "closed", "version": seen})
    page = client.get(f"/outreach/{record.id}").get_data(as_text=True)
    assert "Someone else saved this record after you opened it" in page
    assert db.session.get(OutreachRecord, record.id).stage == "contacted"


def test_country_list_filters_by_campaign_stage_and_assignee(client, signed_in, make_user, make_record):
    signed_in("manager")
    volunteer = make_user("volunteer")
    make_record("FRA", stage="contacted", assignee=volunteer)
    make_record("CAN", stage="committed")
    db.session.commit()
    page = client.get("/countries/?campaign=test-campaign").get_data(as_text=True)
    assert "2 countries" in page
    page = client.get("/countries/?campaign=test-campaign&stage=committed").get_data(as_text=True)
    assert "Canada" in page and "France" not in page
    page = client.get(f"/countries/?assignee={volunteer.id}").get_data(as_text=True)
    assert "France" in page and "Canada" not in page and "1 country" in page
    assert "0 countries" in client.get("/countries/?assignee=abc").get_data(as_text=True)


def test_country_page_has_outreach_card_and_offices(
    client, signed_in, campaign, make_record, make_office, make_contact
):
    user = signed_in("coordinator")
    record = make_record("ARG")
    make_contact(
        make_office("ARG", host="ARG", city="Buenos Aires", kind="ministry", name="Cancillería"), name="Sra. Ficticia"
    )
    outreach.add_follow_up(record, owner=user, due_on=utc_today(), note="Call the desk officer", actor=user)
    db.session.commit()
    page = client.get("/countries/ARG").get_data(as_text=True)
    assert "Test campaign" in page and "Call the desk officer" in page
    assert "Cancillería" in page and "Sra. Ficticia" in page


def _records(make_record, n):
    codes = db.session.scalars(sa.select(sa.text("alpha3 FROM country ORDER BY alpha3")).limit(n)).all()
    return [make_record(code) for code in codes]


@pytest.mark.parametrize(
    "url", ["/campaigns/test-campaign", "/follow-ups?scope=all", "/countries/?campaign=test-campaign"]
)
def test_list_query_count_does_not_grow_with_rows(
    app, client, signed_in, campaign, make_record, count_queries, url, monkeypatch
):
    user_id, demand_id = signed_in("manager").id, campaign.demands[0].id
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 500)
    counts = []
    for n in (10, 200):
        db.session.execute(sa.delete(FollowUp))
        db.session.execute(sa.delete(Position))
        db.session.execute(sa.delete(OutreachRecord))
        db.session.expunge_all()
        user, demand = db.session.get(User, user_id), db.session.get(Demand, demand_id)
        for record in _records(lambda code, demand=demand: make_record(code, campaign_=demand.campaign), n):
            outreach.record_position(record, demand, "supportive", utc_today(), actor=user)
            outreach.add_follow_up(record, owner=user, due_on=utc_today(), note="next", actor=user)
        db.session.commit()
        queries, response = count_queries(lambda: client.get(url))
        assert response.status_code == 200
        counts.append(queries)
    assert counts[0] == counts[1], counts


def test_edit_record_and_a_second_editor_does_not_overwrite_the_first(client, signed_in, make_user, make_record):
    signed_in("coordinator")
    volunteer, other = make_user("volunteer", name="Vera"), make_user("volunteer", name="Otto")
    record = make_record()
    db.session.commit()
    seen = record.version
    first = client.post(
        f"/outreach/{record.id}/edit", data={"assignee": volunteer.id, "coordinator": 0, "priority": 1, "version": seen}
    )
    assert first.status_code == 302
    second = client.post(
        f"/outreach/{record.id}/edit", data={"assignee": other.id, "coordinator": 0, "priority": 3, "version": seen}
    )
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "Someone else saved this record after you opened it" in page
    assert f'<option selected value="{other.id}">' in page  # what they typed is kept
    record = db.session.get(OutreachRecord, record.id)
    assert (record.assignee_id, record.priority) == (volunteer.id, 1)
    assert (
        client.post(
            f"/outreach/{record.id}/edit", data={"assignee": 999999, "priority": 2, "version": record.version}
        ).status_code
        == 400
    )


def test_volunteers_cannot_reassign(client, signed_in, make_record):
    me = signed_in("volunteer")
    record = make_record(assignee=me)
    db.session.commit()
    assert client.get(f"/outreach/{record.id}/edit").status_code == 404


def test_rule_refusals_are_in_the_readers_language(client, signed_in, make_record):
    me = signed_in("coordinator", language="es")
    record = make_record(assignee=me)
    follow_up = outreach.add_follow_up(record, owner=me, due_on=utc_today(), note="Llamar", actor=me)
    db.session.commit()
    stale = client.post(
        f"/outreach/{record.id}/stage", data={"stage": "closed", "version": record.version + 5}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Otra persona guardó este registro" in stale
    refused = client.post(
        f"/follow-ups/{follow_up.id}/snooze", data={"until": utc_today().isoformat()}, follow_redirects=True
    ).get_data(as_text=True)
    assert "posponga hasta un día posterior a hoy" in refused


def test_a_record_save_without_its_version_is_refused(client, signed_in, make_user, make_record):
    """A crafted POST without the version field must not save over a change the sender never saw."""
    signed_in("coordinator")
    volunteer = make_user("volunteer", name="Vera")
    record = make_record()
    db.session.commit()
    priority, stage = record.priority, record.stage
    response = client.post(
        f"/outreach/{record.id}/edit", data={"assignee": volunteer.id, "coordinator": 0, "priority": 1}
    )
    assert response.status_code == 409 and "The form is out of date" in response.get_data(as_text=True)
    response = client.post(f"/outreach/{record.id}/stage", data={"stage": "closed"})
    assert response.status_code == 302  # the record page, which says why
    assert "The form is out of date" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    record = db.session.get(OutreachRecord, record.id)
    assert (record.assignee_id, record.priority, record.stage) == (None, priority, stage)


def test_campaign_page_lists_governments_as_plain_rows(client, signed_in, campaign, make_record, make_user):
    from tests.factories import QueryCounter

    me = signed_in("coordinator")
    owner = make_user("volunteer", name="Rosa Row")
    france = make_record("FRA", assignee=owner)
    make_record("ESP")
    repudiate = db.session.scalar(
        sa.select(Demand).where(Demand.campaign_id == campaign.id, Demand.code == "repudiate")
    )
    outreach.record_position(france, repudiate, "opposed", utc_today() - dt.timedelta(days=9), actor=me)
    outreach.record_position(france, repudiate, "supportive", utc_today(), actor=me)
    db.session.commit()
    first = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    with QueryCounter(db.engine) as counter:
        page = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert page == first
    assert page.index("France") < page.index("Spain") and "Rosa Row" in page
    assert "stance-supportive" in page and "stance-opposed" not in page
    # Rows come as plain values: no record, country, user or position is built as an object. A coordinator
    # sees every record: the current stances come from the figures the first visit made and kept
    # (crm.dashboard.services.kept_figures), and no position is read again.
    built = [
        s for s in counter.statements if "outreach_record.version" in s or "position" in s or "country.rs_status" in s
    ]
    assert built == []


def test_campaign_rows_put_each_current_stance_under_its_demand_and_show_a_volunteer_their_own(
    client, campaign, make_record, make_user
):
    me, owner = make_user("coordinator"), make_user("volunteer")
    france, spain = make_record("FRA", assignee=owner), make_record("ESP")
    first, second, third = sorted(campaign.demands, key=lambda demand: demand.ordinal)
    outreach.record_position(france, third, "supportive", utc_today() - dt.timedelta(days=3), actor=me)
    outreach.record_position(france, first, "opposed", utc_today(), actor=me)
    outreach.record_position(france, third, "acted", utc_today(), actor=me)
    outreach.record_position(spain, second, "non_committal", utc_today(), actor=me)
    db.session.flush()
    demands = [first.id, second.id, third.id]
    rows = outreach.campaign_rows(campaign, me, "en", demands)
    assert [(row.id, row.stances) for row in rows] == [
        (france.id, ("opposed", None, "acted")),
        (spain.id, (None, "non_committal", None)),
    ]
    # In the order asked for, and only those asked about.
    assert outreach.campaign_rows(campaign, me, "en", [third.id, second.id])[1].stances == (None, "non_committal")
    assert [row.stances for row in outreach.campaign_rows(campaign, me, "en", [])] == [(), ()]
    assert [(row.id, row.stances) for row in outreach.campaign_rows(campaign, owner, "en", demands)] == [
        (france.id, ("opposed", None, "acted"))
    ]
    # The same from the stances a manager's dashboard keeps.
    kept = kept_stances(campaign, me)
    assert outreach.campaign_rows(campaign, me, "en", demands, current=kept) == rows
    assert outreach.campaign_rows(campaign, me, "en", [third.id, second.id], current=kept)[1].stances == (
        None,
        "non_committal",
    )
    assert kept_stances(campaign, owner) is None  # a volunteer's are not kept


def test_campaign_page_says_each_government_in_the_readers_language(
    client, signed_in, campaign, make_record, make_user
):
    me = signed_in("coordinator", language="es")
    owner = make_user("volunteer", name="Rosa <Row>")
    germany = make_record("DEU", assignee=owner)
    make_record("ESP")
    germany.next_follow_up_on = dt.date(2026, 11, 26)
    repudiate, *others = sorted(campaign.demands, key=lambda demand: demand.ordinal)
    repudiate.translations.append(DemandTranslation(language="es", title="Repudiar la elección"))
    outreach.record_position(germany, repudiate, "acted", utc_today(), actor=me)
    db.session.commit()
    page = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    # Sorted by the names the reader sees: Alemania before España (Germany would follow Spain).
    assert page.index("Alemania") < page.index("España")
    assert f'<a href="/outreach/{germany.id}">Alemania</a>' in page and "Rosa &lt;Row&gt;" in page
    assert "26 nov 2026" in page and '<span class="stance stance-acted">Actuó</span>' in page
    # Each demand titled in the reader's language where it has a translation, as first written elsewhere.
    assert "<li>Repudiar la elección</li>" in page and f'title="{escape(others[0].title)}"' in page


def test_campaign_table_rows_escape_what_they_show_and_dash_what_is_missing(app):
    from crm.outreach.campaign_table import campaign_table_rows

    rows = [
        outreach.CampaignRow(7, "responded", dt.date(2026, 1, 2), "Trinidad & Tobago", None, ("acted", None)),
        outreach.CampaignRow(9, "mystery", None, "Malta", "<Ana>", (None, "opposed")),
    ]
    with app.test_request_context():
        body = campaign_table_rows(rows, "en", lambda id: f"/o/{id}?a=1&b=2")
    first, second = body.split("</tr>")[:2]
    assert '<a href="/o/7?a=1&amp;b=2">Trinidad &amp; Tobago</a>' in first
    assert "<td>Responded</td><td>—</td><td>2 Jan 2026</td>" in first
    assert first.endswith('<td><span class="stance stance-acted">Acted</span></td><td>—</td>')
    assert "<td>mystery</td><td>&lt;Ana&gt;</td><td>—</td><td>—</td>" in second
