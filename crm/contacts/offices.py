"""Office rules: creating and correcting embassies, consulates, ministries and missions, closing and
reopening them, and the lists and pages that show them. Plain functions; they flush, the caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from crm.audit import services as audit
from crm.contacts.models import OFFICE_KINDS, Contact, Office, Post
from crm.contacts.services import ContactError, _clean, _email, _successors, current_holder_of_posts, normalise
from crm.countries.models import Country
from crm.database import check_version, contains_pattern, folded
from crm.extensions import db
from crm.i18n import _
from crm.permissions import office_visibility, visibility_scope

OFFICE_FIELDS = (
    "country_id",
    "kind",
    "name",
    "city",
    "host_country_id",
    "address",
    "email",
    "phone",
    "website",
    "notes",
    "active",
)
OFFICE_EDITABLE = {"country", "host_country", "kind", "name", "city", "address", "email", "phone", "website", "notes"}


class DuplicateOffice(ContactError):
    """That government already has an office of that kind in that city."""

    def __init__(self, message, existing: Office):
        super().__init__(message, field="city")
        self.existing = existing


def _office_snapshot(office: Office) -> dict:
    return audit.snapshot(office, OFFICE_FIELDS)


def _check_office(values: dict, exclude: Office | None = None) -> None:
    if values.get("kind") not in OFFICE_KINDS:
        raise ContactError(_("Choose a kind of office."), field="kind")
    if not values.get("name"):
        raise ContactError(_("An office needs a name."), field="name")
    if not values.get("city"):
        raise ContactError(_("An office needs a city."), field="city")
    country, host = values.get("country"), values.get("host_country")
    if country is None:
        raise ContactError(_("Choose the government the office represents."), field="country")
    if host is None:
        raise ContactError(_("Choose the country the office is in."), field="host_country")
    same_kind = db.session.scalars(
        sa.select(Office).where(
            Office.country_id == country.id, Office.kind == values["kind"], Office.host_country_id == host.id
        )
    )
    for other in same_kind:
        if other is not exclude and normalise(other.city) == normalise(values["city"]):
            raise DuplicateOffice(
                _("That government already has an office of this kind in %(city)s.", city=other.city), existing=other
            )


def _office_values(values: dict) -> dict:
    cleaned = {name: _clean(value) for name, value in values.items()}
    if "email" in cleaned:
        cleaned["email"] = _email(cleaned["email"])
    return cleaned


def create_office(
    *,
    actor,
    country: Country,
    host_country: Country,
    kind: str,
    name: str,
    city: str,
    address: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    website: str | None = None,
    notes: str | None = None,
) -> Office:
    values = _office_values(
        dict(
            country=country,
            host_country=host_country,
            kind=kind,
            name=name,
            city=city,
            address=address,
            email=email,
            phone=phone,
            website=website,
            notes=notes,
        )
    )
    _check_office(values)
    office = Office(**values)
    db.session.add(office)
    db.session.flush()
    audit.record("office.create", actor=actor, entity=office, after=_office_snapshot(office))
    return office


def update_office(office: Office, *, actor, expected_version=None, **changes) -> None:
    """Correct an office's details. The unique key (government, kind, host country, city) stays unique."""
    check_version(office, expected_version)
    unknown = set(changes) - OFFICE_EDITABLE
    if unknown:
        raise ContactError(f"cannot change {', '.join(sorted(unknown))} here")
    values = {name: getattr(office, name) for name in OFFICE_EDITABLE}
    values.update(_office_values(changes))
    _check_office(values, exclude=office)
    before = _office_snapshot(office)
    for name, value in values.items():
        setattr(office, name, value)
    db.session.flush()
    after = _office_snapshot(office)
    if after != before:
        audit.record("office.update", actor=actor, entity=office, before=before, after=after)


def _set_office_active(office: Office, active: bool, *, actor, expected_version=None) -> None:
    check_version(office, expected_version)
    if office.active == active:
        raise ContactError(_("This office is already active.") if active else _("This office is already inactive."))
    before = _office_snapshot(office)
    office.active = active
    db.session.flush()
    audit.record(
        "office.reactivate" if active else "office.deactivate",
        actor=actor,
        entity=office,
        before=before,
        after=_office_snapshot(office),
    )


def deactivate_office(office: Office, *, actor, expected_version=None) -> None:
    """Mark an office closed. Its contacts and their history stay; no new contact is added to it."""
    _set_office_active(office, False, actor=actor, expected_version=expected_version)


def reactivate_office(office: Office, *, actor, expected_version=None) -> None:
    _set_office_active(office, True, actor=actor, expected_version=expected_version)


