"""A signer or a contact asks for their data to be erased: found, erased, and recorded."""

import io

import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign
from crm.contacts import services as contacts
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.signatures import services as signatures
from crm.signatures.models import Signature
from tests.conftest import count_rows


def _world(admin):
    campaign = Campaign(slug="dsr", name="DSR")
    france = country_by_code("FRA")
    office = Office(country_id=france.id, host_country_id=france.id, kind="ministry", city="Paris", name="MEAE")
    db.session.add_all([campaign, office])
    db.session.flush()
    contact = contacts.create_contact(
        actor=admin,
        office=office,
        name="Claire Fictive",
        email="claire@example.org",
        personal_phone="+33 6 00 00 00 00",
        notes="Met in Geneva",
    )
    petition = signatures.create_petition(campaign, "Petition", actor=admin)
    signatures.import_file(
        petition,
        io.BytesIO(b"email,country\nClaire@Example.org,FR\nother@example.org,ES\n"),
        filename="s.csv",
        actor=admin,
    )
    db.session.commit()
    return contact


def test_find_and_erase_through_the_command_line(runner, make_user):
    contact = _world(make_user("admin"))
    found = runner.invoke(args=["privacy", "find", "CLAIRE@example.org"])
    assert "contacts with claire@example.org: 1" in found.output and "signatures: 1" in found.output
    result = runner.invoke(args=["privacy", "erase", "claire@example.org", "--reason", "asked by e-mail", "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased: 1 contacts, 1 signatures" in result.output
    contact = db.session.get(Contact, contact.id)
    assert (contact.name, contact.email, contact.personal_phone, contact.notes, contact.active) == (
        "Erased contact",
        None,
        None,
        None,
        False,
    )
    assert count_rows(Signature) == 1  # the other signer still counts
    logged = " ".join(f"{e.before} {e.after}" for e in db.session.scalars(sa.select(AuditEvent)))
    assert "Claire Fictive" not in logged and "claire@example.org" not in logged
    erasure = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.erase")).one()
    assert erasure.after["signatures_deleted"] == 1 and erasure.after["reason"] == "asked by e-mail"
    again = runner.invoke(args=["privacy", "erase", "claire@example.org", "--reason", "again", "--yes"])
    assert again.exit_code == 1 and "nothing to erase" in again.output


def test_admin_page_finds_and_erases_with_confirmation(client, signed_in):
    admin = signed_in("admin")
    _world(admin)
    page = client.get("/admin/privacy?email=claire@example.org").get_data(as_text=True)
    assert "Claire Fictive" in page and "Signature on the petition" in page
    refused = client.post("/admin/privacy", data={"email": "claire@example.org", "reason": "request"})
    assert refused.status_code == 400 and count_rows(Signature) == 2  # not confirmed: nothing erased
    done = client.post("/admin/privacy", data={"email": "claire@example.org", "reason": "request", "confirm": "y"})
    assert done.status_code == 302 and count_rows(Signature) == 1
    assert client.get("/admin/privacy?email=not-an-address").status_code == 200


def test_erasing_a_merged_duplicate_erases_the_record_it_was_merged_into(app, make_user):
    """The same person on two records, merged: asked by either address, both go, and so do the merge's
    audit values (filed under the surviving record, they held the merged one's name and address)."""
    from crm.privacy import services as privacy

    admin = make_user("admin")
    survivor = _world(admin)
    duplicate = contacts.create_contact(
        actor=admin, office=survivor.office, name="Claire F.", email="c.fictive@example.org", confirm_duplicate=True
    )
    contacts.merge_contacts(survivor, duplicate, actor=admin)
    db.session.commit()

    found = privacy.find_person("c.fictive@example.org")
    assert {c.id for c in found.contacts} == {survivor.id, duplicate.id}
    privacy.erase_person(found, actor=admin, reason="request by e-mail")
    db.session.commit()

    for contact in (db.session.get(Contact, survivor.id), db.session.get(Contact, duplicate.id)):
        assert (contact.name, contact.email) == (privacy.ERASED_NAME, None)
    values = db.session.execute(
        sa.select(AuditEvent.before, AuditEvent.after).where(AuditEvent.action != "privacy.erase")
    ).all()
    assert "c.fictive@example.org" not in str(values) and "Claire" not in str(values)
    assert privacy.find_person("claire@example.org").contacts == []
