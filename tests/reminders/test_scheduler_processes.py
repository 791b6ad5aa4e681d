"""Real processes: two `flask scheduler run` processes against one PostgreSQL database and a real SMTP
server; every reminder arrives exactly once, and none is marked sent before the server received it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from crm import clock
from crm.accounts.models import User
from crm.campaigns.models import Campaign
from crm.countries.services import country_by_code, load_reference
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.outreach.models import FollowUp, OutreachRecord
from crm.reminders.models import ReminderPreference
from tests.conftest import make_app, require_database, scratch_postgres_database
from tests.reminders.conftest import SMTPServer

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_UPS = 150
OWNERS = 5


def _create_schema(url, instance) -> None:
    """The schema, built by a fresh interpreter as a deployment would: this process's metadata may have
    been changed by earlier tests (a DropConstraint construct, for one, keeps its constraint out of every
    later CREATE TABLE)."""
    script = (
        "from crm import create_app; from crm.extensions import db\nwith create_app().app_context(): db.create_all()"
    )
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "scheduler-test", "ALCANCE_INSTANCE_PATH": str(instance)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def _seed(url, tmp_path_factory) -> None:
    app = make_app(url, tmp_path_factory)
    with app.app_context():
        load_reference()
        campaign = Campaign(slug="load", name="Load test")
        db.session.add(campaign)
        owners = [User(email=f"owner{n}@example.org", name=f"Owner {n}", role="coordinator") for n in range(OWNERS)]
        db.session.add_all(owners)
        db.session.flush()
        # Digests are not under test here (they depend on the hour the test runs).
        db.session.add_all(ReminderPreference(user_id=o.id, digest_enabled=False) for o in owners)
        records = []
        for code in ("FRA", "DEU", "ESP", "CAN", "CHE"):
            record = OutreachRecord(campaign=campaign, country_id=country_by_code(code).id)
            db.session.add(record)
            records.append(record)
        db.session.flush()
        yesterday = clock.today() - dt.timedelta(days=1)
        db.session.add_all(
            FollowUp(
                outreach_id=records[n % len(records)].id,
                owner_id=owners[n % OWNERS].id,
                due_on=yesterday,
                note=f"Step {n}",
            )
            for n in range(FOLLOW_UPS)
        )
        db.session.commit()
        db.engine.dispose()


def _scheduler(url, smtp_port, instance, seconds):
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "0",
        "MAIL_USE_SSL": "0",
        "MAIL_DEFAULT_SENDER": "alcance@campaign.example.org",
        "SECRET_KEY": "scheduler-test",
        "ALCANCE_INSTANCE_PATH": str(instance),
    }
    for name in ("MAIL_USERNAME", "MAIL_PASSWORD", "FLASK_APP"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run", "--for-seconds", str(seconds)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_two_scheduler_processes_send_each_reminder_exactly_once(tmp_path, tmp_path_factory):
    require_database("postgresql")
    with scratch_postgres_database("alcance_scheduler") as url:
        _create_schema(url, tmp_path / "schema")
        _seed(url, tmp_path_factory)
        smtp = SMTPServer()
        marked_before_received = []
        lock = threading.Lock()
        watcher = psycopg.connect(url, autocommit=True)

        def check(message):
            # At the moment the server receives a message, its row must not say "sent" yet.
            with lock:
                row = watcher.execute(
                    "SELECT status FROM outbound_message WHERE message_id = %s", (str(message["Message-ID"]).strip(),)
                ).fetchone()
            if row is None or row[0] == "sent":
                marked_before_received.append((message["Message-ID"], row))
            time.sleep(0.004)  # a little latency, so that both processes are sending at once

        smtp.mailbox.on_message = check
        smtp.start()
        try:
            first = _scheduler(url, smtp.port, tmp_path / "a", 5)
            second = _scheduler(url, smtp.port, tmp_path / "b", 5)
            outputs = [process.communicate(timeout=90)[0] for process in (first, second)]
        finally:
            smtp.stop()
            watcher.close()
        for process, output in zip((first, second), outputs, strict=True):
            assert process.returncode == 0, output
            assert "Traceback" not in output, output

        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            rows = connection.execute(sa.select(OutboundMessage.__table__)).mappings().all()
            reminded = connection.execute(
                sa.select(sa.func.count())
                .select_from(FollowUp.__table__)
                .where(FollowUp.__table__.c.reminder_sent_at.is_not(None))
            ).scalar()
        engine.dispose()

        received = Counter(str(m["Message-ID"]).strip() for m in smtp.messages)
        assert len(rows) == FOLLOW_UPS
        assert all(row["status"] == "sent" and row["transport"] == "smtp" for row in rows)
        assert set(received) == {row["message_id"] for row in rows}
        assert [mid for mid, count in received.items() if count > 1] == []  # exactly once
        assert len(smtp.messages) == FOLLOW_UPS
        assert reminded == FOLLOW_UPS
        assert marked_before_received == []
        senders = Counter(row["sent_by"] for row in rows)
        print(f"messages sent per process: {dict(senders)}")
