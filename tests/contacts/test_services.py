"""Office and contact rules, tested without HTTP: duplicates, merges, moves between posts, versions."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.contacts import merging, offices, services
from crm.contacts.models import Contact, Post
from crm.errors import StaleRecord
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import meeting_contact
from tests.conftest import utc_today
from tests.contacts import make_contact, make_letter, make_meeting, make_office, make_outreach

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def attendees(meeting) -> set[int]:
    return set(
        db.session.scalars(sa.select(meeting_contact.c.contact_id).where(meeting_contact.c.meeting_id == meeting.id))
    )


# Offices


def test_create_office_is_audited_and_a_second_office_of_the_same_kind_in_the_city_is_refused(app, make_user):
    admin = make_user("admin")
    office = make_office(actor=admin, email="  Info@Ambafrance.ES ", website="https://es.ambafrance.org")
    assert office.id and office.email == "info@ambafrance.es" and office.active
    (event,) = events("office.create")
    assert event.actor_id == admin.id and event.entity_id == str(office.id) and event.after["city"] == "Madrid"
    with pytest.raises(offices.DuplicateOffice) as refused:
        make_office(city=" madrid ")
    assert refused.value.existing is office and refused.value.field == "city"
    # A consulate in the same city, or an embassy elsewhere, is another office.
    make_office(kind="consulate")
    make_office(host="DEU", city="Berlin")


def test_update_office_checks_the_version_and_records_before_and_after(app, make_user):
    admin = make_user("admin")
    office = make_office()
    db.session.commit()
    seen = office.version
    offices.update_office(
        office,
        actor=admin,
        expected_version=seen,
        name="Ambassade de France en Espagne",
        country=office.country,
        host_country=office.host_country,
    )
    assert office.version == seen + 1
    (event,) = events("office.update")
    assert (
        event.before["name"] == "Embassy of FRA in Madrid" and event.after["name"] == "Ambassade de France en Espagne"
    )
    with pytest.raises(StaleRecord):
        offices.update_office(office, actor=admin, expected_version=seen, name="Stale")
    with pytest.raises(StaleRecord):
        offices.update_office(office, actor=admin, expected_version="not a number", name="Stale")
    assert office.name == "Ambassade de France en Espagne"
    with pytest.raises(services.ContactError):
        offices.update_office(office, actor=admin, active=False)


def test_deactivate_and_reactivate_office(app):
    office = make_office()
    offices.deactivate_office(office, actor=None, expected_version=office.version)
    assert not office.active
    with pytest.raises(services.ContactError):
        offices.deactivate_office(office, actor=None)
    with pytest.raises(services.ContactError):
        make_contact(office, "Someone New")
    offices.reactivate_office(office, actor=None)
    assert office.active
    assert [e.action for e in events("office.deactivate") + events("office.reactivate")] == [
        "office.deactivate",
        "office.reactivate",
    ]


def test_search_offices_by_country_name_in_either_language_kind_and_host(app):
    madrid = make_office(name="Ambassade de France en Espagne")
    make_office(code="DEU", name="Deutsche Botschaft Madrid")
    caracas = make_office(host="VEN", city="Caracas", name="Ambassade de France au Venezuela")
    mission = make_office(code="CHL", host="USA", city="New York", kind="permanent_mission", name="Misión de Chile")

    def found(**filters):
        return set(db.session.scalars(offices.search_offices(**filters)))

    assert found(query="francia") == {madrid, caracas}
    assert found(query="FRANCE") == {madrid, caracas}
    assert found(query="venezuela") == {caracas}
    assert found(kind="permanent_mission") == {mission}
    assert found(country="fra", host="VEN") == {caracas}
    assert found(query="%") == set() and found(query="_") == set()
    offices.deactivate_office(caracas, actor=None)
    assert caracas not in found(query="france") and caracas in found(query="france", status="all")
    assert found(query="france", status="inactive") == {caracas}


def test_searches_ignore_accents_and_case_in_the_database(app):
    """Folded by the database on SQLite and PostgreSQL alike (not only ASCII case, which is all SQLite's
    lower() knows): what a Spanish speaker types without accents finds what was written with them."""
    mission = make_office(code="CHL", host="USA", city="Nueva York", name="Misión Permanente de Chile")
    embassy = make_office(code="DEU", name="Deutsche Botschaft", city="Bogotá")
    muñoz = make_contact(mission, "José MUÑOZ Peña", title="Consejero político")
    łukasz = make_contact(embassy, "Łukasz Ørsted", email="l.orsted@example.org")
    nguyễn = make_contact(embassy, "Nguyễn Thị Hạnh")

    def offices_found(query):
        return set(db.session.scalars(offices.search_offices(query=query)))

    def contacts(query):
        return set(db.session.scalars(services.search_contacts(query=query)))

    assert offices_found("mision") == offices_found("MISIÓN") == offices_found("misión permanente") == {mission}
    assert offices_found("bogota") == offices_found("BOGOTÁ") == {embassy}
    assert offices_found("japon") == set()
    assert contacts("jose munoz") == contacts("JOSÉ MUÑOZ") == contacts("peña") == {muñoz}
    assert contacts("politico") == contacts("POLÍTICO") == {muñoz}
    assert contacts("lukasz orsted") == contacts("ŁUKASZ") == contacts("L.ORSTED@") == {łukasz}
    assert contacts("nguyen thi hanh") == contacts("NGUYỄN") == {nguyễn}
    assert contacts("munos") == set()


# Contacts and duplicates


def test_create_contact_opens_a_post_and_is_audited(app):
    office = make_office()
    contact = services.create_contact(
        actor=None,
        office=office,
        name="  Claire Fictive ",
        title="Conseillère",
        email="Claire@Example.ORG",
        started_on=dt.date(2016, 9, 1),
    )
    assert (contact.name, contact.email, contact.office_id) == ("Claire Fictive", "claire@example.org", office.id)
    (post,) = contact.posts
    assert (post.office_id, post.title, post.started_on, post.ended_on) == (
        office.id,
        "Conseillère",
        dt.date(2016, 9, 1),
        None,
    )
    other = services.create_contact(actor=None, office=office, name="Julien Exemple")
    assert other.posts[0].started_on == utc_today()
    assert [e.entity_id for e in events("contact.create")] == [str(contact.id), str(other.id)]


def test_duplicates_by_email_in_any_case_or_same_name_at_the_same_office(app):
    madrid = make_office()
    caracas = make_office(host="VEN", city="Caracas")
    martin = make_contact(madrid, "Martín Ejemplo", email="martin@example.org")
    assert services.find_duplicates("MARTIN@example.org", "Someone Else", caracas) == [martin]
    assert services.find_duplicates(None, "  martin   EJEMPLO ", madrid) == [martin]
    assert services.find_duplicates(None, "Martín Ejemplo", caracas) == []
    assert services.find_duplicates("other@example.org", "Martina Ejemplo", madrid) == []
    assert services.find_duplicates("martin@example.org", "x", madrid, exclude=martin) == []

    with pytest.raises(services.DuplicateContact) as warned:
        services.create_contact(actor=None, office=madrid, name="Martin Ejemplo")
    assert warned.value.matches == [martin]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1
    confirmed = services.create_contact(actor=None, office=madrid, name="Martin Ejemplo", confirm_duplicate=True)
    assert confirmed.id != martin.id
    assert events("contact.create")[-1].after["confirmed_not_duplicate"] is True


def test_a_contact_cannot_be_added_to_an_inactive_office_or_in_the_future(app):
    office = make_office()
    with pytest.raises(services.ContactError) as refused:
        services.create_contact(actor=None, office=office, name="Ana", started_on=utc_today() + dt.timedelta(days=30))
    assert refused.value.field == "started_on"
    with pytest.raises(services.ContactError) as refused:
        services.create_contact(actor=None, office=office, name="   ")
    assert refused.value.field == "name"


def test_update_contact_refuses_a_stale_version_and_changes_nothing(app):
    contact = make_contact(make_office(), "Anna Exempel", title="Second Secretary")
    db.session.commit()
    seen = contact.version
    services.update_contact(contact, actor=None, expected_version=seen, phone="+34 91 000 00 00")
    db.session.commit()
    with pytest.raises(StaleRecord):
        services.update_contact(contact, actor=None, expected_version=seen, name="Overwritten")
    db.session.rollback()
    assert contact.name == "Anna Exempel" and contact.phone == "+34 91 000 00 00"
    assert len(events("contact.update")) == 1


def test_correcting_the_title_corrects_the_post_held_now(app):
    contact = make_contact(make_office(), "Anna Exempel", title="Secnd Secretary")
    services.update_contact(contact, actor=None, title="Second Secretary")
    assert [post.title for post in contact.posts] == ["Second Secretary"]
    (event,) = events("contact.update")
    assert event.before["title"] == "Secnd Secretary" and event.after["title"] == "Second Secretary"


def test_deactivating_a_contact_ends_their_post(app):
    office = make_office()
    contact = make_contact(office, "Max Muster", title="Primer secretario", started_on=dt.date(2017, 10, 1))
    with pytest.raises(services.ContactError) as refused:
        services.deactivate_contact(contact, actor=None, ended_on=dt.date(2017, 1, 1))
    assert refused.value.field == "ended_on" and contact.active
    services.deactivate_contact(contact, actor=None, ended_on=dt.date(2020, 6, 30))
    assert not contact.active and contact.posts[0].ended_on == dt.date(2020, 6, 30)
    assert services.suggested_recipient(office, "Primer secretario") is None
    with pytest.raises(services.ContactError):
        services.deactivate_contact(contact, actor=None)


# Moves between posts


def test_a_move_keeps_the_history_and_the_new_holder_is_suggested(app, make_user):
    coordinator = make_user("coordinator")
    madrid = make_office()
    paris = make_office(host="FRA", city="Paris", kind="ministry", name="Ministère des Affaires étrangères")
    claire = make_contact(madrid, "Claire Fictive", title="Conseillère politique", started_on=dt.date(2016, 9, 1))
    assert services.suggested_recipient(madrid, "conseillere  POLITIQUE") == claire

    services.move_contact(
        claire,
        actor=coordinator,
        office=paris,
        title="Rédactrice Venezuela",
        started_on=dt.date(2019, 9, 1),
        expected_version=claire.version,
    )
    assert (claire.office_id, claire.title) == (paris.id, "Rédactrice Venezuela")
    history = sorted((p.office_id, p.title, p.started_on, p.ended_on) for p in claire.posts)
    assert history == sorted(
        [
            (madrid.id, "Conseillère politique", dt.date(2016, 9, 1), dt.date(2019, 9, 1)),
            (paris.id, "Rédactrice Venezuela", dt.date(2019, 9, 1), None),
        ]
    )
    assert services.suggested_recipient(madrid, "Conseillère politique") is None

    sophie = make_contact(madrid, "Sophie Nouvelle", title="Conseillère politique", started_on=dt.date(2019, 9, 2))
    assert services.suggested_recipient(madrid, "Conseillère politique") == sophie
    assert services.suggested_recipient(paris, "Rédactrice Venezuela") == claire
    assert services.successor(claire) is None  # still in post: write to her
    assert [(p.contact, p.title) for p in services.current_holder_of_posts(madrid)] == [
        (sophie, "Conseillère politique")
    ]

    (event,) = events("contact.move")
    assert event.actor_id == coordinator.id
    assert event.before["office_id"] == madrid.id and event.after["office_id"] == paris.id

    services.deactivate_contact(claire, actor=None)
    sophie_paris = make_contact(paris, "Successor In Paris", title="Rédactrice Venezuela")
    assert services.successor(claire) == sophie_paris


def test_a_move_cannot_start_before_the_current_post_nor_repeat_it(app):
    office = make_office()
    contact = make_contact(office, "Hugo Prototipo", title="Segundo secretario", started_on=dt.date(2018, 2, 1))
    with pytest.raises(services.ContactError) as refused:
        services.move_contact(
            contact, actor=None, office=office, title="Primer secretario", started_on=dt.date(2018, 1, 31)
        )
    assert refused.value.field == "started_on"
    with pytest.raises(services.ContactError) as refused:
        services.move_contact(
            contact, actor=None, office=office, title="segundo  secretario", started_on=dt.date(2019, 1, 1)
        )
    assert refused.value.field == "title"
    with pytest.raises(StaleRecord):
        services.move_contact(
            contact,
            actor=None,
            office=office,
            title="Primer secretario",
            started_on=dt.date(2019, 1, 1),
            expected_version=contact.version + 1,
        )
    assert [(p.title, p.ended_on) for p in contact.posts] == [("Segundo secretario", None)]
    # A promotion at the same office, the same day the old post is recorded to end.
    services.move_contact(contact, actor=None, office=office, title="Primer secretario", started_on=dt.date(2018, 2, 1))
    db.session.flush()
    assert sorted((p.title, p.ended_on) for p in contact.posts) == [
        ("Primer secretario", None),
        ("Segundo secretario", dt.date(2018, 2, 1)),
    ]


def test_moving_an_inactive_contact_records_that_they_are_back(app):
    office = make_office()
    contact = make_contact(office, "Rosa Modelo", title="Consejera", started_on=dt.date(2017, 1, 16))
    services.deactivate_contact(contact, actor=None, ended_on=dt.date(2019, 1, 1))
    other = make_office(code="PER", host="USA", city="New York", kind="permanent_mission")
    services.move_contact(contact, actor=None, office=other, title="Ministra consejera", started_on=dt.date(2021, 3, 1))
    assert contact.active and contact.office_id == other.id
    assert sorted((p.office_id, p.ended_on) for p in contact.posts) == sorted(
        [(office.id, dt.date(2019, 1, 1)), (other.id, None)]
    )


# Merges


def test_merge_moves_meetings_letters_and_posts_without_listing_anyone_twice(app, make_user):
    manager = make_user("manager")
    madrid = make_office()
    record = make_outreach("FRA")
    survivor = make_contact(
        madrid,
        "Claire Fictive",
        title="Conseillère politique",
        email="claire@example.org",
        started_on=dt.date(2017, 1, 1),
    )
    duplicate = make_contact(
        madrid, "Claire FICTIVE", phone="+34 600 000 000", language="fr", started_on=dt.date(2016, 9, 1)
    )
    bystander = make_contact(madrid, "Someone Else")
    shared = make_meeting(record, [survivor, duplicate, bystander], office=madrid)
    only_duplicate = make_meeting(record, [duplicate], office=madrid, summary="Follow-up coffee")
    only_survivor = make_meeting(record, [survivor], office=madrid, summary="Earlier meeting")
    letter = make_letter(record, duplicate)
    kept_letter = make_letter(record, survivor)
    letter_version = letter.version
    db.session.commit()

    preview = merging.merge_contacts(
        survivor, duplicate, actor=manager, survivor_version=survivor.version, merged_version=duplicate.version
    )
    db.session.commit()

    assert attendees(shared) == {survivor.id, bystander.id}
    assert attendees(only_duplicate) == {survivor.id}
    assert attendees(only_survivor) == {survivor.id}
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(meeting_contact).where(meeting_contact.c.contact_id == duplicate.id)
        )
        == 0
    )
    db.session.refresh(letter)
    assert letter.recipient_contact_id == survivor.id and kept_letter.recipient_contact_id == survivor.id
    assert letter.version == letter_version + 1
    assert sorted(preview.meeting_ids) == sorted([shared.id, only_duplicate.id])
    assert preview.shared_meeting_ids == [shared.id] and preview.letter_ids == [letter.id]

    # Both had the post open: one term remains, with the earliest start known.
    assert [(p.title, p.started_on, p.ended_on) for p in survivor.posts] == [
        ("Conseillère politique", dt.date(2016, 9, 1), None)
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post).where(Post.contact_id == duplicate.id)) == 0
    # Empty details are filled from the duplicate; what the survivor had stays.
    assert (survivor.phone, survivor.language, survivor.email) == ("+34 600 000 000", "fr", "claire@example.org")
    assert duplicate.merged_into_id == survivor.id and not duplicate.active

    (event,) = events("contact.merge")
    assert event.actor_id == manager.id and event.entity_id == str(survivor.id)
    assert (event.after["survivor_id"], event.after["merged_id"]) == (survivor.id, duplicate.id)
    assert event.after["letter_ids"] == [letter.id] and event.after["filled"] == ["language", "phone"]

    assert services.find_duplicates("claire@example.org", "Claire Fictive", madrid) == [survivor]
    history = services.contact_history(survivor)
    assert {m.id for m in history.meetings} == {shared.id, only_duplicate.id, only_survivor.id}
    assert {item.id for item in history.letters} == {letter.id, kept_letter.id}
    assert history.merged_here == [duplicate]


def test_merge_refuses_itself_an_already_merged_record_and_stale_versions(app):
    madrid = make_office()
    a = make_contact(madrid, "Ana Uno")
    b = make_contact(madrid, "Ana Dos")
    c = make_contact(madrid, "Ana Tres")
    with pytest.raises(services.ContactError, match="itself"):
        merging.merge_contacts(a, a, actor=None)
    with pytest.raises(StaleRecord):
        merging.merge_contacts(a, b, actor=None, merged_version=b.version + 1)
    assert b.merged_into_id is None
    merging.merge_contacts(a, b, actor=None)
    with pytest.raises(services.ContactError, match="already merged"):
        merging.merge_contacts(b, c, actor=None)
    with pytest.raises(services.ContactError, match="already merged"):
        merging.merge_contacts(c, b, actor=None)
    with pytest.raises(services.ContactError):
        services.update_contact(b, actor=None, name="Changed")
    # A record merged into the duplicate earlier now points to the survivor.
    merging.merge_contacts(c, a, actor=None)
    assert (a.merged_into_id, b.merged_into_id) == (c.id, c.id)


def test_merge_ends_the_duplicates_other_open_post(app):
    madrid = make_office()
    paris = make_office(host="FRA", city="Paris", kind="ministry")
    survivor = make_contact(madrid, "Julien Exemple", title="Conseiller", started_on=dt.date(2019, 9, 1))
    duplicate = make_contact(paris, "Julien Exemple", title="Rédacteur", started_on=dt.date(2017, 9, 1))
    merging.merge_contacts(survivor, duplicate, actor=None)
    db.session.flush()
    assert sorted((p.started_on, p.office_id, p.ended_on) for p in survivor.posts) == [
        (dt.date(2017, 9, 1), paris.id, dt.date(2019, 9, 1)),
        (dt.date(2019, 9, 1), madrid.id, None),
    ]
    assert services.suggested_recipient(madrid, "Conseiller") == survivor
    assert services.suggested_recipient(paris, "Rédacteur") is None


def test_letters_keep_their_link_through_the_database(app):
    """The letter table's recipient really points at the survivor (not only in the session)."""
    madrid = make_office()
    record = make_outreach("FRA")
    a, b = make_contact(madrid, "Uno"), make_contact(madrid, "Dos")
    letter = make_letter(record, b)
    merging.merge_contacts(a, b, actor=None)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Letter.recipient_contact_id).where(Letter.id == letter.id)) == a.id
