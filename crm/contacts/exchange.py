"""Offices and contacts in and out of Alcance as CSV or vCard: an embassy's list of staff, a phone's address
book. An import is all or nothing, as the signature import is: every row is checked, duplicates of
contacts on file are skipped (or their empty fields filled in, when asked), and one row that cannot be
placed refuses the whole file with a report of every problem."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
import vobject
from flask import has_request_context
from sqlalchemy.orm import joinedload

from crm.contacts import offices
from crm.contacts import services as contacts
from crm.contacts.models import OFFICE_KINDS, Contact, Office, contact_search_text
from crm.countries.models import Country
from crm.database import fold, reading, serialise, stale_record_message, utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.signatures.normalise import CountryResolver
from crm.staging import StagingArea
from crm.translation import gettext, ngettext
from crm.web import client_address

FORMATS = ("csv", "vcard")
# Where an uploaded file waits between the import page's preview and the import (names, e-mail addresses
# and phone numbers: kept minutes, the app's user only).
UPLOADS = StagingArea("CONTACT_UPLOAD_DIR", "contact_uploads")
DUPLICATE_CHOICES = ("skip", "merge")
# The columns of an import (and of the CSV export), and the other headers each is recognised by.
COLUMNS = {
    "name": ("name", "full name", "nombre", "fn"),
    "title": ("title", "post", "position", "cargo"),
    "email": ("email", "e-mail", "correo", "correo electronico"),
    "phone": ("phone", "telephone", "telefono", "tel"),
    "language": ("language", "idioma"),
    "notes": ("notes", "notas", "note"),
    "office": ("office", "organisation", "organization", "org", "sede", "representacion"),
    "kind": ("kind", "office kind", "tipo"),
    "government": ("government", "country", "gobierno", "pais"),
    "city": ("city", "ciudad"),
    "host_country": ("host country", "pais sede", "pais anfitrion"),
}
REQUIRED = ("name", "office", "government", "city")
MERGEABLE = ("title", "email", "phone", "language", "notes")


class ImportRejected(DomainError):
    """Nothing was imported: the file as a whole, or these rows, could not be read or placed."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class ImportRow:
    line: int
    values: dict


@dataclass
class ImportReport:
    rows: int = 0
    contacts_added: int = 0
    offices_added: int = 0
    duplicates_skipped: list[str] = field(default_factory=list)
    duplicates_merged: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"rows: {self.rows}",
            f"contacts added: {self.contacts_added}",
            f"offices added: {self.offices_added}",
            f"duplicates skipped: {len(self.duplicates_skipped)}",
            f"duplicates merged: {len(self.duplicates_merged)}",
        ]
        out += [f"skipped (already on file): {name}" for name in self.duplicates_skipped]
        out += [f"merged into the record on file: {name}" for name in self.duplicates_merged]
        return out


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(
            gettext(
                "The file is not UTF-8 text (byte %(position)s cannot be read). Save it "
                "again as UTF-8 and import it again.",
                position=error.start + 1,
            )
        ) from None


def _header_key(header: str) -> str | None:
    wanted = " ".join(fold(header or "").replace("_", " ").split())
    return next((key for key, names in COLUMNS.items() if wanted in names), None)


def _reader(text: str):
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)


def csv_headers(data: bytes) -> list[str]:
    """The header row of a CSV file, as written."""
    try:
        return next(_reader(_text(data)))
    except StopIteration:
        raise ImportRejected(gettext("The file is empty.")) from None
    except csv.Error as error:
        raise ImportRejected(gettext("The file is not a CSV table: %(error)s", error=str(error))) from None


def detect_mapping(headers: list[str]) -> dict[int, str]:
    """Which column each header stands for, by its name in English or Spanish (unknown headers: none)."""
    return {index: key for index, header in enumerate(headers) if (key := _header_key(header))}


