"""Importing a platform's export file into a petition: the preview of what an import would do, the import
itself (streamed and staged in chunks, then published all or nothing), and undoing one. Counted with the
rules in crm/signatures/totals.py.

An import can be undone (its signatures deleted, the counts taken back) until a letter delivered after it
froze the totals, and unless a later import met people already counted (they may be this import's, and
would be lost).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from crm.audit import services as audit
from crm.countries.models import Country
from crm.database import UTCDateTime, serialise, utcnow
from crm.extensions import db
from crm.i18n import _, current_language, readers_date
from crm.letters.models import Letter
from crm.outreach.models import OutreachRecord
from crm.signatures import counts, importers
from crm.signatures.errors import SignatureError
from crm.signatures.importers import ColumnMapping, FileProblem, FileShape
from crm.signatures.models import ErasedSigner, Petition, Signature, SignatureImport, StagedImport, StagedSignature
from crm.signatures.normalise import (
    CountryResolver,
    EmailHasher,
    name_parts,
    normalise_email,
    parse_signed_at,
    plain_words,
)
from crm.signatures.reports import ImportReport, InvalidRow, Problem, problem_message
from crm.signatures.writer import ERASURE_LOCK, SignatureWriter, hash_key_changed
from crm.webhooks import services as webhooks

CHUNK_ROWS = 5_000
INVALID_LISTED = 100  # invalid rows listed by number in a report; the rest are counted
UNKNOWN_LISTED = 100  # distinct unknown country values listed
# An import touches its staged run at every chunk (a fraction of a second apart); one silent this long
# was killed, and what it staged is deleted by the next import.
STAGED_IMPORT_STALE = dt.timedelta(minutes=10)


class ImportRejected(SignatureError):
    """The file was refused as a whole; nothing of it was kept. `report` says why."""

    def __init__(self, report: ImportReport):
        super().__init__(problem_message(report.problems[0]) if report.problems else "rejected")
        self.report = report


@dataclass
class ImportOutcome:
    record: SignatureImport | None
    already_imported: bool = False
    # The import's report; for a dry run (record None) the only account of what would have happened.
    report: ImportReport | None = None


@dataclass
class FileInspection:
    """What an import would make of a file (`inspect_file`), or the problems that refuse it."""

    problems: list[Problem] = field(default_factory=list)
    shape: FileShape | None = None
    detected_format: str | None = None
    format: str | None = None
    mapping: ColumnMapping | None = None
    rows: list[list[str]] = field(default_factory=list)  # the first rows, e-mail addresses masked


def _choose_mapping(petition: Petition, shape, format_code: str, mapping: ColumnMapping | None) -> ColumnMapping:
    if mapping is not None:
        for name in mapping.columns.values():
            if name not in shape.header:
                raise FileProblem("mapping_column", name=name)
        return mapping
    return importers.usable_saved_mapping(petition.column_mapping, shape.header) or importers.guess_mapping(
        shape.header, format_code
    )


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
    if hash_key_changed(petition, hasher):
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


def imports_of(petition: Petition, limit: int = 100) -> list[SignatureImport]:
    return db.session.scalars(
        sa.select(SignatureImport)
        .where(SignatureImport.petition_id == petition.id)
        .order_by(SignatureImport.id.desc())
        .limit(limit)
    ).all()


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
