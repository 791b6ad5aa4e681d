"""Reading petition platforms' exports: encoding, delimiter, header, which platform wrote the file and
which column holds what. Streams: a row is read, handed on and forgotten, so memory does not grow with
the file. Nothing here touches the database.

The platforms' headers, as public material shows them (shared/data/signature_export_formats.md; no
platform publishes a complete list, so each profile recognises a file by the columns that ARE known, the
generic aliases fill in the rest, and the preview lets the user correct the mapping):
- Action Network: report exports, columns picked by the user. A working sync script (SURJBayArea/
  EveryActionTools, sync_activists.py, read 2026-12-02) reads `uuid`, `first_name`, `last_name`, `email`,
  `zip_code`, `country` and `can2_*` fields (`can2_user_address`, `can2_user_city`, `can2_user_state` or
  `can2_state_abbreviated`, `can2_county`, `can2_phone`, `can2_subscription_status`, `can2_sms_status`,
  `can2_user_tags`, ...), and exits when `email` is missing. Recognised by `email` with `uuid` or any
  `can2_` column, so a report with other chosen columns is still recognised.
- ControlShift: the petition creator's export (controlshift/open_agra, app/models/queries/exports/
  petition_signatures_export.rb, read 2026-12-03) is exactly `id, first_name, last_name, phone_number,
  postcode, additional_fields`: no e-mail address and no country. Its rows are counted by name and postal
  code (crm/signatures/normalise.py); with no country, they count in the total and in no country.
- Change.org: `petition_signatures_jobs_<job>_<timestamp>.csv`, really UTF-16 LE and tab-separated, with
  `City`, `State` and `Postal Code` among its columns (adamdennett/BH_Schools_2, geocode_change_org.R, and
  a second, independent 2026 script reading "City" and "State" by those names). No public parser reads an
  e-mail column from it, so an export without one is counted by name and place. "Name", "Email",
  "Country" and "Signed On" are ASSUMED.
- OpenPetition: no header found. Its FAQ for signers (openpetition.de/blog/ratgeber/faq/
  faq-fragen-von-unterstuetzern) says the organiser sees the full name, the place ("Ort") and the postal
  code ("PLZ"), not the street address; no e-mail. The German column names below are ASSUMED.
Replace an ASSUMED list with a real export's header when one arrives.

A profile with `email_optional` accepts a file without an e-mail column: its platform is known to give
none. Any other file without one is imported by name and place only when the user confirms that rule.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
from dataclasses import dataclass, field

LINE_MAX_CHARS = 1024 * 1024  # bytes or characters; a line of a signature export is a few hundred
FIELD_MAX_CHARS = 128 * 1024
SNIFF_BYTES = 64 * 1024
PROBLEMS_MAX = 20  # file-level problems listed before giving up reading
csv.field_size_limit(FIELD_MAX_CHARS)

# What a column can mean. "email" is required, unless the file is counted by name and place (then a name
# and a postal code or city are); names are stored only when the installation keeps them.
COLUMN_ROLES = ("email", "country", "signed_at", "first_name", "last_name", "full_name", "postal_code", "city")
ENCODINGS = ("utf-8", "utf-16", "windows-1252", "latin-1")


def header_key(name: str) -> str:
    return "".join(ch for ch in name.strip().casefold() if ch.isalnum())


# Header names (compared without case, spaces or punctuation) that mean each role, in the languages the
# campaign's signers use. The first match wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "emailaddress",
        "correo",
        "correo electrónico",
        "correo electronico",
        "email_address",
        "mail",
        "e-mail-adresse",
        "courriel",
        "adresse e-mail",
    ),
    "country": (
        "country",
        "país",
        "pais",
        "country code",
        "country_code",
        "land",
        "pays",
        "countrycode",
        "country of residence",
        "país de residencia",
    ),
    "signed_at": (
        "signed_at",
        "signed on",
        "signed at",
        "date signed",
        "created_at",
        "created date",
        "created",
        "timestamp",
        "date",
        "fecha",
        "fecha de firma",
        "datum",
        "unterschrieben am",
        "signature date",
    ),
    "first_name": (
        "first_name",
        "first name",
        "given name",
        "given_name",
        "firstname",
        "nombre",
        "vorname",
        "prénom",
        "prenom",
    ),
    "last_name": (
        "last_name",
        "last name",
        "family name",
        "family_name",
        "surname",
        "lastname",
        "apellido",
        "apellidos",
        "nachname",
        "nom de famille",
    ),
    "full_name": (
        "name",
        "full name",
        "full_name",
        "signer name",
        "nombre completo",
        "nombre y apellidos",
        "vollständiger name",
        "nom complet",
    ),
    "postal_code": (
        "postal code",
        "postal_code",
        "postcode",
        "zip_code",
        "zip code",
        "zip",
        "zipcode",
        "código postal",
        "codigo postal",
        "plz",
        "postleitzahl",
        "code postal",
    ),
    "city": ("city", "town", "ciudad", "localidad", "ort", "stadt", "ville", "can2_user_city"),
}


@dataclass(frozen=True)
class FormatProfile:
    code: str
    label: str
    # Columns (header_key) of which a file must have all to be taken for this platform's export...
    requires: tuple[str, ...] = ()
    # ...and at least one of these, or one column starting with one of `any_prefix`.
    any_of: tuple[str, ...] = ()
    any_prefix: tuple[str, ...] = ()
    delimiter: str | None = None
    # Columns for each role, tried before the generic aliases.
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_order: str = "ymd"
    # The platform is known to export no e-mail address: a file without one is counted by name and place.
    email_optional: bool = False


FORMATS: dict[str, FormatProfile] = {
    "action_network": FormatProfile(
        code="action_network",
        label="Action Network",
        requires=("email",),
        any_of=("uuid",),
        any_prefix=("can2",),
        columns={
            "email": ("email",),
            "country": ("country",),
            "first_name": ("first_name",),
            "last_name": ("last_name",),
            "signed_at": ("created_at", "timestamp"),
            "postal_code": ("zip_code",),
            "city": ("can2_user_city",),
        },
    ),
    "controlshift": FormatProfile(
        code="controlshift",
        label="ControlShift",
        requires=("firstname", "lastname", "postcode", "additionalfields"),
        columns={
            "first_name": ("first_name",),
            "last_name": ("last_name",),
            "postal_code": ("postcode",),
        },
        email_optional=True,
    ),
    # Known: UTF-16, tab-separated, "City", "State", "Postal Code". ASSUMED: "Name", "Email", "Country",
    # "Signed On".
    "change_org": FormatProfile(
        code="change_org",
        label="Change.org",
        requires=("postalcode", "city", "state"),
        delimiter="\t",
        columns={
            "email": ("Email", "Email Address"),
            "country": ("Country",),
            "signed_at": ("Signed On",),
            "first_name": ("First Name",),
            "last_name": ("Last Name",),
            "full_name": ("Name",),
            "postal_code": ("Postal Code",),
            "city": ("City",),
        },
        email_optional=True,
    ),
    # ASSUMED throughout: OpenPetition (openpetition.de / .eu) exports in German with these headers.
    "openpetition": FormatProfile(
        code="openpetition",
        label="OpenPetition",
        any_of=("unterschriftid", "unterzeichnetam"),
        columns={
            "email": ("E-Mail",),
            "country": ("Land",),
            "signed_at": ("Unterzeichnet am",),
            "first_name": ("Vorname",),
            "last_name": ("Nachname",),
            "postal_code": ("PLZ",),
            "city": ("Ort",),
        },
        date_order="dmy",
        email_optional=True,
    ),
    "generic": FormatProfile(code="generic", label="Spreadsheet (other)"),
}
# A file whose header matches several profiles is taken for the first in this order.
DETECTION_ORDER = ("action_network", "controlshift", "change_org", "openpetition")


def email_optional(format_code: str | None) -> bool:
    """Whether the platform's exports are known to carry no e-mail address."""
    return FORMATS.get(format_code or "generic", FORMATS["generic"]).email_optional


