"""An operator backs up an install and restores it into a new, empty database of either kind: the same
rows in every table and the same files come back; SQLite to PostgreSQL is how an install moves. A damaged
archive, a wrong passphrase, a non-empty database, a newer schema or missing keys are refused with a
clear message and nothing written."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm.backup import services
from crm.extensions import db
from tests.backup.conftest import PASSPHRASE, PDF, attachment_files, fill, table_contents

pytestmark = pytest.mark.usefixtures("clock")


def _backup(app, path) -> dict:
    with app.app_context():
        return services.create_backup(path, PASSPHRASE)


def _restore(app, path, passphrase=PASSPHRASE):
    with app.app_context():
        return services.restore_backup(path, passphrase)


def _tables(app) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


@pytest.mark.parametrize(
    "source_kind, target_kind",
    [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("sqlite", "postgresql"), ("postgresql", "sqlite")],
)
def test_a_backup_restores_every_row_and_file(installs, tmp_path, source_kind, target_kind):
    source = installs(source_kind)
    fill(source)
    before = table_contents(source)
    assert [name for name, rows in before.items() if not rows] == [], "fill() leaves these tables empty"
    files = attachment_files(source)
    assert len(files) == 1
    manifest = _backup(source, tmp_path / "alcance.alcbak")
    assert manifest["tables"]["signature"]["rows"] == 402 and manifest["source_database"] == source_kind
    assert {name: entry["rows"] for name, entry in manifest["tables"].items()} == {
        name: len(rows) for name, rows in before.items()
    }

    target = installs(target_kind)
    restored = _restore(target, tmp_path / "alcance.alcbak")
    assert restored.rows == sum(len(rows) for rows in before.values()) and restored.files == 1
    assert table_contents(target) == before
    assert attachment_files(target) == files
    with target.app_context():
        # The restored install works: its sequences continue after the restored ids, its encrypted
        # fields read with the same keys, its schema is the newest.
        from crm.accounts.models import User
        from crm.contacts.models import Contact

        admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.org"))
        assert admin.totp_secret and admin.name == "Admin Ñandú"
        contact = db.session.scalar(sa.select(Contact).where(Contact.name.like("Contacto 7 %")))
        assert contact.personal_phone == "+34 600 000 007"
        db.session.add(User(email="new@example.org", name="New", role="volunteer"))
        db.session.commit()
        assert db.session.scalar(sa.select(User.id).where(User.email == "new@example.org")) > admin.id


def test_a_backup_is_encrypted_and_verify_reads_it_without_writing(installs, tmp_path):
    source = installs("sqlite")
    fill(source)
    path = tmp_path / "alcance.alcbak"
    _backup(source, path)
    data = path.read_bytes()
    for visible in (b"Contacto", b"firmante", b"admin@example.org", b"manifest.json", b"%PDF"):
        assert visible not in data
    with source.app_context():
        verified = services.verify_backup(path, PASSPHRASE)
    assert verified.rows == sum(len(rows) for rows in table_contents(source).values())
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.fixture
def archive(installs, tmp_path):
    source = installs("sqlite")
    fill(source)
    path = tmp_path / "alcance.alcbak"
    _backup(source, path)
    return path


def _refused(target, path, message, passphrase=PASSPHRASE):
    before_tables, before_files = _tables(target), attachment_files(target)
    with pytest.raises(services.BackupError) as refusal:
        _restore(target, path, passphrase)
    assert message in str(refusal.value)
    assert _tables(target) == before_tables and attachment_files(target) == before_files


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("where", [0.3, 0.6, 0.99])
def test_a_damaged_archive_is_refused_with_nothing_written(installs, archive, tmp_path, kind, where):
    damaged = tmp_path / "damaged.alcbak"
    data = bytearray(archive.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    damaged.write_bytes(bytes(data))
    _refused(installs(kind), damaged, "The archive is damaged")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_cut_short_archive_and_a_foreign_file_are_refused(installs, archive, tmp_path, kind):
    target = installs(kind)
    short = tmp_path / "short.alcbak"
    short.write_bytes(archive.read_bytes()[:-100])
    _refused(target, short, "The archive is incomplete")
    other = tmp_path / "other.alcbak"
    other.write_bytes(b"PK\x03\x04 not a backup at all")
    _refused(target, other, "This file is not an Alcance backup")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_wrong_passphrase_is_refused_with_nothing_written(installs, archive, kind):
    _refused(installs(kind), archive, "The passphrase is wrong", passphrase="not the passphrase at all")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_that_is_not_empty_is_refused(installs, archive, kind):
    target = installs(kind)
    with target.app_context():
        from flask_migrate import upgrade

        from crm.countries.services import load_reference

        upgrade()
        load_reference()
        db.session.commit()
    before = table_contents(target)
    _refused(target, archive, "The database is not empty (country: 250")
    assert table_contents(target) == before


def test_an_archive_from_a_newer_schema_is_refused(installs, tmp_path):
    source = installs("sqlite")
    fill(source)
    with source.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
        db.session.commit()
    path = tmp_path / "newer.alcbak"
    _backup(source, path)
    _refused(
        installs("sqlite"), path, "This archive comes from a newer version of Alcance (schema 0999_from_the_future)"
    )


def test_without_the_data_keys_nothing_is_restored(installs, archive):
    from cryptography.fernet import Fernet

    target = installs("sqlite", DATA_ENCRYPTION_KEYS=[Fernet.generate_key().decode()])
    _refused(target, archive, "cannot be read with this install's data keys. Set ALCANCE_DATA_KEYS")


def test_another_signature_key_is_refused_before_it_counts_signers_twice(installs, archive):
    target = installs("sqlite", SIGNATURE_HASH_KEY="another key entirely")
    _refused(target, archive, "SIGNATURE_HASH_KEY")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_failure_part_way_leaves_an_empty_database(installs, archive, monkeypatch, kind):
    target = installs(kind)
    real_insert = services._insert

    def failing(connection, table, rows):
        if table.name == "signature":
            raise RuntimeError("the disk is full")
        real_insert(connection, table, rows)

    monkeypatch.setattr(services, "_insert", failing)
    with pytest.raises(RuntimeError):
        _restore(target, archive)
    assert _tables(target) == set() and attachment_files(target) == {}
    monkeypatch.setattr(services, "_insert", real_insert)
    assert _restore(target, archive).rows > 0  # and the same archive then restores


def test_the_manifest_counts_and_checks_every_part(installs, archive):
    target = installs("sqlite")
    with target.app_context():
        manifest = services.verify_backup(archive, PASSPHRASE).manifest
    assert manifest["schema_revision"] and manifest["source_database"] == "sqlite"
    for entry in manifest["tables"].values():
        assert entry["rows"] == sum(part["rows"] for part in entry["parts"])
        assert all(len(part["sha256"]) == 64 for part in entry["parts"])
    ((name, file),) = manifest["files"].items()
    assert name.startswith("files/attachments/") and file["size"] == len(PDF)
    assert json.dumps(manifest)  # plain JSON, readable by any tool once decrypted


def test_the_commands_ask_for_the_passphrase_and_say_what_they_did(installs, tmp_path):
    source = installs("sqlite")
    fill(source)
    path = tmp_path / "by-hand.alcbak"
    contents = table_contents(source)
    runner = source.test_cli_runner()
    result = runner.invoke(args=["backup", "create", str(path)], input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert f"backup written: {path} (" in result.output
    assert f"{sum(map(len, contents.values()))} rows in {len(contents)} tables, 1 files" in result.output
    short = runner.invoke(args=["backup", "create", str(tmp_path / "weak.alcbak")], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    assert not (tmp_path / "weak.alcbak").exists()
    again = runner.invoke(args=["backup", "create", str(path)], input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert again.exit_code == 1 and "already exists" in again.output
    with source.app_context():
        from crm.backup.models import BackupRun

        assert [(run.origin, run.ok) for run in db.session.scalars(sa.select(BackupRun).order_by(BackupRun.id))] == [
            ("schedule", False),
            ("command", True),
        ]

    target = installs("postgresql", BACKUP_PASSPHRASE=PASSPHRASE)
    verified = target.test_cli_runner().invoke(args=["backup", "verify", str(path)])
    assert verified.exit_code == 0 and "archive is good: made " in verified.output and "from sqlite" in verified.output
    restored = target.test_cli_runner().invoke(args=["backup", "restore", str(path)])
    assert restored.exit_code == 0, restored.output
    assert "restored: " in restored.output and "from sqlite into postgresql" in restored.output

    asked = installs("sqlite")
    wrong = asked.test_cli_runner().invoke(args=["backup", "restore", str(path)], input="not the passphrase\n")
    assert wrong.exit_code == 1 and "The passphrase is wrong" in wrong.output
    assert _tables(asked) == set()