def read_csv(data: bytes, mapping: dict[int, str] | None = None) -> list[ImportRow]:
    """The rows of a CSV file. `mapping` (column index -> field) overrides what the headers say."""
    headers = csv_headers(data)
    if mapping is None:
        mapping = detect_mapping(headers)
    unknown = set(mapping.values()) - set(COLUMNS)
    if unknown:
        raise ImportRejected(gettext("Unknown column %(column)s.", column=", ".join(sorted(unknown))))
    found = set(mapping.values())
    missing = [column for column in REQUIRED if column not in found]
    if missing:
        raise ImportRejected(
            gettext(
                "This CSV does not have the columns an import of contacts needs: %(missing)s missing (found: "
                "%(found)s). Expected columns: %(expected)s.",
                missing=", ".join(missing),
                found=", ".join(h for h in headers if h.strip()) or "—",
                expected=", ".join(COLUMNS),
            )
        )
    rows = []
    reader = _reader(_text(data))
    try:
        next(reader)
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            values = {key: cells[index].strip() for index, key in mapping.items() if index < len(cells)}
            rows.append(ImportRow(number, values))
    except csv.Error as error:
        raise ImportRejected(gettext("The file is not a CSV table: %(error)s", error=str(error))) from None
    return rows


def read_vcard(data: bytes) -> list[ImportRow]:
    text = _text(data)
    rows = []
    try:
        cards = list(vobject.readComponents(text, validate=False))
    except Exception as error:  # noqa: BLE001 - vobject raises many kinds of error for a broken file
        raise ImportRejected(gettext("The file is not a vCard file: %(error)s", error=str(error)[:200])) from None
    if not cards:
        raise ImportRejected(gettext("The file holds no vCard."))
    for number, card in enumerate(cards, start=1):
        if card.name != "VCARD":
            raise ImportRejected(
                gettext("The file is not a vCard file: entry %(number)s is a %(kind)s.", number=number, kind=card.name)
            )

        def first(name, card=card):
            entries = card.contents.get(name.lower())
            return entries[0].value if entries else None

        org = first("ORG")
        address = first("ADR")
        values = {
            "name": (first("FN") or "").strip(),
            "title": first("TITLE"),
            "email": first("EMAIL"),
            "phone": first("TEL"),
            "notes": first("NOTE"),
            "language": first("X-ALCANCE-LANGUAGE"),
            "office": (org[0] if isinstance(org, list) and org else org) or None,
            "kind": first("X-ALCANCE-OFFICE-KIND"),
            "government": first("X-ALCANCE-GOVERNMENT"),
            "city": getattr(address, "city", None) or None,
            "host_country": getattr(address, "country", None) or None,
        }
        rows.append(ImportRow(number, {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}))
    return rows


def read_file(data: bytes, file_format: str, mapping: dict[int, str] | None = None) -> list[ImportRow]:
    if file_format not in FORMATS:
        raise ImportRejected(gettext("Unknown format %(format)s; use csv or vcard.", format=file_format))
    return read_csv(data, mapping) if file_format == "csv" else read_vcard(data)


def guess_format(filename: str, data: bytes) -> str:
    if filename.lower().endswith((".vcf", ".vcard")) or data.lstrip()[:11].upper() == b"BEGIN:VCARD":
        return "vcard"
    return "csv"


# --- Import: checked without the write lock, written in one short transaction ----------------------
#
# A long file must not keep other users from saving (SQLite has one write lock for the whole database),
# and the import stays all or nothing. So an import is two steps. plan_import reads and checks every row,
# finds each office and matches each contact against those on file, in a transaction that takes no write
# lock (crm.database.reading): a preview is this step alone. write_import then, in the caller's one
# transaction, re-checks what others may have changed meanwhile (the offices and the contacts that could
# be duplicates: a few queries, in batches) and writes everything in batches of rows. One row that cannot
# be placed, now or at the re-check, and nothing is written.

_LENGTHS = {name: Contact.__table__.c[name].type.length for name in ("name", *MERGEABLE) if name != "notes"}
_BATCH = 500  # values in one IN (...) list: well inside both databases' limits


@dataclass
class CheckedRow:
    """A row that could be read: its contact's values cleaned, and the key of its office."""

    line: int
    values: dict
    office_key: tuple  # (government id, kind, host country id, city)
    office_name: str
    name_key: str  # the name as compared for sameness (crm.contacts.services.normalise)


