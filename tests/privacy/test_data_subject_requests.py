"""A signer or a contact asks for their data to be erased: found, erased, and recorded."""

import io
import re

import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign
from crm.contacts import services as contacts
from crm.contacts.merging import merge_contacts
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.privacy import services as privacy
from crm.signatures import imports as signature_imports
from crm.signatures.imports import import_file
from crm.signatures.models import ErasedSigner, Signature
from crm.signatures.normalise import EmailHasher
from crm.signatures.petitions import create_petition, petitions_of
from crm.signatures.push import push_signatures
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
    petition = create_petition(campaign, "Petition", actor=admin)
    import_file(
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
    merge_contacts(survivor, duplicate, actor=admin)
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


def _signer_counted(campaign, email: str) -> bool:
    email_hash = EmailHasher.from_config().hash_email(email)
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(Signature.campaign_id == campaign.id, Signature.email_hash == email_hash)
        )
        == 1
    )


def test_a_signer_erased_while_a_file_listing_them_waits_for_its_import_is_left_out_of_it(
    client, signed_in, runner, make_user
):
    """The coordinator uploads the platform's new export and previews it; meanwhile the admin erases a
    signer it lists (they asked by e-mail). Importing the previewed file does not bring them back, and its
    report says one signer was left out; nor does any later export that lists them again."""
    coordinator = signed_in("coordinator")
    _world(make_user("admin"))
    campaign = db.session.scalar(sa.select(Campaign))
    petition = petitions_of(campaign)[0]
    export = b"email,country\nclaire@example.org,FR\nnew@example.org,ES\nother@example.org,ES\n"
    upload = client.post(
        f"/petitions/{petition.slug}/uploads",
        data={"file": (io.BytesIO(export), "export.csv")},
        content_type="multipart/form-data",
    )
    token = upload.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert client.get(f"/petitions/{petition.slug}/uploads/{token}").status_code == 200

    erased = runner.invoke(args=["privacy", "erase", "claire@example.org", "--reason", "asked by e-mail", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert not _signer_counted(campaign, "claire@example.org")

    done = client.post(f"/petitions/{petition.slug}/uploads/{token}", data={"email": "email", "country": "country"})
    assert done.status_code == 302, done.get_data(as_text=True)
    report = client.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r"<dt>Left out: erased at their request</dt><dd>1</dd>", report)
    assert re.search(r"<dt>New signers</dt><dd>1</dd>", report)
    assert not _signer_counted(campaign, "claire@example.org")
    assert _signer_counted(campaign, "new@example.org")

    later = import_file(
        petition, io.BytesIO(b"email\nCLAIRE@example.org\nlater@example.org\n"), filename="later.csv", actor=coordinator
    )
    assert (later.report.rows_new, later.report.rows_erased, later.report.rows_duplicate) == (1, 1, 0)
    assert not _signer_counted(campaign, "claire@example.org")
    # Nothing of the address is kept: its keyed hash only.
    assert [row.email_hash for row in db.session.scalars(sa.select(ErasedSigner))] == [
        EmailHasher.from_config().hash_email("claire@example.org")
    ]


def test_a_signer_erased_while_their_rows_are_staged_is_deleted_from_them_and_never_published(
    app, make_user, monkeypatch
):
    """A long import is staging its rows (another process, chunk by chunk) when the erasure comes: the rows
    already staged with the address go at once, those staged after it are not published."""
    admin = make_user("admin")
    _world(admin)
    campaign = db.session.scalar(sa.select(Campaign))
    petition = petitions_of(campaign)[0]
    monkeypatch.setattr(signature_imports, "CHUNK_ROWS", 2)
    lines = ["email", "claire@example.org", *[f"signer{n}@example.org" for n in range(5)], "Claire@Example.org"]
    erasures = []

    def erase_once_the_first_chunk_is_staged(rows):
        if rows >= 2 and not erasures:
            found = privacy.find_person("claire@example.org")
            assert found.staged_signatures == 1
            erasures.append(privacy.erase_person(found, actor=admin, reason="asked by letter"))
            db.session.commit()

    outcome = import_file(
        petition,
        io.BytesIO(("\n".join(lines) + "\n").encode()),
        filename="long.csv",
        progress=erase_once_the_first_chunk_is_staged,
    )
    assert erasures and erasures[0].signatures == 1
    assert (outcome.report.rows_new, outcome.report.rows_erased) == (5, 2)
    assert not _signer_counted(campaign, "claire@example.org")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.erase")).one()
    assert event.after["staged_signatures_deleted"] == 1


def test_a_platform_pushing_an_erased_signer_again_does_not_count_them(app, make_user):
    _world(make_user("admin"))
    campaign = db.session.scalar(sa.select(Campaign))
    petition = petitions_of(campaign)[0]
    privacy.erase_person(privacy.find_person("claire@example.org"), actor="cli", reason="asked")
    db.session.commit()
    pushed = push_signatures(
        petition,
        [
            {"osdi:signature": {"person": {"email_addresses": [{"address": "claire@example.org"}]}}},
            {"osdi:signature": {"person": {"email_addresses": [{"address": "pushed@example.org"}]}}},
        ],
    )
    assert (pushed.received, pushed.new, pushed.erased, pushed.duplicate) == (2, 1, 1, 0)
    assert not _signer_counted(campaign, "claire@example.org")


def test_someone_erased_before_the_export_listing_them_is_imported_stays_out_until_the_erasure_is_lifted(
    runner, make_user
):
    """A signer writes before the platform's export that lists them reaches Alcance: nothing is held yet, but
    the erasure is recorded, so the import leaves them out. Months later they ask to sign again: lifting the
    erasure (recorded, with why) lets the next import count them."""
    admin = make_user("admin")
    _world(admin)
    campaign = db.session.scalar(sa.select(Campaign))
    petition = petitions_of(campaign)[0]
    assert "kept out of signature imports: no" in runner.invoke(args=["privacy", "find", "late@example.org"]).output

    erased = runner.invoke(args=["privacy", "erase", "late@example.org", "--reason", "wrote on 2 May", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "erased: 0 contacts, 0 signatures" in erased.output
    assert "kept out of signature imports: yes" in runner.invoke(args=["privacy", "find", "late@example.org"]).output
    again = runner.invoke(args=["privacy", "erase", "late@example.org", "--reason", "again", "--yes"])
    assert again.exit_code == 1 and "nothing to erase" in again.output

    export = b"email\nLate@example.org\nfresh@example.org\n"
    first = import_file(petition, io.BytesIO(export), filename="export.csv", actor=admin)
    assert (first.report.rows_new, first.report.rows_erased) == (1, 1)
    assert not _signer_counted(campaign, "late@example.org")

    refused = runner.invoke(args=["privacy", "lift", "fresh@example.org", "--reason", "asked", "--yes"])
    assert refused.exit_code == 1 and "this address was not erased: imports already count it" in refused.output
    lifted = runner.invoke(args=["privacy", "lift", "late@example.org", "--reason", "signs again, 9 Sept", "--yes"])
    assert lifted.exit_code == 0, lifted.output
    assert count_rows(ErasedSigner) == 0
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.lift")).one()
    assert event.after == {"reason": "signs again, 9 Sept"}

    export = b"email\nLate@example.org\nfresh@example.org\nnewer@example.org\n"  # the platform's next export
    second = import_file(petition, io.BytesIO(export), filename="export-2.csv", actor=admin)
    assert (second.report.rows_new, second.report.rows_duplicate, second.report.rows_erased) == (2, 1, 0)
    assert _signer_counted(campaign, "late@example.org")


def test_the_admin_page_offers_to_erase_an_address_nothing_is_held_for(client, signed_in):
    signed_in("admin")
    page = client.get("/admin/privacy?email=late@example.org").get_data(as_text=True)
    assert "Erasing it still keeps it out of every later signature import" in page
    done = client.post("/admin/privacy", data={"email": "late@example.org", "reason": "request", "confirm": "y"})
    assert done.status_code == 302
    assert count_rows(ErasedSigner) == 1
    page = client.get("/admin/privacy?email=late@example.org").get_data(as_text=True)
    assert "It is already kept out of every signature import." in page
    assert 'name="reason"' not in page  # nothing left to erase
