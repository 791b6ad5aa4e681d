"""A coordinator takes a statement's signatories to a government as a PDF: the text in one of its
languages and the approved signatories as the public page lists them (organisation, country, website; a
withheld name stays withheld; never who signed for an organisation, never an address), with their number
and the day. For a letter the statement went with, the list frozen on the letter at delivery. Every PDF
taken is in the audit log, as the CSV is."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.core.pdf import RendererMissing
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.i18n import show_date
from crm.statements import document
from crm.statements import services as statements
from crm.statements.models import LetterStatement
from tests.statements.conftest import BODY_EN, TITLE_EN, TITLE_ES

pytest.importorskip("weasyprint")
pytestmark = pytest.mark.usefixtures("clock")
# What never goes into the document: signers' names and roles for organisations, addresses, a withheld
# name, signatures not approved, and a rejection's reason.
NEVER = (
    "Ana Pérez",
    "Directora",
    "ana@accionsolidaria.info",
    "Una ONG en riesgo",
    "a@ong.example.org",
    "Secreto Unlisted",
    "Pendiente ONG",
    "Rechazada ONG",
    "Not an organisation",
    "Retirada ONG",
)


@pytest.fixture
def rendered(monkeypatch):
    """The HTML each PDF is rendered from (the PDF's text is compressed; what goes into it is this)."""
    pages = []
    real = document.render_pdf

    def keep(html, css):
        pages.append(html)
        return real(html, css)

    monkeypatch.setattr(document, "render_pdf", keep)
    return pages


@pytest.fixture
def listed(statement, signed_up, clock):
    """Approved: Acción Solidaria by name, an organisation in danger with its name withheld, one counted but
    not listed. Not approved: one waiting, one rejected, one withdrawn."""
    named, named_links = signed_up()
    withheld, _ = signed_up(
        organisation="Una ONG en riesgo", email="a@ong.example.org", website="ong.example.org", listing="withheld"
    )
    unlisted, _ = signed_up(
        organisation="Secreto Unlisted",
        email="b@unlisted.example.org",
        website="unlisted.example.org",
        listing="unlisted",
    )
    signed_up(organisation="Pendiente ONG", email="c@pendiente.example.org", website="pendiente.example.org")
    rejected, _ = signed_up(organisation="Rechazada ONG", email="d@rechazada.example.org", website="rechazada.org")
    withdrawn, withdrawn_links = signed_up(
        organisation="Retirada ONG", email="e@retirada.example.org", website="retirada.example.org"
    )
    for signature in (named, withheld, unlisted, withdrawn):
        statements.approve(signature, actor="test", now=clock.now())
    statements.reject(rejected, "Not an organisation", actor="test", now=clock.now())
    statements.withdraw(withdrawn, now=clock.now())
    db.session.commit()
    return named, named_links


def _exports() -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "export.statement_signatories").order_by(AuditEvent.id)
    ).all()


def test_a_coordinator_takes_the_list_for_delivery_as_a_pdf(client, signed_in, statement, listed, rendered, clock):
    coordinator = signed_in("coordinator")
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert f"/statements/{statement.id}/signatories.pdf?lang=en" in page
    assert f"/statements/{statement.id}/signatories.pdf?lang=es" in page
    response = client.get(f"/statements/{statement.id}/signatories.pdf?lang=en")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert f'filename="{statement.slug}-signatories.pdf"' in response.headers["Content-Disposition"]
    (html,) = rendered
    assert '<html lang="en">' in html and TITLE_EN in html and "stand with those who defend human rights" in html
    assert BODY_EN.split("\n")[0] in html
    assert f"3 signatories on {show_date(clock.today(), 'en')}." in html
    assert "Acción Solidaria" in html and "https://www.accionsolidaria.info" in html and "Venezuela" in html
    assert "Name withheld for its safety" in html
    assert "1 more signed without being listed." in html
    assert html.index("Acción Solidaria") < html.index("Name withheld for its safety")  # named first
    for never in NEVER:
        assert never not in html
    (event,) = _exports()
    assert event.actor_id == coordinator.id and event.campaign_id == statement.campaign_id
    assert event.after == {
        "rows": 2,
        "filters": {"statement": statement.slug, "status": "approved", "language": "en"},
        "format": "pdf",
    }


