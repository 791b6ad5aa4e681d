"""Office and contact rules: creating and correcting them, duplicates and merges, and moves between posts
that keep the history of who held which post. Plain functions; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager, defer, joinedload, selectinload

from crm import clock
from crm.audit import services as audit
from crm.contacts.models import OFFICE_KINDS, Contact, Office, Post
from crm.countries.models import Country
from crm.database import check_version, contains_pattern, folded
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import _, readers_date
from crm.letters.models import Letter
from crm.outreach.models import Meeting, OutreachRecord, meeting_contact
from crm.permissions import office_visibility

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
CONTACT_FIELDS = ("office_id", "name", "title", "email", "phone", "language", "notes", "active", "merged_into_id")
OFFICE_EDITABLE = {"country", "host_country", "kind", "name", "city", "address", "email", "phone", "website", "notes"}
# personal_phone is editable but never copied into the audit log (CONTACT_FIELDS): it is encrypted at
# rest, and the log must not keep a readable copy.
CONTACT_EDITABLE = {"name", "title", "email", "phone", "personal_phone", "language", "notes"}
# What a merge copies from the merged record when the survivor has nothing (the title goes with the post).
MERGE_FILLS = ("email", "phone", "personal_phone", "language", "notes")
CONTACT_STATUSES = ("active", "inactive", "all")


class ContactError(DomainError):
    """A request that breaks a rule about offices or contacts, with a message for the user. `field` names
    the form field the message belongs beside, when there is one."""


class DuplicateOffice(ContactError):
    """That government already has an office of that kind in that city."""

    def __init__(self, message, existing: Office):
        super().__init__(message, field="city")
        self.existing = existing


class DuplicateContact(ContactError):
    """The new contact looks like one already on file; `matches` are the records it looks like."""

    def __init__(self, matches: list[Contact]):
        super().__init__(
            _("This person may already be on file. Open the existing record, or confirm that this is someone else.")
        )
        self.matches = matches


def _day(day: dt.date) -> str:
    return readers_date(day)


def normalise(text: str | None) -> str:
    """Text as compared for sameness: no accents, case or repeated spaces ("Martín  EJEMPLO" = "martin ejemplo")."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().split())


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _email(value) -> str | None:
    value = _clean(value)
    return value.lower() if value else None


def _not_in_future(day: dt.date, field_name: str) -> None:
    if clock.not_begun_anywhere(day):
        raise ContactError(_("Record this once it has happened: the date is in the future."), field=field_name)


# Offices


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
PEOPLE_PER_OFFICE = 5


@dataclass
class GovernmentOffices:
    """The first offices that represent a government, as rows (id, name, city, active, host_name), with
    how many there are, and for each its first active contacts (rows: id, name, title) and their number."""

    offices: list
    total: int
    people: dict[int, list] = field(default_factory=dict)
    people_count: dict[int, int] = field(default_factory=dict)


def government_offices(
    country: Country, user, *, language: str = "en", limit: int = GOVERNMENT_OFFICES, people: int = PEOPLE_PER_OFFICE
) -> GovernmentOffices:
    """The offices of `country`'s government that `user` may see, active first, then by kind and city: the
    first `limit`, the number of them all, and each listed office's first `people` active contacts by name
    with their number. Two queries, reading the columns shown, however many offices and contacts."""
    hosting = aliased(Country)
    host_name = hosting.name_es if str(language).startswith("es") else hosting.name_en
    offices = db.session.execute(
        office_visibility(
            user,
            sa.select(
                Office.id,
                Office.name,
                Office.city,
                Office.active,
                host_name.label("host_name"),
                sa.func.count().over().label("total"),
            )
            .join(hosting, Office.host_country_id == hosting.id)
            .where(Office.country_id == country.id),
        )
        .order_by(Office.active.desc(), Office.kind, Office.city, Office.id)
        .limit(limit)
    ).all()
    result = GovernmentOffices(offices=offices, total=offices[0].total if offices else 0)
    if not offices:
        return result
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
            Contact.office_id.in_([office.id for office in offices]),
            Contact.active.is_(True),
            Contact.merged_into_id.is_(None),
        )
        .subquery()
    )
    for row in db.session.execute(
        sa.select(ranked).where(ranked.c.rank <= people).order_by(ranked.c.office_id, ranked.c.rank)
    ):
        result.people.setdefault(row.office_id, []).append(row)
        result.people_count[row.office_id] = row.count
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


