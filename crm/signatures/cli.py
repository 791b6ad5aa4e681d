"""`flask petitions ...` and `flask signatures ...`: large files and automation, through the same services as
the pages. Each command changes all it was asked to or nothing: it commits at the end (an import publishes what
it staged in one short transaction at the end), or changes nothing."""

from __future__ import annotations

import csv
import sys

import click
from flask.cli import with_appcontext

from crm import clock
from crm.campaigns.models import Campaign
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.signatures import counts, petitions
from crm.signatures.errors import SignatureError
from crm.signatures.importers import COLUMN_ROLES, FORMATS, ColumnMapping
from crm.signatures.imports import ImportRejected, import_file
from crm.signatures.models import PLATFORMS
from crm.signatures.normalise import DATE_ORDERS
from crm.signatures.push import new_webhook_secret
from crm.signatures.reports import ImportReport, invalid_reason, problem_message
from crm.signatures.tallies import import_tallies, record_tally
from crm.signatures.totals import petition_rows, totals_csv_rows, totals_for

petitions_cli = click.Group("petitions", help="Petitions of a campaign.")
signatures_cli = click.Group("signatures", help="Import and total petition signatures.")

CLI_ACTOR = "cli"


def _campaign(slug: str):
    campaign = Campaign.by_slug(slug)
    if campaign is None:
        raise click.BadParameter(f"no campaign {slug!r}", param_hint="--campaign")
    return campaign


def _petition(slug: str):
    petition = petitions.petition_by_slug(slug)
    if petition is None:
        raise click.BadParameter(f"no petition {slug!r}", param_hint="--petition")
    return petition


@petitions_cli.command("create")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--name", required=True)
@click.option("--platform", type=click.Choice(PLATFORMS), default="generic", show_default=True)
@click.option("--language", default=None, help="Language of the petition (es, en, ...).")
@with_appcontext
def create_petition(campaign_slug, name, platform, language):
    """Create a petition; prints its slug."""
    campaign = _campaign(campaign_slug)
    try:
        petition = petitions.create_petition(campaign, name, platform=platform, language=language, actor=CLI_ACTOR)
    except SignatureError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(petition.slug)


@petitions_cli.command("list")
@click.option("--campaign", "campaign_slug", required=True)
@with_appcontext
def list_petitions(campaign_slug):
    """The campaign's petitions: slug, platform, signers, name."""
    for row in petition_rows(_campaign(campaign_slug)):
        click.echo(f"{row.slug}\t{row.platform}\t{row.signers}\t{row.name}")


@petitions_cli.command("secret")
@click.option("--petition", "petition_slug", required=True)
@with_appcontext
def rotate_secret(petition_slug):
    """Create (or replace) the petition's webhook secret and print it, once."""
    petition = _petition(petition_slug)
    secret = new_webhook_secret(petition, actor=CLI_ACTOR)
    db.session.commit()
    click.echo(secret)


def _print_report(report: ImportReport, *, out=None) -> None:
    echo = (lambda line: click.echo(line, file=out)) if out else click.echo
    if report.format:
        echo(
            f"format: {report.format} ({report.encoding}, "
            f"{'tab' if report.delimiter == chr(9) else repr(report.delimiter)}-separated)"
        )
    for name in ("rows_read", "rows_new", "rows_duplicate", "rows_invalid"):
        echo(f"{name.replace('rows_', 'rows ').replace('_', ' ')}: {getattr(report, name)}")
    if report.rows_erased:
        echo(f"rows left out (signers erased at their request): {report.rows_erased}")
    echo(f"no country given: {report.no_country}")
    if report.dates_not_understood:
        echo(f"dates not understood (kept without a date): {report.dates_not_understood}")
    for item in report.unknown_country_rows():
        echo(f"unknown country: {item['value']!r} ({item['rows']} rows)")
    if report.unknown_not_listed:
        echo(f"unknown country: {report.unknown_not_listed} more rows with other values")
    for item in report.invalid:
        echo(f"invalid row {item.row}: {invalid_reason(item.reason)}")
    if report.invalid_not_listed:
        echo(f"invalid rows not listed: {report.invalid_not_listed}")


def _mapping(pairs, date_order) -> ColumnMapping | None:
    if not pairs:
        return None
    columns = {}
    for pair in pairs:
        column_role, sep, column = pair.partition("=")
        if not sep or column_role not in COLUMN_ROLES or not column:
            raise click.BadParameter(
                f"{pair!r}: use ROLE=COLUMN, ROLE one of {', '.join(COLUMN_ROLES)}", param_hint="--map"
            )
        columns[column_role] = column
    return ColumnMapping(columns=columns, date_order=date_order or "ymd")


