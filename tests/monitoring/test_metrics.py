"""An operator's Prometheus reads /metrics with its bearer token: request counts and latency by endpoint
and status, the mail queue, and each scheduled job's last run. Nobody else reads anything there."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.monitoring.models import JobStatus
from crm.reminders import jobs
from tests.conftest import sign_in

TOKEN = "prometheus-token-for-tests-only"
AUTHORISED = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def metrics_token(app):
    app.config["METRICS_TOKEN"] = TOKEN
    yield TOKEN
    app.config["METRICS_TOKEN"] = None


def scrape(client) -> dict:
    """{(sample name, frozenset of labels): value} of one scrape."""
    response = client.get("/metrics", headers=AUTHORISED)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(figures: dict, name: str, **labels) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


def test_without_a_configured_token_there_is_no_metrics_page(client, make_user):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=AUTHORISED).status_code == 404
    admin = make_user("admin")
    db.session.commit()
    sign_in(client, admin)
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ", TOKEN])
def test_a_missing_or_wrong_token_reads_nothing(client, metrics_token, header):
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "alcance_" not in response.get_data(as_text=True)


def test_a_signed_in_admin_without_the_token_reads_nothing(client, metrics_token, make_user):
    admin = make_user("admin")
    db.session.commit()
    sign_in(client, admin)
    assert client.get("/metrics").status_code == 401


def test_requests_are_counted_by_endpoint_method_and_status(client, metrics_token):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/no/such/page/password/reset/secret-link").status_code == 404
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("alcance_http_requests_total", endpoint="core.healthz", method="GET", status="200") == 3
    assert grew("alcance_http_requests_total", endpoint="accounts.login", method="GET", status="200") == 1
    assert grew("alcance_http_requests_total", endpoint="unmatched", method="GET", status="404") == 1
    # The first scrape itself is counted by the second.
    assert grew("alcance_http_requests_total", endpoint="monitoring.metrics", method="GET", status="200") == 1
    assert grew("alcance_http_request_duration_seconds_count", endpoint="core.healthz", method="GET") == 3
    assert grew("alcance_http_request_duration_seconds_sum", endpoint="core.healthz", method="GET") > 0
    # A path no route matches is never a label of its own (it may carry a credential).
    assert not any("secret-link" in str(labels) for _, labels in after)


def _message(key, owner, status, created_at):
    sent = status == "sent"
    return OutboundMessage(
        kind="due_reminder",
        dedupe_key=key,
        recipient_id=owner.id,
        recipient_email=owner.email,
        language="en",
        subject="Reminder",
        body_text="Text",
        message_id=f"<{key}@example.org>",
        status=status,
        created_at=created_at,
        next_attempt_at=created_at,
        sent_at=created_at if sent else None,
        transport="smtp" if sent else None,
    )


def test_the_mail_queue_is_read_from_the_database(client, metrics_token, make_user, clock):
    owner = make_user("volunteer")
    now = clock.now()
    figures = scrape(client)
    assert value(figures, "alcance_mail_pending_messages") == 0
    assert value(figures, "alcance_mail_oldest_pending_age_seconds") == 0
    db.session.add_all(
        [
            _message("oldest-pending", owner, "pending", now - dt.timedelta(minutes=90)),
            _message("newer-pending", owner, "pending", now - dt.timedelta(minutes=5)),
            _message("given-up", owner, "failed", now - dt.timedelta(days=3)),
            _message("delivered", owner, "sent", now - dt.timedelta(days=10)),
        ]
    )
    db.session.commit()
    figures = scrape(client)
    assert value(figures, "alcance_database_up") == 1
    assert value(figures, "alcance_mail_pending_messages") == 2
    assert value(figures, "alcance_mail_failed_messages") == 1
    assert value(figures, "alcance_mail_oldest_pending_age_seconds") == 90 * 60


def test_each_scheduled_job_reports_its_last_run_and_success(app, client, metrics_token, clock):
    started = clock.now()
    assert [line.split(":")[0] for line in jobs.run_once(app)] == list(jobs.JOBS)
    figures = scrape(client)
    for name in jobs.JOBS:
        assert value(figures, "alcance_job_runs_total", job=name) == 1
        assert value(figures, "alcance_job_failures_total", job=name) == 0
        assert value(figures, "alcance_job_last_run_succeeded", job=name) == 1
        assert value(figures, "alcance_job_last_success_timestamp_seconds", job=name) == started.timestamp()
        assert value(figures, "alcance_job_last_run_timestamp_seconds", job=name) == started.timestamp()


def test_a_failed_run_is_counted_and_the_last_success_kept(app, client, metrics_token, clock):
    succeeded_at = clock.now()
    jobs.run_once(app)
    clock.advance(minutes=10)

    def broken():
        raise RuntimeError("the mail server's certificate expired")

    # As the scheduler runs each job: a failure is logged and recorded, and the scheduler goes on.
    jobs._in_app_context(app, "due-reminders", broken)()
    figures = scrape(client)
    assert value(figures, "alcance_job_runs_total", job="due-reminders") == 2
    assert value(figures, "alcance_job_failures_total", job="due-reminders") == 1
    assert value(figures, "alcance_job_last_run_succeeded", job="due-reminders") == 0
    assert value(figures, "alcance_job_last_success_timestamp_seconds", job="due-reminders") == succeeded_at.timestamp()
    assert value(figures, "alcance_job_last_run_timestamp_seconds", job="due-reminders") == clock.now().timestamp()
    status = db.session.get(JobStatus, "due-reminders")
    assert status.last_error == "RuntimeError: the mail server's certificate expired"
    assert value(figures, "alcance_job_last_run_succeeded", job="digests") == 1


def test_a_scheduled_backup_that_fails_shows_as_a_failed_run_and_a_failed_backup(app, client, metrics_token, tmp_path):
    figures = scrape(client)
    assert ("alcance_backup_last_run_succeeded", frozenset()) not in figures  # never tried
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_PASSPHRASE=None)
    try:
        # As the scheduler runs it: the job handles its own failure and says so in its result.
        backup_job, _ = jobs.JOBS["backup"]
        jobs._in_app_context(app, "backup", backup_job)()
    finally:
        app.config.update(BACKUP_DIR=None, BACKUP_PASSPHRASE=None)
    figures = scrape(client)
    assert value(figures, "alcance_job_runs_total", job="backup") == 1
    assert value(figures, "alcance_job_failures_total", job="backup") == 1
    assert value(figures, "alcance_job_last_run_succeeded", job="backup") == 0
    assert value(figures, "alcance_backup_last_run_succeeded") == 0
    assert ("alcance_backup_last_success_timestamp_seconds", frozenset()) not in figures
    assert "ALCANCE_BACKUP_PASSPHRASE" in db.session.get(JobStatus, "backup").last_error
