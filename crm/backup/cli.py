"""`flask backup create|verify|restore PATH`. The passphrase comes from ALCANCE_BACKUP_PASSPHRASE or,
when it is not set, from a prompt (asked twice when creating)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from crm.backup import services
from crm.backup.models import record_run
from crm.database import utcnow
from crm.extensions import db

backup_cli = click.Group("backup", help="Encrypted backups: create, verify and restore.")


def _passphrase(*, confirm: bool) -> str:
    configured = current_app.config.get("BACKUP_PASSPHRASE")
    if configured:
        return configured
    return click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} kB"


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=True, file_okay=True))
@with_appcontext
def create_command(path):
    """Write an encrypted archive of every table and uploaded file to PATH (a new file, or a folder)."""
    started = utcnow()
    try:
        manifest = services.create_backup(path, _passphrase(confirm=True), now=started)
    except services.BackupError as error:
        raise click.ClickException(str(error)) from None
    record_run(started=started, manifest=manifest)
    db.session.commit()
    rows = sum(table["rows"] for table in manifest["tables"].values())
    click.echo(
        f"backup written: {manifest['path']} ({_size(manifest['size'])}; {rows} rows in "
        f"{len(manifest['tables'])} tables, {len(manifest['files'])} files; schema {manifest['schema_revision']})"
    )


@backup_cli.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def verify_command(path):
    """Check an archive (passphrase, every chunk, every checksum and count) without restoring it."""
    try:
        verified = services.verify_backup(path, _passphrase(confirm=False))
    except services.BackupError as error:
        raise click.ClickException(str(error)) from None
    manifest = verified.manifest
    click.echo(
        f"archive is good: made {manifest['created_at']} from {manifest['source_database']}, schema "
        f"{manifest['schema_revision']}; {verified.rows} rows in {len(manifest['tables'])} tables, "
        f"{len(manifest['files'])} files"
    )


@backup_cli.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def restore_command(path):
    """Restore an archive into this install's database, which must be new and empty (SQLite or PostgreSQL)."""
    try:
        restored = services.restore_backup(path, _passphrase(confirm=False))
    except services.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"restored: {restored.rows} rows in {len(restored.manifest['tables'])} tables, {restored.files} "
        f"files, from {restored.manifest['source_database']} into {db.engine.dialect.name}"
    )
    if restored.upgraded_to:
        click.echo(f"schema upgraded from {restored.manifest['schema_revision']} to {restored.upgraded_to}")
