"""The scheduled backup: off unless a folder is set; an archive when the last good one is old enough; only
the newest few kept; a failure recorded and shown to admins on the users page beside the last good one."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from crm.backup import services
from crm.backup.jobs import scheduled_backup
from crm.backup.models import BackupRun, record_run
from crm.extensions import db
from tests.backup.conftest import PASSPHRASE

pytestmark = pytest.mark.usefixtures("clock")
T0 = dt.datetime(2026, 12, 3, 2, 30, tzinfo=dt.UTC)


def _runs(app) -> list[tuple[str, bool]]:
    with app.app_context():
        return [(run.origin, run.ok) for run in db.session.scalars(sa.select(BackupRun).order_by(BackupRun.id))]


def _ready(app) -> None:
    with app.app_context():
        from crm.countries.services import load_reference

        upgrade()
        load_reference()
        db.session.commit()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_backups_are_made_when_due_and_only_the_newest_are_kept(installs, tmp_path, kind):
    folder = tmp_path / "backups"
    app = installs(kind, BACKUP_DIR=str(folder), BACKUP_PASSPHRASE=PASSPHRASE, BACKUP_KEEP=2, BACKUP_EVERY_HOURS=24)
    _ready(app)
    with app.app_context():
        assert scheduled_backup(now=T0).outcome == "written"
        assert scheduled_backup(now=T0 + dt.timedelta(hours=1)).outcome == "not_due"
        assert scheduled_backup(now=T0 + dt.timedelta(hours=23, minutes=59)).outcome == "not_due"
        for day in (1, 2, 3):
            assert scheduled_backup(now=T0 + dt.timedelta(days=day, minutes=1)).outcome == "written"
    kept = sorted(path.name for path in folder.iterdir())
    assert kept == ["alcance-20261205-023100.alcbak", "alcance-20261206-023100.alcbak"]
    assert _runs(app) == [("schedule", True)] * 4
    with app.app_context():
        assert services.verify_backup(folder / kept[-1], PASSPHRASE).manifest["tables"]["country"]["rows"] == 250


def test_scheduled_backups_are_off_without_a_folder(installs):
    app = installs("sqlite")
    _ready(app)
    with app.app_context():
        assert scheduled_backup(now=T0).outcome == "off"
    assert _runs(app) == []


def test_a_failed_backup_is_recorded_with_its_reason(installs, tmp_path):
    app = installs("sqlite", BACKUP_DIR=str(tmp_path / "backups"), BACKUP_PASSPHRASE=None)
    _ready(app)
    with app.app_context():
        result = scheduled_backup(now=T0)
        assert result.outcome == "failed" and "ALCANCE_BACKUP_PASSPHRASE is not set" in result.detail
        run = db.session.scalar(sa.select(BackupRun))
        assert (run.ok, run.origin, run.path) == (False, "schedule", None)
    assert not (tmp_path / "backups").exists() or list((tmp_path / "backups").iterdir()) == []


def test_admins_see_the_last_good_backup_and_a_later_failure(client, signed_in):
    signed_in("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "No backup has been made yet." in page and "Scheduled backups are off" in page
    record_run(
        started=T0,
        manifest={
            "path": "/backups/a.alcbak",
            "size": 5 * 1024 * 1024,
            "tables": {"user": {"rows": 3}},
            "schema_revision": "x",
        },
        origin="schedule",
    )
    db.session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Last good backup: " in page and "(5.2 MB)." in page and "failed" not in page
    record_run(started=T0, error="No space left on device", origin="schedule")
    db.session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Last good backup: " in page and "The last backup failed (" in page and "No space left on device" in page
