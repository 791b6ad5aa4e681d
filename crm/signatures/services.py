"""Signature rules: petitions, imports (files and pushes), tallies, and the totals that every page, command,
letter and dossier reads. Plain functions; they flush, the caller commits (or rolls back).

Counting (the documented rules):
- One person, one signature per campaign: a signature is keyed by (campaign, e-mail hash); the first
  file or push that brings a person counts them, on its petition; later ones are duplicates.
- A tally is a platform's figure for one petition and one country ("1,204 from Spain as of 1 June").
  For that petition and country the count is the larger of the tally and the individual signatures
  imported for it: both count the same people, so they are never added together. A newer tally of the
  same petition and country replaces the older.
- Signers whose country is not given or not understood count in the total and in no country.
- A person who signed on two platforms of which one gave only a tally cannot be recognised, and counts
  twice. Only individual signatures are de-duplicated.
- An export without e-mail addresses (its platform gives none, or the user confirmed it for a generic
  file) is counted by name and place: its rows are de-duplicated within their petition by a keyed hash of
  the normalised full name, postal code (or city) and country, and cannot be matched with the signers
  known by their address. Where both kinds are counted in one country, that country has between N and M
  unique signers: M if nobody is in both, N = the larger of the two kinds if everyone in the smaller is
  also in the larger (tallies' excess is added to both). N is the figure used wherever one is needed
  (totals, exports, letters' merge fields); a delivered letter keeps both.
- An import can be undone (its signatures deleted, the counts taken back) until a letter delivered after
  it froze the totals, and unless a later import met people already counted (they may be this import's,
  and would be lost).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from crm import clock
from crm.audit import services as audit
from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.database import UTCDateTime, fold, serialise, utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import _, current_language, readers_date
from crm.letters.models import Letter
from crm.outreach.models import OutreachRecord
from crm.signatures import counts, importers
from crm.signatures.importers import ColumnMapping, FileProblem, FileShape
from crm.signatures.models import (
    PLATFORMS,
    UNKNOWN_COUNTRY,
    ErasedSigner,
    Petition,
    Signature,
    SignatureCount,
    SignatureImport,
    SignatureTally,
    StagedImport,
    StagedSignature,
)
from crm.signatures.normalise import (
    CountryResolver,
    EmailHasher,
    name_parts,
    normalise_email,
    parse_signed_at,
    plain_words,
)
from crm.webhooks import services as webhooks

CHUNK_ROWS = 5_000
# Taken by an erasure and by whatever publishes signatures (PostgreSQL): neither sees the other half-done.
ERASURE_LOCK = "signatures.erasure"
INVALID_LISTED = 100  # invalid rows listed by number in a report; the rest are counted
UNKNOWN_LISTED = 100  # distinct unknown country values listed
PUSH_ITEMS_MAX = 1_000
# An import touches its staged run at every chunk (a fraction of a second apart); one silent this long
# was killed, and what it staged is deleted by the next import.
STAGED_IMPORT_STALE = dt.timedelta(minutes=10)


class SignatureError(DomainError):
    """A request about signatures that breaks a rule. `field` names the form field it belongs beside."""


class ImportRejected(SignatureError):
    """The file was refused as a whole; nothing of it was kept. `report` says why."""

    def __init__(self, report: ImportReport):
        super().__init__(problem_message(report.problems[0]) if report.problems else "rejected")
        self.report = report


# ---------------------------------------------------------------------------------------------------
# Petitions


def slug_for(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:100].strip("-")
    return slug or "petition"


def create_petition(
    campaign: Campaign, name: str, *, platform: str = "generic", language: str | None = None, actor=None
) -> Petition:
    name = " ".join((name or "").split())
    if not name:
        raise SignatureError(_("This field is required."), "name")
    if len(name) > 200:
        raise SignatureError(_("At most %(max)s characters.", max=200), "name")
    if platform not in PLATFORMS:
        raise SignatureError(_("Choose a platform from the list."), "platform")
    base = slug_for(f"{campaign.slug}-{name}")
    taken = set(db.session.scalars(sa.select(Petition.slug).where(Petition.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    petition = Petition(campaign_id=campaign.id, slug=slug, name=name, platform=platform, language=(language or None))
    audit.created(
        "petition.create",
        petition,
        actor=actor,
        after={"campaign_id": campaign.id, "slug": slug, "name": name, "platform": platform},
    )
    return petition


def petition_by_slug(slug: str) -> Petition | None:
    return db.session.scalar(sa.select(Petition).where(Petition.slug == slug))


def petitions_of(campaign: Campaign) -> list[Petition]:
    return db.session.scalars(
        sa.select(Petition).where(Petition.campaign_id == campaign.id).order_by(Petition.created_at, Petition.id)
    ).all()


def petitions_by_campaign() -> list[tuple[Campaign, list[Petition]]]:
    """Every open campaign with its petitions, oldest first: the way into signatures from the menu (two
    queries, whatever the number of campaigns and petitions)."""
    campaigns = db.session.scalars(
        sa.select(Campaign).where(Campaign.archived_at.is_(None)).order_by(Campaign.created_at, Campaign.id)
    ).all()
    petitions: dict[int, list[Petition]] = {campaign.id: [] for campaign in campaigns}
    if campaigns:
        for petition in db.session.scalars(
            sa.select(Petition)
            .where(Petition.campaign_id.in_(list(petitions)))
            .order_by(Petition.created_at, Petition.id)
        ):
            petitions[petition.campaign_id].append(petition)
    return [(campaign, petitions[campaign.id]) for campaign in campaigns]


# ---------------------------------------------------------------------------------------------------
# Import reports


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


# ---------------------------------------------------------------------------------------------------
# Writing signatures


class SignatureWriter:
    """Inserts rows in chunks through the driver, bypassing SQLAlchemy's per-row work, and counts how many
    were written. Signatures skip people the campaign already has (INSERT ... ON CONFLICT (campaign_id,
    email_hash) DO NOTHING); staged rows of a file import go to `staged_signature` as they are. It writes
    on the session's own connection, so it is inside the session's current transaction."""

    COLUMNS = (
        "campaign_id",
        "petition_id",
        "import_id",
        "email_hash",
        "country_id",
        "signed_at",
        "first_name",
        "last_name",
        "created_at",
    )
    STAGED_COLUMNS = ("staged_import_id", "email_hash", "kind", "country_id", "signed_at", "first_name", "last_name")

    def __init__(self, staged: bool = False):
        self.dialect = db.session.connection().dialect.name
        columns = self.STAGED_COLUMNS if staged else self.COLUMNS
        table = (StagedSignature if staged else Signature).__table__.name
        marks = ", ".join(["?" if self.dialect == "sqlite" else "%s"] * len(columns))
        self.sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        if not staged:
            self.sql += " ON CONFLICT (campaign_id, email_hash) DO NOTHING"

    def timestamp(self, value: dt.datetime | None):
        """As the column type stores it: naive UTC text on SQLite (SQLAlchemy's format), aware on PostgreSQL."""
        if value is None or self.dialect != "sqlite":
            return value
        if value.utcoffset():
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    def write(self, rows: list[tuple]) -> int:
        if not rows:
            return 0
        # The connection of the session's current transaction (a new one after each commit).
        cursor = db.session.connection().connection.driver_connection.cursor()
        try:
            cursor.executemany(self.sql, rows)
            return cursor.rowcount
        finally:
            cursor.close()

    def write_new(self, rows: list[tuple]) -> set[str]:
        """Write `rows` and return the e-mail hashes of those that were new (a push's few hundred rows:
        its counts need to know which)."""
        if not rows:
            return set()
        sql = self.sql + " RETURNING email_hash"
        cursor = db.session.connection().connection.driver_connection.cursor()
        new: set[str] = set()
        try:
            if self.dialect == "postgresql":
                cursor.executemany(sql, rows, returning=True)
                while True:
                    new.update(row[0] for row in cursor.fetchall())
                    if not cursor.nextset():
                        break
            else:
                for row in rows:
                    cursor.execute(sql, row)
                    new.update(found[0] for found in cursor.fetchall())
            return new
        finally:
            cursor.close()


@dataclass
class ImportOutcome:
    record: SignatureImport | None
    already_imported: bool = False
    # The import's report; for a dry run (record None) the only account of what would have happened.
    report: ImportReport | None = None


def _hash_key_changed(petition: Petition, hasher: EmailHasher) -> bool:
    """Whether the key the campaign's last import used differs from today's (by their fingerprints)."""
    last = db.session.execute(
        sa.select(SignatureImport.report)
        .join(Petition, Petition.id == SignatureImport.petition_id)
        .where(Petition.campaign_id == petition.campaign_id)
        .order_by(SignatureImport.id.desc())
        .limit(1)
    ).scalar()
    return bool(last and last.get("key_id") and last["key_id"] != hasher.key_id)


def _choose_mapping(petition: Petition, shape, format_code: str, mapping: ColumnMapping | None) -> ColumnMapping:
    if mapping is not None:
        for name in mapping.columns.values():
            if name not in shape.header:
                raise FileProblem("mapping_column", name=name)
        return mapping
    return importers.usable_saved_mapping(petition.column_mapping, shape.header) or importers.guess_mapping(
        shape.header, format_code
    )


@dataclass
class FileInspection:
    """What an import would make of a file (`inspect_file`), or the problems that refuse it."""

    problems: list[Problem] = field(default_factory=list)
    shape: FileShape | None = None
    detected_format: str | None = None
    format: str | None = None
    mapping: ColumnMapping | None = None
    rows: list[list[str]] = field(default_factory=list)  # the first rows, e-mail addresses masked


def inspect_file(
    petition: Petition, binary, *, format_code: str | None = None, encoding: str | None = None, rows: int = 5
) -> FileInspection:
    """What the import would do with a file, without importing it: encoding, delimiter, platform, the
    column mapping (remembered for this petition, or guessed) and the first rows, e-mails masked."""
    try:
        reader = importers.read(binary, encoding)
        detected = importers.detect_format(reader.shape.header, reader.shape.delimiter)
        chosen = format_code or detected
        mapping = _choose_mapping(petition, reader.shape, chosen, None)
        sample = []
        for _number, row in reader.rows:
            sample.append([importers.mask(value) for value in row])
            if len(sample) >= rows:
                break
    except FileProblem as error:
        return FileInspection(problems=[Problem.of(error)])
    return FileInspection(shape=reader.shape, detected_format=detected, format=chosen, mapping=mapping, rows=sample)


def sweep_staged_imports(now: dt.datetime | None = None) -> int:
    """Delete what killed imports staged (their runs stopped beating STAGED_IMPORT_STALE ago); commits.
    Returns how many runs were deleted. A running import is never touched."""
    cutoff = (now or utcnow()) - STAGED_IMPORT_STALE
    stale = db.session.scalars(sa.select(StagedImport.id).where(StagedImport.heartbeat_at < cutoff)).all()
    for run_id in stale:
        _discard_staged(run_id)
    return len(stale)


def _discard_staged(run_id: int) -> None:
    db.session.execute(sa.delete(StagedSignature).where(StagedSignature.staged_import_id == run_id))
    db.session.execute(sa.delete(StagedImport).where(StagedImport.id == run_id))
    db.session.commit()


def without_email_problem(format_code: str, mapping: ColumnMapping, confirmed: bool) -> str | None:
    """Why a mapping without an e-mail column cannot be imported, as a problem code, or None when it can:
    the platform gives no addresses or the user confirmed counting by name and place, and the columns
    for that are chosen."""
    if "email" in mapping.columns:
        return None
    if not (importers.email_optional(format_code) or confirmed):
        return "no_email_column"
    if not importers.by_name_and_place(mapping):
        return "no_name_columns"
    return None


def _already_imported(petition: Petition, sha256: str | None) -> SignatureImport | None:
    if sha256 is None:
        return None
    return db.session.scalar(
        sa.select(SignatureImport)
        .where(SignatureImport.petition_id == petition.id, SignatureImport.sha256 == sha256)
        .limit(1)
    )


def import_file(
    petition: Petition,
    binary,
    *,
    filename: str | None = None,
    format_code: str | None = None,
    mapping: ColumnMapping | None = None,
    encoding: str | None = None,
    date_order: str | None = None,
    actor=None,
    progress=None,
    dry_run: bool = False,
    without_email: bool = False,
) -> ImportOutcome:
    """Import one export file into a petition, all or nothing. Commits: unlike the other services, an
    import is several transactions, so that a long file never holds SQLite's write lock throughout.

    The file is streamed: rows are parsed, checked and staged in chunks of CHUNK_ROWS, each chunk in
    its own short transaction, into `staged_signature`, where nothing counts them; memory stays flat
    whatever the file's length. When the whole file has been read and found good, one short transaction
    publishes the staged rows into `signature` (INSERT ... SELECT ... ON CONFLICT DO NOTHING), records
    the import and deletes the staged rows. A file refused half-way (bad encoding, ragged rows, ...) or
    an import that fails publishes nothing and deletes what it staged; one killed outright leaves staged
    rows that no page counts, deleted by the next import (sweep_staged_imports). The same file (same
    bytes) imported twice into the same petition is recognised by its SHA-256 and changes nothing.
    A dry run does everything but publish. A file with no e-mail column is counted by name and place when
    its platform is known to give no addresses, or when `without_email` says the user confirmed that
    rule; otherwise it is refused. Raises ImportRejected."""
    if format_code is not None and format_code not in importers.FORMATS:
        raise ImportRejected(ImportReport(problems=[Problem("unknown_format", format=format_code)]))
    sweep_staged_imports()
    hasher = EmailHasher.from_config()
    sha256 = importers.sha256_of(binary)
    if (earlier := _already_imported(petition, sha256)) is not None:
        return ImportOutcome(record=earlier, already_imported=True, report=ImportReport.from_json(earlier.report))
    if _hash_key_changed(petition, hasher):
        raise ImportRejected(ImportReport(problems=[Problem("key_changed")]))
    try:
        reader = importers.read(binary, encoding)
        chosen = format_code or importers.detect_format(reader.shape.header, reader.shape.delimiter)
        column_mapping = _choose_mapping(petition, reader.shape, chosen, mapping)
    except FileProblem as error:
        raise ImportRejected(ImportReport(problems=[Problem.of(error)])) from None
    if date_order is not None:
        column_mapping = ColumnMapping(columns=dict(column_mapping.columns), date_order=date_order)
    columns = column_mapping.indexes(reader.shape.header)
    kind = "email" if "email" in columns else "name"
    report = ImportReport(
        format=chosen,
        encoding=reader.shape.encoding,
        delimiter=reader.shape.delimiter,
        mapping=column_mapping.as_json(),
        key_id=hasher.key_id,
        kind=kind,
    )
    present = ColumnMapping(columns={role: column_mapping.columns[role] for role in columns})
    if (code := without_email_problem(chosen, present, without_email)) is not None:
        looked_for = ", ".join(importers.ALIASES["email"][:4])
        report.problems.append(Problem(code, looked_for=looked_for))
        raise ImportRejected(report)

    petition_id = petition.id
    run = StagedImport(petition_id=petition_id)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    db.session.expunge(run)  # from here on the run is written to by id only
    try:
        valid = _stream_rows(petition, run_id, reader, columns, column_mapping.date_order, hasher, report, progress)
        if report.problems:
            raise ImportRejected(report)
        if report.rows_read == 0:
            report.problems.append(Problem("no_rows"))
            raise ImportRejected(report)
        if valid == 0:
            report.problems.append(Problem("no_valid_rows", kind=kind))
            raise ImportRejected(report)
        petition = db.session.get(Petition, petition_id)
        if (earlier := _already_imported(petition, sha256)) is not None:
            raise _SameFileMeanwhile(earlier)  # imported by someone else while this one was staging
        record = SignatureImport(
            petition_id=petition_id,
            filename=(filename or None) and filename[:255],
            sha256=sha256,
            format=chosen,
            imported_by_id=getattr(actor, "id", None),
        )
        db.session.add(record)
        db.session.flush()
        erased = _erased_in_run(run_id, valid)
        new = _publish(petition, run_id, record.id)
        report.rows_new, report.rows_duplicate, report.rows_erased = new, valid - new - erased, erased
        if new:
            webhooks.signature_totals_changed(petition, new_signatures=new, source="import")
        _finish(record, report)
        counts.add_import(record.id)
        if mapping is not None or date_order is not None or chosen == "generic" or petition.column_mapping is None:
            petition.column_mapping = column_mapping.as_json()
        audit.record(
            "signature.import",
            actor=actor,
            entity=record,
            after={
                "petition_id": petition_id,
                "filename": record.filename,
                "sha256": record.sha256,
                "format": chosen,
                "kind": kind,
                "rows_read": record.rows_read,
                "rows_new": record.rows_new,
                "rows_duplicate": record.rows_duplicate,
                "rows_invalid": record.rows_invalid,
            },
        )
        if dry_run:
            db.session.rollback()
            _discard_staged(run_id)
            return ImportOutcome(record=None, report=report)
        db.session.commit()
    except _SameFileMeanwhile as same:
        db.session.rollback()
        _discard_staged(run_id)
        return ImportOutcome(
            record=same.earlier, already_imported=True, report=ImportReport.from_json(same.earlier.report)
        )
    except BaseException:
        db.session.rollback()
        _discard_staged(run_id)
        raise
    return ImportOutcome(record=record, report=report)


class _SameFileMeanwhile(Exception):
    def __init__(self, earlier: SignatureImport):
        self.earlier = earlier


_PUBLISH = """INSERT INTO signature (campaign_id, petition_id, import_id, email_hash, kind, country_id, signed_at,
                               first_name, last_name, created_at)
SELECT :campaign_id, :petition_id, :import_id, email_hash, kind, country_id, signed_at, first_name, last_name,
       :created_at
FROM staged_signature WHERE staged_import_id = :run_id
  AND NOT EXISTS (SELECT 1 FROM erased_signer WHERE erased_signer.email_hash = staged_signature.email_hash)
ORDER BY id
ON CONFLICT (campaign_id, email_hash) DO NOTHING"""


def _erased_in_run(run_id: int, valid: int) -> int:
    """How many of a run's `valid` rows are signers the privacy tools erased: those an erasure deleted from
    the staged rows, and those staged since (publishing leaves them out). Taken in the publishing
    transaction, after any erasure under way has ended (crm/privacy)."""
    serialise(db.session, ERASURE_LOCK)
    staged = sa.select(sa.func.count()).select_from(StagedSignature).where(StagedSignature.staged_import_id == run_id)
    erased = staged.join(ErasedSigner, ErasedSigner.email_hash == StagedSignature.email_hash)
    return valid - db.session.scalar(staged) + db.session.scalar(erased)


def erased_among(hashes) -> set[str]:
    """Which of these address hashes belong to signers the privacy tools erased."""
    hashes, found = sorted(set(hashes)), set()
    for start in range(0, len(hashes), 500):
        found.update(
            db.session.scalars(
                sa.select(ErasedSigner.email_hash).where(ErasedSigner.email_hash.in_(hashes[start : start + 500]))
            )
        )
    return found


def _publish(petition: Petition, run_id: int, import_id: int) -> int:
    """In the caller's transaction: the staged rows become signatures (a person the campaign already has,
    or met earlier in the same file, is a duplicate; one the privacy tools erased is left out), and the
    staged rows are deleted. Returns how many signatures are new."""
    statement = sa.text(_PUBLISH).bindparams(sa.bindparam("created_at", type_=UTCDateTime))
    new = db.session.execute(
        statement,
        {
            "campaign_id": petition.campaign_id,
            "petition_id": petition.id,
            "import_id": import_id,
            "created_at": utcnow(),
            "run_id": run_id,
        },
    ).rowcount
    db.session.execute(sa.delete(StagedSignature).where(StagedSignature.staged_import_id == run_id))
    db.session.execute(sa.delete(StagedImport).where(StagedImport.id == run_id))
    return new


def _stream_rows(petition, run_id, reader, columns, date_order, hasher, report, progress) -> int:
    """Read, check and stage the file's rows, a chunk per transaction; fills in the report and returns
    how many rows were valid. Stages nothing more once a problem is found (the file will be refused)."""
    keep_names = bool(current_app.config.get("SIGNATURE_KEEP_NAMES", False))
    resolver = CountryResolver()
    writer = SignatureWriter(staged=True)

    def stage(rows):
        writer.write(rows)
        db.session.execute(sa.update(StagedImport).where(StagedImport.id == run_id).values(heartbeat_at=utcnow()))
        db.session.commit()

    expected = len(reader.shape.header)
    by_name = "email" not in columns
    kind = "name" if by_name else "email"
    i_email = columns.get("email")
    i_country = columns.get("country")
    i_date = columns.get("signed_at")
    i_first = columns.get("first_name")
    i_last = columns.get("last_name")
    i_full, i_postal, i_city = columns.get("full_name"), columns.get("postal_code"), columns.get("city")
    unknown = report.unknown_countries
    invalid = report.invalid
    problems = report.problems
    chunk: list[tuple] = []
    read = valid = invalid_count = no_country = bad_dates = 0
    gmail_rule = hasher.gmail_rule
    digest = hasher.digester()
    timestamp = writer.timestamp
    petition_id = petition.id

    def cell(row, index):
        return row[index] if index is not None else ""

    try:
        for number, row in reader.rows:
            read += 1
            if len(row) != expected:
                problems.append(Problem("ragged", row=number, found=len(row), expected=expected))
                if len(problems) >= importers.PROBLEMS_MAX:
                    break
                continue
            if problems:
                continue  # already refused: keep reading only to list the other problems
            if by_name:
                full_name = cell(row, i_full).strip() or f"{cell(row, i_first)} {cell(row, i_last)}"
                parts = name_parts(full_name, cell(row, i_postal), cell(row, i_city), None)
                reason = None if parts else ("no_name" if not plain_words(full_name) else "no_place")
            else:
                email = normalise_email(row[i_email], gmail_rule=gmail_rule)
                reason = None if email else ("no_email" if not row[i_email].strip() else "bad_email")
            if reason is not None:
                invalid_count += 1
                if len(invalid) < INVALID_LISTED:
                    invalid.append(InvalidRow(number, reason))
                else:
                    report.invalid_not_listed += 1
                continue
            country_id = None
            raw_country = ""
            if i_country is not None:
                raw_country = row[i_country]
                country_id = resolver.resolve(raw_country)
                if country_id is False:
                    value = raw_country.strip()[:80]
                    if value in unknown:
                        unknown[value] += 1
                    elif len(unknown) < UNKNOWN_LISTED:
                        unknown[value] = 1
                    else:
                        report.unknown_not_listed += 1
                    country_id = None
                elif country_id is None:
                    no_country += 1
            else:
                no_country += 1
            if by_name:
                # A country not understood still tells two people apart: its words go in the key.
                country = resolver.alpha3[country_id] if country_id else plain_words(raw_country)
                key = hasher.name_key(petition_id, parts[0], parts[1], country)
            else:
                key = digest(email)
            signed_at = None
            if i_date is not None:
                signed_at = parse_signed_at(row[i_date], date_order)
                if signed_at is False:
                    bad_dates += 1
                    signed_at = None
            first = (row[i_first].strip()[:120] or None) if keep_names and i_first is not None else None
            last = (row[i_last].strip()[:120] or None) if keep_names and i_last is not None else None
            chunk.append((run_id, key, kind, country_id, timestamp(signed_at), first, last))
            valid += 1
            if len(chunk) >= CHUNK_ROWS:
                stage(chunk)
                chunk = []
                if progress:
                    progress(read)
    except FileProblem as error:
        problems.append(Problem.of(error))
    if not problems:
        stage(chunk)
    if progress:
        progress(read)
    report.rows_read, report.rows_new, report.rows_duplicate, report.rows_invalid = read, 0, 0, invalid_count
    report.no_country, report.dates_not_understood = no_country, bad_dates
    return valid


def _finish(record: SignatureImport, report: ImportReport) -> None:
    record.rows_read, record.rows_new = report.rows_read, report.rows_new
    record.rows_duplicate, record.rows_invalid = report.rows_duplicate, report.rows_invalid
    record.report = report.as_json()


class ImportFrozen(SignatureError):
    """An import that can no longer be undone: its signatures are in totals a government was handed, or
    a later import may have counted its people as already there."""

    status = 409


def undo_blocker(record: SignatureImport) -> SignatureError | None:
    """Why the import cannot be undone (the error `undo_import` raises), or None when it can."""
    if record.format == "webhook":
        return SignatureError(_("Signatures pushed by the platform are not a file import: they cannot be undone."))
    petition = db.session.get(Petition, record.petition_id)
    frozen = db.session.execute(
        sa.select(Letter.delivered_on, Letter.signatures_snapshot_at, Country)
        .join(OutreachRecord, OutreachRecord.id == Letter.outreach_id)
        .join(Country, Country.id == OutreachRecord.country_id)
        .where(
            OutreachRecord.campaign_id == petition.campaign_id,
            Letter.signatures_snapshot_at.is_not(None),
            Letter.signatures_snapshot_at >= record.imported_at,
        )
        .order_by(Letter.signatures_snapshot_at, Letter.id)
        .limit(1)
    ).first()
    if frozen is not None:
        delivered_on, snapshot_at, country = frozen
        return ImportFrozen(
            _(
                "This import can no longer be undone: its signatures are in the totals delivered with the "
                "letter to %(country)s on %(date)s, which stay as they were handed over.",
                country=country.name(current_language()),
                date=readers_date(delivered_on or snapshot_at.date()),
            )
        )
    later = db.session.scalar(
        sa.select(SignatureImport)
        .join(Petition, Petition.id == SignatureImport.petition_id)
        .where(
            Petition.campaign_id == petition.campaign_id,
            SignatureImport.id > record.id,
            SignatureImport.rows_duplicate > 0,
        )
        .order_by(SignatureImport.id)
        .limit(1)
    )
    if later is not None:
        return ImportFrozen(
            _(
                "A later import (%(file)s, %(date)s) found people already counted, who may be this import's: "
                "undo it first, or they would no longer be counted at all.",
                file=later.filename or _("pushed by the platform"),
                date=readers_date(later.imported_at.date()),
            )
        )
    return None


def undo_import(record: SignatureImport, *, actor=None) -> int:
    """Undo a file import: delete every signature it brought and take them out of the counts, in the
    caller's transaction; the import's record goes too, so that the same file can be imported again, and
    the audit log keeps what it was. Returns how many signatures were deleted. Refused (ImportFrozen)
    once a letter delivered after the import froze the campaign's totals, or when a later import met
    people already counted: they may be this import's, and would be counted by nobody."""
    if (blocker := undo_blocker(record)) is not None:
        raise blocker
    before = {
        "petition_id": record.petition_id,
        "filename": record.filename,
        "sha256": record.sha256,
        "format": record.format,
        "imported_at": record.imported_at.isoformat(),
        "rows_read": record.rows_read,
        "rows_new": record.rows_new,
        "rows_duplicate": record.rows_duplicate,
        "rows_invalid": record.rows_invalid,
    }
    petition = db.session.get(Petition, record.petition_id)
    counts.remove_import(record.id)
    deleted = db.session.execute(
        sa.delete(Signature).where(Signature.import_id == record.id).execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        "signature.import_undo", actor=actor, entity=record, before=before, after={"signatures_deleted": deleted}
    )
    db.session.delete(record)
    db.session.flush()
    if deleted:
        webhooks.signature_totals_changed(petition, removed_signatures=deleted, source="undo")
    return deleted


# ---------------------------------------------------------------------------------------------------
# Pushed signatures (webhooks)


@dataclass
class PushResult:
    received: int = 0
    new: int = 0
    duplicate: int = 0
    invalid: int = 0
    ignored: int = 0
    # Signers the privacy tools erased: left out.
    erased: int = 0
    unknown_countries: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "received": self.received,
            "new": self.new,
            "duplicate": self.duplicate,
            "invalid": self.invalid,
            "ignored": self.ignored,
            "erased": self.erased,
            "unknown_countries": sorted(self.unknown_countries),
        }


