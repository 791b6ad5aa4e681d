"""Encryption at rest for the most sensitive fields (confidential meeting notes, personal phone
numbers): a column type that stores Fernet tokens, keys from the environment, and key rotation.

Keys: ALCANCE_DATA_KEYS, comma-separated Fernet keys, newest first. The first encrypts; all decrypt,
so a new key can be put in front, `flask --app wsgi keys rotate` re-encrypts every value with it, and
the old key can then be dropped. Without the variable (development), a key is generated once into the
instance folder with mode 0600 — a stolen database alone then reveals nothing, but a stolen laptop with
the instance folder does: production sets the variable from a secret store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

PREFIX = "fernet:"


def token_hash(token: str) -> str:
    """What is stored of a secret sent in a link (a password reset, an invitation, a calendar feed, a
    statement's confirmation): its SHA-256, so that the database never holds a working link."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class EncryptionError(RuntimeError):
    pass


def load_keys(instance_path: str) -> list[str]:
    """The key generated once into the instance folder (mode 0600), for an install that set no
    ALCANCE_DATA_KEYS (crm/config.py reads those)."""
    path = Path(instance_path) / "data_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return [path.read_text().strip()]
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode())
    return [path.read_text().strip()]


def _fernet() -> MultiFernet:
    state = current_app.extensions.get("alcance_fernet")
    if state is None:
        keys = current_app.config.get("DATA_ENCRYPTION_KEYS") or load_keys(current_app.instance_path)
        try:
            state = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as error:
            raise EncryptionError(f"ALCANCE_DATA_KEYS holds an invalid Fernet key: {error}") from None
        current_app.extensions["alcance_fernet"] = state
    return state


def encrypt(text: str) -> str:
    return PREFIX + _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption was turned on; encrypted again at the next rotation
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise EncryptionError("a value cannot be decrypted with the configured keys (ALCANCE_DATA_KEYS)") from None


class EncryptedText(sa.types.TypeDecorator):
    """Text encrypted before it reaches the database and decrypted when read. Not searchable."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


def encrypted_columns(metadata) -> list[tuple[sa.Table, sa.Column]]:
    return [
        (table, column)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_all(session, metadata, batch: int = 500) -> dict[str, int]:
    """Re-encrypt every encrypted value with the newest key. Reads and writes the stored tokens
    directly, so that nothing is decrypted into the ORM's identity map."""
    fernet = _fernet()
    counts: dict[str, int] = {}
    for table, column in encrypted_columns(metadata):
        key = table.primary_key.columns.values()[0]
        raw = sa.column(column.name, sa.Text)
        done = 0
        last = None
        while True:
            query = sa.select(key, raw).select_from(table).where(raw.is_not(None)).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows = session.execute(query).all()
            if not rows:
                break
            for row_id, stored in rows:
                token = stored[len(PREFIX) :] if stored.startswith(PREFIX) else fernet.encrypt(stored.encode()).decode()
                session.execute(
                    sa.update(table)
                    .where(key == row_id)
                    .values({column.name: sa.literal(PREFIX + fernet.rotate(token.encode()).decode(), sa.Text)})
                )
                done += 1
            last = rows[-1][0]
        counts[f"{table.name}.{column.name}"] = done
    return counts
