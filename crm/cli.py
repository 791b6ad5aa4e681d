"""Top-level commands: `flask seed ...` and `flask setup` (what `make run` does before serving)."""

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade

from crm.accounts.services import ensure_first_admin
from crm.campaigns.models import Campaign
from crm.countries.depositary_page import DepositaryError
from crm.countries.depositary_refresh import refresh_from_depositary
from crm.countries.services import load_reference
from crm.demo import DEMO_CAMPAIGN_SLUG, DemoUnavailable, load_demo, remove_demo
from crm.encryption import rotate_all
from crm.errors import DomainError
from crm.extensions import db
from crm.letters.letter_templates import load_default_templates

seed_cli = click.Group("seed", help="Load reference and demo data.")


def _print_reference_report(report) -> None:
    click.echo(f"regions added: {report.regions_added}")
    click.echo(f"countries added: {report.countries_added}, updated: {report.countries_updated}")
    click.echo(f"Rome Statute facts changed: {len(report.fact_changes)}")
    for key in report.kept_staff_edits:
        click.echo(f"kept (corrected by staff or refreshed from the depositary): {key}")
    for code in report.unknown_rows:
        click.echo(f"unknown country in rome_statute_status.csv: {code}", err=True)


@seed_cli.command("reference")
@with_appcontext
def reference_command():
    """Countries, UN M49 regions and Rome Statute status. Safe to run again: it changes nothing twice
    and never overwrites a fact staff corrected."""
    report = load_reference()
    db.session.commit()
    _print_reference_report(report)


@seed_cli.command("demo")
@with_appcontext
def demo_command():
    """Load the clearly marked demo campaign (justice-for-venezuela-2018) with fictional contacts."""
    try:
        created = load_demo()
    except (DemoUnavailable, DomainError) as error:
        db.session.rollback()
        raise click.ClickException(f"demo campaign not loaded: {error}") from None
    db.session.commit()
    click.echo(f"demo campaign {DEMO_CAMPAIGN_SLUG}: {'loaded' if created else 'already present, unchanged'}")


@seed_cli.command("rome-statute")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report the changes without saving them.")
@with_appcontext
def rome_statute_command(file, dry_run):
    """Refresh Rome Statute facts from a saved copy of the UN depositary's status page (chapter XVIII-10),
    printing every change."""
    try:
        result = refresh_from_depositary(file)
    except DepositaryError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    for line in result.report_lines():
        click.echo(line)
    if dry_run:
        db.session.rollback()
        click.echo("dry run: nothing saved")
    else:
        db.session.commit()


demo_cli = click.Group("demo", help="The marked demo campaign.")


@demo_cli.command("remove")
@with_appcontext
def demo_remove_command():
    """Remove the demo campaign and every fictional person and record it made, and nothing else: the
    reference data and anything a user created stay."""
    report = remove_demo(actor="cli")
    db.session.commit()
    click.echo(f"demo campaign: {'removed' if report.campaign_removed else 'not present'}")
    click.echo(
        f"meetings: {report.meetings}, contacts: {report.contacts}, offices: {report.offices}, users: {report.users}, "
        f"letter templates: {report.templates}"
    )
    for name in report.kept:
        click.echo(f"kept, because your own records refer to it: {name}")


keys_cli = click.Group("keys", help="Encryption keys for data at rest (ALCANCE_DATA_KEYS).")


@keys_cli.command("rotate")
@with_appcontext
def rotate_command():
    """Re-encrypt every encrypted value with the first key of ALCANCE_DATA_KEYS. Put the new key first,
    run this, then remove the old key."""
    counts = rotate_all(db.session, db.metadata)
    db.session.commit()
    for column, count in counts.items():
        click.echo(f"{column}: {count} re-encrypted")


@click.command("setup")
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    envvar="ALCANCE_DEMO",
    help="Load the demo campaign on first run (ALCANCE_DEMO=0: start empty).",
)
@click.option(
    "--admin-email",
    envvar="ALCANCE_ADMIN_EMAIL",
    help="The first admin's address, if no admin exists yet (ALCANCE_ADMIN_EMAIL).",
)
@click.option(
    "--admin-password",
    envvar="ALCANCE_ADMIN_PASSWORD",
    help="Their password (ALCANCE_ADMIN_PASSWORD); one is generated and shown once without it.",
)
@with_appcontext
def setup_command(demo, admin_email, admin_password):
    """Upgrade the database, seed reference data (and the demo on first run), and make sure an admin exists."""
    upgrade()
    report = load_reference()
    db.session.commit()
    _print_reference_report(report)
    if demo and db.session.query(Campaign.id).first() is None:
        load_demo()
        db.session.commit()
        click.echo("demo data loaded (marked DEMO; fictional contacts)")

    added = load_default_templates()
    db.session.commit()
    if added:
        click.echo(f"default letter templates added: {len(added)}")
    user, generated = ensure_first_admin(admin_email, admin_password)
    db.session.commit()
    if user is not None:
        click.echo(f"first admin created: {user.email}")
        if generated:
            click.echo(f"its generated password (shown once, change it after signing in): {generated}")