class FileProblem(Exception):
    """The file cannot be read as a signature export. `code` is stable; `details` fill the message."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass
class FileShape:
    encoding: str
    delimiter: str
    header: list[str]
    header_rows: int = 1


@dataclass
class ColumnMapping:
    """Which column (by header name) holds each role, and how dates are written."""

    columns: dict[str, str]
    date_order: str = "ymd"

    def indexes(self, header: list[str]) -> dict[str, int]:
        positions: dict[str, int] = {}
        for index, name in enumerate(header):
            positions.setdefault(name, index)
        return {role: positions[name] for role, name in self.columns.items() if name in positions}

    def as_json(self) -> dict:
        return {"columns": dict(self.columns), "date_order": self.date_order}

    @classmethod
    def from_json(cls, data: dict | None) -> ColumnMapping | None:
        if not data or not isinstance(data.get("columns"), dict):
            return None
        return cls(
            columns={k: v for k, v in data["columns"].items() if k in COLUMN_ROLES and v},
            date_order=data.get("date_order") if data.get("date_order") in ("ymd", "dmy", "mdy") else "ymd",
        )


# ---------------------------------------------------------------------------------------------------
# Encoding, delimiter and header


def sha256_of(binary) -> str | None:
    """The file's SHA-256, read in blocks, then rewound; None when the stream cannot be rewound."""
    if not (hasattr(binary, "seekable") and binary.seekable()):
        return None
    start = binary.tell()
    digest = hashlib.sha256()
    for block in iter(lambda: binary.read(1024 * 1024), b""):
        digest.update(block)
    binary.seek(start)
    return digest.hexdigest()