class PushRejected(SignatureError):
    """A webhook's body that was read but cannot be counted (too many items, a changed hashing key)."""

    status = 422


def _first(items, key="primary"):
    if not isinstance(items, list):
        return None
    items = [item for item in items if isinstance(item, dict)]
    for item in items:
        if item.get(key):
            return item
    return items[0] if items else None


def _signatures_in(payload) -> tuple[list[dict], int]:
    """The signature objects of an OSDI-style payload: Action Network's array of {"osdi:signature": ...}
    (other event types are ignored), a single such object, a bare signature with a "person", or an
    OSDI record-signature-helper body. Returns the signatures and how many items were ignored."""
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > PUSH_ITEMS_MAX:
        raise PushRejected(_("At most %(max)s items in one request.", max=PUSH_ITEMS_MAX))
    found, ignored = [], 0
    for item in items:
        if not isinstance(item, dict):
            ignored += 1
        elif isinstance(item.get("osdi:signature"), dict):
            found.append(item["osdi:signature"])
        elif isinstance(item.get("person"), dict):
            found.append(item)
        else:
            ignored += 1
    return found, ignored


def push_signatures(petition: Petition, payload) -> PushResult:
    """Signatures sent by a platform's webhook, counted with the same rules as files. Pushes of one
    petition on one day share one import record whose counts grow."""
    signatures, ignored = _signatures_in(payload)
    result = PushResult(received=len(signatures), ignored=ignored)
    hasher = EmailHasher.from_config()
    if _hash_key_changed(petition, hasher):
        raise PushRejected(problem_message(Problem("key_changed")))
    keep_names = bool(current_app.config.get("SIGNATURE_KEEP_NAMES", False))
    record = _push_record(petition, hasher)
    resolver = CountryResolver()
    writer = SignatureWriter()
    now = utcnow()
    created_at = writer.timestamp(now)
    rows, cells = [], {}
    for signature in signatures:
        person = signature.get("person") or {}
        address = _first(person.get("email_addresses"))
        email = hasher.normalise(
            address.get("address") if address and isinstance(address.get("address"), str) else None
        )
        if email is None:
            result.invalid += 1
            continue
        postal = _first(person.get("postal_addresses"))
        raw_country = postal.get("country") if postal and isinstance(postal.get("country"), str) else None
        country_id = resolver.resolve(raw_country)
        if country_id is False:
            result.unknown_countries[raw_country.strip()[:80]] = True
            country_id = None
        when = signature.get("created_date")
        signed_at = parse_signed_at(when) if isinstance(when, str) else None
        first = person.get("given_name") if keep_names and isinstance(person.get("given_name"), str) else None
        last = person.get("family_name") if keep_names and isinstance(person.get("family_name"), str) else None
        email_hash = hasher.digest(email)
        rows.append(
            (
                petition.campaign_id,
                petition.id,
                record.id,
                email_hash,
                country_id,
                writer.timestamp(signed_at or None),
                (first or "").strip()[:120] or None,
                (last or "").strip()[:120] or None,
                created_at,
            )
        )
        # The first of a hash sent twice in one push is the one written.
        cells.setdefault(
            email_hash, counts.cell_of(petition.campaign_id, petition.id, country_id, signed_at or None, now)
        )
    serialise(db.session, ERASURE_LOCK)
    erased = erased_among(row[3] for row in rows)
    if erased:
        result.erased = sum(1 for row in rows if row[3] in erased)
        rows = [row for row in rows if row[3] not in erased]
    new = writer.write_new(rows)
    counts.add(db.session.connection(), Counter(cells[email_hash] for email_hash in new))
    result.new = len(new)
    result.duplicate = len(rows) - result.new
    if result.new:
        webhooks.signature_totals_changed(petition, new_signatures=result.new, source="push")
    db.session.execute(
        sa.update(SignatureImport)
        .where(SignatureImport.id == record.id)
        .values(
            rows_read=SignatureImport.rows_read + result.received,
            rows_new=SignatureImport.rows_new + result.new,
            rows_duplicate=SignatureImport.rows_duplicate + result.duplicate,
            rows_invalid=SignatureImport.rows_invalid + result.invalid,
        )
    )
    db.session.expire(record)
    return result


