"""Backups: one encrypted archive holding every table in a portable form (JSON lines, not tied to SQLite
or PostgreSQL), the uploaded files, the schema version and a manifest with counts and checksums; a check
of an archive without restoring it; and a restore into an empty database of either kind, which is also
how an install moves from SQLite to PostgreSQL.

Inside the encrypted envelope (crm/backup/crypto.py) the archive is a tar stream:
    tables/<table>/<part>.jsonl.gz   rows in primary-key order, at most PART_ROWS a part
    files/attachments/<storage key>  the letters' attachments, as stored
    manifest.json                    last: format, schema revision, counts and SHA-256 of every member
Values that JSON cannot carry are tagged: {"$datetime": "...+00:00"}, {"$date": ...}, {"$time": ...},
{"$decimal": ...}, {"$bytes": base64}, {"$json": value}. Encrypted columns are kept as they are stored
(ciphertext): the data keys are not in the archive, and a restore refuses to start without them.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import hashlib
import io
import json
import os
import tarfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask_migrate import upgrade

from crm.backup.crypto import MIN_PASSPHRASE, ArchiveError, DecryptingReader, EncryptingWriter
from crm.database import utcnow
from crm.encryption import EncryptionError, decrypt, encrypted_columns
from crm.errors import DomainError
from crm.extensions import db
from crm.signatures.normalise import EmailHasher

ARCHIVE_FORMAT = 1
PART_ROWS = 20_000
INSERT_BATCH = 2_000
SCHEMA_TABLE = "alembic_version"
UTC = dt.UTC
ATTACHMENTS = "attachments"  # the folder under the instance folder (crm/letters/storage.py)
SUFFIX = ".alcbak"


class BackupError(DomainError):
    """A backup that cannot be made, checked or restored, with the reason in words."""


@dataclass
class Verified:
    """What a check of an archive found: its manifest, and a few stored values of each encrypted column
    (to test the install's data keys before anything is written)."""

    manifest: dict
    encrypted_samples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(table["rows"] for table in self.manifest["tables"].values())


@dataclass
class Restored:
    manifest: dict
    rows: int
    files: int
    upgraded_to: str | None


# --- values ------------------------------------------------------------------------------------------


def _encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite keeps UTC without a zone
        return {"$datetime": moment.astimezone(UTC).isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dict, list)):
        return {"$json": value}
    raise BackupError(f"a value of type {type(value).__name__} cannot be written to a backup")


def _decode(value, column: sa.Column):
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise BackupError(f"the archive holds an unreadable value in {column.table.name}.{column.name}")
    ((tag, raw),) = value.items()
    if tag == "$datetime":
        moment = dt.datetime.fromisoformat(raw)
        return moment if getattr(column.type, "timezone", False) else moment.astimezone(UTC).replace(tzinfo=None)
    if tag == "$date":
        return dt.date.fromisoformat(raw)
    if tag == "$time":
        return dt.time.fromisoformat(raw)
    if tag == "$decimal":
        return decimal.Decimal(raw)
    if tag == "$bytes":
        return base64.b64decode(raw)
    if tag == "$json":
        return raw
    raise BackupError(f"the archive holds an unreadable value in {column.table.name}.{column.name}")


# --- the database's shape ------------------------------------------------------------------------------


def _reflect(connection) -> sa.MetaData:
    """The tables as the database has them (plain column types: encrypted columns read as stored)."""
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        # SQLite's reflection skips an index on an expression (ix_follow_up_to_do_due) with a warning; a
        # backup copies rows, and the restored database gets its indexes from the migrations.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        metadata.reflect(bind=connection)
    return metadata


def _data_tables(metadata: sa.MetaData) -> list[sa.Table]:
    """Every table but the schema version, parents before children."""
    return [table for table in sa.schema.sort_tables(metadata.tables.values()) if table.name != SCHEMA_TABLE]


def _schema_revision(connection) -> str | None:
    if not sa.inspect(connection).has_table(SCHEMA_TABLE):
        return None
    return connection.execute(sa.text(f"SELECT version_num FROM {SCHEMA_TABLE}")).scalar()


