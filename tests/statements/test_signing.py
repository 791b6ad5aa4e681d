"""A visitor signs a statement on its public page, in their language, and confirms the address through the
single-use link the mail queue sends; until then the signature waits and counts for nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.mail import services as mailer
from crm.reminders import jobs
from crm.statements.models import StatementSignature
from tests.conftest import count_rows
from tests.reminders.conftest import text_and_html
from tests.statements.conftest import (
    BODY_ES,
    TITLE_EN,
    TITLE_ES,
    confirmation_to,
    links_for,
    links_in,
    sign,
    signatures,
)

pytestmark = pytest.mark.usefixtures("clock")


def test_the_public_page_shows_the_text_and_the_form_without_signing_in(client, statement):
    page = client.get(f"/s/{statement.slug}", headers={"Accept-Language": "es-VE,es;q=0.9"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="es">' in html and TITLE_ES in html and "nos solidarizamos" in html
    assert "Firmar esta declaración" in html and 'name="homepage"' in html and 'name="started"' in html
    assert "Sign out" not in html and "Menú" not in html
    english = client.get(f"/s/{statement.slug}?lang=en").get_data(as_text=True)
    assert TITLE_EN in english and '<html lang="en">' in english


def test_a_visitor_signs_in_spanish_and_gets_the_link_in_spanish(client, statement):
    response = sign(client, statement, lang="es")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/s/{statement.slug}?lang=es#sent")
    (signature,) = signatures()
    assert (signature.status, signature.language, signature.organisation) == ("unconfirmed", "es", "Acción Solidaria")
    assert signature.email == "ana@accionsolidaria.info" and signature.country.alpha3 == "VEN"
    message = confirmation_to("ana@accionsolidaria.info")
    assert message.status == "pending" and message.language == "es"
    assert message.subject == f"Confirme su firma: {TITLE_ES}"
    links = links_in(message.body_text)
    assert links["confirm"] and links["withdraw"]
    # Only hashes of the links' secrets are kept.
    for path in links.values():
        token = path.rsplit("/", 1)[1]
        assert token not in (signature.confirm_token_hash, signature.withdraw_token_hash)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ana@accionsolidaria.info" in page and "7 días" in page
    # Not counted, not listed, before it is confirmed.
    assert "Acción Solidaria" not in page.split('id="signatories"')[1].split('id="sign"')[0]


def test_opening_the_link_shows_a_button_and_only_the_button_confirms(client, statement):
    sign(client, statement, lang="es")
    link = links_for("ana@accionsolidaria.info")["confirm"]
    page = client.get(link)
    assert page.status_code == 200 and "Confirmar mi firma" in page.get_data(as_text=True)
    assert signatures()[0].status == "unconfirmed"  # a mail scanner opening the link changes nothing
    done = client.post(link)
    assert done.status_code == 200 and "confirmada" in done.get_data(as_text=True)
    (signature,) = signatures()
    assert signature.status == "confirmed" and signature.confirmed_at is not None
    assert signature.confirm_token_hash is None
    # The link works once.
    assert client.get(link).status_code == 404
    assert client.post(link).status_code == 404
    assert signatures()[0].status == "confirmed"
    assert [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))][-2:] == [
        "statement_signature.sign",
        "statement_signature.confirm",
    ]


def test_the_schedulers_sweep_sends_the_link_and_the_outbox_forgets_it(app, client, statement, smtp):
    sign(client, statement, lang="es")
    jobs.send_due_reminders()
    (received,) = smtp.mailbox.to("ana@accionsolidaria.info")
    text, html = text_and_html(received)
    assert received["Subject"] == f"Confirme su firma: {TITLE_ES}"
    links = links_in(text)
    assert links["confirm"] in html and links["withdraw"] in html
    assert "Acción Solidaria" in text
    jobs.drop_unconfirmed_signups()
    assert links["confirm"] not in confirmation_to("ana@accionsolidaria.info").body_text
    assert client.post(links["confirm"]).status_code == 200


def test_the_link_is_never_sent_again_but_signing_again_replaces_it(client, statement):
    sign(client, statement)
    first = links_for("ana@accionsolidaria.info")
    again = sign(client, statement, organisation="Acción Solidaria (Caracas)")
    assert again.status_code == 302
    (signature,) = signatures()  # the earlier sign-up is replaced, not kept beside it
    assert signature.organisation == "Acción Solidaria (Caracas)"
    assert client.get(first["confirm"]).status_code == 404
    second = links_for("ana@accionsolidaria.info")
    assert second["confirm"] != first["confirm"]
    assert client.post(second["confirm"]).status_code == 200
    assert count_rows(StatementSignature) == 1
    # Nothing on any page sends the same link again: the only way is the form.
    assert not [
        rule
        for rule in client.application.url_map.iter_rules()
        if rule.endpoint.startswith("statements.") and "resend" in rule.rule
    ]


def test_a_sign_up_waits_a_week_then_it_and_its_link_are_gone(client, statement, clock):
    sign(client, statement)
    link = links_for("ana@accionsolidaria.info")["confirm"]
    clock.advance(days=6, hours=23)
    assert jobs.drop_unconfirmed_signups().dropped == 0
    assert client.get(link).status_code == 200
    clock.advance(hours=1)
    assert client.get(link).status_code == 404  # expired, even before the job runs
    result = jobs.drop_unconfirmed_signups()
    assert result.dropped == 1 and "dropped 1" in result.line("statement-signups")
    assert count_rows(StatementSignature) == 0
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "statement.unconfirmed_dropped" and event.after == {"dropped": 1}


def test_the_expiry_is_given_its_moment(app, client, statement, clock):
    """The job takes `now`: a run with an earlier moment drops nothing that is still within its week."""
    from crm.statements import services as statements

    sign(client, statement)
    assert statements.drop_unconfirmed(clock.now() + dt.timedelta(days=6)) == 0
    assert statements.drop_unconfirmed(clock.now() + dt.timedelta(days=7)) == 1


def test_a_confirmed_signature_is_not_dropped(client, signed_up, clock):
    signed_up()
    clock.advance(days=30)
    assert jobs.drop_unconfirmed_signups().dropped == 0
    assert signatures()[0].status == "confirmed"


def test_the_text_of_the_statement_is_shown_as_text(client, statement):
    html = client.get(f"/s/{statement.slug}?lang=es").get_data(as_text=True)
    assert BODY_ES.split("\n")[0] in html


def test_the_mail_is_queued_once_per_sign_up(client, statement):
    sign(client, statement)
    assert mailer.deliver_pending().sent == 1
    assert mailer.deliver_pending().sent == 0
