"""Database plumbing shared by every feature: the declarative base, UTC time, and SQLite settings."""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from collections.abc import Iterable
from contextlib import contextmanager

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import GenericFunction

from crm.errors import StaleRecord
from crm.translation import gettext

# Stable constraint names: migrations can drop what they created, on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always handed back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; use an aware datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def written(number: int | None) -> sa.BindParameter | None:
    """A LIMIT or OFFSET written into the statement rather than sent beside it: `.limit(written(n))`.
    PostgreSQL plans a statement whose LIMIT is a parameter anew on every execution (a plan for "some"
    rows costs more than one for 51, so its cached generic plan is never chosen): 3 to 7 ms for a list's
    joins against under 1 ms to run them. Written in, the page's statement is planned once per
    connection; SQLAlchemy still caches its compiled form by shape, not by the number. None: no limit."""
    if number is None:
        return None
    return sa.bindparam(None, int(number), type_=sa.Integer, literal_execute=True)


def pageable(statement: sa.Select) -> sa.Select:
    """A statement built once for `crm.web.page_of`, its LIMIT and OFFSET parameters written in as `written`
    writes them: a list page then neither builds its statement nor walks it for SQLAlchemy's cache key."""
    limit = sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True)
    offset = sa.bindparam("page_offset", type_=sa.Integer, literal_execute=True)
    return statement.limit(limit).offset(offset).execution_options(alcance_pageable=True)


def enum_check(column: str, values: Iterable[str], name: str | None = None) -> sa.CheckConstraint:
    """A CHECK that keeps a string column to its allowed values (portable; no native enum types)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")


def only_chars(column: str, allowed: str) -> str:
    """SQL that is true when `column` holds only `allowed` characters (portable: SQLite and PostgreSQL)."""
    return f"ltrim({column}, '{allowed}') = ''"


DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HEX = "0123456789abcdef"
SLUG = "abcdefghijklmnopqrstuvwxyz0123456789-"
EMAIL_SHAPE = "LIKE '%_@_%'"


def stale_record_message() -> str:
    return gettext(
        "Someone else saved this record after you opened it, so your changes were not saved. "
        "Check the record as it is now; save again to keep yours."
    )


def serialise(session, *names: str) -> None:
    """Make a check and the write that follows it one step across processes: a transaction that reaches
    this with the same name waits until the earlier one ends. PostgreSQL: transaction-level advisory locks,
    always taken in the same order; SQLite: every writing transaction already holds the write lock from its
    start (BEGIN IMMEDIATE, above)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


def upsert_insert(session, table):
    """An INSERT of this database's dialect, which offers ON CONFLICT (on_conflict_do_nothing/update)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def after_commit(session, callback) -> None:
    """Run `callback` once the session's transaction is committed, and never if it is rolled back: a file
    that belongs to a deleted row goes only once the deletion is kept."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(sa.orm.Session, "after_commit")