@dataclass
class ImportPlan:
    """What an import would write, as checked (ids and values only: it outlives its transaction)."""

    duplicates: str
    rows: list[CheckedRow]
    report: ImportReport
    # Filled in by _match: the offices to add, the contacts to add (row, office key) and the fields to
    # fill in on contacts on file (contact id, its version when checked, fields), in the file's order.
    new_offices: dict = field(default_factory=dict)
    office_ids: dict = field(default_factory=dict)
    new_contacts: list = field(default_factory=list)
    merges: list = field(default_factory=list)
    # The contacts on file that could be duplicates, as the match read them (_on_file).
    on_file: list = field(default_factory=list)


def _refused(problems: list[str]) -> ImportRejected:
    return ImportRejected(
        ngettext(
            "Nothing was imported: %(num)s row has a problem.",
            "Nothing was imported: %(num)s rows have problems.",
            len(problems),
        ),
        problems,
    )


def _check_row(row: ImportRow, resolver) -> CheckedRow:
    """The row's values as a contact and its office's key; ContactError for what no database state fixes."""
    values = row.values
    government = resolver.resolve(values.get("government"))
    if not government:
        raise contacts.ContactError(gettext("unknown government “%(name)s”", name=values.get("government") or ""))
    host_name = values.get("host_country") or values.get("government")
    host = resolver.resolve(host_name)
    if not host:
        raise contacts.ContactError(gettext("unknown host country “%(name)s”", name=host_name or ""))
    kind = (values.get("kind") or "embassy").strip().lower().replace(" ", "_")
    if kind not in OFFICE_KINDS:
        raise contacts.ContactError(gettext("unknown kind of office “%(kind)s”", kind=kind))
    cleaned = contacts._contact_values({column: values.get(column) for column in ("name", *MERGEABLE)})
    if not cleaned["name"]:
        raise contacts.ContactError(gettext("A contact needs a name."))
    for column, length in _LENGTHS.items():
        if cleaned.get(column) and len(cleaned[column]) > length:
            raise contacts.ContactError(
                gettext("the %(column)s is longer than %(length)s characters", column=column, length=length)
            )
    if cleaned.get("email") and not re.match(r"^[^@\s]+@[^@\s]+$", cleaned["email"]):
        raise contacts.ContactError(gettext("“%(email)s” is not an e-mail address", email=cleaned["email"]))
    office_key = (government, kind, host, values.get("city"))
    return CheckedRow(row.line, cleaned, office_key, values.get("office") or "", contacts.normalise(cleaned["name"]))


def _offices(plan: ImportPlan, problems: list[str]) -> None:
    """Each office key's office on file (by id), or the office to add; rows whose office cannot be used
    become problems."""
    plan.office_ids, plan.new_offices = {}, {}
    refused: dict[tuple, str] = {}
    for row in plan.rows:
        key = row.office_key
        if key not in plan.office_ids and key not in plan.new_offices and key not in refused:
            government, kind, host, city = key
            office = db.session.execute(
                sa.select(Office.id, Office.active).where(
                    Office.country_id == government,
                    Office.kind == kind,
                    Office.host_country_id == host,
                    Office.city == city,
                )
            ).first()
            if office is not None and not office.active:
                refused[key] = gettext("Contacts can only be added to an active office.")
            elif office is not None:
                plan.office_ids[key] = office.id
            else:
                try:
                    # The checks create_office makes: a name, and no office of this kind in the same city.
                    offices._check_office(
                        {
                            "kind": kind,
                            "name": contacts._clean(row.office_name),
                            "city": contacts._clean(city),
                            "country": db.session.get(Country, government),
                            "host_country": db.session.get(Country, host),
                        }
                    )
                    plan.new_offices[key] = {"name": row.office_name, "city": city}
                except contacts.ContactError as error:
                    refused[key] = str(error)
        if key in refused:
            problems.append(gettext("row %(line)s: %(problem)s", line=row.line, problem=refused[key]))