def _push_record(petition: Petition, hasher: EmailHasher) -> SignatureImport:
    today = utcnow().date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    record = db.session.scalar(
        sa.select(SignatureImport)
        .where(
            SignatureImport.petition_id == petition.id,
            SignatureImport.format == "webhook",
            SignatureImport.imported_at >= start,
        )
        .order_by(SignatureImport.id.desc())
        .limit(1)
    )
    if record is None:
        record = SignatureImport(
            petition_id=petition.id,
            format="webhook",
            filename=None,
            report={"key_id": hasher.key_id, "pushed_on": today.isoformat()},
        )
        db.session.add(record)
        db.session.flush()
    return record


def new_webhook_secret(petition: Petition, actor=None) -> str:
    """A new secret for the petition's webhook (the old one stops working). Only its hash is kept: the
    secret is shown once."""
    secret = secrets.token_urlsafe(32)
    petition.webhook_secret_hash = hashlib.sha256(secret.encode()).hexdigest()
    db.session.flush()
    audit.record("petition.webhook_secret", actor=actor, entity=petition, after={"rotated": True})
    return secret


def webhook_secret_matches(petition: Petition | None, given: str | None) -> bool:
    """Whether `given` is the petition's webhook secret. Compared in constant time, and compared even when
    the petition or its secret does not exist, so the answer's timing says nothing about which it was."""
    stored = getattr(petition, "webhook_secret_hash", None)
    offered = hashlib.sha256((given or "").encode()).hexdigest()
    same = hmac.compare_digest(stored or "!" * 64, offered)
    return bool(stored and given and same)


