"""A record of each backup made (by the command or the scheduled job), so the admin page can say when
the last good one was, and the job knows when the next is due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.database import UTCDateTime, enum_check, utcnow
from crm.extensions import db

BACKUP_ORIGINS = ("command", "schedule")


class BackupRun(db.Model):
    __tablename__ = "backup_run"
    __table_args__ = (
        enum_check("origin", BACKUP_ORIGINS),
        sa.CheckConstraint("ok OR error IS NOT NULL", name="failure_has_reason"),
        sa.CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ok: Mapped[bool]
    path: Mapped[str | None] = mapped_column(sa.Text)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    schema_revision: Mapped[str | None] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.Text)


def record_run(
    *, started: dt.datetime, manifest: dict | None = None, error: str | None = None, origin: str = "command"
) -> BackupRun:
    run = BackupRun(origin=origin, started_at=started, finished_at=utcnow(), ok=manifest is not None, error=error)
    if manifest is not None:
        run.path, run.size_bytes = manifest["path"], manifest["size"]
        run.rows = sum(table["rows"] for table in manifest["tables"].values())
        run.schema_revision = manifest["schema_revision"]
    db.session.add(run)
    return run


def last_good_backup() -> BackupRun | None:
    return db.session.scalar(
        sa.select(BackupRun).where(BackupRun.ok.is_(True)).order_by(BackupRun.finished_at.desc()).limit(1)
    )


@dataclass
class BackupStatus:
    """What the admin page says about backups."""

    last_good: BackupRun | None
    failed_since: BackupRun | None  # the newest failure, if it came after the last good backup
    scheduled: bool


def backup_status(*, scheduled: bool) -> BackupStatus:
    good = last_good_backup()
    latest = db.session.scalar(
        sa.select(BackupRun).order_by(BackupRun.finished_at.desc(), BackupRun.id.desc()).limit(1)
    )
    failed = latest if latest is not None and not latest.ok else None
    return BackupStatus(last_good=good, failed_since=failed, scheduled=scheduled)
