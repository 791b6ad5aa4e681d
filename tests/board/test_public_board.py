"""A manager publishes a campaign's board of responses; the public sees, at /p/<slug>, only the
governments and positions published, with their public evidence, and nothing internal, in HTML, JSON
and CSV, in English or Spanish, the same cacheable page for everyone."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.board import services as boards
from crm.board.models import PublishedEntry, PublishedPosition
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import Position

pytestmark = pytest.mark.usefixtures("clock")
SECRETS = (
    "Owner Volunteer",
    "Diplomat Secret",
    "private meeting summary",
    "confidential note text",
    "follow-up note text",
    "Secret Embassy",
    "internal evidence of the meeting",
)


@pytest.fixture
def story(app, campaign, make_record, make_user, make_office, make_contact):
    """France: a published entry with one public position and a later private one; Germany: an entry
    never published. Both with staff, contacts, meetings, notes and follow-ups that must stay inside."""
    owner = make_user("volunteer", name="Owner Volunteer")
    manager = make_user("manager", name="Mona Manager")
    france, germany = make_record("FRA", assignee=owner), make_record("DEU", assignee=owner)
    office = make_office("FRA", name="Secret Embassy")
    diplomat = make_contact(office, name="Diplomat Secret")
    demands = {d.code: d for d in campaign.demands}
    held = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    outreach.log_meeting(
        [france],
        actor=owner,
        held_at=held,
        summary="private meeting summary",
        contacts=[diplomat],
        confidential_notes="confidential note text",
    )
    outreach.add_follow_up(france, owner=owner, due_on=dt.date(2026, 6, 1), note="follow-up note text", actor=owner)
    public = outreach.record_position(
        france,
        demands["repudiate"],
        "supportive",
        dt.date(2026, 4, 2),
        actor=owner,
        evidence="Communiqué of the foreign ministry",
        evidence_url="https://www.diplomatie.gouv.fr/example",
    )
    outreach.record_position(
        france,
        demands["repudiate"],
        "opposed",
        dt.date(2026, 5, 1),
        actor=owner,
        evidence="internal evidence of the meeting",
    )
    hidden = outreach.record_position(
        germany, demands["icc"], "acted", dt.date(2026, 3, 1), actor=owner, evidence="Germany referred"
    )
    boards.set_published(campaign, records={france.id}, positions={public.id, hidden.id}, actor=manager)
    db.session.commit()
    return {"campaign": campaign, "france": france, "germany": germany, "public": public, "manager": manager}


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_an_unpublished_board_is_not_found(client, story):
    for suffix in ("", ".json", ".csv"):
        assert client.get(f"/p/test-campaign{suffix}").status_code == 404
    assert client.get("/p/no-such-campaign").status_code == 404


def test_the_public_sees_published_entries_and_public_positions_only(client, story):
    boards.publish(story["campaign"], actor=story["manager"])
    db.session.commit()
    page = client.get("/p/test-campaign")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-iso="FRA"' in html and 'data-iso="DEU"' not in html  # the table's rows
    assert "Germany: Not on this board" in html  # the map: an unpublished target is not told apart
    # The latest public position, with its date and public evidence; the later, private one stays inside.
    assert "Supportive" in html and "2 Apr 2026" in html and "Communiqué of the foreign ministry" in html
    assert 'href="https://www.diplomatie.gouv.fr/example"' in html
    data = client.get("/p/test-campaign.json").get_json()
    assert [g["iso3"] for g in data["governments"]] == ["FRA"]
    (france,) = data["governments"]
    assert france["response"] == "supportive"
    assert france["positions"][0] == {
        "demand": "repudiate",
        "stance": "supportive",
        "stated_on": "2026-04-02",
        "evidence": "Communiqué of the foreign ministry",
        "evidence_url": "https://www.diplomatie.gouv.fr/example",
    }
    assert [p["stance"] for p in france["positions"][1:]] == [None, None]
    rows = _csv(client.get("/p/test-campaign.csv"))
    assert [(r["iso3"], r["response"], r["repudiate_stance"], r["repudiate_since"]) for r in rows] == [
        ("FRA", "supportive", "supportive", "2026-04-02")
    ]
    for body in (
        html,
        page.headers.get("ETag", ""),
        str(data),
        client.get("/p/test-campaign.csv").get_data(as_text=True),
    ):
        for secret in SECRETS:
            assert secret not in body


def test_the_board_is_the_same_for_staff_and_reads_nothing_of_who_asks(client, signed_in, story):
    boards.publish(story["campaign"], actor=story["manager"])
    db.session.commit()
    anonymous = client.get("/p/test-campaign?lang=en").get_data(as_text=True)
    user = signed_in("admin", name="Ada Admin")
    signed = client.get("/p/test-campaign?lang=en").get_data(as_text=True)
    assert signed == anonymous and user.name not in signed and "Sign out" not in signed


def test_the_board_speaks_spanish_and_can_be_cached(client, story):
    boards.publish(story["campaign"], actor=story["manager"])
    db.session.commit()
    response = client.get("/p/test-campaign", headers={"Accept-Language": "es-VE,es;q=0.9"})
    html = response.get_data(as_text=True)
    assert '<html lang="es">' in html and "Francia" in html and "2 abr 2026" in html
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Accept-Language" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
    again = client.get("/p/test-campaign", headers={"Accept-Language": "es", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    english = client.get("/p/test-campaign?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Accept-Language" not in english.headers.get("Vary", "")  # one URL per language


def test_a_manager_chooses_what_is_public_and_it_is_audited(client, signed_in, story, campaign, make_record):
    other = make_record("ESP", campaign_=None)
    signed_in("manager")
    page = client.get("/campaigns/test-campaign/board").get_data(as_text=True)
    assert "France" in page and "Germany" in page and "The board is not public." in page
    response = client.post("/campaigns/test-campaign/board", data={"action": "publish"})
    assert response.status_code == 302
    germany_position = db.session.scalar(sa.select(Position.id).where(Position.outreach_id == story["germany"].id))
    response = client.post(
        "/campaigns/test-campaign/board",
        data={
            "action": "save",
            "entry": [str(story["germany"].id), "999999999", "x"],
            "position": [str(germany_position), "2147483648"],
        },
    )
    assert response.status_code == 302
    assert set(db.session.scalars(sa.select(PublishedEntry.outreach_id))) == {story["germany"].id}
    assert set(db.session.scalars(sa.select(PublishedPosition.position_id))) == {germany_position}
    data = client.get("/p/test-campaign.json").get_json()
    assert [(g["iso3"], g["response"]) for g in data["governments"]] == [("DEU", "acted")]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "board.update").order_by(AuditEvent.id.desc())
    ).first()
    assert event.after["entries_published"] == [story["germany"].id]
    assert event.after["entries_withdrawn"] == [story["france"].id]
    assert other.id not in set(db.session.scalars(sa.select(PublishedEntry.outreach_id)))
    client.post("/campaigns/test-campaign/board", data={"action": "unpublish"})
    assert client.get("/p/test-campaign").status_code == 404


def test_the_board_is_published_from_the_command_line(app, client, story):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["board", "publish", "test-campaign"])
    assert (result.exit_code, result.output) == (0, "published: /p/test-campaign\n")
    assert client.get("/p/test-campaign").status_code == 200
    assert runner.invoke(args=["board", "publish", "test-campaign"]).output == "already public: /p/test-campaign\n"
    unknown = runner.invoke(args=["board", "publish", "nope"])
    assert unknown.exit_code == 1 and "There is no campaign 'nope'." in unknown.output
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "board.publish"))
    assert event.actor_id is None and event.entity_id == str(story["campaign"].id)
