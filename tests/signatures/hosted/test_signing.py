"""A visitor signs a hosted petition in their language and confirms through the one link sent; until then
the signature counts for nothing, and a week later it is gone. Once confirmed it counts once in the
campaign, with the imported signatures, and little is kept of the signer."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.reminders import jobs
from crm.signatures.hosted_models import HostedSignature
from crm.signatures.imports import import_file
from crm.signatures.models import Signature
from crm.signatures.totals import totals_for
from tests.conftest import count_rows
from tests.signatures.conftest import assert_kept_as_recounted, import_fixture
from tests.signatures.hosted.conftest import confirmation_to, hosted_signatures, links_for, sign

pytestmark = pytest.mark.usefixtures("clock")


def total(campaign, alpha3=None):
    totals = totals_for(campaign)
    return totals.by_country.get(alpha3, 0) if alpha3 else totals.total


def test_the_public_page_is_in_the_visitors_language_with_the_demands_and_the_form(client, petition):
    page = client.get(f"/sign/{petition.slug}", headers={"Accept-Language": "es-VE,es;q=0.9"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="es">' in html and "Firma por Venezuela" in html and "Pedimos a los gobiernos" in html
    assert 'name="homepage"' in html and 'name="started"' in html and 'name="wants_contact"' in html
    assert (
        'name="wants_contact" type="checkbox" value="y">' in html
        or "checked" not in html.split("wants_contact")[1][:80]
    )
    assert "España" in html and "7 días" in html and "730 días" in html
    assert (
        page.headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    )


def test_an_imported_petitions_slug_has_no_signing_page(client, make_petition):
    imported = make_petition("Action Network", platform="action_network")
    db.session.commit()
    assert client.get(f"/sign/{imported.slug}").status_code == 404


def test_unconfirmed_never_counts_and_is_gone_after_its_week(client, petition, campaign, clock, app):
    assert sign(client, petition).status_code == 302
    (signature,) = hosted_signatures()
    assert signature.status == "pending" and total(campaign) == 0
    assert confirmation_to("ana@example.org").language == "es"
    clock.advance(days=6, hours=23)
    jobs.sweep_hosted_signups()
    assert total(campaign) == 0 and len(hosted_signatures()) == 1
    clock.advance(hours=2)
    jobs.sweep_hosted_signups()
    assert hosted_signatures() == [] and total(campaign) == 0
    assert count_rows(OutboundMessage) == 0


def test_a_confirmed_signature_counts_once_in_its_country_and_the_link_works_once(client, petition, campaign):
    sign(client, petition)
    links = links_for("ana@example.org")
    assert client.get(links["confirm"]).status_code == 200  # a mail scanner opening it changes nothing
    assert total(campaign) == 0
    assert client.post(links["confirm"]).status_code == 200
    assert total(campaign) == 1 and total(campaign, "ESP") == 1
    assert client.post(links["confirm"]).status_code == 404
    page = client.get(f"/sign/{petition.slug}?lang=es").get_data(as_text=True)
    assert "1 persona ha firmado" in page


def test_the_link_is_never_sent_again_and_a_second_sign_up_changes_nothing(client, petition, campaign):
    sign(client, petition)
    assert sign(client, petition, name="Otra").status_code == 302
    assert count_rows(OutboundMessage) == 1 and len(hosted_signatures()) == 1


def test_without_the_second_consent_no_plain_address_remains_in_any_table(client, petition):
    sign(client, petition, postal_code="28001", name="Ana Reservada")
    client.post(links_for("ana@example.org")["confirm"])
    (signature,) = hosted_signatures()
    assert (signature.status, signature.email, signature.name, signature.postal_code) == ("confirmed", None, None, None)
    found = []
    for table in db.metadata.sorted_tables:
        text_columns = [column for column in table.columns if isinstance(column.type, (sa.String, sa.Text, sa.JSON))]
        for row in db.session.execute(sa.select(*text_columns)) if text_columns else []:
            for value in row:
                if value is not None and any(
                    part in str(value) for part in ("ana@example.org", "Ana Reservada", "28001")
                ):
                    found.append((table.name, str(value)[:80]))
    assert found == []


def test_with_the_second_consent_the_address_is_kept_until_its_retention_ends(client, petition, clock):
    sign(client, petition, wants_contact="y", show_name="y")
    client.post(links_for("ana@example.org")["confirm"])
    (signature,) = hosted_signatures()
    assert (signature.email, signature.name, signature.postal_code) == ("ana@example.org", "Ana Pérez", "28001")
    clock.advance(days=731)
    jobs.sweep_hosted_signups()
    db.session.refresh(signature)
    assert (signature.email, signature.name, signature.postal_code) == (None, "Ana Pérez", None)


def test_someone_imported_from_action_network_and_signing_here_counts_once(client, petition, campaign, make_petition):
    imported = make_petition("Action Network", platform="action_network")
    import_fixture(imported, "action_network.csv")
    db.session.commit()
    before, in_spain = total(campaign), total(campaign, "ESP")
    sign(client, petition)
    client.post(links_for("ana@example.org")["confirm"])
    assert (total(campaign), total(campaign, "ESP")) == (before, in_spain)
    (signature,) = hosted_signatures()
    assert signature.status == "confirmed" and signature.signature_id is None


def test_signing_here_first_then_importing_the_same_address_counts_once(client, petition, campaign, make_petition):
    sign(client, petition, email="Bruno@example.org", country="CAN")
    client.post(links_for("bruno@example.org")["confirm"])
    assert total(campaign) == 1
    imported = make_petition("Action Network", platform="action_network")
    outcome = import_fixture(imported, "action_network.csv")
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Signature))
    assert total(campaign) == rows
    assert outcome.record.rows_duplicate >= 1


def test_withdrawing_takes_the_signature_out_of_the_count(client, petition, campaign):
    sign(client, petition, wants_contact="y")
    links = links_for("ana@example.org")
    client.post(links["confirm"])
    assert total(campaign) == 1
    assert client.post(links["withdraw"]).status_code == 200
    (signature,) = hosted_signatures()
    assert (signature.status, signature.email, signature.name) == ("withdrawn", None, None)
    assert total(campaign) == 0 and count_rows(Signature) == 0


def test_confirmed_and_withdrawn_signatures_keep_the_counts_equal_to_a_count_from_scratch(
    client, petition, campaign, make_petition
):
    # Signers on paper in Spain on another petition: the hosted ones, known by their address, overlap them.
    paper = "name,postal_code,country\nPedro Gómez,28001,ES\nRosa Pérez,28002,ES\n"
    import_file(make_petition(), io.BytesIO(paper.encode()), filename="paper.csv", without_email=True)
    people = ("ana@example.org", "198.51.100.7"), ("ben@example.org", "203.0.113.9")
    for email, address in people:
        assert sign(client, petition, email=email, address=address).status_code == 302
    links = {email: links_for(email) for email, _ in people}
    for email, _ in people:
        client.post(links[email]["confirm"])
    assert total(campaign) == 2 and totals_for(campaign).total_upper == 4
    assert_kept_as_recounted(campaign)
    client.post(links["ben@example.org"]["withdraw"])
    assert total(campaign) == 2 and totals_for(campaign).total_upper == 3
    assert_kept_as_recounted(campaign)


def test_a_burst_from_one_network_is_held_until_a_coordinator_releases_it(client, petition, campaign, app):
    app.config["HOSTED_REVIEW_AFTER"] = 2
    try:
        for number in range(3):
            assert (
                sign(client, petition, email=f"p{number}@example.org", address=f"203.0.113.{number}").status_code == 302
            )
    finally:
        app.config["HOSTED_REVIEW_AFTER"] = 10
    for number in range(3):
        client.post(links_for(f"p{number}@example.org")["confirm"])
    assert [s.status for s in hosted_signatures()] == ["confirmed", "confirmed", "held"]
    assert total(campaign) == 2
    from crm.signatures import hosted

    hosted.release(hosted_signatures(status="held")[0], actor="test", now=dt.datetime.now(dt.UTC))
    assert total(campaign) == 3


@pytest.mark.parametrize(
    "changes",
    [
        {"homepage": "http://spam.example"},
        {"started": "forged"},
        {"consent": None},
        {"email": "not-an-address"},
        {"country": "XXX"},
        {"name": "Ana\u202eevil"},
        {"name": "x" * 201},
        {"postal_code": "1" * 21},
    ],
    ids=["honeypot", "forged_time", "no_consent", "bad_email", "bad_country", "bidi", "long_name", "long_postal"],
)
def test_hostile_or_incomplete_input_is_refused_and_nothing_is_written(client, petition, changes):
    before = (count_rows(HostedSignature), count_rows(OutboundMessage), count_rows(Signature))
    response = sign(client, petition, **changes)
    assert 400 <= response.status_code < 500
    assert (count_rows(HostedSignature), count_rows(OutboundMessage), count_rows(Signature)) == before


def test_too_large_a_body_is_refused_before_it_is_read(client, petition):
    response = sign(client, petition, name="x" * 40_000)
    assert response.status_code == 413 and count_rows(HostedSignature) == 0


def test_the_rate_limit_per_address_refuses_with_429(client, petition, app):
    app.config["PUBLIC_FORM_ADDRESS_LIMIT"] = 2
    try:
        statuses = [sign(client, petition, email=f"r{n}@example.org").status_code for n in range(3)]
    finally:
        app.config["PUBLIC_FORM_ADDRESS_LIMIT"] = 10
    assert statuses == [302, 302, 429] and count_rows(HostedSignature) == 2


def test_the_form_may_be_framed_only_by_the_petitions_listed_sites(client, petition):
    from crm.signatures import hosted

    hosted.set_page(petition, texts={}, totals_by_country=False, frame_origins="https://campaign.example/\n", actor="t")
    db.session.commit()
    page = client.get(f"/sign/{petition.slug}")
    assert "frame-ancestors 'self' https://campaign.example" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers
    other = client.get("/login")
    assert (
        other.headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    )


def test_a_frame_origin_that_is_not_an_origin_is_refused(petition):
    from crm.signatures import hosted

    for bad in ("https://a.example/path", "javascript:alert(1)", "https://a.example; script-src *", "*"):
        with pytest.raises(hosted.HostedError):
            hosted.clean_origins(bad)


def test_signing_two_hosted_petitions_counts_once_and_withdrawing_one_keeps_the_other(
    client, petition, campaign, make_petition
):
    from crm.signatures import hosted

    second = make_petition("Segunda", platform="hosted")
    db.session.commit()
    links = {}
    for each in (petition, second):
        sign(client, each)
        links[each.id] = links_for("ana@example.org")
        client.post(links[each.id]["confirm"])
    assert total(campaign) == 1 and count_rows(Signature) == 1
    client.post(links[petition.id]["withdraw"])
    assert total(campaign) == 1
    (standing,) = hosted_signatures(status="confirmed")
    assert standing.petition_id == second.id and standing.signature_id is not None
    assert hosted.status_counts(petition) == {"withdrawn": 1}


def test_a_confirmation_and_a_withdrawal_each_change_the_totals_for_webhooks(client, petition, make_user):
    from crm.webhooks.models import WebhookDelivery, WebhookSubscription

    db.session.add(
        WebhookSubscription(url="https://hooks.example.org/in", events="signatures.totals_changed", secret="whsec_t")
    )
    db.session.commit()
    sign(client, petition)
    links = links_for("ana@example.org")
    client.post(links["confirm"])
    client.post(links["withdraw"])
    changes = [json.loads(d.body)["data"] for d in db.session.scalars(sa.select(WebhookDelivery).order_by("id"))]
    assert [(c["petition"], c["source"], c.get("new_signatures"), c.get("removed_signatures")) for c in changes] == [
        (petition.slug, "hosted", 1, None),
        (petition.slug, "hosted", None, 1),
    ]
