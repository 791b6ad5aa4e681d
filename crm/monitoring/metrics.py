"""The figures /metrics offers Prometheus.

Two kinds, gathered two ways:
- Requests (counts and latency by endpoint, method and status) happen in each gunicorn worker. Under
  gunicorn with crm/serving.py, prometheus_client's multiprocess mode keeps every worker's figures in
  files in PROMETHEUS_MULTIPROC_DIR, and a scrape answered by any worker adds them all up. (Without it,
  a scrape would show only the worker that happened to answer.) Each web server counts its own
  requests: Prometheus scrapes each one and adds them up across instances.
- The mail queue and the scheduled jobs live in the database, shared by every server and the scheduler:
  they are read from it at scrape time, so every web server reports the same, current values, and no
  figure is lost when a worker or the scheduler restarts."""

from __future__ import annotations

import os
import time

from flask import g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from crm.database import utcnow
from crm.extensions import db
from crm.monitoring import services

# Not in prometheus_client's default registry: each scrape builds its own (exposition below).
REQUESTS = Counter(
    "alcance_http_requests",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "alcance_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ["endpoint", "method"],
    registry=None,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# A path that matches no route is counted under this name, never under its own path (which anyone can
# invent, and which may carry a credential).
UNMATCHED = "unmatched"


def _start_timer():
    g.metrics_started = time.perf_counter()


def _count_request(response):
    started = g.pop("metrics_started", None)
    endpoint = request.url_rule.endpoint if request.url_rule is not None else UNMATCHED
    method = (
        request.method if request.method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} else "other"
    )
    REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
    return response


def init_app(app) -> None:
    # First before every other hook, so that the time includes them.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_count_request)


def multiprocess_directory() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _DatabaseFigures:
    """The mail queue and the scheduled jobs, read from the database when Prometheus asks."""

    def collect(self):
        up = GaugeMetricFamily("alcance_database_up", "1 if the database answered this scrape, else 0.")
        try:
            queue = services.mail_queue_figures(utcnow())
            jobs = services.job_statuses()
            backup = services.backup_figures()
        except Exception:  # noqa: BLE001 - a scrape must still answer, saying the database did not
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "alcance_mail_pending_messages", "E-mails queued and not yet sent (retries included).", value=queue.pending
        )
        yield GaugeMetricFamily(
            "alcance_mail_failed_messages", "E-mails given up on, waiting for an admin's retry.", value=queue.failed
        )
        yield GaugeMetricFamily(
            "alcance_mail_oldest_pending_age_seconds",
            "Seconds since the oldest e-mail still waiting was queued (0: none waits).",
            value=queue.oldest_pending_age_seconds,
        )
        families = {
            "last_run": GaugeMetricFamily(
                "alcance_job_last_run_timestamp_seconds",
                "When each scheduled job last finished a run (UNIX time).",
                labels=["job"],
            ),
            "last_success": GaugeMetricFamily(
                "alcance_job_last_success_timestamp_seconds",
                "When each scheduled job last succeeded (UNIX time).",
                labels=["job"],
            ),
            "succeeded": GaugeMetricFamily(
                "alcance_job_last_run_succeeded",
                "1 if each scheduled job's last run succeeded, else 0.",
                labels=["job"],
            ),
            "runs": CounterMetricFamily("alcance_job_runs", "Runs of each scheduled job.", labels=["job"]),
            "failures": CounterMetricFamily(
                "alcance_job_failures", "Failed runs of each scheduled job.", labels=["job"]
            ),
        }
        for job in jobs:
            if job.last_finished_at is not None:
                families["last_run"].add_metric([job.name], job.last_finished_at.timestamp())
            if job.last_succeeded_at is not None:
                families["last_success"].add_metric([job.name], job.last_succeeded_at.timestamp())
            families["succeeded"].add_metric([job.name], 1 if job.last_run_succeeded else 0)
            families["runs"].add_metric([job.name], job.runs)
            families["failures"].add_metric([job.name], job.failures)
        yield from families.values()
        if backup.last_good_at is not None:
            yield GaugeMetricFamily(
                "alcance_backup_last_success_timestamp_seconds",
                "When the last good backup was finished (UNIX time).",
                value=backup.last_good_at.timestamp(),
            )
        if backup.last_run_succeeded is not None:
            yield GaugeMetricFamily(
                "alcance_backup_last_run_succeeded",
                "1 if the latest backup attempt succeeded, else 0.",
                value=1 if backup.last_run_succeeded else 0,
            )


def exposition() -> bytes:
    """Every figure, in Prometheus's text format."""
    registry = CollectorRegistry()
    if multiprocess_directory():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(_DatabaseFigures())
    return generate_latest(registry)