# ---------------------------------------------------------------------------------------------------
# Tallies


# More than everyone alive; and below what the signers column holds on both databases.
MAX_SIGNERS = 1_000_000_000


def record_tally(
    petition: Petition, country: Country, signers: int, as_of: dt.date, *, source: str | None = None, actor=None
) -> SignatureTally:
    """A platform's total for one country. It replaces the petition's earlier tally for that country
    (kept in the audit log)."""
    if signers is None or signers < 0 or signers > MAX_SIGNERS:
        raise SignatureError(_("A number of signers, zero or more."), "signers")
    if clock.not_begun_anywhere(as_of):
        raise SignatureError(_("This date is in the future."), "as_of")
    tally = db.session.scalar(
        sa.select(SignatureTally).where(
            SignatureTally.petition_id == petition.id, SignatureTally.country_id == country.id
        )
    )
    before = audit.snapshot(tally, ("signers", "as_of", "source")) if tally else None
    if tally is None:
        tally = SignatureTally(petition_id=petition.id, country_id=country.id)
        db.session.add(tally)
    elif as_of < tally.as_of:
        raise SignatureError(
            _("A newer tally (as of %(date)s) is already recorded.", date=readers_date(tally.as_of)), "as_of"
        )
    tally.signers, tally.as_of = signers, as_of
    tally.source = (source or "").strip()[:500] or None
    tally.entered_by_id = getattr(actor, "id", None)
    tally.entered_at = utcnow()
    db.session.flush()
    audit.record(
        "signature.tally",
        actor=actor,
        entity=tally,
        before=before,
        after={
            "petition_id": petition.id,
            "country": country.alpha3,
            **audit.snapshot(tally, ("signers", "as_of", "source")),
        },
    )
    if before is None or before.get("signers") != signers:
        webhooks.signature_totals_changed(
            petition, source="tally", country=country.alpha3, signers=signers, as_of=as_of.isoformat()
        )
    return tally


