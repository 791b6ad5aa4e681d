"""An archived campaign is read-only: every kind of change to it or to its records is refused with a 409
that says so, and nothing is written; its pages and history stay readable."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crm.campaigns import services as campaigns
from crm.database import utcnow
from crm.extensions import db
from crm.letters import letter_templates
from crm.letters import services as letters
from crm.outreach import services as outreach
from crm.signatures.petitions import create_petition
from crm.signatures.push import new_webhook_secret
from tests.conftest import count_rows

pytestmark = pytest.mark.usefixtures("clock")

MESSAGE = "This campaign is archived: it can be read but not changed."
MESSAGE_ES = "Esta campaña está archivada"


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


@pytest.fixture
def archived(campaign, make_record, make_user, make_office, make_contact):
    """A campaign with a history (a meeting, a follow-up, a letter, a petition with a webhook), then archived."""
    admin = make_user("admin")
    volunteer = make_user("volunteer")
    record = make_record("FRA", assignee=volunteer, stage="contacted")
    unassigned = make_record("DEU")
    office = make_office("FRA")
    make_contact(office)
    meeting = outreach.log_meeting(
        [record], actor=admin, held_at=utcnow() - dt.timedelta(days=2), summary="Met the ambassador"
    )
    follow_up = outreach.add_follow_up(record, owner=volunteer, due_on=utcnow().date(), note="Call back", actor=admin)
    letter_templates.load_default_templates()
    letter = letters.compose_letter(
        record, template_name="First letter / Primera carta", actor=admin, office=office, language="en"
    )
    petition = create_petition(campaign, "Change.org", actor=admin)
    secret = new_webhook_secret(petition, actor=admin)
    campaigns.archive_campaign(campaign, actor=admin, now=utcnow())
    db.session.commit()
    return SimpleNamespace(
        campaign=campaign,
        record=record,
        unassigned=unassigned,
        meeting=meeting,
        follow_up=follow_up,
        letter=letter,
        petition=petition,
        secret=secret,
        demand=campaign.demands[0],
        volunteer=volunteer,
    )


# Each kind of write, as (who, path, form). Paths are built from the fixture's records.
WRITES = {
    "outreach stage": ("admin", lambda w: f"/outreach/{w.record.id}/stage", {"stage": "replied"}),
    "outreach edit": ("admin", lambda w: f"/outreach/{w.record.id}/edit", {"priority": "high"}),
    "position": (
        "admin",
        lambda w: f"/outreach/{w.record.id}/positions/new",
        {"demand": "1", "stance": "supports", "stated_on": "2026-01-01"},
    ),
    "meeting": ("admin", lambda w: f"/outreach/{w.record.id}/meetings/new", {"summary": "Another"}),
    "meeting edit": ("admin", lambda w: f"/meetings/{w.meeting.id}/edit", {"summary": "Changed"}),
    "meeting delete": ("admin", lambda w: f"/meetings/{w.meeting.id}/delete", {"confirm": "y"}),
    "follow-up": ("admin", lambda w: f"/outreach/{w.record.id}/follow-ups/new", {"note": "Again"}),
    "follow-up done by its owner": ("volunteer", lambda w: f"/follow-ups/{w.follow_up.id}/complete", {}),
    "follow-up snoozed": ("admin", lambda w: f"/follow-ups/{w.follow_up.id}/snooze", {"until": "2030-01-01"}),
    "letter": ("admin", lambda w: f"/outreach/{w.record.id}/letters/new", {}),
    "letter edit": ("admin", lambda w: f"/letters/{w.letter.id}/edit", {"subject": "Changed"}),
    "letter sent": ("admin", lambda w: f"/letters/{w.letter.id}/sent", {"channel": "post"}),
    "letter discarded": ("admin", lambda w: f"/letters/{w.letter.id}/discard", {"confirm": "y"}),
    "reply": ("admin", lambda w: f"/letters/{w.letter.id}/reply", {"subject": "Reply"}),
    "petition": ("admin", lambda w: f"/campaigns/{w.campaign.slug}/petitions", {"name": "Another"}),
    "signatures upload": (
        "admin",
        lambda w: f"/petitions/{w.petition.slug}/uploads",
        lambda w: {"file": (io.BytesIO(b"email\nana@example.org\n"), "signers.csv")},
    ),
    "tally": ("admin", lambda w: f"/petitions/{w.petition.slug}/tallies", {"signers": "10"}),
    "webhook secret": ("admin", lambda w: f"/petitions/{w.petition.slug}/webhook-secret", {"confirm": "y"}),
    "description": (
        "admin",
        lambda w: f"/campaigns/{w.campaign.slug}/edit",
        {"name": "New", "slug": "test-campaign", "letter_language": "en"},
    ),
    "settings": (
        "admin",
        lambda w: f"/campaigns/{w.campaign.slug}/settings",
        {"reply_days": "7", "stall_days": "7", "default_coordinator": "0"},
    ),
    "demand added": ("admin", lambda w: f"/campaigns/{w.campaign.slug}/demands", {"label": "Another"}),
    "demand reworded": ("admin", lambda w: f"/demands/{w.demand.id}/edit", {"label": "Reworded"}),
    "demand moved": ("admin", lambda w: f"/demands/{w.demand.id}/move", {"step": "1"}),
    "demand retired": ("admin", lambda w: f"/demands/{w.demand.id}/retire", {"confirm": "y"}),
    "targets added": ("admin", lambda w: f"/campaigns/{w.campaign.slug}/targets", {"names": "Alemania"}),
    "target removed": ("admin", lambda w: f"/outreach/{w.unassigned.id}/remove-target", {"confirm": "y"}),
    "board assignment": (
        "admin",
        lambda w: "/board/assign",
        lambda w: {"record": str(w.unassigned.id), "assignee": str(w.volunteer.id)},
    ),
    "claim": ("volunteer", lambda w: f"/claims/new/{w.unassigned.id}", {}),
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_every_kind_of_write_to_an_archived_campaign_is_refused_and_says_why(client, archived, kind, request):
    role, path, data = WRITES[kind]
    user = (
        archived.volunteer
        if role == "volunteer"
        else db.session.scalar(sa.select(type(archived.volunteer)).where(type(archived.volunteer).role == "admin"))
    )
    from tests.conftest import sign_in

    sign_in(client, user)
    db.session.commit()
    before = table_counts()
    response = client.post(
        path(archived), data=data(archived) if callable(data) else data, content_type="multipart/form-data"
    )
    assert response.status_code == 409, kind
    assert MESSAGE in response.get_data(as_text=True)
    db.session.rollback()
    assert table_counts() == before


def test_the_refusal_is_in_the_readers_language(client, archived, make_user):
    from tests.conftest import sign_in

    spanish = make_user("coordinator", language="es")
    db.session.commit()
    sign_in(client, spanish)
    response = client.post(f"/outreach/{archived.record.id}/stage", data={"stage": "replied"})
    assert response.status_code == 409 and MESSAGE_ES in response.get_data(as_text=True)


def test_an_archived_campaigns_pages_stay_readable_and_say_it_is_read_only(client, signed_in, archived):
    signed_in("admin")
    for path in (
        f"/outreach/{archived.record.id}",
        f"/campaigns/{archived.campaign.slug}",
        f"/campaigns/{archived.campaign.slug}/settings",
        f"/meetings/{archived.meeting.id}",
        f"/letters/{archived.letter.id}",
        f"/petitions/{archived.petition.slug}",
        "/countries/FRA",
        f"/countries/?campaign={archived.campaign.slug}",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    record_page = client.get(f"/outreach/{archived.record.id}").get_data(as_text=True)
    assert MESSAGE in record_page and "Met the ambassador" in record_page
    assert f"/outreach/{archived.record.id}/edit" not in record_page
    assert "/uploads" not in client.get(f"/petitions/{archived.petition.slug}").get_data(as_text=True)


def test_the_signatures_api_refuses_an_archived_campaigns_petition(client, archived):
    before = table_counts()
    response = client.post(
        f"/api/petitions/{archived.petition.slug}/signatures",
        headers={"X-Alcance-Secret": archived.secret},
        json=[{"email": "ana@example.org", "given_name": "Ana"}],
    )
    assert response.status_code == 409 and response.json["error"] == "archived"
    db.session.rollback()
    assert table_counts() == before


def test_an_archived_campaign_leaves_the_lists_of_work_to_do(client, archived, make_record, campaign):
    """Its record leaves the volunteer's work and its follow-up the list of follow-ups to do; a record
    of an open campaign stays."""
    from tests.conftest import sign_in

    open_campaign = campaigns.create_campaign(
        name="Open one", slug="open-one", actor=None, demands=[campaigns.DemandWording("Act")]
    )
    still_open = make_record("ESP", assignee=archived.volunteer, campaign_=open_campaign)
    outreach.add_follow_up(
        still_open, owner=archived.volunteer, due_on=utcnow().date(), note="Write to Spain", actor=None
    )
    db.session.commit()
    sign_in(client, archived.volunteer)
    work = client.get("/my-work").get_data(as_text=True)
    assert f"/outreach/{still_open.id}" in work and f'/outreach/{archived.record.id}"' not in work
    to_do = client.get("/follow-ups?scope=mine").get_data(as_text=True)
    assert "Write to Spain" in to_do and "Call back" not in to_do
    assert "Call back" in client.get(f"/outreach/{archived.record.id}").get_data(as_text=True)
