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
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import Position
from crm.statements import services as statements
from crm.statements.models import StatementSignature

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


# --- The organisations that co-signed the campaign's statements ------------------------------------------

# What the statements hold that the board never shows: who signed for an organisation and how to reach
# them, names withheld, signatures counted without being listed, not approved, or withdrawn, a person's
# own signature, organisations of governments not on the board, statements not yet open, the reasons.
STATEMENT_SECRETS = (
    "Jeanne Signataire",
    "Directrice",
    "jeanne@ligue.example.org",
    "Organisation Cachée",
    "cachee.example.org",
    "Organisation Non Listée",
    "Organisation En Attente",
    "Organisation Rejetée",
    "rejection reason text",
    "Organisation Retirée",
    "Personne Individuelle",
    "Deutsche Organisation",
    "Organisation Future",
    "Future statement",
)


def _signed(statement, organisation, country, *, listing="named", kind="organisation", decide="approve", clock):
    slug = "".join(char for char in organisation.lower() if char.isalpha())[:20]
    signature = statements.sign(
        statement,
        statements.SignUp(
            kind=kind,
            country=country_by_code(country),
            organisation=organisation if kind == "organisation" else None,
            website=f"https://{slug}.example.org",
            signer_name="Jeanne Signataire" if kind == "organisation" else organisation,
            signer_role="Directrice",
            email=f"jeanne@{slug}.example.org",
            listing=listing,
            consent=True,
        ),
        language="en",
        now=clock.now(),
    ).signature
    statements.confirm(signature, now=clock.now())
    if decide in ("approve", "withdraw"):
        statements.approve(signature, actor="test", now=clock.now())
    if decide == "reject":
        statements.reject(signature, "rejection reason text", actor="test", now=clock.now())
    if decide == "withdraw":
        statements.withdraw(signature, now=clock.now())
    return signature


@pytest.fixture
def cosigned(story, clock):
    """Two open statements and one not yet open. In France: the Ligue signed both by name; one
    organisation withheld its name on both; others are unlisted, waiting, rejected, withdrawn, or a person.
    In Germany (not on the board) an organisation signed too."""
    campaign = story["campaign"]
    first = statements.create_statement(
        campaign,
        {
            "en": statements.Wording("First statement", "Text."),
            "es": statements.Wording("Primera declaración", "Texto."),
        },
        actor="test",
        individuals_may_sign=True,
    )
    second = statements.create_statement(
        campaign, {"en": statements.Wording("Second statement", "Text.")}, actor="test"
    )
    future = statements.create_statement(
        campaign, {"en": statements.Wording("Future statement", "Text.")}, actor="test"
    )
    for statement in (first, second):
        _signed(statement, "Ligue des droits", "FRA", clock=clock)
        _signed(statement, "Organisation Cachée", "FRA", listing="withheld", clock=clock)
    _signed(first, "Organisation Non Listée", "FRA", listing="unlisted", clock=clock)
    _signed(first, "Organisation En Attente", "FRA", decide=None, clock=clock)
    _signed(first, "Organisation Rejetée", "FRA", decide="reject", clock=clock)
    _signed(first, "Organisation Retirée", "FRA", decide="withdraw", clock=clock)
    _signed(first, "Personne Individuelle", "FRA", kind="individual", clock=clock)
    _signed(first, "Deutsche Organisation", "DEU", clock=clock)
    _signed(future, "Organisation Future", "FRA", clock=clock)
    # Signed while it was open; then its opening was moved to next month: its page is not up.
    future.opens_on = clock.today() + dt.timedelta(days=30)
    boards.publish(campaign, actor=story["manager"])
    db.session.commit()
    return first, second


def test_the_board_lists_the_organisations_that_co_signed_for_each_government(client, cosigned):
    first, second = cosigned
    html = client.get("/p/test-campaign?lang=en").get_data(as_text=True)
    assert 'id="cosigners-FRA"' in html and '<a href="#cosigners-FRA">2</a>' in html
    assert html.count("<strong>Ligue des droits</strong>") == 1  # once, though it signed both
    assert 'href="https://liguedesdroits.example.org" rel="nofollow noopener noreferrer ugc"' in html
    assert "1 organisation in France, name withheld for its safety" in html  # one, though on both
    assert f'href="/s/{first.slug}?lang=en"' in html and "First statement" in html and "(5 signatures)" in html
    assert f'href="/s/{second.slug}?lang=en"' in html and "(2 signatures)" in html

    data = client.get("/p/test-campaign.json?lang=en").get_json()
    (france,) = data["governments"]
    assert france["cosigners"] == {
        "organisations": [{"name": "Ligue des droits", "website": "https://liguedesdroits.example.org"}],
        "withheld": 1,
    }
    assert data["statements"] == [
        {"title": "First statement", "language": "en", "url": f"/s/{first.slug}?lang=en", "signatures": 5},
        {"title": "Second statement", "language": "en", "url": f"/s/{second.slug}?lang=en", "signatures": 2},
    ]
    (row,) = _csv(client.get("/p/test-campaign.csv?lang=en"))
    assert (row["cosigning_organisations"], row["cosigning_organisations_withheld"]) == ("Ligue des droits", "1")

    for body in (html, str(data), client.get("/p/test-campaign.csv").get_data(as_text=True)):
        for secret in (*SECRETS, *STATEMENT_SECRETS):
            assert secret not in body, secret


def test_the_co_signers_in_spanish(client, cosigned):
    html = client.get("/p/test-campaign?lang=es").get_data(as_text=True)
    assert "Organizaciones firmantes, por país" in html and "Primera declaración" in html
    assert "1 organización en Francia, nombre reservado por su seguridad" in html
    # A statement with no Spanish wording is listed in its own language, and says so.
    assert 'lang="en" hreflang="en">Second statement</a>' in html
    data = client.get("/p/test-campaign.json?lang=es").get_json()
    assert [s["title"] for s in data["statements"]] == ["Primera declaración", "Second statement"]


def test_a_signature_withdrawn_leaves_the_board(client, cosigned, clock):
    before = client.get("/p/test-campaign?lang=en")
    for signature in db.session.scalars(
        sa.select(StatementSignature).where(StatementSignature.organisation == "Ligue des droits")
    ):
        statements.withdraw(signature, now=clock.now())
    db.session.commit()
    after = client.get("/p/test-campaign?lang=en", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200  # the cached copy is stale
    html = after.get_data(as_text=True)
    assert "Ligue des droits" not in html and '<a href="#cosigners-FRA">1</a>' in html


def test_names_typed_by_the_public_are_text_in_the_board_csv(client, cosigned, clock):
    first, _ = cosigned
    _signed(first, '=HYPERLINK("http://evil.example")', "FRA", clock=clock)
    db.session.commit()
    (row,) = _csv(client.get("/p/test-campaign.csv?lang=en"))
    assert row["cosigning_organisations"] == '\'=HYPERLINK("http://evil.example"); Ligue des droits'


def test_without_statements_the_board_says_nothing_of_them(client, story):
    boards.publish(story["campaign"], actor=story["manager"])
    db.session.commit()
    html = client.get("/p/test-campaign?lang=en").get_data(as_text=True)
    assert 'id="statements"' not in html
    data = client.get("/p/test-campaign.json").get_json()
    assert data["statements"] == [] and data["governments"][0]["cosigners"] == {"organisations": [], "withheld": 0}
    (row,) = _csv(client.get("/p/test-campaign.csv"))
    assert (row["cosigning_organisations"], row["cosigning_organisations_withheld"]) == ("", "0")
