"""One row per scheduled job: when it last ran, last succeeded and last failed, written by the
scheduler after every run (crm/reminders/jobs.py) and read by /metrics."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.database import UTCDateTime
from crm.extensions import db


class JobStatus(db.Model):
    __tablename__ = "job_status"

    # The job's name in the scheduler (crm.reminders.jobs.JOBS): due-reminders, digests, ...
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_succeeded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last failure's exception, for the operator reading the table (never shown on a page).
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)

    @property
    def last_run_succeeded(self) -> bool:
        if self.last_succeeded_at is None:
            return False
        return self.last_failed_at is None or self.last_succeeded_at >= self.last_failed_at
