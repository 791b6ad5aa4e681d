"""A hosted petition's signer asks to be erased: the privacy tools find them by the keyed hash of their
address (most keep no address at all) and erase the sign-up, the signature it counted and its e-mail."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.privacy import services as privacy
from crm.signatures.hosted_models import HostedSignature
from crm.signatures.models import Signature
from crm.signatures.totals import totals_for
from tests.conftest import count_rows
from tests.signatures.hosted.conftest import links_for, sign

pytestmark = pytest.mark.usefixtures("clock")


def test_a_confirmed_signer_without_a_kept_address_is_found_and_erased(client, petition, campaign):
    sign(client, petition, email="Ana@Example.org")
    client.post(links_for("ana@example.org")["confirm"])
    sign(client, petition, email="luis@example.org")  # waiting for his link, his e-mail in the outbox
    found = privacy.find_person("ana@example.org")
    assert len(found.hosted_signatures) == 1 and len(found.signatures) == 1
    result = privacy.erase_person(found, actor="test", reason="asked by e-mail")
    db.session.commit()
    assert result.signatures == 1
    assert count_rows(HostedSignature) == 1 and count_rows(Signature) == 0
    assert totals_for(campaign).total == 0
    assert count_rows(OutboundMessage) == 1  # Luis's, untouched


def test_a_signer_still_waiting_for_the_link_is_erased_with_the_email(client, petition):
    sign(client, petition)
    found = privacy.find_person("ana@example.org")
    assert len(found.hosted_signatures) == 1 and found.signatures == []
    privacy.erase_person(found, actor="test", reason="asked by e-mail")
    db.session.commit()
    assert count_rows(HostedSignature) == 0 and count_rows(OutboundMessage) == 0


def test_the_addresses_kept_with_consent_are_exported_only_by_managers_and_audited(client, petition, signed_in):
    from crm.audit.models import AuditEvent

    sign(client, petition, wants_contact="y")
    client.post(links_for("ana@example.org")["confirm"])
    sign(client, petition, email="luis@example.org")
    client.post(links_for("luis@example.org")["confirm"])
    signed_in("manager")
    response = client.get(f"/petitions/{petition.slug}/hosted-contacts.csv")
    lines = response.get_data(as_text=True).splitlines()
    assert response.status_code == 200 and len(lines) == 2
    assert "ana@example.org" in lines[1] and "luis" not in response.get_data(as_text=True)
    assert db.session.query(AuditEvent).filter_by(action="export.hosted_contacts").count() == 1
    client.post("/logout")
    signed_in("coordinator")
    assert client.get(f"/petitions/{petition.slug}/hosted-contacts.csv").status_code == 404
