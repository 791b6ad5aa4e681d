"""`flask contacts import FILE`: offices and contacts from a CSV or vCard file, through the same service
as the import page. The file is checked without holding the write lock, then written in one short
transaction: everything is imported, or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.contacts import exchange
from crm.extensions import db

contacts_cli = click.Group("contacts", help="Import and export offices and contacts.")


@contacts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(exchange.FORMATS),
    help="csv or vcard; by default from the file's name and first line.",
)
@click.option(
    "--duplicates",
    type=click.Choice(exchange.DUPLICATE_CHOICES),
    default="skip",
    show_default=True,
    help="What to do with a contact already on file: skip it, or fill in its empty fields.",
)
@click.option("--progress", is_flag=True, help="Say how many rows have been checked, on standard error.")
@with_appcontext
def import_command(file, file_format, duplicates, progress):
    """Import offices and contacts; prints the import report. Any row that cannot be placed and nothing
    is imported (each problem is printed)."""
    data = file.read_bytes()
    try:
        rows = exchange.read_file(data, file_format or exchange.guess_format(file.name, data))
        plan = exchange.plan_import(
            rows,
            duplicates=duplicates,
            progress=(lambda n: click.echo(f"{n} rows checked", err=True)) if progress else None,
        )
        report = exchange.write_import(plan, actor="cli", today=dt.datetime.now(dt.UTC).date())
    except exchange.ImportRejected as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(problem, err=True)
        raise click.ClickException(str(error)) from None
    db.session.commit()
    for line in report.lines():
        click.echo(line)
