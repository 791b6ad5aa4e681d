"""Fixtures: an app per database (SQLite and PostgreSQL), one rolled-back transaction per test,
and signed-in clients of each role."""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import uuid
from contextlib import contextmanager

import psycopg
import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from flask import has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from crm import create_app
from crm.accounts.models import User
from crm.config import normalise_database_url
from crm.database import utcnow
from crm.extensions import db
from crm.permissions import role_can

pytest_plugins = ["tests.factories"]

TEST_PASSWORD = "correct horse battery staple"
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a fixed TOTP key (base32), for tests only
TEST_DATA_KEY = "dGVzdC1rZXktZm9yLWVuY3J5cHRpb24tYXQtcmVzdCE="  # a fixed Fernet key, for tests only
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_covered: set[str] = set()

UTC = dt.UTC
# The moments at which time-sensitive tests run (modules marked `clocks` run under every one of them).
# Each is on a whole 30-second step, so that a TOTP code computed at `now()` stays valid a few seconds.
CLOCKS = {
    "mid-month": dt.datetime(2026, 6, 17, 12, 0, tzinfo=UTC),  # a Wednesday at noon: the default
    "month-start": dt.datetime(2027, 3, 1, 0, 30, tzinfo=UTC),  # Caracas is still on 28 February
    "year-end": dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # Madrid is already in 2027
    "sunday": dt.datetime(2027, 1, 10, 15, 0, tzinfo=UTC),
    "utc-23-59": dt.datetime(2027, 5, 19, 23, 59, tzinfo=UTC),
    "utc-00-01": dt.datetime(2027, 5, 20, 0, 1, tzinfo=UTC),
    # Madrid moves from 02:00 CET to 03:00 CEST at 01:00 UTC; and back from 03:00 to 02:00 in October.
    "madrid-dst-starts": dt.datetime(2027, 3, 28, 1, 0, 30, tzinfo=UTC),
    "madrid-dst-ends": dt.datetime(2026, 10, 25, 1, 0, 30, tzinfo=UTC),
    # Venezuela keeps no daylight saving time; its last change of offset was on 1 May 2016 at 02:30 local
    # time, from UTC-04:30 to UTC-04:00 (IANA tz database, America/Caracas).
    "caracas-offset-change": dt.datetime(2016, 5, 1, 7, 0, tzinfo=UTC),
    # The first minute of a day in Caracas (UTC-04:00), when it is already 04:00 in UTC.
    "caracas-midnight": dt.datetime(2027, 5, 20, 4, 0, 30, tzinfo=UTC),
}
DEFAULT_CLOCK = "mid-month"
# TEST_CLOCK=<name of a moment in CLOCKS> runs the whole suite at that moment: every test starts there
# (and time runs on from it), the `clock` fixture stops there. Browser and multi-process tests keep the
# real clock, which other processes read.
WHOLE_RUN_CLOCK = os.environ.get("TEST_CLOCK") or None


def postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    url = postgres_url().replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means: not reachable
        return str(error).strip().splitlines()[0]
    return None


def require_database(name: str) -> None:
    if name != "postgresql":
        _covered.add(name)
        return
    problem = postgres_reachable()
    if problem is None:
        _covered.add(name)
        return
    message = f"PostgreSQL at {postgres_url()} is not reachable: {problem}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: PostgreSQL must be tested)", pytrace=False)
    pytest.skip(message)


def test_config(database_url: str, tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "WTF_CSRF_ENABLED": False,
        "MAIL_SUPPRESS_SEND": True,
        "DATA_ENCRYPTION_KEYS": [TEST_DATA_KEY],
        "SERVER_NAME": None,
    }


def make_app(database_url: str, tmp_path_factory, **extra):
    return create_app({**test_config(database_url, tmp_path_factory), **extra})


@contextmanager
def scratch_postgres_database(prefix: str = "alcance_test"):
    """A new, empty PostgreSQL database beside TEST_DATABASE_URL's, dropped afterwards, so that test
    runs (and parallel developers) never share tables."""
    admin_url = postgres_url().replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Clock:
    """The machine's clock, stopped at a chosen moment (time-machine moves Python's clock for every
    module and thread), and moved on only when a test says so."""

    def __init__(self, traveller):
        self._traveller = traveller

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def today(self) -> dt.date:
        """Today in UTC, the day the services' `now` falls on."""
        return self.now().date()

    def advance(self, **delta) -> dt.datetime:
        self._traveller.shift(dt.timedelta(**delta))
        return self.now()

    def move_to(self, moment: dt.datetime) -> dt.datetime:
        """Stop the clock at another moment (aware, so that it means the same everywhere)."""
        assert moment.tzinfo is not None, "give the moment with its time zone"
        self._traveller.move_to(moment)
        return self.now()


def pytest_generate_tests(metafunc):
    """Tests marked `clocks` run once at each moment of CLOCKS, so that none depends on the day or hour."""
    if metafunc.definition.get_closest_marker("clocks") is not None and "clock" in metafunc.fixturenames:
        metafunc.parametrize("clock", list(CLOCKS.values()), ids=list(CLOCKS), indirect=True)


def utc_today() -> dt.date:
    """Today in UTC, as the `clock` fixture has stopped it (the day the services' `now` falls on)."""
    return utcnow().date()


def pytest_configure(config):
    # Tests hold real past dates (a contact in post since 2016, the demo's 2018 campaign): a whole run
    # can start no earlier than they do.
    usable = [name for name, moment in CLOCKS.items() if moment.year >= 2026]
    if WHOLE_RUN_CLOCK is not None and WHOLE_RUN_CLOCK not in usable:
        raise pytest.UsageError(f"TEST_CLOCK={WHOLE_RUN_CLOCK!r}: choose one of {', '.join(usable)}")