def _on_file(plan: ImportPlan) -> list[dict]:
    """The contacts on file that could be duplicates of the rows: the same e-mail, or at the same office
    (not merged away), as rows of id, name, e-mail, office, version and the fields a merge may fill in."""
    emails = sorted({row.values["email"] for row in plan.rows if row.values.get("email")})
    office_ids = sorted(set(plan.office_ids.values()))
    columns = [
        Contact.id,
        Contact.name,
        Contact.email,
        Contact.office_id,
        Contact.version,
        *(getattr(Contact, column) for column in MERGEABLE if column not in ("name", "email")),
    ]
    found: dict[int, dict] = {}
    for values, column in ((emails, Contact.email), (office_ids, Contact.office_id)):
        for start in range(0, len(values), _BATCH):
            statement = sa.select(*columns).where(
                Contact.merged_into_id.is_(None), column.in_(values[start : start + _BATCH])
            )
            found.update((row.id, dict(row._mapping)) for row in db.session.execute(statement))
    return sorted(found.values(), key=lambda contact: (contact["name"], contact["id"]))


def _match(plan: ImportPlan) -> None:
    """Decide, from the database as it is now, what each row does: add its office and contact, skip it as a
    duplicate, or fill in a duplicate's empty fields. A contact added earlier in the file is on file for the
    rows after it, as it would be for a later import. Raises ImportRejected with every row's problem."""
    problems: list[str] = []
    _offices(plan, problems)
    if problems:
        raise _refused(problems)
    by_email: dict[str, list] = {}
    by_office: dict[tuple, list] = {}
    key_of_office = {office_id: key for key, office_id in plan.office_ids.items()}

    def remember(candidate, name_key):
        if candidate["email"]:
            by_email.setdefault(candidate["email"], []).append(candidate)
        by_office.setdefault((candidate["office_key"], name_key), []).append(candidate)

    plan.on_file = _on_file(plan)
    for contact in plan.on_file:
        office_key = key_of_office.get(contact["office_id"])
        remember({**contact, "office_key": office_key, "sort": (0, contact["id"])}, contacts.normalise(contact["name"]))
    report = ImportReport(rows=plan.report.rows, offices_added=len(plan.new_offices))
    plan.report, plan.new_contacts, plan.merges = report, [], []
    for row in plan.rows:
        values, name_key = row.values, row.name_key
        matches = {id(c): c for c in by_email.get(values.get("email") or "", [])}
        matches.update((id(c), c) for c in by_office.get((row.office_key, name_key), []))
        if not matches:
            new = {**values, "office_key": row.office_key, "sort": (1, len(plan.new_contacts)), "new": True}
            plan.new_contacts.append(new)
            remember(new, name_key)
            report.contacts_added += 1
            continue
        existing = min(matches.values(), key=lambda c: (c["name"], c["sort"]))
        if plan.duplicates == "skip":
            report.duplicates_skipped.append(values["name"])
            continue
        filled = {column: values[column] for column in MERGEABLE if values.get(column) and not existing.get(column)}
        existing.update(filled)
        if filled.get("email"):
            by_email.setdefault(filled["email"], []).append(existing)
        plan.merges.append((existing, filled))
        report.duplicates_merged.append(existing["name"])


def _as_planned(plan: ImportPlan) -> bool:
    """Whether the offices and the contacts that could be duplicates are still as the plan found them (a
    few queries): anything else in the database changes nothing the import does."""
    planned, problems = (dict(plan.office_ids), dict(plan.new_offices)), []
    _offices(plan, problems)
    return not problems and planned == (plan.office_ids, plan.new_offices) and _on_file(plan) == plan.on_file


