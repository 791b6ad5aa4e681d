"""`flask users ...`: manage staff accounts from the command line."""

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from crm.accounts import invitations, twofactor
from crm.accounts.models import ROLES, User
from crm.accounts.services import AccountError, create_user, deactivate, find_by_email, set_role
from crm.database import utcnow
from crm.extensions import db

users_cli = click.Group("users", help="Manage staff accounts.")


def _read_password() -> str:
    """From standard input when it is piped (first line), else a hidden prompt asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user_or_exit(email: str) -> User:
    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with the e-mail {email}")
    return user


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name as colleagues know it.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--language", default="en", type=click.Choice(["en", "es"]), show_default=True)
@with_appcontext
def create_command(email, name, role, language):
    """Create a user; the password is read from standard input (or prompted for)."""
    password = _read_password()
    try:
        user = create_user(email, name, role, password, language=language, actor="cli")
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created {user.email} ({user.role})")


@users_cli.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--language", default="en", type=click.Choice(["en", "es"]), show_default=True)
@click.option("--name", help="Their name, if known; they can correct it when they accept.")
@with_appcontext
def invite_command(email, role, language, name):
    """Invite someone by e-mail: they choose their own password from a single-use, expiring link. The link
    is never printed; the e-mail goes through the mail queue (the outbox without SMTP)."""
    try:
        invitation = invitations.invite(email, role, language=language, name=name, actor="cli", now=utcnow())
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"invited {invitation.user.email} ({role}); the invitation e-mail is queued")


@users_cli.command("list")
@with_appcontext
def list_command():
    """List users: e-mail, name, role, language, active."""
    for user in db.session.scalars(sa.select(User).order_by(User.email)):
        state = "active" if user.active else "inactive"
        click.echo(f"{user.email}\t{user.name}\t{user.role}\t{user.language}\t{state}")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role_command(email, role):
    """Give a user another role."""
    user = _user_or_exit(email)
    set_role(user, role, actor="cli")
    db.session.commit()
    click.echo(f"{user.email} is now {role}")


@users_cli.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate_command(email):
    """Deactivate a user and end all their sessions."""
    user = _user_or_exit(email)
    deactivate(user, actor="cli")
    db.session.commit()
    click.echo(f"{user.email} is deactivated")


@users_cli.command("enroll-2fa")
@click.argument("email")
@with_appcontext
def enroll_2fa_command(email):
    """Give a user a new TOTP factor, replacing any old one, and print its otpauth:// URI."""
    user = _user_or_exit(email)
    uri = twofactor.enrol_by_command(user, actor="cli")
    db.session.commit()
    click.echo(uri)
    click.echo(
        f"{user.email}: new authenticator key set; their sessions ended and old recovery codes were removed. "
        "Hand the URI over in person or through a safe channel: it is not shown again.",
        err=True,
    )


@users_cli.command("reset-2fa")
@click.argument("email")
@with_appcontext
def reset_2fa_command(email):
    """Remove a user's second factor and recovery codes (a lost phone); their sessions end."""
    user = _user_or_exit(email)
    had = twofactor.reset_by_command(user, actor="cli")
    db.session.commit()
    state = "removed" if had else "was not set up; nothing to remove"
    click.echo(f"{user.email}: two-step sign-in {state}")
    if twofactor.two_factor_required(user):
        click.echo("their role requires it: they will set up a new one right after their next sign-in", err=True)
