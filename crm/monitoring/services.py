"""Recording scheduled jobs' runs, and the figures /metrics reads from the database at scrape time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from crm.backup.models import backup_status
from crm.database import upsert_insert, utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.monitoring.models import JobStatus


def record_job_run(name: str, started_at: dt.datetime, finished_at: dt.datetime, error: str | None = None) -> None:
    """Count one run of job `name`, successful unless `error` says why not, and commit. Two schedulers
    recording at once both count: the row is created once (ON CONFLICT DO NOTHING), then incremented."""
    table = JobStatus.__table__
    db.session.execute(
        upsert_insert(db.session, table)
        .values(name=name, runs=0, failures=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    values = {"last_started_at": started_at, "last_finished_at": finished_at, "runs": table.c.runs + 1}
    if error is None:
        values["last_succeeded_at"] = finished_at
    else:
        values.update(last_failed_at=finished_at, failures=table.c.failures + 1, last_error=error[:2000])
    db.session.execute(sa.update(table).where(table.c.name == name).values(**values))
    db.session.commit()


@dataclass
class MailQueueFigures:
    pending: int
    failed: int
    # Seconds since the oldest message still waiting was queued; 0 when none waits.
    oldest_pending_age_seconds: float


def mail_queue_figures(now: dt.datetime | None = None) -> MailQueueFigures:
    now = now or utcnow()
    table = OutboundMessage.__table__
    counts = dict(
        db.session.execute(
            sa.select(table.c.status, sa.func.count())
            .where(table.c.status.in_(("pending", "failed")))
            .group_by(table.c.status)
        ).all()
    )
    oldest = db.session.scalar(
        sa.select(sa.func.min(OutboundMessage.created_at)).where(OutboundMessage.status == "pending")
    )
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return MailQueueFigures(
        pending=counts.get("pending", 0), failed=counts.get("failed", 0), oldest_pending_age_seconds=age
    )


def job_statuses() -> list[JobStatus]:
    return list(db.session.scalars(sa.select(JobStatus).order_by(JobStatus.name)))


@dataclass
class BackupFigures:
    last_good_at: dt.datetime | None
    last_run_succeeded: bool | None  # None: no backup was ever tried


def backup_figures() -> BackupFigures:
    """The last good backup, made by the command or the scheduler (crm/backup), and whether the latest
    attempt succeeded."""
    status = backup_status(scheduled=False)
    tried = status.last_good is not None or status.failed_since is not None
    return BackupFigures(
        last_good_at=status.last_good.finished_at if status.last_good else None,
        last_run_succeeded=(status.failed_since is None) if tried else None,
    )