def _migrations():
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def _self_references(table: sa.Table) -> list[tuple[str, str]]:
    """(column, referenced column) of each foreign key from a table to itself."""
    return [(fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table]


def _order_by(table: sa.Table):
    return list(table.primary_key.columns) or list(table.columns)


# --- create ----------------------------------------------------------------------------------------------


def _signature_key_id() -> str | None:
    try:
        return EmailHasher.from_config().key_id
    except RuntimeError:
        return None


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> str:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def _table_parts(connection, table: sa.Table) -> Iterator[tuple[int, bytes]]:
    """The table's rows as gzip-compressed JSON lines, PART_ROWS at a time (never the whole table in memory)."""
    result = connection.execution_options(yield_per=PART_ROWS).execute(sa.select(table).order_by(*_order_by(table)))
    names = list(result.keys())
    for partition in result.partitions():
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed:
            for row in partition:
                line = {name: _encode(value) for name, value in zip(names, row, strict=True)}
                packed.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        yield len(partition), buffer.getvalue()


def _attachment_files() -> Iterator[Path]:
    folder = Path(current_app.instance_path) / ATTACHMENTS
    if folder.is_dir():
        yield from sorted(
            path for path in folder.iterdir() if path.is_file() and all(c in "0123456789abcdef" for c in path.name)
        )


def create_backup(path: str | os.PathLike, passphrase: str, *, now: dt.datetime | None = None) -> dict:
    """Write an encrypted archive of the whole install to `path` (a new file; a folder gets a dated file
    inside) and return its manifest. The tables are read from one snapshot, so the archive is consistent
    even while people keep working; on SQLite the snapshot never holds the write lock."""
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise BackupError(f"The passphrase must have at least {MIN_PASSPHRASE} characters.")
    now = now or utcnow()
    target = Path(path)
    if target.is_dir():
        target = target / f"alcance-{now.astimezone(UTC):%Y%m%d-%H%M%S}{SUFFIX}"
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name.")
    partial = target.with_name(target.name + ".partial")
    manifest = {
        "format": ARCHIVE_FORMAT,
        "application": "alcance",
        "created_at": now.astimezone(UTC).isoformat(),
        "source_database": db.engine.dialect.name,
        "schema_revision": None,
        "signature_key_id": _signature_key_id(),
        "tables": {},
        "files": {},
    }
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{partial} exists: another backup may be running; remove it if not.") from None
    except OSError as error:
        raise BackupError(f"Cannot write {target}: {error.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            envelope = EncryptingWriter(handle, passphrase)
            with tarfile.open(fileobj=envelope, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                options = {"snapshot": True}
                if db.engine.dialect.name == "postgresql":
                    options["isolation_level"] = "REPEATABLE READ"
                with db.engine.connect().execution_options(**options) as connection, connection.begin():
                    manifest["schema_revision"] = _schema_revision(connection)
                    if manifest["schema_revision"] is None:
                        raise BackupError("The database has no schema version: run `flask --app wsgi setup` first.")
                    for table in _data_tables(_reflect(connection)):
                        entry = manifest["tables"][table.name] = {"rows": 0, "parts": []}
                        for number, (rows, data) in enumerate(_table_parts(connection, table), start=1):
                            name = f"tables/{table.name}/{number:05d}.jsonl.gz"
                            entry["parts"].append({"name": name, "rows": rows, "sha256": _add(tar, name, data)})
                            entry["rows"] += rows
                for file in _attachment_files():
                    data = file.read_bytes()
                    name = f"files/{ATTACHMENTS}/{file.name}"
                    manifest["files"][name] = {"size": len(data), "sha256": _add(tar, name, data)}
                _add(tar, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
            envelope.close()
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest["path"] = str(target)
    manifest["size"] = target.stat().st_size
    return manifest


# --- read and check -----------------------------------------------------------------------------------

_REASONS = {
    "not_an_archive": "This file is not an Alcance backup.",
    "wrong_passphrase": "The passphrase is wrong (or the archive's header is damaged).",
    "damaged": "The archive is damaged: a part of it does not match what was written. Nothing was restored.",
    "truncated": "The archive is incomplete (cut short). Nothing was restored.",
}


def _members(path: Path, passphrase: str) -> Iterator[tuple[str, bytes]]:
    """Each member of the archive with its content, in order, decrypted and authenticated as it is read."""
    try:
        with open(path, "rb") as handle:
            reader = DecryptingReader(handle, passphrase)
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        raise BackupError(_REASONS["damaged"])
                    extracted = tar.extractfile(member)
                    yield member.name, extracted.read() if extracted else b""
    except ArchiveError as error:
        raise BackupError(_REASONS[error.reason]) from None
    except tarfile.TarError:
        raise BackupError(_REASONS["damaged"]) from None
    except FileNotFoundError:
        raise BackupError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise BackupError(f"{path} is a folder, not a backup file.") from None


def _rows(data: bytes) -> Iterator[dict]:
    try:
        for line in gzip.decompress(data).splitlines():
            yield json.loads(line)
    except (OSError, EOFError, ValueError):
        raise BackupError(_REASONS["damaged"]) from None


def verify_backup(path: str | os.PathLike, passphrase: str) -> Verified:
    """Read the whole archive: every chunk authenticated, every member's checksum and row count equal to
    the manifest's, nothing missing and nothing extra. Writes nothing."""
    wanted: dict[str, list[str]] = {}
    for table, column in encrypted_columns(db.metadata):
        wanted.setdefault(table.name, []).append(column.name)
    samples: dict[str, list[str]] = {}
    found: dict[str, tuple[str, int | None]] = {}  # member -> (sha256, rows)
    manifest = None
    for name, data in _members(Path(path), passphrase):
        if name == "manifest.json":
            try:
                manifest = json.loads(data)
            except ValueError:
                raise BackupError(_REASONS["damaged"]) from None
            continue
        if manifest is not None or name in found:
            raise BackupError(_REASONS["damaged"])
        rows = None
        if name.startswith("tables/"):
            table = name.split("/")[1]
            rows = 0
            for row in _rows(data):
                rows += 1
                for column in wanted.get(table, ()):
                    key = f"{table}.{column}"
                    value = row.get(column)
                    if isinstance(value, str) and len(samples.setdefault(key, [])) < 3:
                        samples[key].append(value)
        found[name] = (hashlib.sha256(data).hexdigest(), rows)
    if manifest is None:
        raise BackupError(_REASONS["truncated"])
    if manifest.get("application") != "alcance" or manifest.get("format") != ARCHIVE_FORMAT:
        raise BackupError("This archive was written in a format this version of Alcance does not read.")
    expected: dict[str, tuple[str, int | None]] = {}
    for entry in manifest["tables"].values():
        if sum(part["rows"] for part in entry["parts"]) != entry["rows"]:
            raise BackupError(_REASONS["damaged"])
        for part in entry["parts"]:
            expected[part["name"]] = (part["sha256"], part["rows"])
    for name, entry in manifest["files"].items():
        expected[name] = (entry["sha256"], None)
    if found != expected:
        raise BackupError(_REASONS["damaged"])
    return Verified(manifest=manifest, encrypted_samples=samples)


# --- restore ------------------------------------------------------------------------------------------


def _rows_in_database(connection) -> dict[str, int]:
    counts = {}
    for table in _data_tables(_reflect(connection)):
        count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        if count:
            counts[table.name] = count
    return counts


def _check_target(verified: Verified) -> bool:
    """Refuse what cannot be restored here, before anything is written. True when the schema must be
    built (the database has no tables at all)."""
    manifest = verified.manifest
    migrations = _migrations()
    revision = manifest["schema_revision"]
    if not _known(migrations, revision):
        raise BackupError(
            f"This archive comes from a newer version of Alcance (schema {revision}): upgrade "
            "Alcance to that version or later, then restore."
        )
    with db.engine.connect() as connection:
        tables = [name for name in sa.inspect(connection).get_table_names() if name != SCHEMA_TABLE]
        if tables:
            counts = _rows_in_database(connection)
            if counts:
                listed = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items())[:5])
                raise BackupError(
                    f"The database is not empty ({listed}{', ...' if len(counts) > 5 else ''}). "
                    "Restore into a new, empty database."
                )
            current = _schema_revision(connection)
            if current != revision:
                raise BackupError(
                    f"The database has an empty schema at revision {current}, but the archive is at "
                    f"{revision}. Restore into a new database with no tables."
                )
    folder = Path(current_app.instance_path) / ATTACHMENTS
    for name, entry in manifest["files"].items():
        existing = folder / Path(name).name
        if existing.exists() and hashlib.sha256(existing.read_bytes()).hexdigest() != entry["sha256"]:
            raise BackupError(
                f"The attachments folder already holds a different {existing.name}: restore into a new install."
            )
    for key, values in verified.encrypted_samples.items():
        for value in values:
            try:
                decrypt(value)
            except EncryptionError:
                raise BackupError(
                    f"Encrypted fields ({key}) cannot be read with this install's data keys. Set "
                    "ALCANCE_DATA_KEYS to the keys of the install the backup came from."
                ) from None
    signed = manifest["tables"].get("signature", {}).get("rows", 0)
    if signed and manifest.get("signature_key_id") and manifest["signature_key_id"] != _signature_key_id():
        raise BackupError(
            "This install's SIGNATURE_HASH_KEY (or SECRET_KEY, from which it is derived) is not the one "
            "the backup was made with: signers already counted would be counted again. Set it as on "
            "the original install."
        )
    return not tables


def _known(migrations, revision) -> bool:
    try:
        return migrations.get_revision(revision) is not None
    except CommandError:
        return False


def _insert(connection, table: sa.Table, rows: list[dict]) -> None:
    columns = {column.name: column for column in table.columns}
    decoded = []
    for row in rows:
        if set(row) - set(columns):
            raise BackupError(f"The archive's {table.name} rows do not match the schema they claim.")
        decoded.append({name: _decode(value, columns[name]) for name, value in row.items()})
    for start in range(0, len(decoded), INSERT_BATCH):
        connection.execute(table.insert(), decoded[start : start + INSERT_BATCH])


def _parents_first(table: sa.Table, rows: list[dict]) -> list[dict]:
    """The rows of a table that refers to itself (a region's parent, a merged contact, a reply's letter),
    each after the row it refers to."""
    references = _self_references(table)
    key_of = {ref for _, ref in references}
    placed: set = set()
    ordered, waiting = [], rows
    while waiting:
        still = []
        for row in waiting:
            if all(row.get(column) is None or row.get(column) in placed for column, _ in references):
                ordered.append(row)
                placed.update(row.get(ref) for ref in key_of)
            else:
                still.append(row)
        if len(still) == len(waiting):  # a loop, or a reference to a row that is not there
            raise BackupError(f"The archive's {table.name} rows refer to rows it does not hold.")
        waiting = still
    return ordered


def _reset_sequences(connection, tables: list[sa.Table]) -> None:
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
            continue
        quoted = connection.dialect.identifier_preparer.quote(table.name)
        sequence = connection.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quoted, "c": keys[0].name}
        ).scalar()
        if sequence:
            connection.execute(
                sa.text(f"SELECT setval(:s, COALESCE((SELECT MAX({keys[0].name}) FROM {quoted}), 0) + 1, false)"),
                {"s": sequence},
            )


