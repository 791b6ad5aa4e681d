"""`flask privacy find EMAIL`, `flask privacy erase EMAIL --reason TEXT` and `flask privacy lift EMAIL
--reason TEXT`: data subject requests."""

import click
from flask.cli import with_appcontext

from crm.extensions import db
from crm.privacy.services import PrivacyError, erase_person, find_person, lift_erasure, petitions_by_id

privacy_cli = click.Group("privacy", help="Find or erase one person's personal data (data subject requests).")


def _show(found) -> None:
    click.echo(f"contacts with {found.email}: {len(found.contacts)}")
    for contact in found.contacts:
        click.echo(f"  contact #{contact.id}: {contact.name} at {contact.office.name}")
    petitions = petitions_by_id({s.petition_id for s in found.signatures})
    click.echo(f"signatures: {len(found.signatures)}")
    for signature in found.signatures:
        click.echo(f"  signature #{signature.id} on petition {petitions[signature.petition_id].slug}")
    if found.staged_signatures:
        click.echo(f"  and {found.staged_signatures} rows in a signature import under way")
    click.echo(f"statement signatures: {len(found.statement_signatures)}")
    for signature in found.statement_signatures:
        click.echo(f"  statement signature #{signature.id} on {signature.statement.slug} ({signature.status})")
    click.echo(f"hosted petition sign-ups: {len(found.hosted_signatures)}")
    for signature in found.hosted_signatures:
        click.echo(f"  hosted sign-up #{signature.id} on petition {signature.petition.slug} ({signature.status})")
    click.echo(f"kept out of signature imports: {'yes' if found.erased else 'no'}")


@privacy_cli.command("find")
@click.argument("email")
@with_appcontext
def find_command(email):
    """List the contacts and signatures held for an e-mail address."""
    try:
        _show(find_person(email))
    except PrivacyError as error:
        raise click.ClickException(str(error)) from None


@privacy_cli.command("erase")
@click.argument("email")
@click.option("--reason", required=True, help="Why: the request and when it was received.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_command(email, reason, yes):
    """Erase the personal data held for an e-mail address; recorded in the audit log."""
    try:
        found = find_person(email)
        _show(found)
        if not found.erasable:
            raise PrivacyError("nothing to erase for this address")
        if not yes:
            click.confirm("Erase all of this?", abort=True)
        result = erase_person(found, actor="cli", reason=reason)
    except PrivacyError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"erased: {result.contacts} contacts, {result.signatures} signatures, "
        f"{result.statement_signatures} statement signatures; "
        f"{result.audit_events_redacted} audit events redacted"
    )


@privacy_cli.command("lift")
@click.argument("email")
@click.option("--reason", required=True, help="Why: the person's request to be counted again, and when.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def lift_command(email, reason, yes):
    """Let signature imports and pushes count an erased address again (someone erased who signs again)."""
    if not yes:
        click.confirm(f"Count {email} again in signature imports?", abort=True)
    try:
        lift_erasure(email, actor="cli", reason=reason)
    except PrivacyError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"lifted: imports and pushes count {email} again from now on")
