"""`flask board publish SLUG`: open a campaign's public board (its entries appear as they are published)."""

import click
from flask.cli import with_appcontext

from crm.board import services as boards
from crm.campaigns.models import Campaign
from crm.extensions import db

board_cli = click.Group("board", help="The public board of responses.")


@board_cli.command("publish")
@click.argument("slug")
@with_appcontext
def publish_command(slug):
    """Publish the campaign's board at /p/SLUG."""
    campaign = Campaign.by_slug(slug)
    if campaign is None:
        raise click.ClickException(f"There is no campaign {slug!r}.")
    changed = boards.publish(campaign, actor="cli")
    db.session.commit()
    click.echo(f"{'published' if changed else 'already public'}: /p/{campaign.slug}")