# Posts and who holds them


def _open_posts_at(office_ids) -> list[Post]:
    """Open posts of active contacts at these offices, newest first, with their holders."""
    ids = list(office_ids)
    if not ids:
        return []
    return db.session.scalars(
        sa.select(Post)
        .join(Post.contact)
        .where(
            Post.office_id.in_(ids), Post.ended_on.is_(None), Contact.active.is_(True), Contact.merged_into_id.is_(None)
        )
        .options(contains_eager(Post.contact))
        .order_by(Post.started_on.desc(), Post.id.desc())
    ).all()


def current_holder_of_posts(office: Office) -> list[Post]:
    """The posts held now at an office (open posts of active contacts), each with its holder, by title."""
    posts = _open_posts_at([office.id])
    return sorted(posts, key=lambda post: (normalise(post.title), normalise(post.contact.name)))


def suggested_recipient(office: Office, title: str | None) -> Contact | None:
    """Who to write to for a post: the active contact holding it now. When the last holder moved on, this is
    whoever has taken the post since (the most recent start when two share a title)."""
    key = normalise(title)
    if office is None or not key:
        return None
    for post in _open_posts_at([office.id]):
        if normalise(post.title) == key:
            return post.contact
    return None


def _successors(ended: list[Post], held: list[Post]) -> dict[int, Contact]:
    holders: dict[tuple[int, str], Contact] = {}
    for post in held:  # newest first: the most recent holder of a title wins
        holders.setdefault((post.office_id, normalise(post.title)), post.contact)
    result = {}
    for post in ended:
        holder = holders.get((post.office_id, normalise(post.title)))
        if holder is not None and holder.id != post.contact_id and normalise(post.title):
            result[post.id] = holder
    return result


def successor(contact: Contact) -> Contact | None:
    """For a letter to someone who has moved on: who now holds the last post they held. Follows merges."""
    seen = set()
    while contact.merged_into_id is not None and contact.id not in seen:
        seen.add(contact.id)
        contact = db.session.get(Contact, contact.merged_into_id)
    if contact.active and any(post.ended_on is None for post in contact.posts):
        return None
    ended = [post for post in contact.posts if post.ended_on is not None]
    if not ended:
        return None
    last = max(ended, key=lambda post: (post.ended_on, post.started_on, post.id))
    holder = suggested_recipient(last.office, last.title)
    return holder if holder is not None and holder.id != contact.id else None


# Contacts


def _contact_snapshot(contact: Contact) -> dict:
    return audit.snapshot(contact, CONTACT_FIELDS)


def _contact_values(values: dict) -> dict:
    cleaned = {name: _clean(value) for name, value in values.items()}
    if "email" in cleaned:
        cleaned["email"] = _email(cleaned["email"])
    if "language" in cleaned and cleaned["language"]:
        cleaned["language"] = cleaned["language"].lower()
    return cleaned


def find_duplicates(
    email: str | None, name: str | None, office: Office | None, *, exclude: Contact | None = None
) -> list[Contact]:
    """Contacts that look like the same person: the same e-mail (any case), or the same name (ignoring
    accents, case and spacing) at the same office. Merged records are left out; inactive ones are not."""
    email = _email(email)
    key = normalise(name)
    conditions = []
    if email:
        conditions.append(Contact.email == email)
    if key and office is not None:
        conditions.append(Contact.office_id == office.id)
    if not conditions:
        return []
    candidates = db.session.scalars(
        sa.select(Contact)
        .where(Contact.merged_into_id.is_(None), sa.or_(*conditions))
        .options(joinedload(Contact.office).joinedload(Office.country))
        .order_by(Contact.name, Contact.id)
    ).all()
    return [
        contact
        for contact in candidates
        if (exclude is None or contact.id != exclude.id)
        and (
            (email and contact.email == email)
            or (key and office is not None and contact.office_id == office.id and normalise(contact.name) == key)
        )
    ]


