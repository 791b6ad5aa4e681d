"""Reading a saved copy of the UN depositary's status page for the Rome Statute (UNTC chapter XVIII-10):
its participants, matched to ISO codes, with the dates and status each has. Text in, entries out; what
the entries change in the database is crm.countries.depositary_refresh's."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pycountry
from babel import Locale

from crm import clock
from crm.countries.statute import RS_FACT_FIELDS, STATUTE_IN_FORCE
from crm.errors import DomainError

# Article 126(1): the Statute entered into force on 1 July 2002, after the 60th instrument (deposited,
# by ten states at once, on 11 April 2002). Article 126(2) governs every instrument deposited after it.
SIXTIETH_INSTRUMENT = dt.date(2002, 4, 11)
# The page lists about 156 participants; a copy with far fewer is truncated or is another treaty's page,
# and refreshing from it would silently leave stale facts in place.
MIN_PARTICIPANTS = 100
MAX_FILE_BYTES = 25 * 1024 * 1024

ACTIONS = {None: "ratification", "A": "acceptance", "AA": "approval", "a": "accession", "d": "succession"}

# UN names that neither pycountry nor Babel spell in a way the normaliser can reach.
ALIASES = {
    "Kosovo": "XKX",
    "Cape Verde": "CPV",
    "Ivory Coast": "CIV",
    "Swaziland": "SWZ",
    "Turkey": "TUR",
    "Holy See": "VAT",
    "The former Yugoslav Republic of Macedonia": "MKD",
}


class DepositaryError(DomainError):
    """The file cannot be read as the depositary's status page; nothing was changed."""


# --- dates ------------------------------------------------------------------------------------------

_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_MONTH = r"(?i:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?)"
# "18 Jul 1998", "10 Feb 2003 a", "29 May\t 2013 AA". The marker after a date in the participants table is
# case-sensitive: A is an acceptance, a an accession.
_TABLE_DATE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\s+(?P<month>{_MONTH})\s+(?P<year>\d{{4}})(?!\d)"
    r"(?:\s+(?P<marker>AA|A|a|d)(?!\w))?"
)
# The notes also write "27 October 2016" and, when they quote a letter, "December 31, 2000".
_PROSE_DATE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\s+(?P<month>{_MONTH}),?\s+(?P<year>\d{{4}})(?!\d)"
    rf"|(?P<month_first>{_MONTH})\s+(?P<day_after>\d{{1,2}}),?\s+(?P<year_after>\d{{4}})(?!\d)"
)


def _date(day: str, month: str, year: str) -> dt.date | None:
    try:
        return dt.date(int(year), _MONTH_NUMBERS[month[:3].lower()], int(day))
    except (ValueError, KeyError):
        return None


def _prose_dates(text: str) -> list[tuple[int, int, dt.date]]:
    found = []
    for match in _PROSE_DATE.finditer(text):
        if match.group("day"):
            value = _date(match.group("day"), match.group("month"), match.group("year"))
        else:
            value = _date(match.group("day_after"), match.group("month_first"), match.group("year_after"))
        if value:
            found.append((match.start(), match.end(), value))
    return found


def entry_into_force(deposit: dt.date | None, action: str | None = "ratification") -> dt.date | None:
    """Article 126: 1 July 2002 for the first 60 instruments; for a later one, the first day of the month
    after the 60th day following its deposit. A succession (Montenegro) takes effect from the date of
    independence instead, which the page does not print, so none is computed for it."""
    if deposit is None or action == "succession":
        return None
    if deposit <= SIXTIETH_INSTRUMENT:
        return STATUTE_IN_FORCE
    sixtieth_day = deposit + dt.timedelta(days=60)
    return dt.date(sixtieth_day.year + sixtieth_day.month // 12, sixtieth_day.month % 12 + 1, 1)


def _one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


# --- participant names ------------------------------------------------------------------------------

_FOOTNOTES = re.compile(r"(?:\s*\[\d{1,3}\])+\s*$|(?:[\s,]*(?<![\w-])\d{1,3})+[\s,]*$")


def split_footnotes(printed: str) -> tuple[str, tuple[str, ...]]:
    """'United Kingdom of Great Britain and Northern Ireland 6 , 18 ,' -> the name and its note numbers."""
    text = " ".join(printed.split())
    match = _FOOTNOTES.search(text)
    if not match or match.start() == 0:
        return text.strip(" ,"), ()
    return text[: match.start()].strip(" ,"), tuple(re.findall(r"\d{1,3}", match.group(0)))


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"['’‘`´]", "", text).split())


