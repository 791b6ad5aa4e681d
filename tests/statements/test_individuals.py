"""A statement that individuals may sign lists them apart from the organisations; one that they may not
refuses them. Anyone may be listed by name, with their name withheld, or not at all."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.statements import services as statements
from tests.statements.conftest import signatures

pytestmark = pytest.mark.usefixtures("clock")


def _approve_all(clock):
    for signature in signatures(status="confirmed"):
        statements.approve(signature, actor="test", now=clock.now())
    db.session.commit()


def test_individuals_sign_and_are_listed_apart(client, statement, signed_up, clock):
    statement.individuals_may_sign = True
    db.session.commit()
    page = client.get(f"/s/{statement.slug}?lang=es").get_data(as_text=True)
    assert "Una persona, a título personal" in page
    signed_up()
    signed_up(
        kind="individual",
        organisation="",
        website="",
        signer_name="Tamara Suju",
        signer_role="Abogada",
        email="tamara@example.net",
    )
    _approve_all(clock)
    html = client.get(f"/s/{statement.slug}?lang=en").get_data(as_text=True)
    listed = html.split('id="signatories"')[1]
    organisations, individuals = listed.split("<h3>Individuals</h3>")
    assert "Acción Solidaria" in organisations and "Tamara Suju" not in organisations
    assert "Tamara Suju</strong>, Abogada" in individuals
    assert "2 signatures so far." in listed


def test_names_are_withheld_or_not_listed_as_asked(client, statement, signed_up, clock):
    signed_up()
    signed_up(
        organisation="Una ONG en riesgo", email="a@ong.example.org", website="ong.example.org", listing="withheld"
    )
    signed_up(
        organisation="Discreta", email="b@discreta.example.org", website="discreta.example.org", listing="unlisted"
    )
    _approve_all(clock)
    html = client.get(f"/s/{statement.slug}?lang=es").get_data(as_text=True)
    assert "Acción Solidaria" in html
    assert "Una organización en Venezuela, nombre reservado por su seguridad" in html
    assert "Una ONG en riesgo" not in html and "Discreta" not in html and "ong.example.org" not in html
    assert "1 firma más sin aparecer en la lista." in html and "3 firmas hasta ahora." in html


def test_the_logo_is_only_allowed_beside_a_published_name(client, statement, signed_up):
    signed_up(listing="withheld", publish_logo="y")
    assert signatures()[0].publish_logo is False