def create_contact(
    *,
    actor,
    office: Office,
    name: str,
    title: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    personal_phone: str | None = None,
    language: str | None = None,
    notes: str | None = None,
    started_on: dt.date | None = None,
    confirm_duplicate: bool = False,
) -> Contact:
    """A new contact in their post at an office (since `started_on`, today if not given). Raises
    DuplicateContact when they look like someone on file, unless the user confirmed it is someone else."""
    values = _contact_values(
        dict(
            name=name,
            title=title,
            email=email,
            phone=phone,
            personal_phone=personal_phone,
            language=language,
            notes=notes,
        )
    )
    if not values["name"]:
        raise ContactError(_("A contact needs a name."), field="name")
    if office is None or not office.active:
        raise ContactError(_("Contacts can only be added to an active office."), field="office")
    started_on = started_on or clock.today(actor)
    _not_in_future(started_on, "started_on")
    if not confirm_duplicate:
        matches = find_duplicates(values["email"], values["name"], office)
        if matches:
            raise DuplicateContact(matches)
    contact = Contact(office=office, **values)
    contact.posts.append(Post(office=office, title=values["title"], started_on=started_on))
    audit.created(
        "contact.create",
        contact,
        actor=actor,
        after=lambda contact: {
            **_contact_snapshot(contact),
            "started_on": started_on.isoformat(),
            "confirmed_not_duplicate": bool(confirm_duplicate),
        },
    )
    return contact


def add_contact_met(*, actor, office: Office | None, name: str, title: str | None, met_on: dt.date) -> Contact:
    """Someone met for the first time, recorded with the meeting in the same submit: the same rules and
    audit as any new contact, holding their post since the meeting at the latest. Someone who looks
    like a contact on file is refused with their names, to be ticked among the attendees instead."""
    if office is None:
        raise ContactError(_("Choose the office of the person met for the first time."), field="office")
    try:
        return create_contact(actor=actor, office=office, name=name, title=title, started_on=met_on)
    except DuplicateContact as duplicate:
        names = ", ".join(contact.name for contact in duplicate.matches)
        raise ContactError(
            _("Already on file at this office: %(names)s. Tick them among the attendees instead.", names=names),
            field="name",
        ) from None


def _refuse_if_merged(contact: Contact) -> None:
    if contact.merged_into_id is not None:
        raise ContactError(_("This record was merged into another; change that one instead."))


def update_contact(contact: Contact, *, actor, expected_version=None, **changes) -> None:
    """Correct a contact's details. A corrected title corrects the post they hold now; a new post is a move."""
    _refuse_if_merged(contact)
    check_version(contact, expected_version)
    unknown = set(changes) - CONTACT_EDITABLE
    if unknown:
        raise ContactError(f"cannot change {', '.join(sorted(unknown))} here")
    values = _contact_values(changes)
    if "name" in values and not values["name"]:
        raise ContactError(_("A contact needs a name."), field="name")
    before = _contact_snapshot(contact)
    if "title" in values and values["title"] != contact.title:
        for post in contact.posts:
            if post.ended_on is None and post.office_id == contact.office_id:
                post.title = values["title"]
    for name, value in values.items():
        setattr(contact, name, value)
    db.session.flush()
    after = _contact_snapshot(contact)
    if after != before:
        audit.record("contact.update", actor=actor, entity=contact, before=before, after=after)


def deactivate_contact(contact: Contact, *, actor, expected_version=None, ended_on: dt.date | None = None) -> None:
    """They have left: the post they held ends (today if no date is given) and stays in the office's history."""
    _refuse_if_merged(contact)
    check_version(contact, expected_version)
    if not contact.active:
        raise ContactError(_("This contact is already inactive."))
    ended_on = ended_on or clock.today(actor)
    _not_in_future(ended_on, "ended_on")
    open_posts = [post for post in contact.posts if post.ended_on is None]
    for post in open_posts:
        if ended_on < post.started_on:
            raise ContactError(
                _("They held their post from %(date)s: the end cannot come before that.", date=_day(post.started_on)),
                field="ended_on",
            )
    before = _contact_snapshot(contact)
    for post in open_posts:
        post.ended_on = ended_on
    contact.active = False
    db.session.flush()
    audit.record(
        "contact.deactivate",
        actor=actor,
        entity=contact,
        before=before,
        after={
            **_contact_snapshot(contact),
            "ended_on": ended_on.isoformat(),
            "ended_post_ids": [post.id for post in open_posts],
        },
    )