def import_tallies(petition: Petition, binary, *, actor=None) -> list[SignatureTally]:
    """Tallies from a CSV with the columns country, signers, as_of (YYYY-MM-DD) and optionally source. All
    or nothing: an unknown country or a bad number refuses the file."""
    try:
        reader = importers.read(binary)
    except FileProblem as error:
        raise SignatureError(problem_message(Problem.of(error)), "file") from None
    keys = {importers.header_key(name): index for index, name in enumerate(reader.shape.header)}
    needed = {
        "country": ("country", "país", "pais"),
        "signers": ("signers", "firmas", "count", "total"),
        "as_of": ("asof", "date", "fecha"),
    }
    columns = {}
    for role, names in needed.items():
        found = next((keys[importers.header_key(n)] for n in names if importers.header_key(n) in keys), None)
        if found is None:
            raise SignatureError(_("The file needs the columns country, signers and as_of."), "file")
        columns[role] = found
    source_index = keys.get("source")
    resolver = CountryResolver()
    errors, parsed = [], []
    try:
        for number, row in reader.rows:
            try:
                country_id = resolver.resolve(row[columns["country"]])
                signers = int(row[columns["signers"]].replace(",", "").replace(".", "").replace(" ", "").strip())
                as_of = dt.date.fromisoformat(row[columns["as_of"]].strip())
            except (IndexError, ValueError):
                errors.append(number)
                continue
            if not country_id or not 0 <= signers <= MAX_SIGNERS:
                errors.append(number)
                continue
            source = row[source_index] if source_index is not None and source_index < len(row) else None
            parsed.append((country_id, signers, as_of, source))
            if len(parsed) > 5_000:
                raise SignatureError(_("At most 5,000 tallies in one file."), "file")
    except FileProblem as error:
        raise SignatureError(problem_message(Problem.of(error)), "file") from None
    if errors:
        raise SignatureError(
            _(
                "Rows %(rows)s: a country that is not understood, a number that is not a whole "
                "number, or a date that is not YYYY-MM-DD. Nothing was imported.",
                rows=", ".join(str(n) for n in errors[:20]),
            ),
            "file",
        )
    countries = {c.id: c for c in db.session.scalars(sa.select(Country).where(Country.id.in_({p[0] for p in parsed})))}
    savepoint = db.session.begin_nested()
    try:
        tallies = [
            record_tally(petition, countries[country_id], signers, as_of, source=source, actor=actor)
            for country_id, signers, as_of, source in parsed
        ]
        savepoint.commit()
    except BaseException as error:
        savepoint.rollback()
        if isinstance(error, SignatureError):
            # A row refused (a date to come, a figure older than the one recorded) refuses the file: the
            # message goes beside the file, not beside a field of the one-tally form.
            raise SignatureError(str(error), "file") from None
        raise
    return tallies


