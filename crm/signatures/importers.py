"""Reading petition platforms' exports: encoding, delimiter, header, which platform wrote the file and
which column holds what. Streams: a row is read, handed on and forgotten, so memory does not grow with
the file. Nothing here touches the database.

The platforms' headers: shared/data/signature_export_formats.md says what is known. Action Network's
column names are from a working sync script (email, first_name, last_name, zip_code, country, can2_*);
Change.org's export is known to be tab-separated UTF-16 with "City", "State" and "Postal Code" columns;
for the rest of Change.org's header and for OpenPetition no authoritative list was found, so their
profiles below recognise a file by the columns that ARE known plus tolerant aliases, and a user can
always correct the mapping. Replace the ASSUMED lists with a real export's header when one arrives.

Checked again on 2026-12-01 in public material (still no complete header for either platform):
- Change.org: a second, independent script (a 2026 signer map built from a
  "petition_signatures_jobs_<job>_<timestamp>.csv" export) reads the file as UTF-16 LE, splits on tabs and
  looks up the columns "City" and "State" by those exact names: encoding, delimiter and two names agree.
- OpenPetition: its FAQ for signers (openpetition.de/blog/ratgeber/faq/faq-fragen-von-unterstuetzern)
  says the signature list shows the full name, the place ("Ort") and the postal code, not the street
  address. Whether the initiator's download carries the e-mail address is not said anywhere found; if it
  does not, such a file is refused here for want of an e-mail column (the issue's rule), and the campaign
  can only enter OpenPetition's totals by country as tallies.
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

# What a column can mean. Only "email" is required; names are read only when the installation keeps them.
ROLES = ("email", "country", "signed_at", "first_name", "last_name")
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
}


@dataclass(frozen=True)
class FormatProfile:
    code: str
    label: str
    # Columns (header_key) of which a file must have all to be taken for this platform's export...
    requires: tuple[str, ...] = ()
    # ...and at least one of these.
    any_of: tuple[str, ...] = ()
    delimiter: str | None = None
    # Columns for each role, tried before the generic aliases.
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_order: str = "ymd"


FORMATS: dict[str, FormatProfile] = {
    "action_network": FormatProfile(
        code="action_network",
        label="Action Network",
        requires=("email",),
        any_of=(
            "uuid",
            "can2useraddress",
            "can2usercity",
            "can2stateabbreviated",
            "can2phone",
            "can2smsstatus",
            "can2subscriptionstatus",
            "can2usertags",
        ),
        columns={
            "email": ("email",),
            "country": ("country",),
            "first_name": ("first_name",),
            "last_name": ("last_name",),
            "signed_at": ("created_at", "timestamp"),
        },
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
        },
    ),
    # ASSUMED throughout: OpenPetition (openpetition.de / .eu) exports in German with these headers.
    "openpetition": FormatProfile(
        code="openpetition",
        label="OpenPetition",
        requires=("email",),
        any_of=("unterschriftid", "unterzeichnetam", "plz"),
        columns={
            "email": ("E-Mail",),
            "country": ("Land",),
            "signed_at": ("Unterzeichnet am",),
            "first_name": ("Vorname",),
            "last_name": ("Nachname",),
        },
        date_order="dmy",
    ),
    "generic": FormatProfile(code="generic", label="Spreadsheet (other)"),
}
# A file whose header matches several profiles is taken for the first in this order.
DETECTION_ORDER = ("action_network", "change_org", "openpetition")


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
            columns={k: v for k, v in data["columns"].items() if k in ROLES and v},
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
        if profile.any_of and not any(k in keys for k in profile.any_of):
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
    for role in ROLES:
        for candidate in (*profile.columns.get(role, ()), *ALIASES[role]):
            name = by_key.get(header_key(candidate))
            if name is not None and name not in columns.values():
                columns[role] = name
                break
    return ColumnMapping(columns=columns, date_order=profile.date_order)


def usable_saved_mapping(saved: dict | None, header: list[str]) -> ColumnMapping | None:
    """A petition's remembered mapping, if this file has every column it names."""
    mapping = ColumnMapping.from_json(saved)
    if mapping is None or "email" not in mapping.columns:
        return None
    if all(name in header for name in mapping.columns.values()):
        return mapping
    return None


def mask(value: str) -> str:
    """A preview shows enough of an address to recognise the column, not the address."""
    if "@" in value:
        local, _, domain = value.strip().rpartition("@")
        return (local[:1] + "•••@" + domain) if local else "•••"
    return value