def move_contact(
    contact: Contact, *, actor, office: Office, title: str | None, started_on: dt.date, expected_version=None
) -> Post:
    """A contact takes another post, at the same office or another: the post they held ends the day the new
    one starts, and both stay in the history. Moving an inactive contact records that they are back."""
    _refuse_if_merged(contact)
    check_version(contact, expected_version)
    if office is None or not office.active:
        raise ContactError(_("Choose an active office."), field="office")
    if started_on is None:
        raise ContactError(_("Give the date the new post started."), field="started_on")
    _not_in_future(started_on, "started_on")
    title = _clean(title)
    open_posts = [post for post in contact.posts if post.ended_on is None]
    if contact.active and any(
        post.office_id == office.id and normalise(post.title) == normalise(title) for post in open_posts
    ):
        raise ContactError(_("They already hold that post."), field="title")
    for post in open_posts:
        if started_on < post.started_on:
            raise ContactError(
                _(
                    "The current post started on %(date)s: the new one cannot start before it.",
                    date=_day(post.started_on),
                ),
                field="started_on",
            )
    before = {**_contact_snapshot(contact), "open_post_ids": [post.id for post in open_posts]}
    for post in open_posts:
        post.ended_on = started_on
    new_post = Post(office=office, title=title, started_on=started_on)
    contact.posts.append(new_post)
    contact.office = office
    contact.title = title
    contact.active = True
    db.session.flush()
    audit.record(
        "contact.move",
        actor=actor,
        entity=contact,
        before=before,
        after={**_contact_snapshot(contact), "post_id": new_post.id, "started_on": started_on.isoformat()},
    )
    return new_post


def _contact_filters(statement, query: str | None, status: str | None):
    if query and query.strip():
        # The stored folded text, through its index: "munoz" finds Muñoz, "ŁÓDŹ" finds lodz.
        statement = statement.where(Contact.search_text.like(contains_pattern(query), escape="\\"))
    if status == "active":
        statement = statement.where(Contact.active.is_(True), Contact.merged_into_id.is_(None))
    elif status == "inactive":
        statement = statement.where(Contact.active.is_(False), Contact.merged_into_id.is_(None))
    return statement


def search_contacts(*, query: str | None = None, status: str | None = "active"):
    """A select of contacts by name, e-mail or title, active, inactive or all (merged records only under all),
    with their offices and countries, by name."""
    statement = sa.select(Contact).options(
        joinedload(Contact.office).joinedload(Office.country),
        joinedload(Contact.office).joinedload(Office.host_country),
    )
    return _contact_filters(statement, query, status).order_by(Contact.name, Contact.id)


def contact_list(*, query: str | None = None, status: str | None = "active", language: str = "en"):
    """The same search as rows of what the contacts list shows (no ORM objects: a page of them costs
    more to build than to read): id, name, title, e-mail, active, merged_into_id, office_id,
    office_name and country_name (the government's, in `language`)."""
    country_name = Country.name_es if str(language).startswith("es") else Country.name_en
    statement = (
        sa.select(
            Contact.id,
            Contact.name,
            Contact.title,
            Contact.email,
            Contact.active,
            Contact.merged_into_id,
            Office.id.label("office_id"),
            Office.name.label("office_name"),
            country_name.label("country_name"),
        )
        .join(Office, Contact.office_id == Office.id)
        .join(Country, Office.country_id == Country.id)
    )
    return _contact_filters(statement, query, status).order_by(Contact.name, Contact.id)


# Merging duplicates


@dataclass
class MergePreview:
    meeting_ids: list[int]
    shared_meeting_ids: list[int]
    letter_ids: list[int]
    post_count: int
    fills: dict[str, object] = field(default_factory=dict)