def _clean(folded: str) -> str:
    text = re.sub(r"[^a-z0-9]+", " ", folded.replace("&", " and "))
    text = " ".join(re.sub(r"\bst\b", "saint", text).split())
    return text[4:] if text.startswith("the ") else text


def normalise_name(name: str) -> str:
    """Lower case, no accents, apostrophes or punctuation, 'St.' as 'saint', no leading 'the'."""
    return _clean(_fold(name))


def _spellings(name: str) -> list[str]:
    """A name as printed, and reordered: 'Korea, Republic of' and 'Bolivia (Plurinational State of)'
    are also tried as 'Republic of Korea' and 'Plurinational State of Bolivia'."""
    folded = _fold(name)
    forms = [folded]
    bracket = re.fullmatch(r"(.+?)\s*\((.+)\)", folded)
    if bracket:
        forms.append(f"{bracket.group(2)} {bracket.group(1)}")
    comma = re.fullmatch(r"([^,]+),\s*(.+)", folded)
    if comma:
        forms.append(f"{comma.group(2)} {comma.group(1)}")
    return list(dict.fromkeys(_clean(form) for form in forms))


@lru_cache(maxsize=1)
def _name_index() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Normalised spelling -> alpha-3, from pycountry's names, Babel's English names and the alias table.
    A spelling that two codes share is dropped: an unmatched name is reported, never guessed."""
    english = Locale("en").territories
    names: dict[str, set[str]] = {}
    for iso in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            if getattr(iso, attribute, None):
                names.setdefault(iso.alpha_3, set()).add(getattr(iso, attribute))
        if english.get(iso.alpha_2):
            names[iso.alpha_3].add(english[iso.alpha_2])
    names.setdefault("XKX", set()).add(english.get("XK", "Kosovo"))
    for alias, code in ALIASES.items():
        names.setdefault(code, set()).add(alias)
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for code, spellings in names.items():
        for spelling in spellings:
            for key in _spellings(spelling):
                if index.get(key, code) != code:
                    ambiguous.add(key)
                index[key] = code
    for key in ambiguous:
        del index[key]
    return index, {code: tuple(sorted(spellings)) for code, spellings in names.items()}


def match_participant(printed: str) -> str | None:
    """The ISO alpha-3 code of a participant as the UN prints it, footnote markers and all; None if unsure."""
    name, _ = split_footnotes(printed)
    index, _ = _name_index()
    for key in _spellings(name):
        if key in index:
            return index[key]
    return None


# --- reading the page -------------------------------------------------------------------------------


@dataclass
class DepositaryEntry:
    """One participant as the depositary lists it, with the facts derived from the row and the notes."""

    name: str
    alpha3: str | None
    signature_date: dt.date | None = None
    ratification_or_accession_date: dt.date | None = None
    action: str | None = None
    withdrawal_notified_date: dt.date | None = None
    withdrawal_effective_date: dt.date | None = None
    declared_no_intention: bool = False
    footnotes: tuple[str, ...] = ()
    status: str = "signatory"
    entry_into_force_date: dt.date | None = None

    def facts(self) -> dict[str, str | dt.date | None]:
        return {name: getattr(self, name) for name in RS_FACT_FIELDS}

    def settle(self, today: dt.date) -> None:
        """Status and entry into force from the dates (the page prints neither)."""
        self.entry_into_force_date = entry_into_force(self.ratification_or_accession_date, self.action)
        if self.withdrawal_effective_date and self.withdrawal_effective_date <= today:
            self.status = "withdrawn"
        elif self.ratification_or_accession_date:
            self.status = "state_party"
        elif self.declared_no_intention:
            self.status = "non_party"
        else:
            self.status = "signatory"


_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "form",
    "dd",
    "dt",
    "blockquote",
    "caption",
    "pre",
}


class _Cell:
    def __init__(self, header: bool):
        self.header = header
        self.text: list[str] = []
        self.sup: list[str] = []

    def value(self) -> str:
        return " ".join("".join(self.text).split())

    def notes(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\d{1,3}", " ".join(self.sup)))


class _Table:
    def __init__(self):
        self.rows: list[list[_Cell]] = []
        self.row: list[_Cell] | None = None
        self.cell: _Cell | None = None

    def start_row(self):
        self.end_row()
        self.row = []

    def end_row(self):
        self.end_cell()
        if self.row is not None:
            self.rows.append(self.row)
        self.row = None

    def start_cell(self, header: bool):
        self.end_cell()
        if self.row is None:
            self.row = []
        self.cell = _Cell(header)

    def end_cell(self):
        if self.cell is not None and self.row is not None:
            self.row.append(self.cell)
        self.cell = None


class _PageReader(HTMLParser):
    """The tables of a saved HTML page (cell text apart from superscript note markers) and its text,
    one block per line, for the notes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []
        self._sup = 0
        self._skip = 0
        self._text: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._text)

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag == "table":
            table = _Table()
            self.tables.append(table)
            self._open.append(table)
        elif tag == "tr" and self._open:
            self._open[-1].start_row()
        elif tag in ("td", "th") and self._open:
            self._open[-1].start_cell(tag == "th")
            self._text.append("\t")
        elif tag == "sup":
            self._sup += 1
            self._text.append(" ")
        if tag in _BLOCK_TAGS:
            self._text.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self._text.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._open:
            self._open.pop().end_row()
        elif tag == "tr" and self._open:
            self._open[-1].end_row()
        elif tag in ("td", "th") and self._open:
            self._open[-1].end_cell()
        elif tag == "sup":
            self._sup = max(0, self._sup - 1)
            self._text.append(" ")
        if tag in _BLOCK_TAGS:
            self._text.append("\n")

    def handle_data(self, data):
        if self._skip:
            return
        self._text.append(data)
        if self._open and self._open[-1].cell is not None:
            cell = self._open[-1].cell
            (cell.sup if self._sup else cell.text).append(data)


