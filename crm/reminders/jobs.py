"""The scheduled jobs, and the one process that runs them (`flask scheduler run`). Web workers never
start a scheduler: every gunicorn worker would run each job again, and one started before the fork
never runs. Each job is also a command (`flask reminders ...`) for deployments that prefer cron; every
job is safe to run in several processes at once."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from dataclasses import dataclass

from crm.backup.jobs import CHECK_EVERY as BACKUP_CHECK_EVERY
from crm.backup.jobs import scheduled_backup
from crm.database import refresh_statistics, utcnow
from crm.extensions import db
from crm.mail import services as mailer
from crm.monitoring.services import record_job_run
from crm.reminders import services
from crm.signatures import hosted
from crm.statements import services as statements
from crm.webhooks import services as webhooks

log = logging.getLogger(__name__)

DUE_REMINDERS_EVERY = dt.timedelta(minutes=1)
DIGESTS_EVERY = dt.timedelta(minutes=5)
REPLY_CLOCK_EVERY = dt.timedelta(hours=1)
STATEMENT_SIGNUPS_EVERY = dt.timedelta(hours=1)
STATISTICS_EVERY = dt.timedelta(days=1)


@dataclass
class JobResult:
    queued: int
    delivery: mailer.DeliveryReport

    def line(self, what: str) -> str:
        text = f"{what}: queued {self.queued}, sent {self.delivery.sent}"
        if self.delivery.failed:
            text += f", failed {self.delivery.failed} (retried later)"
        return text


def deliver_queues(now: dt.datetime | None = None):
    """Send what waits in the outbox, then in the webhooks' queue (the same lease and backoff,
    crm/webhooks): every job and command that sends goes through here. Returns both reports."""
    return mailer.deliver_pending(now=now), webhooks.deliver_pending(now=now)


def _finish(queued: int, now: dt.datetime | None) -> JobResult:
    db.session.commit()
    delivery, _ = deliver_queues(now)
    return JobResult(queued, delivery)


def send_due_reminders(now: dt.datetime | None = None) -> JobResult:
    """Every minute: queue a reminder for each follow-up that has fallen due, then send what is queued
    (including retries whose time has come)."""
    return _finish(services.queue_due_reminders(now or utcnow()), now)


def send_digests(now: dt.datetime | None = None) -> JobResult:
    """Every few minutes: daily digests whose hour has come in each user's time zone, and the weekly
    report to managers."""
    moment = now or utcnow()
    queued = services.queue_digests(moment) + services.queue_weekly_reports(moment)
    return _finish(queued, now)


def run_reply_clock(now: dt.datetime | None = None) -> JobResult:
    report = services.run_reply_clock(now or utcnow())
    return _finish(report.follow_ups_created + report.escalations_queued, now)


@dataclass
class DroppedSignUps:
    dropped: int

    def line(self, what: str) -> str:
        return f"{what}: dropped {self.dropped} unconfirmed sign-ups"


def drop_unconfirmed_signups(now: dt.datetime | None = None) -> DroppedSignUps:
    """Every hour: joint-statement sign-ups not confirmed within their week go; the links of confirmations
    a mail server accepted are blanked in the outbox (they live in the signers' mailboxes now)."""
    dropped = statements.drop_unconfirmed(now or utcnow())
    statements.forget_sent_links()
    db.session.commit()
    return DroppedSignUps(dropped)


def sweep_hosted_signups(now: dt.datetime | None = None) -> hosted.Swept:
    """Every hour: hosted petitions' sign-ups not confirmed within their week go, and plain addresses
    kept with the consent to hear again are forgotten once their retention ends."""
    swept = hosted.sweep(now or utcnow())
    db.session.commit()
    return swept


@dataclass
class Statistics:
    refreshed: bool

    def line(self, what: str) -> str:
        return f"{what}: " + ("refreshed" if self.refreshed else "kept by PostgreSQL itself")


def refresh_database_statistics(now: dt.datetime | None = None) -> Statistics:
    """Every day: the statistics SQLite plans by (crm.database.refresh_statistics)."""
    refreshed = refresh_statistics(db.session)
    db.session.commit()
    return Statistics(refreshed)


JOBS = {
    "due-reminders": (send_due_reminders, DUE_REMINDERS_EVERY),
    "digests": (send_digests, DIGESTS_EVERY),
    "reply-clock": (run_reply_clock, REPLY_CLOCK_EVERY),
    "backup": (scheduled_backup, BACKUP_CHECK_EVERY),
    "statement-signups": (drop_unconfirmed_signups, STATEMENT_SIGNUPS_EVERY),
    "hosted-signups": (sweep_hosted_signups, STATEMENT_SIGNUPS_EVERY),
    "database-statistics": (refresh_database_statistics, STATISTICS_EVERY),
}


def _run_recorded(name, job):
    """Run `job` and record the run, successful or not, in job_status (what /metrics reports)."""
    started = utcnow()
    try:
        result = job()
    except Exception as error:
        db.session.rollback()
        _record(record_job_run, name, started, f"{type(error).__name__}: {error}")
        raise
    # A job that handles its own failure (the backup) says so in its result instead of raising.
    _record(record_job_run, name, started, getattr(result, "failure", None))
    return result


def _record(record_job_run, name, started, error):
    try:
        record_job_run(name, started, utcnow(), error)
    except Exception:  # noqa: BLE001 - an unrecorded run must not turn into a failed one
        db.session.rollback()
        log.exception("the run of job %s could not be recorded", name)


def _in_app_context(app, name, job):
    def run():
        with app.app_context():
            try:
                result = _run_recorded(name, job)
                log.info(result.line(name))
            except Exception:  # noqa: BLE001 - one failed run must not stop the scheduler
                log.exception("job %s failed; it runs again at its next time", name)
            finally:
                db.session.remove()

    return run


def build_scheduler(app):
    # Only the scheduler process loads APScheduler: the web app registers this module's commands, and a
    # web worker must never hold a scheduler (tests/reminders/test_pages.py).
    from apscheduler.executors.pool import ThreadPoolExecutor  # noqa: PLC0415
    from apscheduler.schedulers.blocking import BlockingScheduler  # noqa: PLC0415

    scheduler = BlockingScheduler(
        timezone=dt.UTC,
        executors={"default": ThreadPoolExecutor(max_workers=len(JOBS))},
        # A run that was missed (the machine slept, a run took long) is done once, not once per miss.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    start = dt.datetime.now(dt.UTC)
    for name, (job, every) in JOBS.items():
        scheduler.add_job(
            _in_app_context(app, name, job),
            "interval",
            seconds=every.total_seconds(),
            id=name,
            name=name,
            next_run_time=start,
        )
    return scheduler


def run_once(app) -> list[str]:
    lines = []
    for name, (job, _) in JOBS.items():
        with app.app_context():
            try:
                lines.append(_run_recorded(name, job).line(name))
            finally:
                db.session.remove()
    return lines


def run_scheduler(app, *, for_seconds: float | None = None) -> None:
    """Run the jobs until stopped (SIGTERM, SIGINT) or, with for_seconds, until that time has passed."""
    scheduler = build_scheduler(app)

    def stop(*_):
        if scheduler.running:
            scheduler.shutdown(wait=False)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    if for_seconds is not None:
        timer = threading.Timer(for_seconds, lambda: scheduler.running and scheduler.shutdown(wait=True))
        timer.daemon = True
        timer.start()
    log.info("scheduler started: %s", ", ".join(f"{n} every {int(e.total_seconds())}s" for n, (_, e) in JOBS.items()))
    with app.app_context():
        if mailer.transport_name() == "outbox":
            log.warning("MAIL_SERVER is not set: e-mail is kept in the outbox (/reminders/outbox), not sent")
    scheduler.start()
    log.info("scheduler stopped")
