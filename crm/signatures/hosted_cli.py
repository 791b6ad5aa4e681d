"""`flask petitions sweep-hosted`: what the scheduler runs every hour for hosted petitions (unconfirmed
sign-ups past their week go; plain addresses past their retention are forgotten)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from crm.database import utcnow
from crm.extensions import db
from crm.signatures import hosted
from crm.signatures.cli import petitions_cli


@petitions_cli.command("sweep-hosted")
@with_appcontext
def sweep_hosted_command():
    """Drop unconfirmed hosted sign-ups past their week and forget addresses past their retention."""
    swept = hosted.sweep(utcnow())
    db.session.commit()
    click.echo(swept.line("hosted petitions"))