@dataclass
class _Row:
    printed: str
    dates: list[tuple[dt.date, str | None, int]]  # (date, marker, column; -1 when columns are unknown)
    footnotes: tuple[str, ...] = ()


def _table_dates(text: str, column: int) -> list[tuple[dt.date, str | None, int]]:
    found = []
    for match in _TABLE_DATE.finditer(text):
        value = _date(match.group("day"), match.group("month"), match.group("year"))
        if value:
            found.append((value, match.group("marker"), column))
    return found


def _is_header(cells: list[str]) -> bool:
    return bool(cells) and bool(re.match(r"\s*participants?\b", cells[0], re.I))


def _rows_from_html(reader: _PageReader) -> list[_Row] | None:
    best: list[_Row] | None = None
    best_has_header = False
    for table in reader.tables:
        rows: list[_Row] = []
        has_header = False
        for cells in table.rows:
            texts = [cell.value() for cell in cells]
            if _is_header(texts):
                has_header, rows = True, []
                continue
            if len(cells) < 2 or not re.search(r"[^\W\d_]", texts[0]) or _table_dates(texts[0], 0):
                continue
            dates = [found for column, text in enumerate(texts[1:3], start=1) for found in _table_dates(text, column)]
            if not dates:
                continue
            name, trailing = split_footnotes(texts[0])
            rows.append(_Row(name, dates, cells[0].notes() + trailing))
        if not rows:
            continue
        if best is None or (has_header, len(rows)) > (best_has_header, len(best)):
            best, best_has_header = rows, has_header
    return best


_SECTION_AFTER_TABLE = re.compile(
    r"^\s*(declarations?|reservations?|objections?|notes?|end\s*notes?|territorial application|communications?)\b", re.I
)


def _rows_from_text(text: str) -> list[_Row] | None:
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if re.match(r"\s*participants?\b", line, re.I)]
    start = next(
        (i for i in headers if re.search(r"signature|ratification|accession", lines[i], re.I)),
        headers[0] if headers else None,
    )
    if start is None:
        return None
    rows: list[_Row] = []
    pending_name = ""
    misses = 0
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        first = _TABLE_DATE.search(line)
        if first is None:
            if rows and (_SECTION_AFTER_TABLE.match(line) or misses >= 2):
                break
            misses += 1
            pending_name = line  # a name wrapped onto its own line, dates on the next
            continue
        misses = 0
        before = line[: first.start()]
        if not re.search(r"[^\W\d_]", before) and pending_name:
            before = pending_name
        pending_name = ""
        name, trailing = split_footnotes(before.replace("\t", " "))
        if not re.search(r"[^\W\d_]", name):
            continue
        rows.append(_Row(name, _table_dates(line[first.start() :], -1), trailing))
    return rows or None


