"""A statement goes with a letter to a government: attached while the letter is prepared, its signatories
frozen on the letter when it is marked delivered (as the signature totals are), listed on the letter page
and in the delivery dossier, and kept as delivered whatever happens to the signatures afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.statements import services as statements
from crm.statements.models import LetterStatement

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def letter(make_record, make_letter, clock):
    record = make_record("FRA")
    made = make_letter(record, subject="Lettre ouverte", sent_on=clock.today() - dt.timedelta(days=1))
    db.session.commit()
    return made


@pytest.fixture
def listed(statement, signed_up, clock):
    """Acción Solidaria approved by name; an organisation in danger listed with its name withheld."""
    first, first_links = signed_up()
    second, _ = signed_up(
        organisation="Una ONG en riesgo", email="a@ong.example.org", website="ong.example.org", listing="withheld"
    )
    for signature in (first, second):
        statements.approve(signature, actor="test", now=clock.now())
    db.session.commit()
    return first, first_links


def _deliver(client, letter, clock):
    return client.post(
        f"/letters/{letter.id}/delivered", data={"delivered_on": clock.today().isoformat(), "version": letter.version}
    )


def test_a_statement_goes_with_a_letter_and_is_frozen_on_delivery(client, signed_in, statement, listed, letter, clock):
    coordinator = signed_in("coordinator")
    page = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert "Send a joint statement with the letter" in page and statement.title("en") in page
    assert client.post(f"/letters/{letter.id}/statements", data={"statement": statement.id}).status_code == 302
    page = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert "2 signatories so far; the list is frozen on the letter when it is marked delivered." in page
    assert _deliver(client, letter, clock).status_code == 302
    attached = db.session.get(LetterStatement, (letter.id, statement.id))
    assert attached.frozen_at == clock.now()
    assert attached.signatories["total"] == 2
    names = [entry["name"] for entry in attached.signatories["organisations"]]
    assert names == ["Acción Solidaria", None]  # the withheld name is never frozen anywhere
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "letter.delivered")).one()
    assert event.actor_id == coordinator.id and event.after["statement_signatories"] == {statement.slug: 2}
    page = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert "2 signatories delivered with the letter" in page
    assert "An organisation in Venezuela, name withheld for its safety" in page
    assert "Una ONG en riesgo" not in page and "ana@accionsolidaria.info" not in page


def test_what_was_delivered_stays_as_delivered(client, signed_in, statement, listed, letter, clock):
    _, links = listed
    statements.attach(letter, statement, actor="test", now=clock.now())
    db.session.commit()
    signed_in("coordinator")
    _deliver(client, letter, clock)
    assert client.post(links["withdraw"]).status_code == 200  # withdrawn after delivery
    assert "Acción Solidaria" not in client.get(f"/s/{statement.slug}").get_data(as_text=True)
    page = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert "Acción Solidaria" in page  # it was delivered with the letter
    # What a delivered letter carried cannot change.
    refused = client.post(f"/letters/{letter.id}/statements/{statement.id}/detach")
    assert refused.status_code == 409 and "delivered" in refused.get_data(as_text=True)
    assert db.session.get(LetterStatement, (letter.id, statement.id)) is not None


def test_only_the_campaigns_statements_and_only_once(client, signed_in, statement, letter, campaign, clock):
    from crm.campaigns.models import Campaign

    other = Campaign(slug="other", name="Other campaign")
    db.session.add(other)
    db.session.flush()
    elsewhere = statements.create_statement(other, {"en": statements.Wording("Elsewhere", "Text.")}, actor="test")
    db.session.commit()
    signed_in("coordinator")
    refused = client.post(f"/letters/{letter.id}/statements", data={"statement": elsewhere.id})
    assert refused.status_code == 400 and "Choose a statement of this campaign." in refused.get_data(as_text=True)
    assert client.post(f"/letters/{letter.id}/statements", data={"statement": "99999999999999"}).status_code == 400
    assert client.post(f"/letters/{letter.id}/statements", data={"statement": statement.id}).status_code == 302
    twice = client.post(f"/letters/{letter.id}/statements", data={"statement": statement.id})
    assert twice.status_code == 400
    assert client.post(f"/letters/{letter.id}/statements/{statement.id}/detach").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LetterStatement)) == 0
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("letter.statement_%")))
    assert list(actions) == ["letter.statement_attached", "letter.statement_detached"]


def test_a_volunteer_changes_nothing_on_another_volunteers_letter(client, signed_in, statement, letter):
    signed_in("volunteer")
    assert client.post(f"/letters/{letter.id}/statements", data={"statement": statement.id}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LetterStatement)) == 0


def test_the_delivery_dossier_lists_the_statements_signatories(app, statement, listed, letter, clock, monkeypatch):
    from crm.letters import services as letters
    from crm.signatures import dossier

    statements.attach(letter, statement, actor="test", now=clock.now())
    letters.mark_delivered(letter, clock.today(), "test", expected_version=letter.version)
    db.session.commit()
    rendered = {}
    monkeypatch.setattr(dossier, "render_pdf", lambda html, css: rendered.setdefault("html", html).encode())
    dossier.dossier_pdf(letter.outreach, letter, "es")
    html = rendered["html"]
    assert statement.title("es") in html and "Acción Solidaria — Venezuela" in html
    assert "Una organización en Venezuela, nombre reservado por su seguridad" in html
    assert "2 firmantes entregados con la carta" in html


def test_an_erased_person_keeps_their_place_on_a_delivered_list_without_their_name(
    app, client, statement, signed_up, letter, clock
):
    from crm.letters import services as letters
    from crm.privacy import services as privacy

    statement.individuals_may_sign = True
    db.session.commit()
    person, _ = signed_up(
        kind="individual", organisation="", website="", email="tamara@example.net", signer_name="Tamara Suju"
    )
    statements.approve(person, actor="test", now=clock.now())
    statements.attach(letter, statement, actor="test", now=clock.now())
    letters.mark_delivered(letter, clock.today(), "test", expected_version=letter.version)
    db.session.commit()
    privacy.erase_person(privacy.find_person("tamara@example.net"), actor="test", reason="asked")
    db.session.commit()
    attached = db.session.get(LetterStatement, (letter.id, statement.id))
    (entry,) = attached.signatories["individuals"]
    assert entry["name"] is None and entry["erased"] and attached.signatories["total"] == 1
    assert "Tamara" not in str(attached.signatories)