def plan_import(rows: list[ImportRow], *, duplicates: str = "skip", progress=None) -> ImportPlan:
    """Check every row and decide what it would do, holding no write lock: ends the caller's transaction
    (committing it) and reads in one of its own. The plan's report is the preview. Raises ImportRejected,
    listing every row's problem."""
    if duplicates not in DUPLICATE_CHOICES:
        raise ImportRejected(gettext("Duplicates are either skipped or merged."))
    if not rows:
        raise ImportRejected(gettext("The file has no contacts in it."))
    with reading(db.session):
        resolver = CountryResolver()
        checked, problems = [], []
        for number, row in enumerate(rows, start=1):
            missing = [column for column in REQUIRED if not row.values.get(column)]
            if missing:
                problems.append(gettext("row %(line)s: %(missing)s missing", line=row.line, missing=", ".join(missing)))
            else:
                try:
                    checked.append(_check_row(row, resolver))
                except contacts.ContactError as error:
                    problems.append(gettext("row %(line)s: %(problem)s", line=row.line, problem=str(error)))
            if progress is not None and number % 1000 == 0:
                progress(number)
        if problems:
            raise _refused(problems)
        plan = ImportPlan(duplicates=duplicates, rows=checked, report=ImportReport(rows=len(rows)))
        _match(plan)
    return plan


def write_import(plan: ImportPlan, *, actor, today: dt.date) -> ImportReport:
    """Write what `plan` says, in the caller's transaction, after checking that the offices and the contacts
    that could be duplicates are as the plan found them, or else matching the rows again (what changed since
    the plan changes what a row does, as if the file were read now). Flushes; the caller commits, or rolls
    back on ImportRejected or any error: nothing is half-added."""
    serialise(db.session, "contacts.import")  # PostgreSQL: two imports never add the same office at once
    if not _as_planned(plan):
        _match(plan)
    now = utcnow()
    office_ids = dict(plan.office_ids)
    for key, office in plan.new_offices.items():
        government, kind, host, city = key
        created = offices.create_office(
            actor=actor,
            country=db.session.get(Country, government),
            host_country=db.session.get(Country, host),
            kind=kind,
            name=office["name"],
            city=city or "",
        )
        office_ids[key] = created.id
    # Rows go straight through the driver, in batches: SQLAlchemy's work per row and value would hold the
    # write lock several times longer than the writing itself. Their ids are taken first.
    writer = _DriverRows()
    ids = writer.new_ids("contact", len(plan.new_contacts))
    address = client_address() if has_request_context() else None
    contact_rows, post_rows, events = [], [], []
    created_at, started_on = writer.value(now), writer.value(today)
    for new, contact_id in zip(plan.new_contacts, ids, strict=True):
        new["id"], office_id = contact_id, office_ids[new["office_key"]]
        values = {column: new.get(column) for column in ("name", *MERGEABLE)}
        search = contact_search_text(values["name"], values["email"], values["title"])
        contact_rows.append((contact_id, office_id, *values.values(), True, created_at, 1, search))
        post_rows.append((contact_id, office_id, values["title"], started_on))
        snapshot = {**values, "office_id": office_id, "active": True, "merged_into_id": None}
        after = {**snapshot, "started_on": today.isoformat(), "confirmed_not_duplicate": True, "import": True}
        events.append(writer.event("contact.create", actor, contact_id, after, address, now))
    columns = ("id", "office_id", "name", *MERGEABLE, "active", "created_at", "version", "search_text")
    writer.insert("contact", columns, contact_rows)
    writer.insert("post", ("contact_id", "office_id", "title", "started_on"), post_rows)
    for existing, filled in plan.merges:
        if filled and not existing.get("new"):
            # Read in this transaction; on PostgreSQL a save may still slip in between: the version says
            # so, and the import is refused rather than writing over it.
            changed = db.session.execute(
                sa.update(Contact)
                .where(Contact.id == existing["id"], Contact.version == existing["version"])
                .values(
                    **filled,
                    version=Contact.version + 1,
                    search_text=contact_search_text(existing["name"], existing["email"], existing.get("title")),
                )
            ).rowcount
            if changed != 1:
                raise ImportRejected(stale_record_message())
            existing["version"] += 1
        events.append(writer.event("contact.update", actor, existing["id"], {**filled, "import": True}, address, now))
    writer.insert("audit_event", _DriverRows.EVENT_COLUMNS, events)
    db.session.flush()
    return plan.report