def pytest_report_header(config):
    problem = postgres_reachable()
    pg = "reachable" if problem is None else f"NOT reachable ({problem})"
    lines = [f"databases: sqlite; postgresql at {postgres_url()} {pg}"]
    if WHOLE_RUN_CLOCK is not None:
        lines.append(f"TEST_CLOCK: every test starts at {CLOCKS[WHOLE_RUN_CLOCK].isoformat()} ({WHOLE_RUN_CLOCK})")
    return lines


@pytest.fixture(autouse=True)
def _whole_run_clock(request):
    if (
        WHOLE_RUN_CLOCK is None
        or "clock" in request.fixturenames
        or request.node.get_closest_marker("browser")
        or request.node.get_closest_marker("slow")
    ):
        yield
        return
    with time_machine.travel(CLOCKS[WHOLE_RUN_CLOCK], tick=True):
        yield


@pytest.fixture
def clock(request):
    """The time stands still at one of CLOCKS for this test (the default, or TEST_CLOCK's, unless the test
    is marked `clocks`); `clock.advance(minutes=5)` moves it."""
    moment = getattr(request, "param", CLOCKS[WHOLE_RUN_CLOCK or DEFAULT_CLOCK])
    with time_machine.travel(moment, tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """The database under test: each test that needs one runs on SQLite and on PostgreSQL."""
    require_database(request.param)
    if request.param == "sqlite":
        yield request.param, "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "alcance-test.db")
        return
    with scratch_postgres_database() as url:
        yield request.param, url


@pytest.fixture(scope="session")
def _app(database, tmp_path_factory):
    """One app per database, with the schema built and the reference data loaded once."""
    _, url = database
    app = make_app(url, tmp_path_factory)
    with app.app_context():
        db.drop_all()
        db.create_all()
        from crm.countries.services import load_reference

        load_reference()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


class _BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks an engine per mapper; in tests every query must go through
    the one connection whose transaction is rolled back at the end."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


@pytest.fixture
def app(_app):
    """The app inside an app context, with everything the test writes rolled back afterwards.
    Commits inside the test (and inside requests) become savepoints."""
    with _app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        if connection.dialect.name == "postgresql":
            # The test's transaction never commits, and deferred triggers (a campaign's figures_version)
            # fire at the commit: here they fire at the end of each statement instead.
            connection.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
        original = db.session
        db.session = db._make_scoped_session(
            {"class_": _BoundSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
        )
        try:
            yield _app
        finally:
            db.session.remove()
            db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


class IsolatedClient(FlaskClient):
    """Each request in a fresh context, as in production. Otherwise Flask reuses the test's app context
    for the request, and `g` (the signed-in user, the locale) and the DB session leak across requests."""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        # The request wrote through its own session; the test's session must read afresh. (A redirect
        # followed inside the request's context re-enters here without the test's app context.)
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_password_hash_cache: dict[str, str] = {}


@pytest.fixture
def make_user(app):
    """Create a user of a role; the password is TEST_PASSWORD. Admins and managers (the roles that must)
    get a second factor with TEST_TOTP_SECRET unless two_factor=False."""
    counter = {"n": 0}

    def factory(
        role: str = "volunteer",
        *,
        email: str | None = None,
        name: str | None = None,
        language: str = "en",
        active: bool = True,
        two_factor: bool | None = None,
    ) -> User:
        counter["n"] += 1
        if TEST_PASSWORD not in _password_hash_cache:
            probe = User(email="x@example.org", name="x")
            probe.set_password(TEST_PASSWORD)
            _password_hash_cache[TEST_PASSWORD] = probe.password_hash
        user = User(
            email=email or f"{role}{counter['n']}@example.org",
            name=name or f"{role.title()} {counter['n']}",
            role=role,
            language=language,
            active=active,
            password_hash=_password_hash_cache[TEST_PASSWORD],
        )
        if two_factor is None:
            two_factor = role_can(role, "second_factor_required")
        if two_factor:
            user.totp_secret = TEST_TOTP_SECRET
            user.totp_enabled_at = utcnow()
        db.session.add(user)
        db.session.flush()
        return user

    return factory


def totp_code(user: User, at=None) -> str:
    """A code the app will accept for `user` (whose key is TEST_TOTP_SECRET). Forgets the last used step
    first, so that a test may sign the same user in more than once within one 30-second step."""
    db.session.execute(sa.update(User).where(User.id == user.id).values(totp_last_step=None))
    db.session.commit()
    return pyotp.TOTP(TEST_TOTP_SECRET).at(at or utcnow())


def sign_in(client, user: User, password: str = TEST_PASSWORD):
    """Sign in through the password page and, when the account has a second factor, the code page."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/login/2fa"):
        response = client.post("/login/2fa", data={"code": totp_code(user)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def signed_in(client, make_user):
    """A client signed in with a new user of the given role: `signed_in("admin")`."""

    def factory(role: str = "volunteer", **kwargs):
        user = make_user(role, **kwargs)
        db.session.commit()
        sign_in(client, user)
        return user

    return factory


def count_rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    covered = ", ".join(sorted(_covered)) or "none"
    missing = {"sqlite", "postgresql"} - _covered
    line = f"databases covered: {covered}"
    if missing and _covered:
        line += f" (NOT covered: {', '.join(sorted(missing))})"
    terminalreporter.write_line(line, bold=True)
