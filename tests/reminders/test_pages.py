"""Reminder pages: preferences for everyone, the outbox for administrators only; and no web worker ever
starts a scheduler."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.accounts.models import User
from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.reminders import jobs, services
from crm.reminders.models import ReminderPreference
from tests.conftest import utc_today

# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]


@pytest.mark.parametrize("role", ["admin", "manager", "coordinator", "volunteer"])
def test_everyone_sets_their_own_reminder_preferences(client, signed_in, role):
    user = signed_in(role)
    page = client.get("/reminders/preferences")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Europe/Madrid" in html and 'name="digest_hour"' in html
    assert ('name="weekly_report_enabled"' in html) == (role == "manager")

    response = client.post(
        "/reminders/preferences",
        data={"digest_enabled": "y", "digest_hour": "7", "timezone": "America/Santiago", "language": "es"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    preference = db.session.get(ReminderPreference, user.id)
    assert preference.reminders_enabled is False and preference.digest_enabled is True
    assert preference.digest_hour == 7
    stored = db.session.get(User, user.id)
    assert stored.timezone == "America/Santiago" and stored.language == "es"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "reminders.preferences"))
    assert event.before["digest_hour"] == 8 and event.after["digest_hour"] == 7


def test_preferences_refuse_an_unknown_time_zone_or_hour(client, signed_in):
    user = signed_in("volunteer")
    for data in (
        {"digest_hour": "7", "timezone": "Mars/Olympus_Mons", "language": "en"},
        {"digest_hour": "24", "timezone": "UTC", "language": "en"},
        {"digest_hour": "7", "timezone": "UTC", "language": "fr"},
    ):
        assert client.post("/reminders/preferences", data=data).status_code == 400
    assert db.session.get(ReminderPreference, user.id) is None


def test_the_preferences_page_needs_a_signed_in_user(client):
    assert client.get("/reminders/preferences").status_code == 302


@pytest.mark.parametrize("role", ["manager", "coordinator", "volunteer"])
def test_only_administrators_read_the_outbox(client, signed_in, role):
    signed_in(role)
    assert client.get("/reminders/outbox").status_code == 404


def test_an_administrator_reads_the_development_outbox(client, signed_in, make_user, make_record, make_follow_up):
    signed_in("admin")
    owner = make_user("volunteer", email="owner@example.org")
    make_follow_up(make_record("FRA"), owner, utc_today(), note="Call <the> embassy & ask")
    db.session.commit()
    assert jobs.send_due_reminders().delivery.sent == 1
    message = db.session.scalar(sa.select(OutboundMessage))
    assert message.transport == "outbox"

    listing = client.get("/reminders/outbox")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "No mail server is configured" in html and "owner@example.org" in html
    assert "Call &lt;the&gt; embassy &amp; ask" in html
    assert client.get("/reminders/outbox?status=failed").get_data(as_text=True).count("owner@example.org") == 0

    shown = client.get(f"/reminders/outbox/{message.id}")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert message.message_id.replace("<", "&lt;").replace(">", "&gt;") in text
    assert "Call &lt;the&gt; embassy &amp; ask" in text

    preview = client.get(f"/reminders/outbox/{message.id}/html")
    assert preview.status_code == 200
    assert preview.headers["Content-Security-Policy"].startswith("sandbox")
    assert "Call &lt;the&gt; embassy &amp; ask" in preview.get_data(as_text=True)
    assert client.get("/reminders/outbox/999999").status_code == 404


def test_an_administrator_sends_a_failed_message_again(client, signed_in, make_user, make_record, make_follow_up):
    signed_in("admin")
    owner = make_user("volunteer")
    make_follow_up(make_record(), owner, utc_today())
    services.queue_due_reminders()
    message = db.session.scalar(sa.select(OutboundMessage))
    message.status, message.attempts, message.last_error = "failed", 20, "550 no such user"
    db.session.commit()
    assert "Send again" in client.get(f"/reminders/outbox/{message.id}").get_data(as_text=True)
    assert client.post(f"/reminders/outbox/{message.id}/retry").status_code == 302
    db.session.expire_all()
    message = db.session.get(OutboundMessage, message.id)
    assert message.status == "pending" and message.attempts == 0
    retries = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "reminders.retry")
    assert db.session.scalar(retries) == 1
    # A message that has not failed is not sent again: the page says so, and nothing is logged.
    again = client.post(f"/reminders/outbox/{message.id}/retry", follow_redirects=True)
    assert "Only a message that failed can be sent again." in again.get_data(as_text=True)
    assert db.session.scalar(retries) == 1
    assert jobs.send_due_reminders().delivery.sent == 1


def test_the_web_app_never_loads_a_scheduler(tmp_path):
    """gunicorn workers import wsgi: none of them may run jobs (each would run every job again)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/web.db",
        "SECRET_KEY": "x",
        "ALCANCE_INSTANCE_PATH": str(tmp_path),
    }
    probe = (
        "import sys, threading, wsgi; "
        "print(sorted(m for m in sys.modules if m.startswith('apscheduler')), "
        "[t.name for t in threading.enumerate() if 'APScheduler' in t.name or 'ThreadPool' in t.name])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_the_scheduler_runs_each_job_on_its_interval(app):
    scheduler = jobs.build_scheduler(app)
    intervals = {job.id: job.trigger.interval for job in scheduler.get_jobs()}
    assert intervals == {
        "due-reminders": dt.timedelta(minutes=1),
        "digests": dt.timedelta(minutes=5),
        "reply-clock": dt.timedelta(hours=1),
        "backup": dt.timedelta(hours=1),
        "statement-signups": dt.timedelta(hours=1),
        "hosted-signups": dt.timedelta(hours=1),
        "database-statistics": dt.timedelta(days=1),
    }
