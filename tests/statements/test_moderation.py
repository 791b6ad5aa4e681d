"""Coordinators and managers moderate a statement's confirmed signatures: a queue that flags an address
not at the organisation's website, approve (then it is listed), reject with a reason kept inside, merge
duplicates. Each decision is audited; the public never sees an address or a reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.statements.models import StatementSignature
from tests.statements.conftest import signatures

pytestmark = pytest.mark.usefixtures("clock")


def _public_list(client, statement) -> str:
    html = client.get(f"/s/{statement.slug}?lang=en").get_data(as_text=True)
    return html.split('id="signatories"')[1].split('id="sign"')[0]


def _events(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_the_queue_flags_an_address_that_is_not_at_the_website(client, signed_in, statement, signed_up):
    signed_up()
    signed_up(organisation="Provea", website="provea.org", email="someone@gmail.com", signer_name="Rafael Uzcátegui")
    coordinator = signed_in("coordinator")
    page = client.get(f"/statements/{statement.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "To moderate (2)" in html
    queue = html.split('id="queue"')[1].split('id="approved"')[0]
    provea, accion = queue.split("Provea")[1], queue.split("Provea")[0]
    assert "The address is not at the website's domain (gmail.com, provea.org)." in provea
    assert "not at the website" not in accion  # ana@accionsolidaria.info and www.accionsolidaria.info match
    # Coordinators and above see the addresses.
    assert "someone@gmail.com" in html and "ana@accionsolidaria.info" in html
    assert coordinator.role == "coordinator"


def test_a_moderator_approves_and_the_signature_is_listed(client, signed_in, statement, signed_up):
    signature, _ = signed_up()
    assert "Acción Solidaria" not in _public_list(client, statement)
    coordinator = signed_in("coordinator")
    response = client.post(f"/statements/signatures/{signature.id}/approve", data={"version": signature.version})
    assert response.status_code == 302
    db.session.refresh(signature)
    assert (signature.status, signature.decided_by_id) == ("approved", coordinator.id)
    listed = _public_list(client, statement)
    assert "Acción Solidaria" in listed and "Venezuela" in listed and "accionsolidaria.info" in listed
    # The public list names the organisation, never the person who signed for it nor their address.
    assert "Ana Pérez" not in listed and "ana@" not in client.get(f"/s/{statement.slug}").get_data(as_text=True)
    (event,) = _events("statement_signature.approve")
    assert event.actor_id == coordinator.id and event.after == {"status": "approved"}


def test_a_moderator_rejects_with_a_reason_kept_inside(client, signed_in, statement, signed_up):
    signature, _ = signed_up()
    signed_in("manager")
    refused = client.post(f"/statements/signatures/{signature.id}/reject", data={"reason": "  "})
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    assert signatures()[0].status == "confirmed"
    done = client.post(
        f"/statements/signatures/{signature.id}/reject",
        data={"reason": "Not a human rights organisation", "version": signature.version},
    )
    assert done.status_code == 302
    assert signatures()[0].status == "rejected"
    staff_page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert "Not a human rights organisation" in staff_page.split('id="history"')[1]
    public = client.get(f"/s/{statement.slug}").get_data(as_text=True)
    assert "Acción Solidaria" not in public and "human rights organisation" not in public
    (event,) = _events("statement_signature.reject")
    assert event.after == {"status": "rejected", "reason": "Not a human rights organisation"}


def test_a_decision_without_the_version_the_moderator_saw_is_refused(client, signed_in, signed_up):
    signature, _ = signed_up()
    signed_in("coordinator")
    response = client.post(f"/statements/signatures/{signature.id}/approve")
    assert response.status_code == 409
    assert signatures()[0].status == "confirmed"


def test_a_decision_on_a_signature_that_changed_is_refused(client, signed_in, statement, signed_up):
    signature, _ = signed_up()
    signed_in("coordinator")
    stale = signature.version
    assert client.post(f"/statements/signatures/{signature.id}/approve", data={"version": stale}).status_code == 302
    again = client.post(f"/statements/signatures/{signature.id}/reject", data={"version": stale, "reason": "Duplicate"})
    assert again.status_code == 409 and "changed since the page was opened" in again.get_data(as_text=True)
    assert signatures()[0].status == "approved"
    assert _events("statement_signature.reject") == []


def test_duplicates_are_merged_and_counted_once(client, signed_in, statement, signed_up):
    first, _ = signed_up()
    second, _ = signed_up(email="direccion@accionsolidaria.info", signer_name="Carlos Correa")
    signed_in("coordinator")
    client.post(f"/statements/signatures/{first.id}/approve", data={"version": first.version})
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert "Possibly the same as:" in page
    merge_page = client.get(f"/statements/signatures/{second.id}/merge").get_data(as_text=True)
    assert f'<option value="{first.id}">Acción Solidaria' in merge_page
    refused = client.post(f"/statements/signatures/{second.id}/merge", data={"survivor": str(second.id)})
    assert refused.status_code == 400
    done = client.post(
        f"/statements/signatures/{second.id}/merge", data={"survivor": str(first.id), "version": second.version}
    )
    assert done.status_code == 302
    db.session.refresh(second)
    assert (second.status, second.merged_into_id) == ("merged", first.id)
    listed = _public_list(client, statement)
    assert listed.count("Acción Solidaria") == 1 and "1 signature so far." in listed
    history = client.get(f"/statements/{statement.id}").get_data(as_text=True).split('id="history"')[1]
    assert "Carlos Correa" in history and "Merged into another" in history
    (event,) = _events("statement_signature.merge")
    assert event.after == {"status": "merged", "into": first.id}


def test_an_unconfirmed_sign_up_is_not_for_moderators(client, signed_in, statement):
    from tests.statements.conftest import sign

    sign(client, statement)
    (signature,) = signatures()
    signed_in("coordinator")
    assert client.post(f"/statements/signatures/{signature.id}/approve").status_code == 404
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert "Nothing to moderate." in page and "ana@accionsolidaria.info" not in page
    assert db.session.get(StatementSignature, signature.id).status == "unconfirmed"


def test_volunteers_do_not_moderate(client, signed_in, statement, signed_up):
    signature, _ = signed_up()
    signed_in("volunteer")
    assert client.get(f"/statements/{statement.id}").status_code == 404
    assert client.post(f"/statements/signatures/{signature.id}/approve").status_code == 404
    assert signatures()[0].status == "confirmed"


def test_an_archived_campaigns_signatures_are_not_decided(client, signed_in, statement, signed_up, campaign):
    from crm.database import utcnow

    signature, _ = signed_up()
    campaign.archived_at = utcnow()
    db.session.commit()
    signed_in("manager")
    response = client.post(f"/statements/signatures/{signature.id}/approve", data={"version": signature.version})
    assert response.status_code == 409 and "archived" in response.get_data(as_text=True)
    assert signatures()[0].status == "confirmed"
    # And its public page takes no more signatures.
    assert "not open for signatures" in client.get(f"/s/{statement.slug}").get_data(as_text=True)
