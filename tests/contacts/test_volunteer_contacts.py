"""Volunteers record the diplomats they meet: they add an office or a contact for a government assigned to
them and edit what they added, and nothing more (the permission matrix's volunteer has no records, so
these pages are 404 for them there)."""

from __future__ import annotations

import sqlalchemy as sa

from crm.contacts.models import Contact, Office
from crm.extensions import db
from tests.conftest import count_rows
from tests.contacts.test_pages import contact_form, office_form


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def test_a_volunteer_adds_an_office_and_a_contact_for_their_government_and_edits_them(
    client, signed_in, make_record, make_office, make_contact
):
    volunteer = signed_in("volunteer")
    make_record("FRA", assignee=volunteer)
    db.session.commit()
    assert client.get("/offices/new").status_code == 200
    assert client.post("/offices/new", data=office_form()).status_code == 302
    office = db.session.scalar(sa.select(Office))
    assert (
        client.post(
            f"/offices/{office.id}/edit", data=office_form(city="Madrid", notes="Side door", version="1")
        ).status_code
        == 302
    )
    assert client.post("/contacts/new", data=contact_form(office)).status_code == 302
    contact = db.session.scalar(sa.select(Contact))
    edited = client.post(
        f"/contacts/{contact.id}/edit",
        data={"name": "Claire Fictive", "title": "Consejera", "version": str(contact.version)},
    )
    assert edited.status_code == 302
    db.session.expire_all()
    assert (office.notes, contact.title) == ("Side door", "Consejera")
    # Only editing: marking inactive, moving and merging stay with staff who edit all.
    assert client.get(f"/contacts/{contact.id}/deactivate").status_code == 404
    assert client.get(f"/offices/{office.id}/deactivate").status_code == 404


def test_a_volunteer_cannot_add_for_another_government_or_edit_what_others_added(
    client, signed_in, make_record, make_office, make_contact
):
    volunteer = signed_in("volunteer")
    make_record("FRA", assignee=volunteer)
    staff_office = make_office("FRA")
    staff_contact = make_contact(staff_office)
    db.session.commit()
    before = table_counts()
    refused = client.post("/offices/new", data=office_form(country="DEU", name="Botschaft"))
    assert refused.status_code == 400 and 'id="country-error"' in refused.get_data(as_text=True)
    assert table_counts() == before
    assert client.get(f"/offices/{staff_office.id}/edit").status_code == 404
    assert client.get(f"/contacts/{staff_contact.id}/edit").status_code == 404


def test_a_volunteer_without_a_government_gets_404(client, signed_in):
    signed_in("volunteer")
    assert client.get("/contacts/new").status_code == 404
    assert client.get("/offices/new").status_code == 404
