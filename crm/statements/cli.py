"""`flask statements create --campaign SLUG --title TITLE --text-file FILE [--language es]` (prints the new
statement's slug), and `flask statements drop-unconfirmed` (what the scheduler runs every hour)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from crm.campaigns.models import Campaign
from crm.database import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.statements import services as statements
from crm.statements.models import STATEMENT_LANGUAGES

statements_cli = click.Group("statements", help="Joint statements that organisations sign.")


@statements_cli.command("create")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--title", required=True, help="The statement's title.")
@click.option(
    "--text-file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="A UTF-8 file with the text ('-': stdin).",
)
@click.option(
    "--language",
    default="en",
    show_default=True,
    type=click.Choice(STATEMENT_LANGUAGES),
    help="The language of the title and text (add the others on the statement's page).",
)
@with_appcontext
def create_command(campaign_slug, title, text_file, language):
    """Create a statement, open for signatures from now; prints its slug (its page is /s/SLUG)."""
    campaign = Campaign.by_slug(campaign_slug)
    if campaign is None:
        raise click.ClickException(f"There is no campaign {campaign_slug!r}.")
    try:
        statement = statements.create_statement(
            campaign, {language: statements.Wording(title, text_file.read())}, actor="cli"
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(statement.slug)


@statements_cli.command("drop-unconfirmed")
@with_appcontext
def drop_unconfirmed_command():
    """Drop the sign-ups whose address was not confirmed within their week."""
    dropped = statements.drop_unconfirmed(utcnow())
    statements.forget_sent_links()
    db.session.commit()
    click.echo(f"dropped {dropped} unconfirmed sign-ups")
