"""Contact rules: creating and correcting contacts, finding likely duplicates, and moves between posts
that keep the history of who held which post. Offices have theirs in crm.contacts.offices, merges in
crm.contacts.merging. Plain functions; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from crm import clock
from crm.audit import services as audit
from crm.contacts.models import Contact, Office, Post
from crm.countries.models import Country
from crm.database import UTCDateTime, check_version, contains_pattern, pageable
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import _, readers_date
from crm.letters.models import Letter
from crm.outreach.models import Meeting, OutreachRecord, meeting_contact, meeting_outreach

CONTACT_FIELDS = ("office_id", "name", "title", "email", "phone", "language", "notes", "active", "merged_into_id")
# personal_phone is editable but never copied into the audit log (CONTACT_FIELDS): it is encrypted at
# rest, and the log must not keep a readable copy.
CONTACT_EDITABLE = {"name", "title", "email", "phone", "personal_phone", "language", "notes"}
CONTACT_STATUSES = ("active", "inactive", "all")


class ContactError(DomainError):
    """A request that breaks a rule about offices or contacts, with a message for the user. `field` names
    the form field the message belongs beside, when there is one."""


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


def _contact_filters(statement, pattern, status: str | None):
    """`pattern`: what contains_pattern makes of the search (or a parameter for it), None for no search."""
    if pattern is not None:
        # The stored folded text, through its index: "munoz" finds Muñoz, "ŁÓDŹ" finds lodz.
        statement = statement.where(Contact.search_text.like(pattern, escape="\\"))
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
    pattern = contains_pattern(query) if query and query.strip() else None
    return _contact_filters(statement, pattern, status).order_by(Contact.name, Contact.id)


def contact_list(
    *, query: str | None = None, status: str | None = "active", language: str = "en"
) -> tuple[sa.Select, dict]:
    """The same search as rows of what the contacts list shows (no ORM objects: a page of them costs
    more to build than to read): id, name, title, e-mail, active, merged_into_id, office_id,
    office_name and country_name (the government's, in `language`). A statement for crm.web.page_of,
    built once for each shape of search, and its parameters."""
    searching = bool(query and query.strip())
    statement = _contact_list(searching, status, str(language).startswith("es"))
    return statement, ({"pattern": contains_pattern(query)} if searching else {})


@lru_cache(maxsize=16)
def _contact_list(searching: bool, status: str | None, in_spanish: bool) -> sa.Select:
    country_name = Country.name_es if in_spanish else Country.name_en
    # The office and its country are looked up for the page's rows only: as subqueries in the select list,
    # which PostgreSQL evaluates after the sort and the limit, where a join hashed all 4,500 offices first.
    office_name = sa.select(Office.name).where(Office.id == Contact.office_id).scalar_subquery()
    government = (
        sa.select(country_name)
        .join(Office, Office.country_id == Country.id)
        .where(Office.id == Contact.office_id)
        .scalar_subquery()
    )
    statement = sa.select(
        Contact.id,
        Contact.name,
        Contact.title,
        Contact.email,
        Contact.active,
        Contact.merged_into_id,
        Contact.office_id,
        office_name.label("office_name"),
        government.label("country_name"),
    )
    pattern = sa.bindparam("pattern", type_=sa.String) if searching else None
    return pageable(_contact_filters(statement, pattern, status).order_by(Contact.name, Contact.id))


# The contact page


@dataclass
class ContactHistory:
    posts: list  # HistoryPost rows, newest first
    meetings: list  # HistoryMeeting, newest first
    letters: list  # HistoryLetter rows, newest first
    successors: dict[int, Contact]  # ended post id -> who holds that post now
    merged_into: Contact | None
    merged_here: list[Contact]


class HistoryMeeting(NamedTuple):
    """A meeting the contact attended, as their page lists it: the governments it concerned by name."""

    id: int
    held_at: dt.datetime
    office_id: int | None
    office_name: str | None
    summary: str
    countries: list[str]


def _letter_day(letter) -> dt.date:
    return letter.sent_on or letter.received_on or letter.created_at.date()


class HistoryPost(NamedTuple):
    """A post the contact held, as their page lists it."""

    id: int
    contact_id: int
    office_id: int
    title: str
    started_on: dt.date
    ended_on: dt.date | None
    office_name: str
    country_name: str


class HistoryLetter(NamedTuple):
    """A letter addressed to the contact, as their page lists it."""

    id: int
    sent_on: dt.date | None
    received_on: dt.date | None
    created_at: dt.datetime
    direction: str
    subject: str
    country_name: str


# The kinds of rows of _history_statement, in the order it lists them.
_POST, _MEETING, _LETTER = 0, 1, 2


@cache
def _history_statement(spanish: bool) -> sa.CompoundSelect:
    """A contact's posts (newest first), meetings (a row per meeting and government it concerned, a meeting
    with none having one without a name; newest first) and letters (newest first), the columns the page shows
    as rows of one statement, built once for each language, the contact a parameter: records with their
    offices, countries and governments built as objects, in a statement each, cost the page more than the rest
    of it. Each row: kind, id, two days, a time, an office, the contact, two words, the government's name and
    the record (a meeting's, for its order); a column holds the same type of value in every kind, as a union
    needs, and what a kind has not is NULL."""
    contact_id = sa.bindparam("contact_id", type_=sa.Integer)
    country_name = (Country.name_es if spanish else Country.name_en).label("country_name")
    no_day, no_id = sa.cast(sa.null(), sa.Date), sa.cast(sa.null(), sa.Integer)
    posts = (
        sa.select(
            sa.literal(_POST).label("kind"),
            Post.id.label("row_id"),
            Post.started_on.label("first_day"),
            Post.ended_on.label("second_day"),
            sa.type_coerce(sa.null(), UTCDateTime).label("moment"),
            Post.office_id,
            Post.contact_id,
            Post.title.label("words"),
            Office.name.label("more_words"),
            country_name,
            no_id.label("record_id"),
        )
        .join(Office, Office.id == Post.office_id)
        .join(Country, Country.id == Office.country_id)
        .where(Post.contact_id == contact_id)
    )
    meetings = (
        sa.select(
            sa.literal(_MEETING),
            Meeting.id,
            no_day,
            no_day,
            Meeting.held_at,
            Meeting.office_id,
            no_id,
            Meeting.summary,
            Office.name,
            country_name,
            OutreachRecord.id,
        )
        .join(meeting_contact, meeting_contact.c.meeting_id == Meeting.id)
        .outerjoin(Office, Office.id == Meeting.office_id)
        .outerjoin(meeting_outreach, meeting_outreach.c.meeting_id == Meeting.id)
        .outerjoin(OutreachRecord, OutreachRecord.id == meeting_outreach.c.outreach_id)
        .outerjoin(Country, Country.id == OutreachRecord.country_id)
        .where(meeting_contact.c.contact_id == contact_id)
    )
    letters = (
        sa.select(
            sa.literal(_LETTER),
            Letter.id,
            Letter.sent_on,
            Letter.received_on,
            Letter.created_at,
            no_id,
            no_id,
            Letter.subject,
            Letter.direction,
            country_name,
            no_id,
        )
        .join(OutreachRecord, OutreachRecord.id == Letter.outreach_id)
        .join(Country, Country.id == OutreachRecord.country_id)
        .where(Letter.recipient_contact_id == contact_id)
    )
    # Posts by the day they started, meetings by the time they were held, each kind's latest first; a
    # meeting's governments in the order of their records.
    return sa.union_all(posts, meetings, letters).order_by(
        sa.literal_column("kind"),
        sa.literal_column("first_day").desc(),
        sa.literal_column("moment").desc(),
        sa.literal_column("row_id").desc(),
        sa.literal_column("record_id"),
    )


@cache
def _merged_here() -> sa.Select:
    # The duplicates merged into a contact (built once, the contact a parameter): every contact page asks.
    return sa.select(Contact).where(Contact.merged_into_id == sa.bindparam("contact_id")).order_by(Contact.id)


def contact_history(contact: Contact, language: str = "en") -> ContactHistory:
    """Every post the contact held, every meeting they attended and every letter addressed to them, as
    rows of what their page shows, governments named in `language` (a fixed number of queries, however
    long the history)."""
    rows = db.session.connection().execute(_history_statement(language == "es"), {"contact_id": contact.id}).all()
    posts, letters = [], []
    meetings: dict[int, HistoryMeeting] = {}
    for kind, row_id, first_day, second_day, moment, office_id, contact_id, words, more_words, country, _record in rows:
        if kind == _POST:
            posts.append(HistoryPost(row_id, contact_id, office_id, words, first_day, second_day, more_words, country))
        elif kind == _LETTER:
            letters.append(HistoryLetter(row_id, first_day, second_day, moment, more_words, words, country))
        else:
            meeting = meetings.get(row_id)
            if meeting is None:
                meeting = meetings[row_id] = HistoryMeeting(row_id, moment, office_id, more_words, words, [])
            if country is not None:
                meeting.countries.append(country)
    letters = sorted(letters, key=lambda letter: (_letter_day(letter), letter.id), reverse=True)
    ended = [post for post in posts if post.ended_on is not None]
    held = _open_posts_at({post.office_id for post in ended})
    merged_into = db.session.get(Contact, contact.merged_into_id) if contact.merged_into_id else None
    merged_here = db.session.scalars(_merged_here(), {"contact_id": contact.id}).all()
    return ContactHistory(
        posts=posts,
        meetings=list(meetings.values()),
        letters=letters,
        successors=_successors(ended, held),
        merged_into=merged_into,
        merged_here=merged_here,
    )