def test_the_pdf_speaks_the_statements_language(client, signed_in, statement, listed, rendered):
    signed_in("manager", language="en")
    assert client.get(f"/statements/{statement.id}/signatories.pdf?lang=es").status_code == 200
    (html,) = rendered
    assert '<html lang="es">' in html and TITLE_ES in html and TITLE_EN not in html
    assert "Firmantes" in html and "Nombre reservado por su seguridad" in html and "Sitio web" in html
    assert "3 firmantes el " in html and "1 firma más sin aparecer en la lista." in html
    # A language the statement is not written in: the reader's, if it has it; else the one it falls back to.
    assert client.get(f"/statements/{statement.id}/signatories.pdf?lang=fr").status_code == 200
    assert '<html lang="en">' in rendered[-1]
    assert client.get(f"/statements/{statement.id}/signatories.pdf?lang=" + "x" * 5000).status_code == 200
    assert [event.after["filters"]["language"] for event in _exports()] == ["es", "en", "en"]


def test_a_statement_in_one_language_is_delivered_in_it(client, signed_in, campaign, rendered):
    only_spanish = statements.create_statement(
        campaign, {"es": statements.Wording("Solo en castellano", "Texto.")}, actor="test"
    )
    db.session.commit()
    signed_in("coordinator", language="en")
    assert client.get(f"/statements/{only_spanish.id}/signatories.pdf").status_code == 200
    assert '<html lang="es">' in rendered[0] and "0 firmantes el " in rendered[0]
    page = client.get(f"/statements/{only_spanish.id}").get_data(as_text=True)
    assert "?lang=es" in page and "?lang=en" not in page


def test_volunteers_and_strangers_get_nothing(client, signed_in, statement, listed):
    assert client.get(f"/statements/{statement.id}/signatories.pdf").status_code == 302  # to sign in
    signed_in("volunteer")
    assert client.get(f"/statements/{statement.id}/signatories.pdf").status_code == 404
    assert _exports() == []


@pytest.fixture
def letter(make_record, make_letter, clock):
    record = make_record("FRA")
    made = make_letter(record, subject="Lettre ouverte", sent_on=clock.today() - dt.timedelta(days=1))
    db.session.commit()
    return made


