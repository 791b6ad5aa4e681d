"""Database plumbing shared by every feature: the declarative base, UTC time, and SQLite settings."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

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
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always handed back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; use an aware datetime")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


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
    return gettext("Someone else saved this record after you opened it, so your changes were not saved. "
                   "Check the record as it is now; save again to keep yours.")


def check_version(record, expected_version, error: type[Exception]) -> None:
    """Optimistic locking: refuse to save over a change the user has not seen. The form carries the
    version it showed; None means the caller does not track versions (command line, imports). Raises
    the feature's own `error` so its views show the message where they show its other refusals."""
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise error(gettext("The form is out of date. Reload the page and try again.")) from None
    if record.version != expected:
        raise error(stale_record_message())


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout and foreign keys on every connection; every transaction takes the write lock
    up front (BEGIN IMMEDIATE), so a write after a read waits for the busy timeout instead of failing
    with "database is locked" when another worker wrote in between."""

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

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
