"""Confidential meeting notes and personal phone numbers are unreadable in the database itself."""

import datetime as dt

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from crm.contacts.models import Contact, Office
from crm.core.submissions import new_key
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.outreach import services as outreach
from tests.conftest import TEST_DATA_KEY

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def _raw(table, column, row_id):
    return db.session.execute(sa.text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}).scalar()


def test_sensitive_fields_are_stored_encrypted_and_read_back(app, campaign, make_record, make_user):
    france = country_by_code("FRA")
    office = Office(country_id=france.id, host_country_id=france.id, kind="ministry", city="Paris", name="MEAE")
    contact = Contact(office=office, name="Claire", personal_phone="+33 6 12 34 56 78")
    db.session.add_all([office, contact])
    record = make_record()
    meeting = outreach.log_meeting(
        [record],
        actor=make_user("volunteer"),
        held_at=utcnow() - dt.timedelta(hours=1),
        summary="Met",
        confidential_notes="The source inside the ministry is X.",
    )
    db.session.flush()
    stored_phone = _raw("contact", "personal_phone", contact.id)
    stored_notes = _raw("meeting", "confidential_notes", meeting.id)
    assert "+33" not in stored_phone and stored_phone.startswith("fernet:")
    assert "source inside" not in stored_notes and stored_notes.startswith("fernet:")
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).personal_phone == "+33 6 12 34 56 78"
    assert "source inside" in db.session.get(type(meeting), meeting.id).confidential_notes


def test_keys_rotate_without_losing_data(app, runner):
    france = country_by_code("FRA")
    office = Office(country_id=france.id, host_country_id=france.id, kind="ministry", city="Paris", name="MEAE")
    contact = Contact(office=office, name="Claire", personal_phone="+33 6 00 00 00 01")
    db.session.add_all([office, contact])
    db.session.commit()
    before = _raw("contact", "personal_phone", contact.id)
    new_key = Fernet.generate_key().decode()
    app.config["DATA_ENCRYPTION_KEYS"] = [new_key, TEST_DATA_KEY]
    app.extensions.pop("alcance_fernet", None)
    try:
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0 and "contact.personal_phone: 1 re-encrypted" in result.output
        after = _raw("contact", "personal_phone", contact.id)
        assert after != before
        app.config["DATA_ENCRYPTION_KEYS"] = [new_key]  # the old key is gone: data still reads
        app.extensions.pop("alcance_fernet", None)
        db.session.expire_all()
        assert db.session.get(Contact, contact.id).personal_phone == "+33 6 00 00 00 01"
    finally:
        app.config["DATA_ENCRYPTION_KEYS"] = [TEST_DATA_KEY]
        app.extensions.pop("alcance_fernet", None)


def test_personal_phone_through_the_form_never_reaches_the_audit_log(client, signed_in):
    from crm.audit.models import AuditEvent

    signed_in("coordinator")
    france = country_by_code("FRA")
    office = Office(country_id=france.id, host_country_id=france.id, kind="ministry", city="Paris", name="MEAE")
    db.session.add(office)
    db.session.commit()
    response = client.post(
        "/contacts/new",
        data={
            "submission_key": new_key(),
            "office": office.id,
            "name": "Jeanne Fictive",
            "personal_phone": "+33 7 11 22 33 44",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    contact = db.session.scalars(sa.select(Contact).where(Contact.name == "Jeanne Fictive")).one()
    assert contact.personal_phone == "+33 7 11 22 33 44"
    assert "+33 7 11 22 33 44" in client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    logged = " ".join(str(e.after) + str(e.before) for e in db.session.scalars(sa.select(AuditEvent)))
    assert "11 22 33" not in logged