class _DriverRows:
    """Batches of rows written through the driver on the session's connection (its transaction), with the
    values as each database stores them: on SQLite, UTC timestamps as naive text and dates as ISO text, as
    SQLAlchemy writes them; JSON as text on both."""

    EVENT_COLUMNS = (
        "action",
        "actor_id",
        "actor_label",
        "entity_type",
        "entity_id",
        "after",
        "ip_address",
        "occurred_at",
    )

    def __init__(self):
        self.connection = db.session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"

    def value(self, value):
        if self.sqlite and isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        if self.sqlite and isinstance(value, dt.date):
            return value.isoformat()
        return value

    def new_ids(self, table: str, count: int) -> list[int]:
        """Ids for `count` new rows of `table`. PostgreSQL: taken from its sequence. SQLite: the ones it would
        give itself (one past the largest), which nobody else can take while this transaction holds the
        write lock."""
        if not count:
            return []
        if self.sqlite:
            largest = self.connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
            return list(range(largest + 1, largest + 1 + count))
        return list(
            self.connection.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (count,)
            ).scalars()
        )

    def event(self, action: str, actor, entity_id: int, after: dict, address, now) -> tuple:
        """An audit event about a contact, as audit.record writes it."""
        label = getattr(actor, "email", None) or (actor if isinstance(actor, str) else None)
        actor_id = getattr(actor, "id", None)
        return (action, actor_id, label, "contact", str(entity_id), json.dumps(after), address, self.value(now))

    def insert(self, table: str, columns: tuple, rows: list[tuple]) -> None:
        mark = "?" if self.sqlite else "%s"
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        for start in range(0, len(rows), _BATCH * 10):
            self.connection.exec_driver_sql(sql, rows[start : start + _BATCH * 10])


def import_contacts(rows: list[ImportRow], *, actor, today: dt.date, duplicates: str = "skip") -> ImportReport:
    """Check the rows (without the write lock), then add their offices and contacts in the caller's
    transaction. Raises ImportRejected, listing every row's problem, when any row cannot be placed; the
    caller then rolls back, so nothing is half-added."""
    return write_import(plan_import(rows, duplicates=duplicates), actor=actor, today=today)


# --- Export ----------------------------------------------------------------------------------------


def _exported(statement):
    return (
        db.session.scalars(
            statement.where(Contact.merged_into_id.is_(None))
            .options(
                joinedload(Contact.office).joinedload(Office.country),
                joinedload(Contact.office).joinedload(Office.host_country),
            )
            .order_by(Contact.name, Contact.id)
        )
        .unique()
        .all()
    )


def export_csv(statement) -> str:
    """The contacts `statement` selects (already narrowed to what the user may see), as an importable CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(COLUMNS))
    for contact in _exported(statement):
        office = contact.office
        writer.writerow(
            [
                _safe(v)
                for v in (
                    contact.name,
                    contact.title,
                    contact.email,
                    contact.phone,
                    contact.language,
                    contact.notes,
                    office.name,
                    office.kind,
                    office.country.alpha3,
                    office.city,
                    office.host_country.alpha3,
                )
            ]
        )
    return out.getvalue()


def _safe(value):
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_vcard(statement) -> str:
    cards = []
    for contact in _exported(statement):
        office = contact.office
        card = vobject.vCard()
        card.add("fn").value = contact.name
        card.add("n").value = vobject.vcard.Name(family=contact.name)
        card.add("org").value = [office.name]
        if contact.title:
            card.add("title").value = contact.title
        if contact.email:
            card.add("email").value = contact.email
        if contact.phone:
            card.add("tel").value = contact.phone
        if contact.notes:
            card.add("note").value = contact.notes
        card.add("adr").value = vobject.vcard.Address(city=office.city, country=office.host_country.alpha3)
        card.add("x-alcance-government").value = office.country.alpha3
        card.add("x-alcance-office-kind").value = office.kind
        if contact.language:
            card.add("x-alcance-language").value = contact.language
        cards.append(card.serialize())
    return "".join(cards)