def tallies_of(petition: Petition) -> list[SignatureTally]:
    return db.session.scalars(
        sa.select(SignatureTally)
        .where(SignatureTally.petition_id == petition.id)
        .options(selectinload(SignatureTally.country))
        .order_by(SignatureTally.signers.desc(), SignatureTally.id)
    ).all()


# ---------------------------------------------------------------------------------------------------
# Totals: the one place that counts


@dataclass
class CampaignTotals:
    """Signers of a campaign. `resident` is for the country asked about (0 when none was asked).

    Every figure is the lower end, N, of what is known; where signers without an e-mail address and
    signers known by their address are both counted in a country, `ranges` gives that country's (N, M),
    and `total_upper` and `resident_upper` the higher ends (equal to `total` and `resident` elsewhere)."""

    total: int = 0
    resident: int = 0
    by_country: dict[str, int] = field(default_factory=dict)  # alpha3 -> signers, largest first
    by_petition: dict[int, int] = field(default_factory=dict)  # petition id -> signers counted on it
    unknown_country: int = 0
    from_tallies: int = 0
    counted_at: dt.datetime = field(default_factory=utcnow)
    total_upper: int = 0
    resident_upper: int = 0
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # alpha3 -> (N, M) where N < M

    @property
    def is_range(self) -> bool:
        return self.total_upper > self.total

    def for_country(self, country: Country) -> CampaignTotals:
        """The same totals, with `resident` for `country`."""
        low, high = self.ranges.get(country.alpha3, (self.by_country.get(country.alpha3, 0),) * 2)
        return CampaignTotals(
            total=self.total,
            resident=low,
            by_country=self.by_country,
            by_petition=self.by_petition,
            unknown_country=self.unknown_country,
            from_tallies=self.from_tallies,
            counted_at=self.counted_at,
            total_upper=self.total_upper,
            resident_upper=high,
            ranges=self.ranges,
        )

    def as_snapshot(self) -> dict:
        return {
            "total": self.total,
            "resident": self.resident,
            "by_country": dict(self.by_country),
            "total_upper": self.total_upper,
            "resident_upper": self.resident_upper,
        }