def _drop_everything() -> None:
    with db.engine.begin() as connection:
        metadata = _reflect(connection)
        metadata.drop_all(bind=connection)


def restore_backup(path: str | os.PathLike, passphrase: str) -> Restored:
    """Restore an archive into this install's database, which must be empty, of either kind. The archive
    is read and checked in full first; any refusal writes nothing, and a failure part-way removes what
    was written."""
    path = Path(path)
    verified = verify_backup(path, passphrase)
    manifest = verified.manifest
    build_schema = _check_target(verified)
    if build_schema:
        upgrade(revision=manifest["schema_revision"])
    folder = Path(current_app.instance_path) / ATTACHMENTS
    written: list[Path] = []
    try:
        with db.engine.begin() as connection:
            tables = {table.name: table for table in _data_tables(_reflect(connection))}
            if set(manifest["tables"]) != set(tables):
                raise BackupError("The archive's tables do not match the schema it claims.")
            pending: dict[str, list[dict]] = {}
            for name, data in _members(path, passphrase):
                if name.startswith("tables/"):
                    table = tables[name.split("/")[1]]
                    rows = list(_rows(data))
                    if _self_references(table):
                        pending.setdefault(table.name, []).extend(rows)  # ordered once the table is whole
                        continue
                    for waiting in list(pending):
                        _insert(connection, tables[waiting], _parents_first(tables[waiting], pending.pop(waiting)))
                    _insert(connection, table, rows)
                elif name.startswith(f"files/{ATTACHMENTS}/"):
                    target = folder / Path(name).name
                    if not target.exists():
                        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                        partial = target.with_name(target.name + ".partial")
                        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
                            handle.write(data)
                        os.replace(partial, target)
                        written.append(target)
            for waiting in list(pending):
                _insert(connection, tables[waiting], _parents_first(tables[waiting], pending.pop(waiting)))
            counts = {
                name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for name, table in tables.items()
            }
            if any(counts[name] != entry["rows"] for name, entry in manifest["tables"].items()):
                raise BackupError(_REASONS["damaged"])
            _reset_sequences(connection, list(tables.values()))
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        if build_schema:
            _drop_everything()
        raise
    head = _migrations().get_current_head()
    upgraded_to = None
    if head != manifest["schema_revision"]:
        upgrade()
        upgraded_to = head
    return Restored(manifest=manifest, rows=verified.rows, files=len(manifest["files"]), upgraded_to=upgraded_to)
