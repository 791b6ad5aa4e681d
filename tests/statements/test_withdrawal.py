"""An organisation withdraws its signature from the link in its confirmation e-mail: it leaves the public
list at once, and the history keeps it."""

from __future__ import annotations

import pytest

from crm.statements import services as statements
from crm.statements.models import StatementSignature
from tests.statements.conftest import links_for, sign, signatures

pytestmark = pytest.mark.usefixtures("clock")


def _approve(signature, clock):
    statements.approve(signature, actor="test", now=clock.now())


def test_a_listed_organisation_withdraws_and_leaves_the_list(app, client, signed_in, statement, signed_up, clock):
    from crm.extensions import db

    signature, links = signed_up()
    _approve(signature, clock)
    db.session.commit()
    assert "Acción Solidaria" in client.get(f"/s/{statement.slug}").get_data(as_text=True)
    page = client.get(links["withdraw"])
    assert page.status_code == 200 and "Withdraw this signature" in page.get_data(as_text=True)
    assert signatures()[0].status == "approved"  # opening the link changes nothing
    done = client.post(links["withdraw"])
    assert done.status_code == 200 and "The signature is withdrawn" in done.get_data(as_text=True)
    (withdrawn,) = signatures()
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawn_at == clock.now()
    public = client.get(f"/s/{statement.slug}").get_data(as_text=True)
    assert "Acción Solidaria" not in public and "No signatures are listed yet." in public
    signed_in("coordinator")
    history = client.get(f"/statements/{statement.id}").get_data(as_text=True).split('id="history"')[1]
    assert "Acción Solidaria" in history and "Withdrawn" in history
    # The link still answers, saying so; withdrawing twice is refused and changes nothing.
    assert "The signature is withdrawn" in client.get(links["withdraw"]).get_data(as_text=True)
    assert client.post(links["withdraw"]).status_code == 409


def test_a_sign_up_withdrawn_before_it_is_confirmed_cannot_be_confirmed(client, statement):
    sign(client, statement)
    links = links_for("ana@accionsolidaria.info")
    assert client.post(links["withdraw"]).status_code == 200
    assert signatures()[0].status == "withdrawn"
    assert client.get(links["confirm"]).status_code == 404


def test_the_duplicates_link_withdraws_the_organisations_signature(app, client, statement, signed_up, clock):
    from crm.extensions import db

    first, _ = signed_up()
    second, second_links = signed_up(email="direccion@accionsolidaria.info")
    _approve(first, clock)
    statements.merge(second, first, actor="test", now=clock.now())
    db.session.commit()
    assert client.post(second_links["withdraw"]).status_code == 200
    assert [s.status for s in signatures()] == ["withdrawn", "withdrawn"]
    assert "Acción Solidaria" not in client.get(f"/s/{statement.slug}").get_data(as_text=True)


def test_a_rejected_signature_has_nothing_to_withdraw(app, client, statement, signed_up, clock):
    from crm.extensions import db

    signature, links = signed_up()
    statements.reject(signature, "Not an organisation", actor="test", now=clock.now())
    db.session.commit()
    page = client.get(links["withdraw"]).get_data(as_text=True)
    assert "There is no signature to withdraw here" in page and "Not an organisation" not in page
    assert client.post(links["withdraw"]).status_code == 409
    assert signatures()[0].status == "rejected"


def test_a_link_that_names_no_signature_is_not_found(client, statement):
    assert client.get("/s/withdraw/" + "x" * 43).status_code == 404
    assert client.get("/s/withdraw/" + "x" * 500).status_code == 404
    assert StatementSignature.query.count() == 0
