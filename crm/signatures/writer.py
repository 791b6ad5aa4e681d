"""Writing signatures, for file imports and webhook pushes alike: rows inserted in chunks through the driver,
the lock an erasure takes against whatever publishes signatures, the signers erased at their request (left
out), and the check that the key hashing addresses is the one the campaign's signatures were hashed with."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.extensions import db
from crm.signatures.models import ErasedSigner, Petition, Signature, SignatureImport, StagedSignature
from crm.signatures.normalise import EmailHasher

# Taken by an erasure and by whatever publishes signatures (PostgreSQL): neither sees the other half-done.
ERASURE_LOCK = "signatures.erasure"


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


def hash_key_changed(petition: Petition, hasher: EmailHasher) -> bool:
    """Whether the key the campaign's last import used differs from today's (by their fingerprints)."""
    last = db.session.execute(
        sa.select(SignatureImport.report)
        .join(Petition, Petition.id == SignatureImport.petition_id)
        .where(Petition.campaign_id == petition.campaign_id)
        .order_by(SignatureImport.id.desc())
        .limit(1)
    ).scalar()
    return bool(last and last.get("key_id") and last["key_id"] != hasher.key_id)
