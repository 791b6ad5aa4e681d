"""Office and contact pages through HTTP: lists and searches, records with their history, forms with bad
input, duplicates, merges, moves, version conflicts and who may change what."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.contacts.models import Contact, Office, Post
from crm.core.submissions import new_key
from crm.extensions import db
from tests.conftest import count_rows, utc_today
from tests.contacts import make_contact, make_letter, make_meeting, make_office, make_outreach

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")

EDITORS = ["admin", "manager", "coordinator"]


def text(response) -> str:
    return response.get_data(as_text=True)


def version_in(page: str) -> int:
    match = re.search(r'<input[^>]*name="version"[^>]*>', page)
    return int(re.search(r'value="(\d+)"', match.group(0)).group(1))


def office_form(**changes) -> dict:
    data = {
        "kind": "embassy",
        "name": "Ambassade de France en Espagne",
        "country": "FRA",
        "city": "Madrid",
        "host_country": "ESP",
        "address": "Calle de Salustiano Olózaga 9",
        "email": "info@example.org",
        "phone": "+34 914 23 89 00",
        "website": "https://es.ambafrance.org",
        "notes": "",
        "submission_key": new_key(),
    }
    data.update(changes)
    return data


# Offices


def test_offices_list_searches_names_cities_and_countries_in_either_language(client, signed_in):
    make_office(name="Ambassade de France en Espagne")
    make_office(code="DEU", name="Deutsche Botschaft")
    make_office(code="CHL", host="USA", city="New York", kind="permanent_mission", name="Misión de Chile ante la ONU")
    db.session.commit()
    signed_in("manager", language="es")
    page = text(client.get("/offices?q=francia"))
    assert "Ambassade de France en Espagne" in page and "Deutsche Botschaft" not in page
    assert "Francia" in page and "España" in page
    page = text(client.get("/offices?kind=permanent_mission"))
    assert "Misión de Chile" in page and "Deutsche Botschaft" not in page
    page = text(client.get("/offices?country=DEU"))
    assert "Deutsche Botschaft" in page and "Misión de Chile" not in page
    page = text(client.get("/offices?host=USA"))
    assert "Misión de Chile" in page and "Deutsche Botschaft" not in page
    page = text(client.get("/offices?q=new+york"))
    assert "Misión de Chile" in page


@pytest.mark.parametrize("query", ["' OR 1=1 --", "%", "_", "\\"])
def test_office_search_treats_input_as_text(client, signed_in, query):
    make_office()
    db.session.commit()
    signed_in("manager")
    response = client.get("/offices", query_string={"q": query})
    assert response.status_code == 200 and "0 offices" in text(response)


def test_bad_filter_values_are_ignored_not_errors(client, signed_in):
    make_office()
    db.session.commit()
    signed_in("manager")
    for url in (
        "/offices?kind=palace&country=ZZZ&host=1&status=nonsense&page=abc",
        "/offices?page=9999",
        "/contacts?status=nonsense&page=abc",
    ):
        assert client.get(url).status_code == 200
    assert "Embassy of FRA in Madrid" in text(client.get("/offices?kind=palace&country=ZZZ"))


def test_office_page_shows_people_in_post_and_former_holders(client, signed_in):
    madrid = make_office()
    paris = make_office(host="FRA", city="Paris", kind="ministry", name="Quai d'Orsay")
    claire = make_contact(madrid, "Claire Fictive", title="Conseillère politique", started_on=dt.date(2016, 9, 1))
    from crm.contacts.services import move_contact

    move_contact(claire, actor=None, office=paris, title="Rédactrice", started_on=dt.date(2019, 9, 1))
    make_contact(madrid, "Sophie Nouvelle", title="Conseillère politique", started_on=dt.date(2019, 9, 2))
    _assign_country_to(signed_in("volunteer"), madrid.country_id)
    db.session.commit()
    page = text(client.get(f"/offices/{madrid.id}"))
    people, former = page.split("Former holders of its posts")
    assert "Sophie Nouvelle" in people and "Claire Fictive" not in people
    assert "Claire Fictive" in former and "1 Sept 2016" in former and "1 Sept 2019" in former
    assert "Sophie Nouvelle" in former  # she holds Claire's old post now
    # A volunteer working on the government may add the people they meet (issue 12), not edit the office.
    assert "Edit" not in page and "Mark inactive" not in page and "Add a contact" in page
    assert client.get("/offices/999999").status_code == 404


@pytest.mark.parametrize("role", EDITORS)
def test_editors_create_an_office(client, signed_in, role):
    user = signed_in(role)
    assert client.get("/offices/new").status_code == 200
    response = client.post("/offices/new", data=office_form())
    assert response.status_code == 302
    office = db.session.scalars(sa.select(Office)).one()
    assert (office.name, office.country.alpha3, office.host_country.alpha3, office.city) == (
        "Ambassade de France en Espagne",
        "FRA",
        "ESP",
        "Madrid",
    )
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "office.create")).one()
    assert event.actor_id == user.id
    assert "Ambassade de France en Espagne" in text(client.get(response.headers["Location"]))


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"name": "  "}, "This field is required."),
        ({"name": "x" * 301}, "Field cannot be longer than 300 characters."),
        ({"city": "y" * 121}, "Field cannot be longer than 120 characters."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"kind": "palace"}, "Not a valid choice."),
        ({"country": "ZZZ"}, "Not a valid choice."),
        ({"host_country": ""}, "This field is required."),
        ({"website": "javascript:alert(1)"}, "starting with https://"),
        ({"phone": "call me maybe"}, "Use digits, spaces"),
    ],
)
def test_bad_office_input_is_refused_beside_the_field_and_nothing_is_saved(client, signed_in, changes, message):
    signed_in("admin")
    response = client.post("/offices/new", data=office_form(**changes))
    assert response.status_code == 400
    page = text(response)
    assert message in page and 'class="error"' in page
    assert "Calle de Salustiano Olózaga 9" in page  # what they typed stays
    assert count_rows(Office) == 0


def test_a_second_embassy_of_the_same_government_in_the_same_city_is_refused(client, signed_in):
    existing = make_office(name="Ambassade de France en Espagne")
    db.session.commit()
    signed_in("admin")
    response = client.post("/offices/new", data=office_form(name="Embajada de Francia", city="MADRID"))
    assert response.status_code == 400
    page = text(response)
    assert "already has an office of this kind" in page and f"/offices/{existing.id}" in page
    assert count_rows(Office) == 1


def test_editing_an_office_refuses_a_stale_form_and_keeps_what_was_typed(client, signed_in):
    office = make_office()
    db.session.commit()
    signed_in("coordinator")
    form_page = text(client.get(f"/offices/{office.id}/edit"))
    seen = version_in(form_page)
    assert 'value="Embassy of FRA in Madrid"' in form_page
    # Someone else saves first.
    first = client.post(f"/offices/{office.id}/edit", data=office_form(name="First save", version=seen))
    assert first.status_code == 302
    second = client.post(f"/offices/{office.id}/edit", data=office_form(name="Second save", version=seen))
    assert second.status_code == 409
    page = text(second)
    assert "Someone else saved this record" in page and 'value="Second save"' in page
    db.session.expire_all()
    assert db.session.get(Office, office.id).name == "First save"
    # Knowing that, saving again is a choice: the form now carries the current version.
    third = client.post(f"/offices/{office.id}/edit", data=office_form(name="Second save", version=version_in(page)))
    assert third.status_code == 302
    db.session.expire_all()
    assert db.session.get(Office, office.id).name == "Second save"


def test_deactivate_and_reactivate_an_office(client, signed_in):
    office = make_office()
    db.session.commit()
    signed_in("manager")
    page = text(client.get(f"/offices/{office.id}/deactivate"))
    assert "Mark office inactive" in page
    response = client.post(f"/offices/{office.id}/deactivate", data={"version": version_in(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Office, office.id).active
    assert "Embassy of FRA in Madrid" not in text(client.get("/offices"))
    assert "Embassy of FRA in Madrid" in text(client.get("/offices?status=inactive"))
    assert client.get(f"/contacts/new?office={office.id}").status_code == 200  # inactive: not offered
    page = text(client.get(f"/offices/{office.id}"))
    response = client.post(f"/offices/{office.id}/reactivate", data={"version": version_in(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Office, office.id).active
    stale = client.post(f"/offices/{office.id}/deactivate", data={"version": "1"})
    assert stale.status_code == 409 and db.session.get(Office, office.id).active


# Contacts


def contact_form(where, **changes) -> dict:
    data = {
        "office": where.id,
        "name": "Claire Fictive",
        "title": "Conseillère politique",
        "email": "claire.fictive@example.org",
        "phone": "+34 600 000 000",
        "language": "fr",
        "notes": "Met at the Madrid forum",
        "started_on": "2016-09-01",
        "submission_key": new_key(),
    }
    data.update(changes)
    return data


def test_contacts_list_searches_name_email_and_title(client, signed_in):
    office = make_office()
    make_contact(office, "Claire Fictive", title="Conseillère politique", email="claire@example.org")
    make_contact(office, "Julien Exemple", title="Rédacteur Venezuela")
    db.session.commit()
    signed_in("manager")
    assert "Julien Exemple" not in text(client.get("/contacts?q=claire"))
    page = text(client.get("/contacts?q=CLAIRE%40example"))
    assert "Claire Fictive" in page and "Embassy of FRA in Madrid" in page
    page = text(client.get("/contacts?q=venezuela"))
    assert "Julien Exemple" in page and "Claire Fictive" not in page
    assert "0 contacts" in text(client.get("/contacts?q=%25"))


@pytest.mark.parametrize("role", EDITORS)
def test_editors_create_a_contact_in_a_post(client, signed_in, role):
    office = make_office()
    db.session.commit()
    signed_in(role)
    page = text(client.get(f"/contacts/new?office={office.id}"))
    assert f'<option selected value="{office.id}">' in page
    response = client.post("/contacts/new", data=contact_form(office))
    assert response.status_code == 302
    contact = db.session.scalars(sa.select(Contact)).one()
    assert (contact.email, contact.language, contact.posts[0].started_on) == (
        "claire.fictive@example.org",
        "fr",
        dt.date(2016, 9, 1),
    )
    page = text(client.get(response.headers["Location"]))
    assert "Claire Fictive" in page and "1 Sept 2016" in page


def test_a_duplicate_warns_offers_the_existing_record_and_can_be_created_anyway(client, signed_in):
    office = make_office()
    existing = make_contact(office, "Claire Fictive", email="claire.fictive@example.org")
    db.session.commit()
    signed_in("coordinator")
    response = client.post(
        "/contacts/new", data=contact_form(office, email="CLAIRE.FICTIVE@example.org", name="Claire Dupont")
    )
    page = text(response)
    assert response.status_code == 200 and "may already be on file" in page
    assert f'href="/contacts/{existing.id}"' in page and "create the contact anyway" in page
    assert 'value="Claire Dupont"' in page and "Met at the Madrid forum" in page
    assert count_rows(Contact) == 1
    response = client.post("/contacts/new", data=contact_form(office, name="claire  FICTIVE", email=""))
    assert "may already be on file" in text(response) and count_rows(Contact) == 1
    response = client.post(
        "/contacts/new", data=contact_form(office, name="claire  FICTIVE", email="", create_anyway="y")
    )
    assert response.status_code == 302 and count_rows(Contact) == 2


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"name": ""}, "This field is required."),
        ({"name": "n" * 201}, "Field cannot be longer than 200 characters."),
        ({"title": "t" * 201}, "Field cannot be longer than 200 characters."),
        ({"email": "claire@"}, "Invalid email address."),
        ({"language": "klingon"}, "Not a valid choice."),
        ({"office": "999999"}, "Not a valid choice."),
        ({"office": "abc"}, "This field is required."),
        ({"started_on": "31/12/2016"}, "Not a valid date value."),
        ({"started_on": "40 days from today"}, "the date is in the future"),
    ],
)
def test_bad_contact_input_is_refused_beside_the_field_and_nothing_is_saved(client, signed_in, changes, message):
    if changes.get("started_on") == "40 days from today":  # computed now, with the clock stopped, not at import
        changes = {"started_on": (utc_today() + dt.timedelta(days=40)).isoformat()}
    office = make_office()
    db.session.commit()
    signed_in("admin")
    response = client.post("/contacts/new", data=contact_form(office, **changes))
    assert response.status_code == 400
    page = text(response)
    assert message in page and 'class="error"' in page
    assert "Met at the Madrid forum" in page
    assert count_rows(Contact) == 0 and count_rows(Post) == 0


def test_unknown_ids_are_404(client, signed_in):
    contact = make_contact(make_office(), "Claire Fictive")
    db.session.commit()
    signed_in("admin")
    for url in (
        "/offices/999999",
        "/offices/999999/edit",
        "/offices/999999/deactivate",
        "/contacts/999999",
        "/contacts/999999/edit",
        "/contacts/999999/move",
        "/contacts/999999/deactivate",
        "/contacts/999999/merge",
        f"/contacts/{contact.id}/merge/999999",
        "/contacts/new?office=999999",
        "/contacts/new?office=abc",
        "/offices/abc",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/offices/999999/reactivate").status_code == 404


def test_editing_a_contact_refuses_a_stale_form_and_keeps_what_was_typed(client, signed_in):
    contact = make_contact(make_office(), "Anna Exempel", title="Second Secretary")
    db.session.commit()
    signed_in("manager")
    seen = version_in(text(client.get(f"/contacts/{contact.id}/edit")))
    data = {
        "name": "Anna Exempel",
        "title": "First Secretary",
        "email": "",
        "phone": "",
        "language": "sv",
        "notes": "",
        "version": seen,
    }
    assert client.post(f"/contacts/{contact.id}/edit", data=data).status_code == 302
    response = client.post(
        f"/contacts/{contact.id}/edit", data={**data, "title": "Counsellor", "notes": "typed by the second person"}
    )
    assert response.status_code == 409
    page = text(response)
    assert "Someone else saved this record" in page and "typed by the second person" in page
    db.session.expire_all()
    saved = db.session.get(Contact, contact.id)
    assert saved.title == "First Secretary" and saved.posts[0].title == "First Secretary" and not saved.notes
    bad = client.post(f"/contacts/{contact.id}/edit", data={**data, "email": "bad", "version": version_in(page)})
    assert bad.status_code == 400 and "Invalid email address." in text(bad)


def test_contact_page_shows_posts_meetings_and_letters(client, signed_in):
    madrid = make_office()
    record = make_outreach("FRA")
    claire = make_contact(madrid, "Claire Fictive", title="Conseillère politique", started_on=dt.date(2016, 9, 1))
    other = make_contact(madrid, "Someone Else")
    make_meeting(record, [claire, other], office=madrid, summary="Presented the four demands")
    make_meeting(record, [other], office=madrid, summary="Not with Claire")
    make_letter(record, claire, subject="Request for a meeting about the referral")
    make_letter(record, other, subject="Letter to someone else")
    db.session.commit()
    _assign_country_to(signed_in("volunteer"), claire.office.country_id)
    db.session.commit()
    page = text(client.get(f"/contacts/{claire.id}"))
    assert "Presented the four demands" in page and "Not with Claire" not in page
    assert "Request for a meeting about the referral" in page and "Letter to someone else" not in page
    assert "Conseillère politique" in page and "1 Sept 2016" in page and "France" in page
    assert "Edit" not in page and "Merge" not in page


def test_contact_page_names_each_government_of_a_joint_meeting_in_the_readers_language(client, signed_in):
    madrid = make_office()
    france, germany = make_outreach("FRA"), make_outreach("DEU")
    claire = make_contact(madrid, "Claire Fictive")
    joint = make_meeting(france, [claire], office=None, summary="Joint démarche <b>now</b>", days_ago=2)
    joint.outreach_records.append(germany)
    make_meeting(france, [claire], office=madrid, summary="At the embassy", days_ago=5)
    make_letter(germany, claire, subject="Carta a Alemania")
    db.session.commit()
    signed_in("manager", language="es")
    page = text(client.get(f"/contacts/{claire.id}"))
    meetings = page.split('id="meetings"')[1].split("</section>")[0]
    rows = meetings.split("<tr>")[2:]
    assert len(rows) == 2, rows
    # The newest first: the joint one, with no office, both governments named; its summary escaped.
    assert (
        "<td>—</td>" in rows[0]
        and "Francia, Alemania" in rows[0]
        and "Joint démarche &lt;b&gt;now&lt;/b&gt;" in rows[0]
    )
    assert f'href="/offices/{madrid.id}"' in rows[1] and "<td>Francia</td>" in rows[1]
    letters = page.split('id="letters"')[1].split("</section>")[0]
    assert "Carta a Alemania" in letters and "<td>Alemania</td>" in letters


def test_deactivate_a_contact_ends_their_post(client, signed_in):
    office = make_office()
    contact = make_contact(office, "Max Muster", title="Primer secretario", started_on=dt.date(2017, 10, 1))
    db.session.commit()
    signed_in("coordinator")
    seen = version_in(text(client.get(f"/contacts/{contact.id}/deactivate")))
    bad = client.post(f"/contacts/{contact.id}/deactivate", data={"version": seen, "ended_on": "2017-01-01"})
    assert bad.status_code == 400 and "the end cannot come before that" in text(bad)
    bad = client.post(f"/contacts/{contact.id}/deactivate", data={"version": seen, "ended_on": "yesterday"})
    assert bad.status_code == 400 and "Not a valid date value." in text(bad)
    response = client.post(f"/contacts/{contact.id}/deactivate", data={"version": seen, "ended_on": "2020-06-30"})
    assert response.status_code == 302
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert not contact.active and contact.posts[0].ended_on == dt.date(2020, 6, 30)
    assert "Max Muster" not in text(client.get("/contacts"))
    assert "Max Muster" in text(client.get("/contacts?status=inactive"))
    assert "Max Muster" in text(client.get(f"/offices/{office.id}")).split("Former holders")[1]


def test_move_to_another_office_keeps_history_and_suggests_the_new_holder(client, signed_in):
    madrid = make_office()
    paris = make_office(host="FRA", city="Paris", kind="ministry", name="Quai d'Orsay")
    claire = make_contact(madrid, "Claire Fictive", title="Conseillère politique", started_on=dt.date(2016, 9, 1))
    db.session.commit()
    signed_in("coordinator")
    page = text(client.get(f"/contacts/{claire.id}/move"))
    seen = version_in(page)
    data = {"office": paris.id, "title": "Rédactrice Venezuela", "started_on": "2019-09-01", "version": seen}
    for changes, message in [
        ({"started_on": "2015-01-01"}, "cannot start before it"),
        ({"started_on": ""}, "This field is required."),
        ({"office": "999999"}, "Not a valid choice."),
        ({"title": "r" * 201}, "Field cannot be longer than 200 characters."),
        ({"office": madrid.id, "title": "conseillère politique"}, "already hold that post"),
    ]:
        response = client.post(f"/contacts/{claire.id}/move", data={**data, **changes})
        assert response.status_code == 400 and message in text(response), changes
    assert count_rows(Post) == 1
    assert client.post(f"/contacts/{claire.id}/move", data=data).status_code == 302
    stale = client.post(f"/contacts/{claire.id}/move", data={**data, "title": "Again", "started_on": "2020-01-01"})
    assert stale.status_code == 409 and 'value="Again"' in text(stale)

    sophie = make_contact(madrid, "Sophie Nouvelle", title="Conseillère politique", started_on=dt.date(2019, 9, 2))
    db.session.commit()
    page = text(client.get(f"/contacts/{claire.id}"))
    assert "Quai d&#39;Orsay" in page and "Embassy of FRA in Madrid" in page
    assert f'href="/contacts/{sophie.id}"' in page and "write to them next" in page


def test_merge_through_the_pages(client, signed_in):
    madrid = make_office()
    record = make_outreach("FRA")
    survivor = make_contact(madrid, "Claire Fictive", email="claire@example.org")
    duplicate = make_contact(madrid, "Claire F.", email="claire@example.org", phone="+34 600 000 000")
    make_meeting(record, [survivor, duplicate], office=madrid, summary="Both listed")
    make_meeting(record, [duplicate], office=madrid, summary="Only the duplicate")
    make_letter(record, duplicate, subject="Letter to the duplicate")
    db.session.commit()
    signed_in("manager")
    page = text(client.get(f"/contacts/{survivor.id}/merge"))
    assert f"/contacts/{survivor.id}/merge/{duplicate.id}" in page
    page = text(client.get(f"/contacts/{survivor.id}/merge?q=claire+f."))
    assert f"/contacts/{survivor.id}/merge/{duplicate.id}" in page
    page = text(client.get(f"/contacts/{survivor.id}/merge/{duplicate.id}"))
    assert "2 meetings" in page and "1 of them both attended" in page and "1 letter" in page
    response = client.post(
        f"/contacts/{survivor.id}/merge/{duplicate.id}",
        data={"survivor_version": survivor.version, "merged_version": duplicate.version},
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Merged." in page
    assert "Both listed" in page and "Only the duplicate" in page and "Letter to the duplicate" in page
    assert page.count("Both listed") == 1
    db.session.expire_all()
    assert db.session.get(Contact, duplicate.id).merged_into_id == survivor.id
    assert (
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "contact.merge")).one().after["merged_id"]
        == duplicate.id
    )
    # The merged record is read-only and says where it went.
    page = text(client.get(f"/contacts/{duplicate.id}"))
    assert "merged into another" in page and f'href="/contacts/{survivor.id}"' in page
    response = client.get(f"/contacts/{duplicate.id}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/contacts/{survivor.id}")


def test_merge_refusals_come_back_as_messages(client, signed_in):
    madrid = make_office()
    a, b = make_contact(madrid, "Ana Uno"), make_contact(madrid, "Ana Dos")
    db.session.commit()
    signed_in("admin")
    response = client.get(f"/contacts/{a.id}/merge/{a.id}")
    assert response.status_code == 302
    assert "cannot be merged into itself" in text(client.get(response.headers["Location"]))
    response = client.post(f"/contacts/{a.id}/merge/{b.id}", data={"survivor_version": 99, "merged_version": 1})
    assert response.status_code == 302
    assert "Someone else saved this record" in text(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Contact, b.id).merged_into_id is None


def edit_routes(office_id: int, contact_id: int, other_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/offices/new"),
        ("POST", "/offices/new"),
        ("GET", f"/offices/{office_id}/edit"),
        ("POST", f"/offices/{office_id}/edit"),
        ("GET", f"/offices/{office_id}/deactivate"),
        ("POST", f"/offices/{office_id}/deactivate"),
        ("POST", f"/offices/{office_id}/reactivate"),
        ("GET", "/contacts/new"),
        ("POST", "/contacts/new"),
        ("GET", f"/contacts/{contact_id}/edit"),
        ("POST", f"/contacts/{contact_id}/edit"),
        ("GET", f"/contacts/{contact_id}/deactivate"),
        ("POST", f"/contacts/{contact_id}/deactivate"),
        ("GET", f"/contacts/{contact_id}/move"),
        ("POST", f"/contacts/{contact_id}/move"),
        ("GET", f"/contacts/{contact_id}/merge"),
        ("GET", f"/contacts/{contact_id}/merge/{other_id}"),
        ("POST", f"/contacts/{contact_id}/merge/{other_id}"),
    ]


def test_volunteers_see_offices_and_contacts_but_every_route_changing_others_records_is_404(client, signed_in):
    office = make_office()
    contact, other = make_contact(office, "Claire Fictive"), make_contact(office, "Claire F")
    volunteer = signed_in("volunteer")
    _assign_country_to(volunteer, office.country_id)
    db.session.commit()
    for url in ("/offices", f"/offices/{office.id}", "/contacts", f"/contacts/{contact.id}"):
        response = client.get(url)
        assert response.status_code == 200 and "Mark inactive" not in text(response), url
    # Adding is theirs for the governments they work on (issue 12; tests/contacts/test_volunteer_contacts.py).
    adding = {("GET", "/offices/new"), ("POST", "/offices/new"), ("GET", "/contacts/new"), ("POST", "/contacts/new")}
    for method, url in [route for route in edit_routes(office.id, contact.id, other.id) if route not in adding]:
        data = {"name": "Changed", "version": "1", "survivor_version": "1", "merged_version": "1"}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 404, (method, url)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).name == "Claire Fictive" and db.session.get(Office, office.id).active
    assert db.session.get(Contact, other.id).merged_into_id is None


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for url in ("/offices", "/contacts", "/offices/new"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_script_in_a_name_comes_back_as_text(client, signed_in):
    payload = "<script>alert(1)</script>"
    office = make_office(name=f"Office {payload}")
    contact = make_contact(office, payload, title=payload, notes=payload, email="x@example.org")
    db.session.commit()
    signed_in("admin")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for url in (
        f"/contacts/{contact.id}",
        "/contacts",
        "/contacts?q=script",
        f"/offices/{office.id}",
        "/offices",
        f"/contacts/{contact.id}/edit",
    ):
        page = text(client.get(url))
        assert payload not in page and escaped in page, url
    response = client.post("/contacts/new", data=contact_form(office, name="Copy", email="x@example.org"))
    assert payload not in text(response) and escaped in text(response)


# The number of queries a page makes does not grow with the rows it shows


def queries_for(client, url: str) -> int:
    from tests.factories import QueryCounter

    with QueryCounter(db.engine) as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def countries(n: int):
    from crm.countries.models import Country

    return db.session.scalars(sa.select(Country).order_by(Country.alpha3).limit(n)).all()


def add_offices(start: int, stop: int) -> list[Office]:
    pool = countries(40)
    offices = [
        Office(
            country=pool[i % len(pool)],
            host_country=pool[(i * 7) % len(pool)],
            kind="consulate",
            city=f"City {i}",
            name=f"Consulate number {i}",
        )
        for i in range(start, stop)
    ]
    db.session.add_all(offices)
    db.session.flush()
    return offices


def add_contacts(offices, start: int, stop: int, office_for=None) -> list[Contact]:
    contacts = []
    for i in range(start, stop):
        office = office_for or offices[i % len(offices)]
        contact = Contact(
            office=office, name=f"Contact number {i}", title=f"Title {i % 5}", email=f"contact{i}@example.org"
        )
        contact.posts.append(Post(office=office, title=f"Title {i % 5}", started_on=dt.date(2019, 1, 1)))
        contact.posts.append(
            Post(office=office, title=f"Earlier {i}", started_on=dt.date(2015, 1, 1), ended_on=dt.date(2019, 1, 1))
        )
        contacts.append(contact)
    db.session.add_all(contacts)
    db.session.flush()
    return contacts


def test_offices_list_query_count_does_not_grow_with_rows(client, signed_in):
    signed_in("admin")
    add_offices(0, 10)
    db.session.commit()
    few = queries_for(client, "/offices")
    add_offices(10, 200)
    db.session.commit()
    many = queries_for(client, "/offices")
    assert "Consulate number" in text(client.get("/offices")) and many == few


def test_contacts_list_query_count_does_not_grow_with_rows(client, signed_in):
    signed_in("admin")
    offices = add_offices(0, 30)
    add_contacts(offices, 0, 10)
    db.session.commit()
    few = queries_for(client, "/contacts")
    add_contacts(offices, 10, 200)
    db.session.commit()
    many = queries_for(client, "/contacts")
    assert many == few


def test_office_page_query_count_does_not_grow_with_rows(client, signed_in):
    signed_in("admin")
    (office,) = add_offices(0, 1)
    add_contacts([office], 0, 10)
    db.session.commit()
    few = queries_for(client, f"/offices/{office.id}")
    add_contacts([office], 10, 200)
    db.session.commit()
    many = queries_for(client, f"/offices/{office.id}")
    assert "Contact number 199" in text(client.get(f"/offices/{office.id}")) and many == few


def test_contact_page_query_count_does_not_grow_with_rows(client, signed_in):
    signed_in("admin")
    offices = add_offices(0, 20)
    contact, *others = add_contacts(offices, 0, 3)
    record = make_outreach("FRA")

    def add_history(n: int):
        for i in range(n):
            make_meeting(
                make_outreach(["FRA", "DEU", "CHL"][i % 3]) if i % 2 else record,
                [contact, *others],
                office=offices[i % 20],
                summary=f"Meeting {i}",
            )
            make_letter(record, contact, subject=f"Letter {i}")

    add_history(10)
    db.session.commit()
    few = queries_for(client, f"/contacts/{contact.id}")
    add_history(190)
    db.session.commit()
    many = queries_for(client, f"/contacts/{contact.id}")
    assert many == few


def test_volunteers_see_only_the_offices_and_contacts_their_records_need(client, signed_in):
    from crm.campaigns.models import Campaign
    from crm.contacts.models import Contact, Office
    from crm.countries.services import country_by_code
    from crm.outreach.models import OutreachRecord

    volunteer = signed_in("volunteer")
    campaign = Campaign(slug="visibility", name="Visibility")
    db.session.add(campaign)
    offices = {}
    for code in ("FRA", "DEU"):
        country = country_by_code(code)
        offices[code] = Office(
            country_id=country.id, host_country_id=country.id, kind="ministry", city="Capital", name=f"Ministry {code}"
        )
        db.session.add(Contact(office=offices[code], name=f"Person {code}"))
    db.session.add(OutreachRecord(campaign=campaign, country_id=country_by_code("FRA").id, assignee_id=volunteer.id))
    db.session.commit()
    listing = client.get("/offices").get_data(as_text=True)
    assert "Ministry FRA" in listing and "Ministry DEU" not in listing
    people = client.get("/contacts").get_data(as_text=True)
    assert "Person FRA" in people and "Person DEU" not in people
    assert client.get(f"/offices/{offices['DEU'].id}").status_code == 404
    hidden = db.session.scalars(sa.select(Contact).where(Contact.name == "Person DEU")).one()
    assert client.get(f"/contacts/{hidden.id}").status_code == 404
    assert "Person DEU" not in client.get("/countries/DEU").get_data(as_text=True)


def _assign_country_to(user, country_id):
    """Give a volunteer an outreach record for a government, so its offices and contacts are theirs to see."""
    from crm.campaigns.models import Campaign
    from crm.outreach.models import OutreachRecord

    campaign = Campaign(slug=f"c-{user.id}", name="Campaign")
    db.session.add_all([campaign, OutreachRecord(campaign=campaign, country_id=country_id, assignee_id=user.id)])
    db.session.flush()


def test_a_form_without_its_version_is_refused_not_saved_blind(client, signed_in):
    """A crafted POST that leaves out the version would otherwise save over changes nobody has seen."""
    contact = make_contact(make_office(), "Anna Exempel", title="Second Secretary")
    db.session.commit()
    signed_in("manager")
    data = {"name": "Anna Exempel", "title": "First Secretary", "email": "", "phone": "", "language": "sv", "notes": ""}
    response = client.post(f"/contacts/{contact.id}/edit", data=data)
    assert response.status_code == 409, response.status_code
    assert "The form is out of date. Reload the page and try again." in text(response)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).title == "Second Secretary"


def test_the_contact_page_neither_reads_meeting_notes_nor_letter_bodies(client, signed_in):
    from tests.factories import QueryCounter

    signed_in("coordinator")
    office = make_office()
    contact = make_contact(office, name="Jeanne Exemple")
    record = make_outreach()
    meeting = make_meeting(record, [contact], office=office, summary="Talked about the referral")
    meeting.confidential_notes = "Said off the record that the minister agrees"
    make_letter(record, contact, subject="Our demands")
    db.session.commit()
    with QueryCounter(db.engine) as counter:
        page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Talked about the referral" in page and "Our demands" in page
    # The list shows neither: the notes are not read (nor decrypted), the bodies not fetched.
    read = "\n".join(counter.statements)
    assert "confidential_notes" not in read and "letter.body" not in read