@dataclass
class _Cell:
    """One petition's signers in one country: rows imported (of which `named` without an e-mail address)
    and the tally, if any."""

    rows: int = 0
    named: int = 0
    tally: int | None = None

    @property
    def counted(self) -> int:
        return max(self.rows, self.tally) if self.tally is not None else self.rows

    @property
    def tally_excess(self) -> int:
        return max(0, self.tally - self.rows) if self.tally is not None else 0


def _range(cells) -> tuple[int, int]:
    """(N, M) for one country's cells: signers known by address and signers known by name and place
    cannot be matched, so they are between all in both kinds (the larger kind) and nobody in both."""
    by_email = sum(cell.rows - cell.named for cell in cells)
    by_name = sum(cell.named for cell in cells)
    excess = sum(cell.tally_excess for cell in cells)
    return max(by_email, by_name) + excess, by_email + by_name + excess


def _cells(campaign_id: int, petition_id: int | None = None) -> dict[tuple[int, int | None], _Cell]:
    """Per (petition, country id or None): individual signatures and tallies. Two queries."""
    cells: dict[tuple[int, int | None], _Cell] = defaultdict(_Cell)
    counted = (
        sa.select(
            SignatureCount.petition_id,
            SignatureCount.country_id,
            sa.func.sum(SignatureCount.signers),
            sa.func.sum(SignatureCount.without_email),
        )
        .where(SignatureCount.campaign_id == campaign_id)
        .group_by(SignatureCount.petition_id, SignatureCount.country_id)
    )
    tallied = (
        sa.select(SignatureTally.petition_id, SignatureTally.country_id, SignatureTally.signers)
        .join(Petition, Petition.id == SignatureTally.petition_id)
        .where(Petition.campaign_id == campaign_id)
    )
    if petition_id is not None:
        counted = counted.where(SignatureCount.petition_id == petition_id)
        tallied = tallied.where(SignatureTally.petition_id == petition_id)
    for pid, country_id, number, named in db.session.execute(counted):
        cell = cells[(pid, None if country_id == UNKNOWN_COUNTRY else country_id)]
        cell.rows, cell.named = int(number), int(named or 0)
    for pid, country_id, signers in db.session.execute(tallied):
        cells[(pid, country_id)].tally = signers
    return cells


def _by_country(cells) -> dict[int | None, tuple[int, int]]:
    grouped: dict[int | None, list[_Cell]] = defaultdict(list)
    for (_petition_id, country_id), cell in cells.items():
        grouped[country_id].append(cell)
    return {country_id: _range(group) for country_id, group in grouped.items()}


def _alpha3(country_ids) -> dict[int, str]:
    ids = [cid for cid in country_ids if cid is not None]
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Country.id, Country.alpha3).where(Country.id.in_(ids))).all())


