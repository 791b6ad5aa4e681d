"""The scheduled backup (off unless ALCANCE_BACKUP_DIR is set): checked every hour by the scheduler, an
archive is written when the last good one is older than ALCANCE_BACKUP_EVERY_HOURS, and only the newest
ALCANCE_BACKUP_KEEP archives are kept in the folder."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from crm.backup import services
from crm.backup.models import BackupRun, record_run
from crm.database import utcnow
from crm.extensions import db

log = logging.getLogger(__name__)
CHECK_EVERY = dt.timedelta(hours=1)


@dataclass
class BackupJobResult:
    outcome: str  # "off", "not_due", "written", "failed"
    detail: str = ""

    def line(self, what: str) -> str:
        return f"{what}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")

    @property
    def failure(self) -> str | None:
        """Why this run failed, for the scheduler's record of runs (/metrics); None when it did not."""
        return self.detail if self.outcome == "failed" else None


def _due(now: dt.datetime, every: dt.timedelta) -> bool:
    last = db.session.scalar(
        sa.select(sa.func.max(BackupRun.started_at)).where(BackupRun.ok.is_(True), BackupRun.origin == "schedule")
    )
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return last is None or last <= now - every


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` scheduled archives (their names sort by time); other files stay."""
    archives = sorted(folder.glob(f"alcance-*{services.SUFFIX}"))
    removed = archives[:-keep] if len(archives) > keep else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def scheduled_backup(now: dt.datetime | None = None) -> BackupJobResult:
    config = current_app.config
    folder = config.get("BACKUP_DIR")
    if not folder:
        return BackupJobResult("off")
    now = now or utcnow()
    if not _due(now, dt.timedelta(hours=config["BACKUP_EVERY_HOURS"])):
        return BackupJobResult("not_due")
    try:
        if not config.get("BACKUP_PASSPHRASE"):
            raise services.BackupError("ALCANCE_BACKUP_PASSPHRASE is not set: scheduled backups cannot be encrypted.")
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        manifest = services.create_backup(folder, config["BACKUP_PASSPHRASE"], now=now)
    except (services.BackupError, OSError) as error:
        db.session.rollback()
        record_run(started=now, error=str(error), origin="schedule")
        db.session.commit()
        log.error("scheduled backup failed: %s", error)
        return BackupJobResult("failed", str(error))
    record_run(started=now, manifest=manifest, origin="schedule")
    db.session.commit()
    removed = prune(Path(folder), config["BACKUP_KEEP"])
    return BackupJobResult("written", f"{manifest['path']}, {len(removed)} old archive(s) removed")
