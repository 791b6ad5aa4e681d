"""Offices and contacts in and out of Alcance as CSV or vCard: an embassy's list of staff, a phone's address
book. An import is all or nothing, as the signature import is: every row is checked, duplicates of
contacts on file are skipped (or their empty fields filled in, when asked), and one row that cannot be
placed refuses the whole file with a report of every problem."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

import sqlalchemy as sa
import vobject
from flask_babel import gettext, ngettext
from sqlalchemy.orm import joinedload

from crm.audit import services as audit
from crm.contacts import services as contacts
from crm.contacts.models import OFFICE_KINDS, Contact, Office
from crm.countries.models import Country
from crm.database import fold
from crm.errors import DomainError
from crm.extensions import db
from crm.signatures.normalise import CountryResolver
from crm.staging import StagingArea

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


def _office_for(values: dict, resolver, actor, report: ImportReport, created: dict) -> Office:
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
    city = values.get("city")
    key = (government, kind, host, fold(city or ""))
    if key in created:
        return created[key]
    office = db.session.scalar(
        sa.select(Office).where(
            Office.country_id == government, Office.kind == kind, Office.host_country_id == host, Office.city == city
        )
    )
    if office is None:
        office = contacts.create_office(
            actor=actor,
            country=db.session.get(Country, government),
            host_country=db.session.get(Country, host),
            kind=kind,
            name=values.get("office") or "",
            city=city or "",
        )
        report.offices_added += 1
    created[key] = office
    return office


def import_contacts(rows: list[ImportRow], *, actor, today: dt.date, duplicates: str = "skip") -> ImportReport:
    """Add the rows' offices and contacts. Raises ImportRejected, listing every row's problem, when any row
    cannot be placed; the caller then rolls back, so nothing is half-added."""
    if duplicates not in DUPLICATE_CHOICES:
        raise ImportRejected(gettext("Duplicates are either skipped or merged."))
    if not rows:
        raise ImportRejected(gettext("The file has no contacts in it."))
    resolver = CountryResolver()
    report, problems, created = ImportReport(rows=len(rows)), [], {}
    for row in rows:
        values = row.values
        missing = [column for column in REQUIRED if not values.get(column)]
        if missing:
            problems.append(gettext("row %(line)s: %(missing)s missing", line=row.line, missing=", ".join(missing)))
            continue
        try:
            office = _office_for(values, resolver, actor, report, created)
            matches = contacts.find_duplicates(values.get("email"), values["name"], office)
            if matches:
                existing = matches[0]
                if duplicates == "merge":
                    filled = {}
                    for column in MERGEABLE:
                        if values.get(column) and not getattr(existing, column):
                            filled[column] = contacts._contact_values({column: values[column]})[column]
                            setattr(existing, column, filled[column])
                    audit.record("contact.update", actor=actor, entity=existing, after={**filled, "import": True})
                    report.duplicates_merged.append(existing.name)
                else:
                    report.duplicates_skipped.append(values["name"])
                continue
            contacts.create_contact(
                actor=actor,
                office=office,
                started_on=today,
                confirm_duplicate=True,
                **{column: values.get(column) for column in ("name", *MERGEABLE)},
            )
            report.contacts_added += 1
        except contacts.ContactError as error:
            problems.append(gettext("row %(line)s: %(problem)s", line=row.line, problem=str(error)))
    if problems:
        raise ImportRejected(
            ngettext(
                "Nothing was imported: %(num)s row has a problem.",
                "Nothing was imported: %(num)s rows have problems.",
                len(problems),
            ),
            problems,
        )
    db.session.flush()
    return report


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