def totals_for(campaign: Campaign, country: Country | None = None) -> CampaignTotals:
    """Signers of a campaign: in total, residing in `country`, by country of residence (ISO alpha-3) and by
    petition, with the range where signers without an e-mail address meet the others. Three queries
    whatever the number of signatures, petitions or countries."""
    cells = _cells(campaign.id)
    totals = CampaignTotals()
    per_petition: dict[int, int] = defaultdict(int)
    for (petition_id, _country_id), cell in cells.items():
        per_petition[petition_id] += cell.counted
        totals.from_tallies += cell.tally_excess
    figures = _by_country(cells)
    codes = _alpha3(figures)
    for country_id, (low, high) in figures.items():
        totals.total += low
        totals.total_upper += high
        if country_id is None:
            totals.unknown_country = low
    known = sorted(
        ((codes[cid], low, high) for cid, (low, high) in figures.items() if cid is not None),
        key=lambda i: (-i[1], i[0]),
    )
    totals.by_country = {code: low for code, low, _high in known if low}
    totals.ranges = {code: (low, high) for code, low, high in known if high > low}
    totals.by_petition = dict(per_petition)
    if country is not None:
        low, high = figures.get(country.id, (0, 0))
        totals.resident, totals.resident_upper = low, high
    return totals


def petition_totals(petition: Petition) -> tuple[dict[str, int], int]:
    """One petition's signers by country of residence (alpha-3, largest first), and those whose country is
    not known: each cell counted as `totals_for` counts it, three queries."""
    cells = _cells(petition.campaign_id, petition.id)
    codes = _alpha3(country_id for _pid, country_id in cells)
    unknown = sum(cell.counted for (_pid, country_id), cell in cells.items() if country_id is None)
    known = sorted(
        ((codes[cid], cell.counted) for (_pid, cid), cell in cells.items() if cid is not None),
        key=lambda i: (-i[1], i[0]),
    )
    return ({code: n for code, n in known if n}, unknown)


@dataclass
class TallyRow:
    """A tally beside the signatures imported on the same petition for the same country, and which counts."""

    tally: SignatureTally
    imported: int

    @property
    def counted(self) -> str:
        """ "tally" or "imported": the larger counts (the tally when they are equal: nothing is lost)."""
        return "imported" if self.imported > self.tally.signers else "tally"


def tally_rows(petition: Petition) -> list[TallyRow]:
    """The petition's tallies, each with the signatures imported for its country on this petition."""
    cells = _cells(petition.campaign_id, petition.id)
    return [
        TallyRow(tally=tally, imported=cells.get((petition.id, tally.country_id), _Cell()).rows)
        for tally in tallies_of(petition)
    ]


def totals_csv_rows(campaign: Campaign) -> list[tuple[str, int]]:
    """`country,signers` rows: ISO alpha-3 codes, largest first, then TOTAL (which also counts the signers
    whose country is not known, so it can exceed the sum of the rows)."""
    totals = totals_for(campaign)
    return [*totals.by_country.items(), ("TOTAL", totals.total)]


@dataclass
class Day:
    day: dt.date
    added: int
    total: int


def daily_totals(campaign: Campaign) -> list[Day]:
    """The campaign's total (its lower end, N) at the end of each day something was added: signatures by
    the day they were signed (or imported, when the platform gave no date), tallies on their "as of" day,
    counted with the same rules as `totals_for`. Two queries."""
    events: dict[dt.date, list] = defaultdict(list)
    for petition_id, country_id, on, number, named in db.session.execute(
        sa.select(
            SignatureCount.petition_id,
            SignatureCount.country_id,
            SignatureCount.day,
            SignatureCount.signers,
            SignatureCount.without_email,
        ).where(SignatureCount.campaign_id == campaign.id)
    ):
        country = None if country_id == UNKNOWN_COUNTRY else country_id
        events[on].append(("rows", (petition_id, country), (number, named or 0)))
    for petition_id, country_id, as_of, signers in db.session.execute(
        sa.select(SignatureTally.petition_id, SignatureTally.country_id, SignatureTally.as_of, SignatureTally.signers)
        .join(Petition, Petition.id == SignatureTally.petition_id)
        .where(Petition.campaign_id == campaign.id)
    ):
        events[as_of].append(("tally", (petition_id, country_id), signers))
    cells: dict[tuple, _Cell] = defaultdict(_Cell)
    countries: dict[int | None, list[_Cell]] = defaultdict(list)
    figure: dict[int | None, int] = defaultdict(int)
    total, series = 0, []
    for on in sorted(events):
        before = total
        touched = set()
        for kind, key, number in events[on]:
            if key not in cells:
                countries[key[1]].append(cells[key])
            cell = cells[key]
            if kind == "rows":
                cell.rows += number[0]
                cell.named += number[1]
            else:
                cell.tally = number
            touched.add(key[1])
        for country_id in touched:
            low = _range(countries[country_id])[0]
            total += low - figure[country_id]
            figure[country_id] = low
        series.append(Day(day=on, added=total - before, total=total))
    return series


def petition_rows(campaign: Campaign) -> list[dict]:
    """Each petition with its signers and its imports' counts, in three queries whatever their number."""
    petitions = petitions_of(campaign)
    totals = totals_for(campaign)
    imports = dict(
        db.session.execute(
            sa.select(SignatureImport.petition_id, sa.func.count())
            .join(Petition, Petition.id == SignatureImport.petition_id)
            .where(Petition.campaign_id == campaign.id)
            .group_by(SignatureImport.petition_id)
        ).all()
    )
    return [
        {"petition": p, "signers": totals.by_petition.get(p.id, 0), "imports": imports.get(p.id, 0)} for p in petitions
    ]


def imports_of(petition: Petition, limit: int = 100) -> list[SignatureImport]:
    return db.session.scalars(
        sa.select(SignatureImport)
        .where(SignatureImport.petition_id == petition.id)
        .order_by(SignatureImport.id.desc())
        .limit(limit)
    ).all()


def country_names(alpha3_codes) -> dict[str, Country]:
    codes = list(alpha3_codes)
    if not codes:
        return {}
    return {c.alpha3: c for c in db.session.scalars(sa.select(Country).where(Country.alpha3.in_(codes)))}