def search_offices(
    *,
    query: str | None = None,
    kind: str | None = None,
    country: str | None = None,
    host: str | None = None,
    status: str | None = "active",
    language: str = "en",
):
    """A select of offices by name, city or country (in English or Spanish), kind, government represented
    and host country (alpha-3 codes), and whether active; ordered by government, then name."""
    represented, hosting = aliased(Country), aliased(Country)
    statement = (
        sa.select(Office)
        .join(represented, Office.country_id == represented.id)
        .join(hosting, Office.host_country_id == hosting.id)
        .options(
            contains_eager(Office.country.of_type(represented)), contains_eager(Office.host_country.of_type(hosting))
        )
    )
    if query and query.strip():
        pattern = contains_pattern(query)
        statement = statement.where(
            sa.or_(
                *[
                    folded(column).like(pattern, escape="\\")
                    for column in (
                        Office.name,
                        Office.city,
                        represented.name_en,
                        represented.name_es,
                        hosting.name_en,
                        hosting.name_es,
                    )
                ]
            )
        )
    if kind in OFFICE_KINDS:
        statement = statement.where(Office.kind == kind)
    if country:
        statement = statement.where(represented.alpha3 == country.strip().upper())
    if host:
        statement = statement.where(hosting.alpha3 == host.strip().upper())
    if status == "active":
        statement = statement.where(Office.active.is_(True))
    elif status == "inactive":
        statement = statement.where(Office.active.is_(False))
    name = represented.name_es if str(language).startswith("es") else represented.name_en
    return statement.order_by(name, Office.name, Office.id)


def countries_with_offices() -> list[Country]:
    """Countries that have an office or host one: the choices of the office list's filters."""
    return db.session.scalars(
        sa.select(Country).where(
            sa.or_(Country.id.in_(sa.select(Office.country_id)), Country.id.in_(sa.select(Office.host_country_id)))
        )
    ).all()


def active_offices() -> list[Office]:
    """Every active office with its countries: where a contact can be added or moved to."""
    return db.session.scalars(
        sa.select(Office)
        .where(Office.active.is_(True))
        .options(joinedload(Office.country), joinedload(Office.host_country))
        .order_by(Office.name, Office.id)
    ).all()


# A government's page lists its first offices, each with its first people; the office list and each
# office's page have them all. A busy government has hundreds of offices and thousands of contacts.
GOVERNMENT_OFFICES = 10
# The country an office is in, beside the one it represents: an alias made once, not on every page.
_HOSTING = aliased(Country)
PEOPLE_PER_OFFICE = 5


@dataclass
class GovernmentOffices:
    """The first offices that represent a government (GovernmentOffice), with how many there are, and for
    each its first active contacts (OfficePerson) and their number."""

    offices: list[GovernmentOffice]
    total: int
    people: dict[int, list] = field(default_factory=dict)
    people_count: dict[int, int] = field(default_factory=dict)


class GovernmentOffice(NamedTuple):
    """An office as a government's page lists it."""

    id: int
    name: str
    city: str
    active: bool
    host_name: str  # the country it is in, in the reader's language


class OfficePerson(NamedTuple):
    id: int
    name: str
    title: str | None


@cache
def _government_offices_statement() -> sa.Select:
    """A government's first offices (the country and their number are parameters), in the order shown
    (`place`). Built once: see _offices_with_people."""
    order = (Office.active.desc(), Office.kind, Office.city, Office.id)
    return (
        sa.select(
            Office.id,
            Office.name,
            Office.city,
            Office.active,
            Office.host_country_id,
            sa.func.row_number().over(order_by=order).label("place"),
        )
        .where(Office.country_id == sa.bindparam("country_id"))
        .order_by(*order)
        .limit(sa.bindparam("limit"))
    )