def test_the_pdf_for_a_delivered_letter_lists_what_was_frozen_on_it(
    client, signed_in, statement, listed, letter, rendered, signed_up, clock
):
    _named, named_links = listed
    later, _ = signed_up(organisation="Llegó Después", email="f@despues.example.org", website="despues.example.org")
    statements.attach(letter, statement, actor="test", now=clock.now())
    db.session.commit()
    signed_in("coordinator")
    url = f"/statements/{statement.id}/signatories.pdf?letter={letter.id}"
    # Before delivery: the list as it stands, said to be frozen at delivery.
    assert client.get(url).status_code == 200
    assert "3 signatories on" in rendered[-1] and "the list is frozen on the letter to France" in rendered[-1]
    delivered_on = clock.today()
    response = client.post(
        f"/letters/{letter.id}/delivered", data={"delivered_on": delivered_on.isoformat(), "version": letter.version}
    )
    assert response.status_code == 302
    # After delivery the list changes: Acción Solidaria withdraws, another organisation is approved.
    assert client.post(named_links["withdraw"]).status_code == 200
    statements.approve(later, actor="test", now=clock.now())
    db.session.commit()

    response = client.get(url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert f'filename="{statement.slug}-signatories-letter-{letter.id}.pdf"' in response.headers["Content-Disposition"]
    html = rendered[-1]
    day = show_date(delivered_on, "en")
    assert f"3 signatories, as delivered with the letter to France on {day}." in html
    assert "Acción Solidaria" in html and "https://www.accionsolidaria.info" in html
    assert "Llegó Después" not in html
    for never in NEVER:
        assert never not in html
    # The list as it stands says otherwise.
    client.get(f"/statements/{statement.id}/signatories.pdf")
    assert "Llegó Después" in rendered[-1] and "Acción Solidaria" not in rendered[-1]
    assert _exports()[-2].after["filters"]["letter"] == letter.id
    # The statement's page and the letter's page lead to it.
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert "France: Lettre ouverte" in page and f"signatories.pdf?letter={letter.id}" in page
    assert f"Delivered on {day} with 3 signatories, frozen on the letter." in page
    page = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert f"/statements/{statement.id}/signatories.pdf?letter={letter.id}" in page


def test_a_list_frozen_before_websites_were_kept_still_prints(client, signed_in, statement, listed, letter, rendered):
    statements.attach(letter, statement, actor="test", now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    attached = db.session.get(LetterStatement, (letter.id, statement.id))
    attached.frozen_at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    attached.signatories = {
        "organisations": [{"id": 1, "name": "Old Org", "role": None, "country": "VEN", "withheld": False}],
        "individuals": [{"id": 2, "name": None, "role": None, "country": "ESP", "withheld": False, "erased": True}],
        "unlisted": 0,
        "total": 2,
    }
    db.session.commit()
    signed_in("coordinator")
    assert client.get(f"/statements/{statement.id}/signatories.pdf?letter={letter.id}").status_code == 200
    assert "Old Org" in rendered[-1] and "Name erased at their request" in rendered[-1]


@pytest.mark.parametrize("letter_id", ["999999", "abc", "0", "-1", ""])
def test_a_letter_that_is_not_there_is_not_found(client, signed_in, statement, listed, letter_id):
    signed_in("coordinator")
    assert client.get(f"/statements/{statement.id}/signatories.pdf?letter={letter_id}").status_code == 404
    assert _exports() == []


@pytest.mark.parametrize("letter_id", [2**31, 2**63, 10**20])
def test_a_letter_id_too_large_is_a_clear_refusal(client, signed_in, statement, listed, letter_id):
    signed_in("coordinator")
    response = client.get(f"/statements/{statement.id}/signatories.pdf?letter={letter_id}")
    assert response.status_code == 400 and "too large" in response.get_data(as_text=True)
    assert _exports() == []


def test_a_letter_the_statement_does_not_go_with_is_not_found(client, signed_in, statement, listed, letter):
    signed_in("coordinator")
    assert client.get(f"/statements/{statement.id}/signatories.pdf?letter={letter.id}").status_code == 404
    assert _exports() == []


def test_what_a_signatory_typed_is_text_in_the_document(client, signed_in, statement, signed_up, rendered, clock):
    hostile, _ = signed_up(organisation='<img src="file:///etc/passwd"> ONG', email="g@hostile.example.org")
    statements.approve(hostile, actor="test", now=clock.now())
    db.session.commit()
    signed_in("coordinator")
    response = client.get(f"/statements/{statement.id}/signatories.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt; ONG" in rendered[-1] and "<img" not in rendered[-1]


def test_without_the_renderer_the_answer_says_so(client, signed_in, statement, listed, monkeypatch):
    def missing(html, css):
        raise RendererMissing("no pango")

    monkeypatch.setattr(document, "render_pdf", missing)
    signed_in("coordinator")
    assert client.get(f"/statements/{statement.id}/signatories.pdf").status_code == 503
    assert _exports() == []


def test_people_who_signed_in_their_own_name_are_listed_as_they_asked(client, signed_in, campaign, rendered, clock):
    open_to_people = statements.create_statement(
        campaign, {"en": statements.Wording("Open to people", "Text.")}, actor="test", individuals_may_sign=True
    )
    for name, listing in (("María Listada", "named"), ("Pedro Reservado", "withheld"), ("Luz Sin Lista", "unlisted")):
        signature = statements.sign(
            open_to_people,
            statements.SignUp(
                kind="individual",
                country=country_by_code("ESP"),
                signer_name=name,
                signer_role="Periodista",
                email=f"{name.split()[0].lower()}@example.org",
                listing=listing,
                consent=True,
            ),
            language="en",
            now=clock.now(),
        ).signature
        statements.confirm(signature, now=clock.now())
        statements.approve(signature, actor="test", now=clock.now())
    db.session.commit()
    signed_in("coordinator")
    assert client.get(f"/statements/{open_to_people.id}/signatories.pdf").status_code == 200
    html = rendered[-1]
    assert "María Listada, Periodista" in html and "Name withheld for their safety" in html and "Spain" in html
    assert "Pedro Reservado" not in html and "Luz Sin Lista" not in html and "@example.org" not in html
    assert "3 signatories on" in html and "1 more signed without being listed." in html