def detect_encoding(head: bytes) -> str:
    """From the byte-order mark, else from the NUL bytes UTF-16 leaves in ASCII text, else UTF-8 (which
    the reader then checks strictly: a file in another encoding is refused with the line, not mangled)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:2000]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.3 and even_nuls == 0:
            return "utf-16-le"
        if even_nuls > half * 0.3 and odd_nuls == 0:
            return "utf-16-be"
    return "utf-8"


class Lines:
    """The file's lines, decoded strictly. A line longer than LINE_MAX_CHARS is refused before it is read
    whole (a 10 MB line costs at most that much memory), and a byte that is not in the file's encoding
    is reported with its line number instead of being replaced or guessed. Iterating yields the lines;
    `number` is the number of the last line yielded."""

    def __init__(self, binary, encoding: str):
        self.encoding = encoding
        self.number = 0
        self._binary = binary
        self._lines = self._wide() if encoding.startswith("utf-16") else self._narrow()

    def __iter__(self):
        return self._lines

    def __next__(self) -> str:
        return next(self._lines)

    def _narrow(self):
        codec = "utf-8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding
        readline = self._binary.readline
        limit = LINE_MAX_CHARS
        raw = readline(limit + 1)
        if raw.startswith(codecs.BOM_UTF8) and codec == "utf-8":
            raw = raw[3:]
        while raw:
            if len(raw) > limit:
                raise FileProblem("line_too_long", line=self.number + 1, limit=limit)
            try:
                line = raw.decode(codec)
            except UnicodeDecodeError:
                raise FileProblem("encoding", line=self.number + 1, encoding=self.encoding) from None
            self.number += 1
            yield line
            raw = readline(limit + 1)

    def _wide(self):
        # Lines of UTF-16 cannot be split on the byte b"\n"; io decodes them (a decoding error is then
        # reported at the line being read, which may sit a few lines before the bad bytes).
        text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors="strict", newline="")
        limit = LINE_MAX_CHARS
        while True:
            try:
                line = text.readline(limit + 1)
            except UnicodeDecodeError:
                raise FileProblem("encoding", line=self.number + 1, encoding=self.encoding) from None
            if not line:
                return
            if len(line) > limit:
                raise FileProblem("line_too_long", line=self.number + 1, limit=limit)
            self.number += 1
            yield line


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class Reader:
    """Rows of a signature export, numbered as a spreadsheet shows them (the header is row 1)."""

    shape: FileShape
    rows: object  # iterator of (row_number, list[str])


def read(binary, encoding: str | None = None) -> Reader:
    """Open an export: decide its encoding and delimiter, read the header. Raises FileProblem."""
    if hasattr(binary, "seekable") and binary.seekable():
        start = binary.tell()
        head = binary.read(SNIFF_BYTES)
        binary.seek(start)
    else:
        head = binary.peek(SNIFF_BYTES)[:SNIFF_BYTES]
    if not head.strip(b"\x00\r\n\t ,;\xef\xbb\xbf\xff\xfe"):
        raise FileProblem("empty")
    encoding = encoding or detect_encoding(head)
    if encoding not in ENCODINGS and encoding not in ("utf-8-sig", "utf-16-le", "utf-16-be"):
        raise FileProblem("unknown_encoding", encoding=encoding)
    lines = Lines(binary, encoding)
    try:
        first = next(lines)
    except StopIteration:
        raise FileProblem("empty") from None
    while not first.strip():
        try:
            first = next(lines)
        except StopIteration:
            raise FileProblem("empty") from None
    first = first.lstrip("\ufeff")  # a UTF-16 byte-order mark, decoded
    delimiter = _delimiter(first)
    records = csv.reader(itertools.chain((first,), lines), delimiter=delimiter, strict=False)
    try:
        header = [name.strip() for name in next(records)]
    except csv.Error as error:
        raise FileProblem("not_csv", line=1, detail=str(error)) from None
    except StopIteration:
        raise FileProblem("empty") from None
    if "\x00" in first:
        raise FileProblem("nul_byte", line=1)
    if not any(header):
        raise FileProblem("no_header")
    shape = FileShape(encoding=encoding, delimiter=delimiter, header=header)
    return Reader(shape=shape, rows=_numbered(records, lines))


def _numbered(records, lines: Lines):
    number = 1
    while True:
        try:
            row = next(records)
        except StopIteration:
            return
        except csv.Error as error:
            message = str(error)
            if "field larger than field limit" in message:
                raise FileProblem("field_too_long", row=number + 1, limit=FIELD_MAX_CHARS) from None
            if "NUL" in message:
                raise FileProblem("nul_byte", line=lines.number) from None
            raise FileProblem("not_csv", line=lines.number, detail=message) from None
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line: not a row
        number += 1
        yield number, row


# ---------------------------------------------------------------------------------------------------
# Which platform, which columns


def detect_format(header: list[str], delimiter: str) -> str:
    keys = {header_key(name) for name in header}
    for code in DETECTION_ORDER:
        profile = FORMATS[code]
        if not all(k in keys for k in profile.requires):
            continue
        hinted = any(k in keys for k in profile.any_of) or any(k.startswith(profile.any_prefix) for k in keys)
        if (profile.any_of or profile.any_prefix) and not hinted:
            continue
        if profile.delimiter and profile.delimiter != delimiter:
            continue
        return code
    return "generic"


def guess_mapping(header: list[str], format_code: str) -> ColumnMapping:
    """The columns a profile names, then the generic aliases, for each role."""
    profile = FORMATS.get(format_code, FORMATS["generic"])
    by_key: dict[str, str] = {}
    for name in header:
        by_key.setdefault(header_key(name), name)
    columns: dict[str, str] = {}
    for role in COLUMN_ROLES:
        for candidate in (*profile.columns.get(role, ()), *ALIASES[role]):
            name = by_key.get(header_key(candidate))
            if name is not None and name not in columns.values():
                columns[role] = name
                break
    return ColumnMapping(columns=columns, date_order=profile.date_order)


def usable_saved_mapping(saved: dict | None, header: list[str]) -> ColumnMapping | None:
    """A petition's remembered mapping, if this file has every column it names."""
    mapping = ColumnMapping.from_json(saved)
    if mapping is None or not ("email" in mapping.columns or by_name_and_place(mapping)):
        return None
    if all(name in header for name in mapping.columns.values()):
        return mapping
    return None


def by_name_and_place(mapping: ColumnMapping) -> bool:
    """Whether the mapping names the columns that count a signer without an e-mail address."""
    columns = mapping.columns
    named = "full_name" in columns or "first_name" in columns or "last_name" in columns
    return named and ("postal_code" in columns or "city" in columns)


def mask(value: str) -> str:
    """A preview shows enough of an address to recognise the column, not the address."""
    if "@" in value:
        local, _, domain = value.strip().rpartition("@")
        return (local[:1] + "•••@" + domain) if local else "•••"
    return value
