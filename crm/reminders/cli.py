"""`flask reminders ...` (each job once, for cron and for tests), `flask scheduler run` (the one process
that runs every job on its schedule) and `flask scheduler statistics` (the database's, once)."""

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from crm.extensions import db
from crm.reminders import services
from crm.reminders.jobs import (
    deliver_queues,
    refresh_database_statistics,
    run_once,
    run_scheduler,
    send_digests,
    send_due_reminders,
)

reminders_cli = click.Group("reminders", help="Follow-up reminders and digests.")
scheduler_cli = click.Group("scheduler", help="The one process that runs scheduled jobs.")


@reminders_cli.command("send-due")
@with_appcontext
def send_due_command():
    """Remind the owner of every follow-up that has fallen due, once, and send anything else queued.
    Prints how many reminders it sent; run again at once, it sends nothing."""
    result = send_due_reminders()
    sent = result.delivery.sent_by_kind.get("due_reminder", 0)
    click.echo(f"reminders sent: {sent}")
    others = result.delivery.sent - sent
    if others:
        click.echo(f"other queued messages sent: {others}")
    if result.delivery.failed:
        click.echo(f"failed, retried later: {result.delivery.failed}", err=True)


@reminders_cli.command("send-digests")
@with_appcontext
def send_digests_command():
    """Send the daily digests whose hour has come in each user's time zone, and the managers' weekly
    report on Mondays."""
    result = send_digests()
    click.echo(f"digests sent: {result.delivery.sent_by_kind.get('digest', 0)}")
    click.echo(f"weekly reports sent: {result.delivery.sent_by_kind.get('weekly_report', 0)}")
    if result.delivery.failed:
        click.echo(f"failed, retried later: {result.delivery.failed}", err=True)


@reminders_cli.command("reply-clock")
@with_appcontext
def reply_clock_command():
    """Create follow-ups where a government has not replied in time, and tell coordinators after a
    second period."""
    report = services.run_reply_clock()
    db.session.commit()
    delivery, _ = deliver_queues()
    click.echo(f"follow-ups created: {report.follow_ups_created}")
    click.echo(f"escalations sent: {delivery.sent_by_kind.get('escalation', 0)}")


@reminders_cli.command("deliver")
@with_appcontext
def deliver_command():
    """Send whatever is queued, mail and webhooks (retries included), without queueing anything new."""
    delivery, hooks = deliver_queues()
    click.echo(f"sent: {delivery.sent}, failed: {delivery.failed}")
    click.echo(f"webhooks sent: {hooks.sent}, failed: {hooks.failed}")


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="Run every job once, then exit.")
@click.option(
    "--for-seconds",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop by itself after this many seconds (for tests).",
)
@with_appcontext
def run_command(once, for_seconds):
    """Run the scheduled jobs in this process: due reminders every minute, digests at each user's hour,
    the weekly report, and the reply clock. Start exactly one beside the web server; a second one is
    harmless (every job claims its work in the database) but useless."""
    app = current_app._get_current_object()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler narrates every run at INFO; the jobs log their own one-line results.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if once:
        for line in run_once(app):
            click.echo(line)
        return
    run_scheduler(app, for_seconds=for_seconds)


@scheduler_cli.command("statistics")
@with_appcontext
def statistics_command():
    """Refresh the statistics SQLite plans by (the scheduler does it every day); PostgreSQL keeps its own."""
    click.echo(refresh_database_statistics().line("database statistics"))