def check_merge(survivor: Contact, merged: Contact) -> None:
    if survivor.id == merged.id:
        raise ContactError(_("A contact cannot be merged into itself."))
    if survivor.merged_into_id is not None:
        raise ContactError(
            _("%(name)s was already merged into another record; merge into that one.", name=survivor.name)
        )
    if merged.merged_into_id is not None:
        raise ContactError(_("%(name)s was already merged into another record.", name=merged.name))
    if not survivor.active and merged.active:
        raise ContactError(_("Keep the active record: merge the inactive one into it instead."))


def _fills(survivor: Contact, merged: Contact) -> dict[str, object]:
    fills = {
        name: getattr(merged, name) for name in MERGE_FILLS if not getattr(survivor, name) and getattr(merged, name)
    }
    if not survivor.title and merged.title and merged.office_id == survivor.office_id:
        fills["title"] = merged.title
    return fills


def merge_preview(survivor: Contact, merged: Contact) -> MergePreview:
    """What a merge would move, for the confirmation page. Raises ContactError if it cannot be done."""
    check_merge(survivor, merged)
    survivor_meetings = set(
        db.session.scalars(sa.select(meeting_contact.c.meeting_id).where(meeting_contact.c.contact_id == survivor.id))
    )
    merged_meetings = db.session.scalars(
        sa.select(meeting_contact.c.meeting_id)
        .where(meeting_contact.c.contact_id == merged.id)
        .order_by(meeting_contact.c.meeting_id)
    ).all()
    letter_ids = db.session.scalars(
        sa.select(Letter.id).where(Letter.recipient_contact_id == merged.id).order_by(Letter.id)
    ).all()
    post_count = db.session.scalar(sa.select(sa.func.count()).select_from(Post).where(Post.contact_id == merged.id))
    return MergePreview(
        meeting_ids=list(merged_meetings),
        shared_meeting_ids=[m for m in merged_meetings if m in survivor_meetings],
        letter_ids=list(letter_ids),
        post_count=post_count,
        fills=_fills(survivor, merged),
    )


def _same_term(kept: Post, other: Post) -> bool:
    """Two records of one term: at the same office, both held now (a missing title matches any), or with the
    same title and dates."""
    if kept.office_id != other.office_id:
        return False
    if kept.ended_on is None and other.ended_on is None:
        return not kept.title or not other.title or normalise(kept.title) == normalise(other.title)
    return (normalise(kept.title), kept.started_on, kept.ended_on) == (
        normalise(other.title),
        other.started_on,
        other.ended_on,
    )


