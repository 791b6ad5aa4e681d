"""What a file import made of a file, or why it refused it: the report kept on the import's record (as
JSON), with problems and invalid rows as codes, and their messages in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from crm.i18n import _
from crm.signatures.importers import FileProblem


@dataclass(frozen=True)
class Problem:
    """Why a file is refused: a stable `code`, and the details its message names. Reports keep codes, not
    words, so each reader sees the message in their own language (`problem_message`)."""

    code: str
    line: int | None = None
    row: int | None = None
    encoding: str | None = None
    limit: int | None = None
    found: int | None = None
    expected: int | None = None
    looked_for: str | None = None
    kind: str | None = None
    format: str | None = None
    name: str | None = None
    detail: str | None = None  # the CSV reader's own words, for a line it cannot read

    @classmethod
    def of(cls, error: FileProblem) -> Problem:
        return cls(error.code, **error.details)

    def as_json(self) -> dict:
        return {"code": self.code} | {
            name: value for name, value in vars(self).items() if name != "code" and value is not None
        }


@dataclass(frozen=True)
class InvalidRow:
    """A row left out, by its number as a spreadsheet shows it, and why (a code: `invalid_reason`)."""

    row: int
    reason: str


@dataclass
class ImportReport:
    """What an import made of a file, or why it refused it. Kept on the import's record as JSON
    (`as_json`, read back by `from_json`)."""

    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    mapping: dict | None = None  # ColumnMapping.as_json()
    rows_read: int = 0
    rows_new: int = 0
    rows_duplicate: int = 0
    rows_invalid: int = 0
    # Signers the privacy tools erased, listed again by the file: left out (ErasedSigner).
    rows_erased: int = 0
    invalid: list[InvalidRow] = field(default_factory=list)  # the first INVALID_LISTED
    invalid_not_listed: int = 0
    unknown_countries: dict[str, int] = field(default_factory=dict)  # value as written -> rows
    unknown_not_listed: int = 0
    no_country: int = 0
    dates_not_understood: int = 0
    problems: list[Problem] = field(default_factory=list)
    key_id: str | None = None  # the fingerprint of the key that hashed the addresses
    kind: str | None = None  # "email" or "name": how the file's signers are told apart

    def unknown_country_rows(self) -> list[dict]:
        """The values not understood as a country, most rows first: [{"value": ..., "rows": ...}]."""
        ordered = sorted(self.unknown_countries.items(), key=lambda item: (-item[1], item[0]))
        return [{"value": value, "rows": rows} for value, rows in ordered]

    def as_json(self) -> dict:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "mapping": self.mapping,
            "rows_read": self.rows_read,
            "rows_new": self.rows_new,
            "rows_duplicate": self.rows_duplicate,
            "rows_invalid": self.rows_invalid,
            "rows_erased": self.rows_erased,
            "invalid": [{"row": item.row, "reason": item.reason} for item in self.invalid],
            "invalid_not_listed": self.invalid_not_listed,
            "unknown_countries": self.unknown_country_rows(),
            "unknown_not_listed": self.unknown_not_listed,
            "no_country": self.no_country,
            "dates_not_understood": self.dates_not_understood,
            "problems": [problem.as_json() for problem in self.problems],
            "key_id": self.key_id,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> ImportReport:
        """A stored report. A day of pushed signatures keeps only its key's fingerprint: the rest is zero."""
        data = data or {}
        report = cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        report.invalid = [InvalidRow(**item) for item in report.invalid or []]
        unknown = report.unknown_countries or {}
        if isinstance(unknown, list):
            unknown = {item["value"]: item["rows"] for item in unknown}
        report.unknown_countries = unknown
        report.problems = [Problem(**problem) for problem in report.problems or []]
        return report


def problem_message(problem: Problem) -> str:
    """A file-level problem, in words. Reports store codes, so each reader sees their own language."""
    code, d = problem.code, problem
    if code == "encoding":
        return _(
            "Line %(line)s is not valid %(encoding)s text. Save the file as UTF-8 (in Excel: “CSV UTF-8”) "
            "or choose its encoding, and import it again.",
            line=d.line,
            encoding=d.encoding,
        )
    if code == "unknown_encoding":
        return _("Unknown encoding %(encoding)s.", encoding=d.encoding)
    if code == "line_too_long":
        return _(
            "Line %(line)s is longer than %(size)s MB: this is not a signature export.",
            line=d.line,
            size=(d.limit or 0) // (1024 * 1024) or 1,
        )
    if code == "field_too_long":
        return _(
            "Row %(row)s has a value longer than %(size)s KB (often a quote mark that is never closed).",
            row=d.row,
            size=(d.limit or 0) // 1024,
        )
    if code == "nul_byte":
        return _(
            "Line %(line)s contains a NUL byte: the file is not text, or not in the encoding it was read in.",
            line=d.line,
        )
    if code == "not_csv":
        return _("Line %(line)s cannot be read as CSV.", line=d.line)
    if code == "empty":
        return _("The file is empty.")
    if code == "no_header":
        return _("The first line has no column names.")
    if code == "no_email_column":
        return _(
            "No column holds e-mail addresses (looked for: %(names)s). Choose the e-mail column. If the "
            "platform gives no addresses, tick “Count these signers by name and place” to count them by full "
            "name, postal code (or city) and country within this petition, or enter its totals as tallies.",
            names=d.looked_for or "email",
        )
    if code == "no_name_columns":
        return _(
            "Without e-mail addresses, signers are counted by name and place: choose the column of the full "
            "name (or of the first and last names) and the column of the postal code or the city."
        )
    if code == "ragged":
        return _(
            "Row %(row)s has %(found)s values but the header has %(expected)s columns: the columns cannot be trusted.",
            row=d.row,
            found=d.found,
            expected=d.expected,
        )
    if code == "no_rows":
        return _("The file has a header but no rows.")
    if code == "no_valid_rows":
        if d.kind == "name":
            return _("No row has both a name and a postal code or city: check that the right columns are chosen.")
        return _("No row has a usable e-mail address: check that the right column is chosen.")
    if code == "key_changed":
        return _(
            "The signature hash key has changed since this campaign's earlier imports, so people already "
            "counted could not be recognised. Restore SIGNATURE_HASH_KEY (or SECRET_KEY) before importing."
        )
    if code == "unknown_format":
        return _("Unknown format %(format)s.", format=d.format)
    if code == "mapping_column":
        return _("The file has no column named %(name)s.", name=d.name)
    return _("The file could not be read.")


def invalid_reason(code: str) -> str:
    if code == "no_email":
        return _("no e-mail address")
    if code == "bad_email":
        return _("not an e-mail address")
    if code == "no_name":
        return _("no name")
    if code == "no_place":
        return _("no postal code or city")
    return code