def _assign_dates(entry: DepositaryEntry, row: _Row) -> None:
    columns = {column for _, _, column in row.dates}
    if columns <= {1, 2} and columns != set():
        signed = [found for found in row.dates if found[2] == 1]
        joined = [found for found in row.dates if found[2] == 2]
    elif len(row.dates) >= 2:
        signed, joined = row.dates[:1], row.dates[1:2]
    elif row.dates[0][1]:  # a lone date with a marker (a, A, AA, d) is an accession or the like
        signed, joined = [], row.dates
    else:
        signed, joined = row.dates, []
    if signed:
        entry.signature_date = signed[0][0]
    if joined:
        entry.ratification_or_accession_date = joined[0][0]
        entry.action = ACTIONS.get(joined[0][1], "ratification")


# --- the notes: withdrawals and declarations of no intention to become a party ------------------------

_WITHDRAWAL = re.compile(r"withdr\w*\s+from\s+(?:the\s+)?(?:rome\s+)?statute", re.I)
_REVOCATION = re.compile(
    r"\brevo(?:ke|ked|king|cation)\b|\brescin\w*|\brescission\b"
    r"|withdr\w*\s+(?:of\s+)?(?:its|the|this|that)\s+(?:notification|notice)",
    re.I,
)
_NO_INTENTION = re.compile(
    r"(?:not|no\s+longer)\s+intends?\s+to\s+become\s+a\s+party|intention\s+not\s+to\s+become\s+a\s+party"
    r"|no\s+(?:longer\s+(?:has\s+)?(?:any\s+)?)?intention\s+(?:of|to)\s+becom\w*\s+a\s+party",
    re.I,
)
# "took effect on", "will take effect on", "with effect from", "effective": the date after it is the effect.
_EFFECT_BEFORE = re.compile(r"effect(?:ive)?\s+(?:on\s+|from\s+|as\s+(?:of|from)\s+)?$", re.I)


def _paragraphs(text: str) -> list[str]:
    paragraphs: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if paragraphs and line[0].islower():
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    return paragraphs


def _subject(paragraph: str, entries: list[DepositaryEntry]) -> DepositaryEntry | None:
    """The participant a note is about: the one named after 'the Government of', else the one whose note
    number starts the paragraph, else the first one named."""
    _, spellings_by_code = _name_index()
    text = normalise_name(paragraph)
    needles: list[tuple[str, DepositaryEntry]] = []
    for entry in entries:
        spellings = {entry.name, *spellings_by_code.get(entry.alpha3 or "", ())}
        for spelling in spellings:
            for form in _spellings(spelling):
                needles.append((form, entry))
    after_government: list[tuple[int, int, DepositaryEntry]] = []
    anywhere: list[tuple[int, int, DepositaryEntry]] = []
    for needle, entry in needles:
        for match in re.finditer(r"(?<![a-z0-9])" + re.escape(needle) + r"(?![a-z0-9])", text):
            # At one position the longest name wins: "Guinea-Bissau" over "Guinea".
            found = (match.start(), -len(needle), entry)
            anywhere.append(found)
            if re.search(r"government of (?:the )?$", text[max(0, match.start() - 20) : match.start()]):
                after_government.append(found)
    if after_government:
        return min(after_government, key=lambda found: found[:2])[2]
    number = re.match(r"\s*(\d{1,3})\b", paragraph)
    if number:
        referring = [entry for entry in entries if number.group(1) in entry.footnotes]
        if len(referring) == 1:
            return referring[0]
    if anywhere:
        return min(anywhere, key=lambda found: found[:2])[2]
    return None