@signatures_cli.command("import")
@click.option("--petition", "petition_slug", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--format",
    "format_code",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Skip recognising the platform from the header.",
)
@click.option("--encoding", type=click.Choice(["utf-8", "utf-16", "windows-1252", "latin-1"]), default=None)
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="ROLE=COLUMN",
    help=f"Which column holds a role ({', '.join(COLUMN_ROLES)}); repeat. Remembered for the petition.",
)
@click.option(
    "--date-order",
    type=click.Choice(DATE_ORDERS),
    default=None,
    help="How slashed dates are written: dmy (20/05/2018) or mdy (05/20/2018).",
)
@click.option("--dry-run", is_flag=True, help="Read and count, then change nothing.")
@click.option("--progress", is_flag=True, help="Report rows read on stderr as the import goes.")
@click.option(
    "--without-email",
    is_flag=True,
    help="The file has no e-mail addresses: count its signers by full name, postal code (or city) and country, "
    "within this petition only (needed unless the platform is known to give no addresses).",
)
@with_appcontext
def import_signatures(petition_slug, file, format_code, encoding, pairs, date_order, dry_run, progress, without_email):
    """Import a platform's export FILE; prints the report. Exits 1 when the file is refused (then nothing
    was imported)."""
    petition = _petition(petition_slug)
    mapping = _mapping(pairs, date_order)
    tick = (lambda rows: click.echo(f"{rows} rows read", err=True)) if progress else None
    with open(file, "rb") as handle:
        try:
            outcome = import_file(
                petition,
                handle,
                filename=file.rsplit("/", 1)[-1],
                format_code=format_code,
                mapping=mapping,
                encoding=encoding,
                date_order=date_order,
                actor=CLI_ACTOR,
                progress=tick,
                dry_run=dry_run,
                without_email=without_email,
            )
        except ImportRejected as error:
            db.session.rollback()
            click.echo("rejected: nothing was imported", err=True)
            for problem in error.report.problems:
                click.echo(f"  {problem_message(problem)}", err=True)
            _print_report(error.report, out=sys.stderr)
            sys.exit(1)
    if outcome.already_imported:
        db.session.rollback()
        click.echo(
            f"already imported on {outcome.record.imported_at:%Y-%m-%d %H:%M} UTC "
            f"(import {outcome.record.id}): nothing changed"
        )
        return
    if dry_run:
        click.echo("dry run: nothing was imported")
    _print_report(outcome.report)


@signatures_cli.command("totals")
@click.option("--campaign", "campaign_slug", required=True)
@click.option("--csv", "as_csv", is_flag=True, help="country,signers with ISO alpha-3 codes and a TOTAL row.")
@with_appcontext
def totals(campaign_slug, as_csv):
    """Signers of a campaign by country of residence: the figures the pages show."""
    campaign = _campaign(campaign_slug)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["country", "signers"])
        writer.writerows(totals_csv_rows(campaign))
        return
    result = totals_for(campaign)
    for alpha3, number in result.by_country.items():
        low, high = result.ranges.get(alpha3, (number, number))
        click.echo(f"{alpha3}  {number}" + (f"  (between {low} and {high})" if high > low else ""))
    click.echo(f"country not known  {result.unknown_country}")
    click.echo(
        f"TOTAL  {result.total}" + (f"  (between {result.total} and {result.total_upper})" if result.is_range else "")
    )


@signatures_cli.command("rebuild-counts")
@click.option("--campaign", "campaign_slug", default=None, help="One campaign's slug (default: every campaign).")
@with_appcontext
def rebuild_counts(campaign_slug):
    """Count every signature again into the counts the totals read (after a bulk load or a restore)."""
    campaign = _campaign(campaign_slug) if campaign_slug else None
    cells = counts.rebuild_counts(campaign)
    db.session.commit()
    click.echo(f"{cells} counts (petition, country, day) written")


@signatures_cli.command("tally")
@click.option("--petition", "petition_slug", required=True)
@click.option("--country", required=True, help="ISO alpha-2 or alpha-3 code.")
@click.option("--signers", type=click.IntRange(min=0), required=True)
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="YYYY-MM-DD; today if omitted.")
@click.option("--source", default=None)
@with_appcontext
def tally(petition_slug, country, signers, as_of, source):
    """Record a platform's total for one country; it replaces the petition's earlier tally for it."""
    petition = _petition(petition_slug)
    place = country_by_code(country)
    if place is None:
        raise click.BadParameter(f"no country {country!r}", param_hint="--country")
    try:
        record_tally(petition, place, signers, as_of.date() if as_of else clock.today(), source=source, actor=CLI_ACTOR)
    except SignatureError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{petition.slug} {place.alpha3}: {signers}")


@signatures_cli.command("tallies")
@click.option("--petition", "petition_slug", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@with_appcontext
def tallies(petition_slug, file):
    """Import tallies from a CSV with the columns country, signers, as_of (and source). All or nothing."""
    petition = _petition(petition_slug)
    with open(file, "rb") as handle:
        try:
            saved = import_tallies(petition, handle, actor=CLI_ACTOR)
        except SignatureError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{len(saved)} tallies saved")