def _expire_loaded(*models) -> None:
    """Rows changed with plain UPDATE/DELETE statements: drop what the session holds of them."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, models):
            db.session.expire(obj)


def merge_contacts(
    survivor: Contact, merged: Contact, *, actor, survivor_version=None, merged_version=None
) -> MergePreview:
    """Merge a duplicate into the record that stays: its meetings (without listing the survivor twice at a
    meeting both attended), letters and posts move over, the survivor's empty details are filled from it, and
    the duplicate is kept, inactive, pointing to the survivor. Recorded in the audit log with both ids."""
    check_version(survivor, survivor_version)
    check_version(merged, merged_version)
    preview = merge_preview(survivor, merged)
    db.session.flush()
    before = {"survivor": _contact_snapshot(survivor), "merged": _contact_snapshot(merged)}

    mc = meeting_contact.c
    survivor_meetings = sa.select(mc.meeting_id).where(mc.contact_id == survivor.id)
    db.session.execute(
        sa.delete(meeting_contact).where(mc.contact_id == merged.id, mc.meeting_id.in_(survivor_meetings))
    )
    db.session.execute(sa.update(meeting_contact).where(mc.contact_id == merged.id).values(contact_id=survivor.id))
    # Bump the versions, so that a meeting or letter form opened before the merge cannot put the old contact back.
    meeting_table, letter_table = Meeting.__table__, Letter.__table__
    if preview.meeting_ids:
        db.session.execute(
            sa.update(meeting_table)
            .where(meeting_table.c.id.in_(preview.meeting_ids))
            .values(version=meeting_table.c.version + 1)
        )
    if preview.letter_ids:
        db.session.execute(
            sa.update(letter_table)
            .where(letter_table.c.id.in_(preview.letter_ids))
            .values(recipient_contact_id=survivor.id, version=letter_table.c.version + 1)
        )
    _expire_loaded(Meeting, Letter)

    survivor_open = [post for post in survivor.posts if post.ended_on is None]
    for post in list(merged.posts):
        twin = next((kept for kept in survivor.posts if _same_term(kept, post)), None)
        if twin is not None:
            # The same term recorded twice: keep one, with the earliest start known and a title if either has one.
            twin.started_on = min(twin.started_on, post.started_on)
            twin.title = twin.title or post.title
            merged.posts.remove(post)
            db.session.delete(post)
            continue
        if post.ended_on is None and survivor_open:
            # One person holds one post now: the duplicate's other open post ended when the survivor's began.
            post.ended_on = max(post.started_on, min(kept.started_on for kept in survivor_open))
        post.contact = survivor

    for name, value in preview.fills.items():
        setattr(survivor, name, value)
        if name == "title":
            for post in survivor_open:
                if post.office_id == survivor.office_id and not post.title:
                    post.title = value
    for earlier in db.session.scalars(sa.select(Contact).where(Contact.merged_into_id == merged.id)):
        earlier.merged_into_id = survivor.id
    merged.merged_into_id = survivor.id
    merged.active = False
    db.session.flush()
    audit.record(
        "contact.merge",
        actor=actor,
        entity=survivor,
        before=before,
        after={
            "survivor_id": survivor.id,
            "merged_id": merged.id,
            "survivor": _contact_snapshot(survivor),
            "merged": _contact_snapshot(merged),
            "meeting_ids": preview.meeting_ids,
            "shared_meeting_ids": preview.shared_meeting_ids,
            "letter_ids": preview.letter_ids,
            "filled": sorted(preview.fills),
        },
    )
    return preview


# The contact page


@dataclass
class ContactHistory:
    posts: list[Post]
    meetings: list[Meeting]
    letters: list[Letter]
    successors: dict[int, Contact]  # ended post id -> who holds that post now
    merged_into: Contact | None
    merged_here: list[Contact]


def _letter_day(letter: Letter) -> dt.date:
    return letter.sent_on or letter.received_on or letter.created_at.date()


def contact_history(contact: Contact) -> ContactHistory:
    """Every post the contact held, every meeting they attended and every letter addressed to them
    (a fixed number of queries, however long the history)."""
    posts = db.session.scalars(
        sa.select(Post)
        .where(Post.contact_id == contact.id)
        .options(
            joinedload(Post.office).joinedload(Office.country), joinedload(Post.office).joinedload(Office.host_country)
        )
        .order_by(Post.started_on.desc(), Post.id.desc())
    ).all()
    meetings = db.session.scalars(
        sa.select(Meeting)
        .join(meeting_contact, meeting_contact.c.meeting_id == Meeting.id)
        .where(meeting_contact.c.contact_id == contact.id)
        # The list shows no notes: the encrypted ones are neither read nor decrypted.
        .options(
            defer(Meeting.confidential_notes),
            joinedload(Meeting.office),
            selectinload(Meeting.outreach_records).joinedload(OutreachRecord.country),
        )
        .order_by(Meeting.held_at.desc(), Meeting.id.desc())
    ).all()
    letters = db.session.scalars(
        sa.select(Letter)
        .where(Letter.recipient_contact_id == contact.id)
        .options(defer(Letter.body), joinedload(Letter.outreach).joinedload(OutreachRecord.country))
        .order_by(Letter.id.desc())
    ).all()
    letters = sorted(letters, key=lambda letter: (_letter_day(letter), letter.id), reverse=True)
    ended = [post for post in posts if post.ended_on is not None]
    held = _open_posts_at({post.office_id for post in ended})
    merged_into = db.session.get(Contact, contact.merged_into_id) if contact.merged_into_id else None
    merged_here = db.session.scalars(
        sa.select(Contact).where(Contact.merged_into_id == contact.id).order_by(Contact.id)
    ).all()
    return ContactHistory(
        posts=posts,
        meetings=meetings,
        letters=letters,
        successors=_successors(ended, held),
        merged_into=merged_into,
        merged_here=merged_here,
    )