def _read_notes(text: str, entries: list[DepositaryEntry]) -> None:
    """Withdrawals (notified, effective) and declarations of no intention to become a party. A withdrawal
    later revoked or rescinded (South Africa, the Gambia) is not one."""
    withdrawals: dict[int, list[tuple[dt.date, dt.date]]] = {}
    revocations: dict[int, list[dt.date | None]] = {}
    for paragraph in _paragraphs(text):
        withdrawing = _WITHDRAWAL.search(paragraph)
        revoking = _REVOCATION.search(paragraph) and re.search(r"withdr", paragraph, re.I)
        no_intention = _NO_INTENTION.search(paragraph)
        if not (withdrawing or revoking or no_intention):
            continue
        entry = _subject(paragraph, entries)
        if entry is None:
            continue
        if no_intention:
            entry.declared_no_intention = True
        dates = _prose_dates(paragraph)
        effect = next(
            (found for found in dates if _EFFECT_BEFORE.search(paragraph[max(0, found[0] - 40) : found[0]])), None
        )
        others = [found[2] for found in dates if found is not effect]
        if revoking:
            # The revocation comes after the notification it revokes: the latest date in the note is its own.
            revocations.setdefault(id(entry), []).append(max(others, default=None))
        elif withdrawing and others:
            notified = others[0]
            withdrawals.setdefault(id(entry), []).append((notified, effect[2] if effect else _one_year_after(notified)))
    for entry in entries:
        standing = withdrawals.get(id(entry), [])
        for revoked_on in revocations.get(id(entry), []):
            standing = [notice for notice in standing if revoked_on is not None and notice[0] > revoked_on]
        if standing:
            entry.withdrawal_notified_date, entry.withdrawal_effective_date = max(standing)


def parse_status_page(text: str, *, today: dt.date | None = None) -> list[DepositaryEntry]:
    """The participants of the Rome Statute from the saved status page (HTML, or the page saved as text),
    each matched to an ISO alpha-3 code where the name is certain, with its status as of `today`."""
    today = today or clock.today()
    notes_text = text
    if re.search(r"<\s*(?:html|body|table|tr|td)\b", text, re.I):
        reader = _PageReader()
        reader.feed(text)
        reader.close()
        notes_text = reader.text
        rows = _rows_from_html(reader) or _rows_from_text(notes_text)
    else:
        rows = _rows_from_text(text)
    if not rows:
        raise DepositaryError(
            "no participant table found (a table headed 'Participant', 'Signature', "
            "'Ratification, ... Accession(a)' with dates such as '18 Jul 1998')"
        )
    entries = []
    for row in rows:
        entry = DepositaryEntry(name=row.printed, alpha3=match_participant(row.printed), footnotes=row.footnotes)
        _assign_dates(entry, row)
        entries.append(entry)
    _read_notes(notes_text, entries)
    for entry in entries:
        entry.settle(today)
    return entries


# --- reading the saved file -------------------------------------------------------------------------


def _read_page(path: Path) -> tuple[str, bytes]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DepositaryError(f"{path.name} is {size} bytes: too large to be a saved status page")
        raw = path.read_bytes()
    except OSError as error:
        raise DepositaryError(f"cannot read {path}: {error.strerror or error}") from None
    if not raw.strip():
        raise DepositaryError(f"{path.name} is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # "Unicode" text as some Windows programs save it
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DepositaryError(f"{path.name} starts like UTF-16 text but is not valid UTF-16") from None
    elif b"\x00" in raw[:65536]:
        raise DepositaryError(f"{path.name} is a binary file, not a saved web page or text")
    else:
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    sample = text[:65536]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    if controls > len(sample) * 0.01:
        raise DepositaryError(f"{path.name} is a binary file, not a saved web page or text")
    return text, raw


@dataclass(frozen=True)
class StatusPage:
    """A saved copy of the page, read: its participants, and the SHA-256 of the file as saved."""

    entries: list[DepositaryEntry]
    sha256: str


def read_status_page(path: Path, *, today: dt.date) -> StatusPage:
    """The participants listed in a saved copy of the page, with their status as of `today`. Refused
    (DepositaryError) unless the file is the Rome Statute's page, and a complete copy of it."""
    text, raw = _read_page(path)
    if not re.search(r"rome\s+statute", text, re.I):
        raise DepositaryError(
            f"{path.name} does not look like the UN Treaty Collection's status page for the "
            "Rome Statute (chapter XVIII-10): 'Rome Statute' appears nowhere in it"
        )
    try:
        entries = parse_status_page(text, today=today)
    except DepositaryError as error:
        raise DepositaryError(f"{path.name}: {error}") from None
    if len(entries) < MIN_PARTICIPANTS:
        raise DepositaryError(
            f"{path.name}: only {len(entries)} participants found, fewer than the "
            f"{MIN_PARTICIPANTS} a complete copy of the page lists; is it truncated?"
        )
    return StatusPage(entries=entries, sha256=hashlib.sha256(raw).hexdigest())