def _run_after_commit(session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(sa.orm.Session, "after_rollback")
def _forget_after_commit(session) -> None:
    session.info.pop("after_commit", None)


# How many rows of each index SQLite's ANALYZE reads (PRAGMA analysis_limit): enough for the proportions
# the planner needs, and milliseconds whatever the size of the table.
STATISTICS_ROWS = 1000


def refresh_statistics(session) -> bool:
    """Give SQLite the statistics it plans by: it keeps none of its own until ANALYZE writes them, and
    without them it reads the follow-ups still to do by status and sorts them all, instead of reading the
    first page in the order of their index (ix_follow_up_to_do_due). PostgreSQL's autovacuum keeps its
    statistics: nothing to do there (returns False)."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    session.execute(sa.text(f"PRAGMA analysis_limit = {STATISTICS_ROWS}"))
    session.execute(sa.text("ANALYZE"))
    return True


@contextmanager
def dry_run(session):
    """Run what the block writes in `session`, then undo it (a savepoint rolled back): a preview of an
    import shows exactly what the import would do, and keeps nothing."""
    savepoint = session.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()


@contextmanager
def reading(session):
    """Read in a transaction that takes no write lock, however the request came (a POST, the command line):
    the session's transaction so far is committed first (ending any write lock it holds), and the reading
    one ends with the block (rolled back: it wrote nothing). On SQLite the transaction begins deferred, as
    a page that only reads does, and in WAL mode reads its snapshot while another process writes; a long
    check (an import's) then keeps nobody waiting. PostgreSQL's reads never wait for writes anyway."""
    session.commit()
    if isinstance(session.get_bind(), Engine) and session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"snapshot": True})
    try:
        yield
    finally:
        session.rollback()


def check_version(record, expected_version) -> None:
    """Optimistic locking: refuse to save over a change the user has not seen. The form carries the
    version it showed; None means the caller does not track versions (command line, imports)."""
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise StaleRecord(gettext("The form is out of date. Reload the page and try again.")) from None
    if record.version != expected:
        raise StaleRecord(stale_record_message())


# Searching without accents or case, in the database, identically on SQLite and PostgreSQL: "martin"
# finds Martín, "MUNOZ" finds Muñoz, "nguyen" finds Nguyễn. One table of the Latin letters with
# diacritics (U+00C0 to U+024F, and Latin Extended Additional, U+1E00 to U+1EFF) and the plain lower-case
# letter each stands for; both engines fold with it, and so does `fold`.
def _latin_folds() -> tuple[str, str]:
    accented, plain = [], []
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii() and base.isalpha():
            accented.append(char)
            plain.append(base.lower())
    # Letters with a stroke have no decomposition but are read as the plain letter all the same.
    return "".join(accented) + "ĐđĦħıŁłØø", "".join(plain) + "ddhhilloo"


FOLD_FROM, FOLD_TO = _latin_folds()
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(text: str | None) -> str | None:
    """`text` as the database's folded() compares it: accented Latin letters to plain ones, lower case."""
    return None if text is None else text.translate(_FOLD_TABLE).lower()


def contains_pattern(query: str) -> str:
    """A LIKE pattern (escape character backslash) for folded text that contains the folded `query`."""
    escaped = fold(query.strip()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class folded(GenericFunction):
    """SQL: `column` folded as `fold` folds text. PostgreSQL: translate() then lower(); SQLite: the same
    Python function, registered on each connection (configure_sqlite)."""

    type = sa.String()
    inherit_cache = True


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    table = f"'{FOLD_FROM}', '{FOLD_TO}'"
    return f"lower(translate({compiler.process(element.clauses, **kw)}, {table}))"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"alcance_fold({compiler.process(element.clauses, **kw)})"


class utc_day(GenericFunction):
    """SQL: the UTC calendar day of a timestamp column. PostgreSQL: CAST(timezone('UTC', column) AS DATE),
    'UTC' written in (an index on the expression serves only the statements that say it the same way);
    SQLite: date(column)."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


def _owner_only(database_path: str | None) -> None:
    """Create the SQLite file readable by its owner only (SQLite gives the -wal and -shm files the
    database file's mode), and tighten one that is not, whatever the umask."""
    if not database_path or database_path == ":memory:" or database_path.startswith("file:"):
        return
    try:
        os.close(os.open(database_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for path in (database_path, database_path + "-wal", database_path + "-shm"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            continue


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER")


def _reads_first() -> bool:
    """A GET (or HEAD) request reads, and only sometimes writes (an audit event for an export)."""
    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout and foreign keys on every connection. The files are the owner's only.

    A transaction that may write takes the write lock up front (BEGIN IMMEDIATE), so a write after a read
    waits for the busy timeout instead of failing with "database is locked" when another worker wrote in
    between. A page that only reads must never wait for that lock (a long import holds it): a GET begins
    a deferred transaction, which in WAL mode reads its snapshot without any lock; should it come to
    write, the read-only part is ended and the write begins with BEGIN IMMEDIATE, before the first write
    (or savepoint). What it read before stays as read: only inserts (audit events) follow reads there,
    and updates are checked by version."""
    _owner_only(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event issue BEGIN itself instead of the driver's implicit deferred one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        dbapi_connection.create_function("alcance_fold", 1, fold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A connection opened with execution_options(snapshot=True) only reads (a backup, an import checking
        # its file): it must never hold the write lock, however long it reads.
        deferred = connection.get_execution_options().get("snapshot", False) or _reads_first()
        connection.info["alcance_reading"] = deferred
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_first_write(connection, cursor, statement, parameters, context, executemany):
        if connection.info.get("alcance_reading") and statement.lstrip().upper().startswith(_WRITES):
            connection.info["alcance_reading"] = False
            cursor.execute("COMMIT")  # only reads so far: nothing to keep but the snapshot
            cursor.execute("BEGIN IMMEDIATE")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection):
        connection.info.pop("alcance_reading", None)