def _offices_with_people(offices: sa.Select, spanish: bool) -> sa.Select:
    """The offices `offices` selects, in their order, with the number of all it would select without its
    limit, the country each is in (named in Spanish or English), and each with its first active contacts by
    name (their number a parameter, `people`) and how many it has: a row per person shown, or one with no
    person. The count and the host countries come apart from the offices shown: counted over an index, and
    named for the ten shown only, not sorted and joined for every office of a busy government."""
    shown = offices.cte("shown")
    total = (
        sa.select(sa.func.count())
        .select_from(offices.with_only_columns(Office.id).order_by(None).limit(None).subquery())
        .scalar_subquery()
    )
    host_name = _HOSTING.name_es if spanish else _HOSTING.name_en
    rank = sa.func.row_number().over(partition_by=Contact.office_id, order_by=(Contact.name, Contact.id))
    ranked = (
        sa.select(
            Contact.office_id,
            Contact.id,
            Contact.name,
            Contact.title,
            rank.label("rank"),
            sa.func.count().over(partition_by=Contact.office_id).label("count"),
        )
        .where(
            Contact.office_id.in_(sa.select(shown.c.id)),
            Contact.active.is_(True),
            Contact.merged_into_id.is_(None),
        )
        .subquery()
    )
    # government_offices reads the columns by their place: a GovernmentOffice, the total, an OfficePerson
    # and the office's number of people.
    return (
        sa.select(
            shown.c.id,
            shown.c.name,
            shown.c.city,
            shown.c.active,
            host_name.label("host_name"),
            total.label("total"),
            ranked.c.id.label("person_id"),
            ranked.c.name.label("person_name"),
            ranked.c.title.label("person_title"),
            ranked.c.count.label("people_count"),
        )
        .select_from(shown)
        .join(_HOSTING, _HOSTING.id == shown.c.host_country_id)
        .outerjoin(ranked, sa.and_(ranked.c.office_id == shown.c.id, ranked.c.rank <= sa.bindparam("people")))
        .order_by(shown.c.place, ranked.c.rank)
    )


# government_offices' statements, each built once for a language and a visibility scope (those who see
# every office, volunteers: permissions.visibility_scope), the volunteer's id a parameter.
_WITH_PEOPLE: dict[tuple[bool, str], sa.Select] = {}
_VIEWER = sa.bindparam("viewer_id")


def government_offices(
    country: Country, user, *, language: str = "en", limit: int = GOVERNMENT_OFFICES, people: int = PEOPLE_PER_OFFICE
) -> GovernmentOffices:
    """The offices of `country`'s government that `user` may see, active first, then by kind and city: the
    first `limit`, the number of them all, and each listed office's first `people` active contacts by name
    with their number. One query, reading the columns shown, however many offices and contacts."""
    spanish = str(language).startswith("es")
    offices = _government_offices_statement()
    # The visibility rule adds to the WHERE clause: the order and the limit apply to the offices it leaves.
    # Whoever sees every office has the statement as it is; the volunteers' rule narrows it alike for each,
    # their id a parameter: either way the whole statement is built once.
    key = (spanish, visibility_scope(user))
    statement = _WITH_PEOPLE.get(key)
    if statement is None:
        statement = _WITH_PEOPLE[key] = _offices_with_people(office_visibility(user, offices, viewer=_VIEWER), spanish)
    # Plain rows, read through the session's connection: nothing is flushed first (the page has changed nothing).
    rows = (
        db.session.connection()
        .execute(statement, {"country_id": country.id, "limit": limit, "people": people, "viewer_id": user.id})
        .all()
    )
    result = GovernmentOffices(offices=[], total=rows[0].total if rows else 0)
    offices, people, people_count = result.offices, result.people, result.people_count
    # A row per person shown (some fifty at a busy government): unpacked, not asked for each column by name.
    last = None
    for row in rows:
        office_id, *_, person_id, person_name, person_title, count = row
        if office_id != last:
            offices.append(GovernmentOffice(*row[:5]))
            last = office_id
        if person_id is not None:
            listed = people.get(office_id)
            if listed is None:
                listed = people[office_id] = []
                people_count[office_id] = count
            listed.append(OfficePerson(person_id, person_name, person_title))
    return result


@dataclass
class OfficeOverview:
    people: list[tuple[Contact, list[Post]]]  # active contacts here, with their open posts here
    held_posts: list[Post]  # open posts here, with their holders
    former: list[Post]  # ended posts here: who held which post, and until when
    successors: dict[int, Contact]  # ended post id -> who holds that post now


def office_overview(office: Office) -> OfficeOverview:
    """The office page: its people with their posts, and the former holders of its posts (three queries)."""
    contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.office_id == office.id, Contact.active.is_(True), Contact.merged_into_id.is_(None))
        .options(selectinload(Contact.posts))
        .order_by(Contact.name, Contact.id)
    ).all()
    people = [
        (contact, [post for post in contact.posts if post.office_id == office.id and post.ended_on is None])
        for contact in contacts
    ]
    held = current_holder_of_posts(office)
    former = db.session.scalars(
        sa.select(Post)
        .where(Post.office_id == office.id, Post.ended_on.is_not(None))
        .options(joinedload(Post.contact))
        .order_by(Post.ended_on.desc(), Post.id.desc())
    ).all()
    return OfficeOverview(people=people, held_posts=held, former=former, successors=_successors(former, held))
