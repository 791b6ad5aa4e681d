"""`flask countries ...`: read the country table from the command line."""

import csv
import sys

import click
from flask.cli import with_appcontext

from crm.countries.services import CSV_COLUMNS, rome_statute_csv_rows

countries_cli = click.Group("countries", help="Country reference data.")


@countries_cli.command("list")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with codes, name, Rome Statute status and dates.")
@with_appcontext
def list_command(as_csv):
    """Print every country with its codes, name and Rome Statute status and dates."""
    rows = rome_statute_csv_rows()
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    for row in rows:
        click.echo(f"{row['iso3']}  {row['iso2']}  {row['numeric'] or '---'}  {row['status']:<11}  {row['name']}")
