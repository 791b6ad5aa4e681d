"""Production with several web servers: two gunicorn processes on two ports and one scheduler, all on one
PostgreSQL database, with a real SMTP server on loopback. A coordinator signs in on one server and goes
on working on the other; meetings are logged through both at once; failed sign-ins are counted across
both; each due reminder arrives exactly once, sent by the scheduler and never by a web worker; and each
server's /metrics adds up the requests of all its workers; and an API token's requests are counted once,
in the Redis both servers share, whichever server and worker answers."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from crm import clock
from crm.accounts.models import User
from crm.api import tokens
from crm.campaigns.models import Campaign, Demand
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.outreach.models import FollowUp, Meeting, OutreachRecord
from crm.reminders.models import ReminderPreference
from tests.conftest import TEST_DATA_KEY, TEST_PASSWORD, make_app, require_database, scratch_postgres_database
from tests.reminders.conftest import SMTPServer, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET_KEY = "two-servers-test-secret-key"
METRICS_TOKEN = "two-servers-metrics-token"
COORDINATOR = "coordinator@example.org"
TARGET = "target.volunteer@example.org"
DUE_REMINDERS = 12
OWNERS = 3
# One government per meeting: two meetings on one record at the same moment are two edits of the record,
# and the second is refused as stale (409), as on a single server.
COUNTRIES = ("FRA", "DEU", "ESP", "CAN", "CHE", "ITA", "PRT", "BEL")
MEETINGS = len(COUNTRIES)
# A Redis database of its own, emptied before the servers start: counts of an earlier run are not this one's.
RATE_STORE = "redis://127.0.0.1:6379/11"
# Per day, not per minute: a window that closed between two requests would let the seventh through.
API_REQUESTS = 6


def _environment(url: str, instance: Path, smtp_port: int) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "ALCANCE_DATA_KEYS": TEST_DATA_KEY,
        "ALCANCE_INSTANCE_PATH": str(instance),
        "ALCANCE_METRICS_TOKEN": METRICS_TOKEN,
        "ALCANCE_DEMO": "0",
        # Plain http on loopback: cookies without the Secure flag (production sets them behind HTTPS).
        "SESSION_COOKIE_SECURE": "0",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "0",
        "MAIL_USE_SSL": "0",
        "MAIL_DEFAULT_SENDER": "alcance@campaign.example.org",
        "ALCANCE_ADMIN_EMAIL": "admin@example.org",
        "ALCANCE_ADMIN_PASSWORD": "the first operator's long passphrase",
        "RATELIMIT_STORAGE_URI": RATE_STORE,
        "API_RATE_LIMIT": f"{API_REQUESTS} per day",
    }
    for name in ("MAIL_USERNAME", "MAIL_PASSWORD", "FLASK_APP", "PROMETHEUS_MULTIPROC_DIR", "ALCANCE_ENV"):
        env.pop(name, None)
    return env


def _seed(url: str, tmp_path_factory) -> str:
    """After `flask setup` (schema and reference data, as a deployment does): a campaign, a coordinator
    and a volunteer who sign in with TEST_PASSWORD, and follow-ups that fell due yesterday. Returns the
    secret of an API token of the coordinator's."""
    app = make_app(url, tmp_path_factory)
    with app.app_context():
        campaign = Campaign(slug="two-servers", name="Two servers")
        db.session.add_all([campaign, Demand(campaign=campaign, ordinal=1, code="d1", title="Demand one")])
        people = [
            User(email=COORDINATOR, name="Coordinator", role="coordinator"),
            User(email=TARGET, name="Target", role="volunteer"),
        ]
        # Coordinators, who may open every record: reminders go only to owners who may open theirs.
        owners = [User(email=f"owner{n}@example.org", name=f"Owner {n}", role="coordinator") for n in range(OWNERS)]
        for user in people:
            user.set_password(TEST_PASSWORD)
        db.session.add_all(people + owners)
        db.session.flush()
        # Digests depend on the hour the test runs: not under test here.
        db.session.add_all(ReminderPreference(user_id=u.id, digest_enabled=False) for u in people + owners)
        countries = [country_by_code(code).id for code in COUNTRIES]
        records = [OutreachRecord(campaign=campaign, country_id=country) for country in countries]
        db.session.add_all(records)
        db.session.flush()
        yesterday = clock.today() - dt.timedelta(days=1)
        db.session.add_all(
            FollowUp(
                outreach_id=records[n % len(records)].id,
                owner_id=owners[n % OWNERS].id,
                due_on=yesterday,
                note=f"Step {n}",
            )
            for n in range(DUE_REMINDERS)
        )
        _, secret = tokens.create(people[0], name="Spreadsheet", scope="read", days=30, now=utcnow())
        db.session.commit()
        db.engine.dispose()
    return secret


