"""Odd input gets a clear answer, never a 500 and never half-written data: ids and numbers beyond what
the databases store, control characters in ?next=, NUL bytes in forms, two saves of one record at once."""

import io

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.contacts.models import Contact
from crm.core.submissions import new_key
from crm.extensions import db
from crm.signatures.models import SignatureTally
from tests.conftest import TEST_PASSWORD, count_rows

HUGE = (2**31, 2**63, 2**64, 10**30)
TOO_LARGE = "A value in the request is too large or cannot be stored. Nothing was saved."
NUL_REFUSED = "A field contains a NUL character, which cannot be stored. Nothing was saved."


def _paths_with_ids(app, number: int):
    """Every route with an integer in its path, that integer `number`, with the method it answers."""
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if converter.regex.startswith("\\d")]
        if not ints:
            continue
        values = {name: (number if name in ints else "x") for name in rule.arguments}
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        path = rule.build(values, append_unknown=False)[1]
        yield method, path


@pytest.mark.parametrize("number", HUGE)
def test_an_id_too_large_for_any_record_is_not_found(app, client, signed_in, number):
    from crm.api import tokens
    from crm.database import utcnow
    from crm.extensions import db

    admin = signed_in("admin")
    # The API's routes are asked with the admin's token (the session cookie does not reach them).
    _token, secret = tokens.create(admin, name="odd input", scope="write", days=7, now=utcnow())
    db.session.commit()
    paths = list(_paths_with_ids(app, number))
    assert len(paths) > 40
    for method, path in paths:
        response = client.open(path, method=method, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.parametrize(
    "query",
    [
        "/contacts?page={}",
        "/offices?page={}",
        "/countries/?page={}",
        "/admin/audit?page={}",
        "/follow-ups?page={}",
        "/contacts/new?office={}",
    ],
)
def test_a_number_too_large_in_the_query_string_is_a_clear_refusal(client, signed_in, query):
    signed_in("admin")
    response = client.get(query.format(2**63))
    assert response.status_code == 400, response.status_code
    assert TOO_LARGE in response.get_data(as_text=True)


def test_a_dossier_for_a_letter_id_too_large_is_a_clear_refusal(client, signed_in, make_record):
    signed_in("admin")
    record = make_record()
    db.session.commit()
    response = client.get(f"/outreach/{record.id}/dossier.pdf?letter={2**63}")
    assert response.status_code == 400 and TOO_LARGE in response.get_data(as_text=True)


def test_a_huge_number_in_a_tally_file_refuses_the_file(client, signed_in, campaign):
    from crm.signatures.petitions import create_petition

    signed_in("admin")
    petition = create_petition(campaign, "Change", platform="change_org")
    db.session.commit()
    for signers in (2**31, 2**63, 10**30):
        body = f"country,signers,as_of\nCAN,2310,2018-06-01\nESP,{signers},2018-06-01\n".encode()
        response = client.post(
            f"/petitions/{petition.slug}/tallies/file",
            data={"submission_key": new_key(), "file": (io.BytesIO(body), "t.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400, (signers, response.status_code)
        assert "Rows 3: a country that is not understood, a number" in response.get_data(as_text=True)
    assert count_rows(SignatureTally) == 0


def test_a_next_address_with_a_line_break_goes_home(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    for target in ("/%0D%0AX:y", "/contacts%0ASet-Cookie:x=1", "/%09x"):
        response = client.post(f"/login?next={target}", data={"email": user.email, "password": TEST_PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/", target
        client.post("/logout")


def test_a_nul_byte_in_a_form_is_refused_and_nothing_is_saved(client, signed_in, make_user, make_record):
    signed_in("admin")
    other = make_user("volunteer", name="Vera")
    record = make_record()
    db.session.commit()
    posts = [
        (f"/admin/users/{other.id}", {"name": "Ve\x00ra", "role": "coordinator", "language": "en"}),
        (f"/outreach/{record.id}/follow-ups/new", {"note": "Call\x00 back", "due_on": "2030-01-01", "owner": other.id}),
        ("/letter-templates/new", {"name": "T\x00", "language": "en", "subject": "S", "body": "B"}),
    ]
    for path, data in posts:
        response = client.post(path, data=data)
        assert response.status_code == 400, (path, response.status_code)
        assert NUL_REFUSED in response.get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.get(type(other), other.id).name == "Vera"
        and db.session.get(type(other), other.id).role == "volunteer"
    )
    assert client.get("/countries/?q=a%00b").status_code == 400


def test_two_saves_of_one_contact_at_once_refuse_the_second(client, signed_in):
    """Both read version 1; the other one's UPDATE lands between this one's read and write, so this one's
    UPDATE ... WHERE version = 1 matches no row (SQLAlchemy's StaleDataError): refused, nothing saved."""
    from tests.contacts import make_contact, make_office

    contact = make_contact(make_office(), "Anna Exempel", title="Second Secretary")
    db.session.commit()
    signed_in("manager")
    data = {
        "name": "Anna Exempel",
        "title": "Counsellor",
        "email": "",
        "phone": "",
        "language": "sv",
        "notes": "",
        "version": contact.version,
    }
    contact_id = contact.id

    landed = []

    def the_other_save_lands_first(session, flush_context, instances):
        if not landed and any(isinstance(obj, Contact) and obj.id == contact_id for obj in session.dirty):
            landed.append(True)
            session.connection().execute(
                sa.update(Contact.__table__)
                .where(Contact.__table__.c.id == contact_id)
                .values(title="First Secretary", version=Contact.__table__.c.version + 1)
            )

    event.listen(Session, "before_flush", the_other_save_lands_first)
    try:
        response = client.post(f"/contacts/{contact_id}/edit", data=data)
    finally:
        event.remove(Session, "before_flush", the_other_save_lands_first)
    assert landed and response.status_code == 409, response.status_code
    assert "Someone else saved this record after you opened it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contact, contact_id).title == "Second Secretary"


def test_when_the_database_connection_fails_the_page_does_not_claim_nothing_was_saved(tmp_path_factory):
    """A broken connection (here: no server at all) may have broken the commit itself: the outcome is not
    known, and the page says so instead of "Nothing was saved"."""
    from tests.conftest import make_app

    app = make_app("postgresql://postgres@127.0.0.1:9/unreachable?connect_timeout=2", tmp_path_factory)
    response = app.test_client().post("/login", data={"email": "someone@example.org", "password": "whatever it is"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "may or may not have been saved" in page and "Nothing was saved" not in page
