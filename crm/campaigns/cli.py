"""`flask campaigns ...`: create, list and archive campaigns and add their targets, through the same
services as the pages. Each command is one transaction: it commits at the end, or changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import sys

import click
from flask.cli import with_appcontext

from crm.campaigns import services, targets
from crm.campaigns.models import Campaign
from crm.countries.models import RS_STATUSES
from crm.extensions import db

campaigns_cli = click.Group("campaigns", help="Set up campaigns and their target governments.")
targets_cli = click.Group("targets", help="A campaign's target governments.")
campaigns_cli.add_command(targets_cli)

CLI_ACTOR = "cli"


def _campaign(slug: str):
    campaign = Campaign.by_slug(slug)
    if campaign is None:
        raise click.BadParameter(f"no campaign {slug!r}", param_hint="SLUG")
    return campaign


def _refuse(error: Exception):
    db.session.rollback()
    raise click.ClickException(str(error))


@campaigns_cli.command("create")
@click.option("--name", required=True, help="The campaign's name in English.")
@click.option("--name-es", help="Its name in Spanish.")
@click.option("--slug", required=True, help="Its address: lower-case letters, digits and hyphens.")
@click.option("--demand", "demands", multiple=True, required=True, help="A demand; repeat for each, in order.")
@with_appcontext
def create_command(name, name_es, slug, demands):
    """Create a campaign with its demands; prints its slug."""
    try:
        campaign = services.create_campaign(
            name=name,
            slug=slug,
            actor=CLI_ACTOR,
            translations={"es": services.CampaignWording(name_es)},
            demands=[services.DemandWording(label=text) for text in demands],
        )
    except services.CampaignError as error:
        _refuse(error)
    db.session.commit()
    click.echo(campaign.slug)


@campaigns_cli.command("list")
@click.option("--csv", "as_csv", is_flag=True, help="Comma-separated, with a header row.")
@with_appcontext
def list_command(as_csv):
    """Every campaign, archived ones included: slug, name, status, number of targets."""
    counts = services.target_counts()
    rows = [
        (c.slug, c.name, c.status, counts.get(c.id, 0)) for c in services.campaigns_for_listing(include_archived=True)
    ]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("slug", "name", "status", "targets"))
        writer.writerows(rows)
        return
    for slug, name, status, count in rows:
        click.echo(f"{slug}\t{name}\t{status}\t{count}")


@targets_cli.command("add")
@click.argument("slug")
@click.argument("names", nargs=-1)
@click.option("--region", help="A UN M49 region or sub-region code, such as 419.")
@click.option("--rome-status", type=click.Choice(RS_STATUSES), help="A Rome Statute status.")
@with_appcontext
def add_targets_command(slug, names, region, rome_status):
    """Add target governments by region, Rome Statute status (both: those that are both) and/or names or
    codes in English or Spanish. Prints how many were added; any unknown name and nothing is added."""
    campaign = _campaign(slug)
    try:
        report = targets.add_targets(
            campaign,
            actor=CLI_ACTOR,
            region=region,
            rome_status=rome_status,
            names=[name for raw in names for name in targets.split_names(raw)],
        )
    except targets.UnknownCountries as error:
        db.session.rollback()
        click.echo("added: 0")
        for name in error.names:
            click.echo(f"unknown: {name}", err=True)
        sys.exit(1)
    except services.CampaignError as error:
        _refuse(error)
    db.session.commit()
    click.echo(f"added: {len(report.added)}")
    if report.already:
        click.echo(f"already targets: {len(report.already)}")


@campaigns_cli.command("archive")
@click.argument("slug")
@with_appcontext
def archive_command(slug):
    """Archive a campaign: read-only, out of menus, dashboards and reminders; its history stays."""
    campaign = _campaign(slug)
    changed = services.archive_campaign(campaign, actor=CLI_ACTOR, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    click.echo(f"{slug}: {'archived' if changed else 'already archived'}")