class _Inputs(HTMLParser):
    """The value of every <input> of a page, by name (the CSRF token, the form's key, its defaults)."""

    def __init__(self, page: str):
        super().__init__()
        self.values: dict[str, str] = {}
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name") and attributes.get("type") not in ("checkbox", "radio"):
            self.values.setdefault(attributes["name"], attributes.get("value") or "")


class Browser:
    """One browser: its cookies go to every server on 127.0.0.1 (cookies are not kept apart by port, and
    a proxy in front would put both servers behind one name anyway). Redirects are not followed."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        connection.close()
        return response.status, response.headers.get("Location", ""), text

    def get(self, port, path, **kwargs):
        return self.request(port, "GET", path, **kwargs)

    def submit(self, port, path, fields: dict):
        """Open the form at `path`, then send it with `fields` filled in (its hidden values kept)."""
        status, _, page = self.get(port, path)
        assert status == 200, (port, path, status)
        return self.request(port, "POST", path, form={**_Inputs(page).values, **fields})


def _gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    # As production serves (Dockerfile, deploy/systemd): gunicorn with crm/serving.py, two workers.
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "python:crm.serving",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _wait_for_health(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if Browser().get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server on {port} did not answer /healthz:\n{log.read_text()[-3000:]}")


def _figures(port: int) -> dict:
    status, _, text = Browser().get(port, "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200, text[:300]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.slow
def test_two_web_servers_and_one_scheduler_share_one_database(tmp_path, tmp_path_factory):
    require_database("postgresql")
    with scratch_postgres_database("alcance_two_servers") as url:
        smtp = SMTPServer()
        smtp.start()
        processes = []
        try:
            setup = subprocess.run(
                [str(BIN / "flask"), "--app", "wsgi", "setup"],
                cwd=ROOT,
                env=_environment(url, tmp_path / "setup", smtp.port),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert setup.returncode == 0, setup.stderr[-3000:]
            secret = _seed(url, tmp_path_factory)
            redis.Redis.from_url(RATE_STORE).flushdb()

            first, second = free_port(), free_port()
            servers = {}
            for name, port in (("a", first), ("b", second)):
                log = tmp_path / f"server-{name}.log"
                process = _gunicorn(_environment(url, tmp_path / name, smtp.port), port, log)
                processes.append(process)
                servers[port] = (process, log)
            for port, (process, log) in servers.items():
                _wait_for_health(port, process, log)
            scheduler = subprocess.Popen(
                [str(BIN / "flask"), "--app", "wsgi", "scheduler", "run", "--for-seconds", "20"],
                cwd=ROOT,
                env=_environment(url, tmp_path / "scheduler", smtp.port),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            processes.append(scheduler)

            # Signs in on the first server, and goes on working on the second.
            coordinator = Browser()
            status, location, _ = coordinator.submit(first, "/login", {"email": COORDINATOR, "password": TEST_PASSWORD})
            assert (status, location) == (302, "/")
            status, location, page = coordinator.get(second, "/")
            assert (status, location) == (200, "")
            assert "Coordinator" in page

            engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
            with engine.connect() as connection:
                record_ids = (
                    connection.execute(sa.select(OutreachRecord.__table__.c.id).order_by(OutreachRecord.__table__.c.id))
                    .scalars()
                    .all()
                )

            # Meetings logged through both servers at once.
            def log_meeting(n):
                port = (first, second)[n % 2]
                record = record_ids[n % len(record_ids)]
                return port, coordinator.submit(
                    port, f"/outreach/{record}/meetings/new", {"summary": f"Meeting {n} through port {port}"}
                )

            with ThreadPoolExecutor(max_workers=4) as pool:
                answers = list(pool.map(log_meeting, range(MEETINGS)))
            for port, (status, location, page) in answers:
                assert status == 302 and location.startswith("/meetings/"), (port, status, page[:500])
            with engine.connect() as connection:
                summaries = connection.execute(sa.select(Meeting.__table__.c.summary)).scalars().all()
            assert sorted(summaries) == sorted(
                f"Meeting {n} through port {(first, second)[n % 2]}" for n in range(MEETINGS)
            )

            # Failed sign-ins are counted across both servers: after five (the account's limit), the
            # right password is refused on either.
            stranger = Browser()
            for n in range(5):
                status, _, _ = stranger.submit(
                    (first, second)[n % 2], "/login", {"email": TARGET, "password": f"wrong password {n}"}
                )
                assert status == 401
            for port in (second, first):
                status, _, page = stranger.submit(port, "/login", {"email": TARGET, "password": TEST_PASSWORD})
                assert status == 429, page[:500]

            # One API token's requests, spread over both servers and their four workers, count once: after
            # its limit, either server answers 429.
            bearer = {"Authorization": f"Bearer {secret}"}
            for n in range(API_REQUESTS):
                status, _, text = Browser().get((first, second)[n % 2], "/api/v1/campaigns/", headers=bearer)
                assert status == 200, (n, text[:300])
            for port in (first, second):
                status, _, text = Browser().get(port, "/api/v1/campaigns/", headers=bearer)
                assert status == 429, (port, text[:300])

            output = scheduler.communicate(timeout=120)[0]
            assert scheduler.returncode == 0, output
            assert "Traceback" not in output, output

            with engine.connect() as connection:
                reminders = (
                    connection.execute(
                        sa.select(OutboundMessage.__table__).where(OutboundMessage.__table__.c.kind == "due_reminder")
                    )
                    .mappings()
                    .all()
                )
                every_message = connection.execute(sa.select(OutboundMessage.__table__)).mappings().all()
                reminded = connection.execute(
                    sa.select(sa.func.count())
                    .select_from(FollowUp.__table__)
                    .where(FollowUp.__table__.c.reminder_sent_at.is_not(None))
                ).scalar()
            engine.dispose()

            # Each due reminder arrived exactly once, sent by the scheduler, never by a web worker.
            received = Counter(str(m["Message-ID"]).strip() for m in smtp.messages)
            assert len(reminders) == DUE_REMINDERS
            assert {row["message_id"] for row in reminders} <= set(received)
            assert [mid for mid, count in received.items() if count > 1] == []
            assert len(smtp.messages) == len([row for row in every_message if row["status"] == "sent"])
            assert reminded == DUE_REMINDERS
            assert {row["sent_by"].rsplit(":", 1)[1] for row in every_message if row["status"] == "sent"} == {
                str(scheduler.pid)
            }

            # Each server's /metrics adds up the requests of both its workers; the mail queue and the jobs
            # come from the database, the same on both.
            figures = {port: _figures(port) for port in (first, second)}
            failed = {
                port: figures[port].get(
                    (
                        "alcance_http_requests_total",
                        frozenset({"endpoint": "accounts.login", "method": "POST", "status": "401"}.items()),
                    ),
                    0,
                )
                for port in (first, second)
            }
            assert failed == {first: 3, second: 2}
            for port in (first, second):
                meetings = sum(
                    value
                    for (name, labels), value in figures[port].items()
                    if name == "alcance_http_requests_total"
                    and dict(labels) == {"endpoint": "outreach.new_meeting", "method": "POST", "status": "302"}
                )
                assert meetings == MEETINGS // 2
                assert figures[port][("alcance_mail_pending_messages", frozenset())] == 0
                assert (
                    figures[port][("alcance_job_last_run_succeeded", frozenset({"job": "due-reminders"}.items()))] == 1
                )
            database_figures = [
                {
                    key: value
                    for key, value in figures[port].items()
                    if key[0].startswith(("alcance_mail", "alcance_job"))
                }
                for port in (first, second)
            ]
            assert database_figures[0] == database_figures[1]
        finally:
            for process in processes:
                _stop(process)
            smtp.stop()
