"""Configuration from the environment: database URLs, the secret key, SQLite settings."""

import os
import stat
import threading

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.config import ConfigError, from_environment, load_secret_key, normalise_database_url
from crm.extensions import db


def test_database_url_forms():
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(
    "name,value",
    [
        ("LOGIN_THROTTLE_ACCOUNT_LIMIT", "five"),
        ("LOGIN_THROTTLE_ACCOUNT_LIMIT", "0"),
        ("MAIL_PORT", "25.5"),
        ("TRUSTED_PROXIES", "-1"),
    ],
)
def test_a_number_setting_that_is_not_one_is_refused_by_name(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name} must be a whole number of at least [01], not '{value}'$"):
        from_environment(str(tmp_path), skip_secret=True)


def test_number_settings_take_their_default_when_empty_and_their_value_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGIN_THROTTLE_ACCOUNT_LIMIT", " ")
    monkeypatch.setenv("TRUSTED_PROXIES", "0")
    monkeypatch.setenv("DEVICE_COOKIE_DAYS", " 30 ")
    config = from_environment(str(tmp_path), skip_secret=True)
    assert (config["LOGIN_THROTTLE_ACCOUNT_LIMIT"], config["TRUSTED_PROXIES"], config["DEVICE_COOKIE_DAYS"]) == (
        5,
        0,
        30,
    )


def test_the_api_rate_limit_and_its_shared_store_are_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("API_RATE_LIMIT", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    config = from_environment(str(tmp_path), skip_secret=True)
    assert (config["API_RATE_LIMIT"], config["RATELIMIT_STORAGE_URI"]) == ("600 per minute", "memory://")
    monkeypatch.setenv("API_RATE_LIMIT", "100 per minute")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    config = from_environment(str(tmp_path), skip_secret=True)
    assert (config["API_RATE_LIMIT"], config["RATELIMIT_STORAGE_URI"]) == ("100 per minute", "redis://127.0.0.1:6379")
    monkeypatch.setenv("API_RATE_LIMIT", "lots")
    with pytest.raises(ConfigError, match="^API_RATE_LIMIT must be a rate such as '600 per minute', not 'lots'$"):
        from_environment(str(tmp_path), skip_secret=True)
    monkeypatch.setenv("API_RATE_LIMIT", "100 per minute")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "127.0.0.1:6379")
    with pytest.raises(
        ConfigError,
        match="^RATELIMIT_STORAGE_URI must be a store such as 'memory://' or 'redis://host:6379/0', not '127.0.0.1:6379'$",
    ):
        from_environment(str(tmp_path), skip_secret=True)


def test_secret_key_is_generated_once_with_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path))
    assert len(first) >= 48
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert load_secret_key(str(tmp_path)) == first
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_secret_key(str(tmp_path)) == "from-the-environment"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ALCANCE_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/alcance.db"


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"})
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]


def test_sqlite_read_then_write_from_many_workers_never_fails_locked(tmp_path):
    """Each worker reads, then writes, in one transaction, while the others do the same. With the
    driver's deferred BEGIN this fails with "database is locked"; with BEGIN IMMEDIATE it waits."""
    url = f"sqlite:///{tmp_path}/concurrent.db"
    apps = [create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url}) for _ in range(6)]
    with apps[0].app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
            connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
    errors: list[BaseException] = []
    rounds = 25

    def worker(app):
        try:
            with app.app_context():
                for _ in range(rounds):
                    n = db.session.execute(sa.text("SELECT n FROM counter")).scalar()
                    db.session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with apps[0].app_context():
        # No lost update either: every read-modify-write was serialised.
        assert db.session.execute(sa.text("SELECT n FROM counter")).scalar() == rounds * len(apps)


def test_cookies_are_secure_outside_development(monkeypatch, tmp_path):
    monkeypatch.setenv("ALCANCE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("ALCANCE_ENV", raising=False)
    production = create_app({"SECRET_KEY": "x"})
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["SESSION_COOKIE_HTTPONLY"]
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("ALCANCE_ENV", "development")
    assert not create_app({"SECRET_KEY": "x"}).config["SESSION_COOKIE_SECURE"]


def _address_seen(app, headers):
    from crm.web import client_address

    seen = {}

    @app.route("/_whoami")
    def _whoami():
        seen["address"] = client_address()
        return "ok"

    app.test_client().get("/_whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return seen["address"]


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(monkeypatch, tmp_path):
    monkeypatch.setenv("ALCANCE_INSTANCE_PATH", str(tmp_path))
    forged = {"X-Forwarded-For": "203.0.113.9"}
    monkeypatch.setenv("TRUSTED_PROXIES", "0")
    assert _address_seen(create_app({"SECRET_KEY": "x"}), forged) == "10.0.0.2"
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    # Behind one proxy: the client wrote a fake first hop; only the hop the proxy added is believed.
    chain = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    assert _address_seen(create_app({"SECRET_KEY": "x"}), chain) == "203.0.113.9"


def test_sqlite_files_and_the_instance_folder_are_readable_by_the_owner_only(tmp_path, monkeypatch):
    """alcance.db and its -wal and -shm files hold the contacts: 0600 like the key files, whatever the
    umask, and the instance folder 0700; a database file left readable by others is tightened."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("ALCANCE_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)
    try:
        app = create_app({"SECRET_KEY": "x"})
        with app.app_context():
            with db.engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE note (body TEXT)")
                connection.exec_driver_sql("INSERT INTO note VALUES ('x')")
            with db.engine.connect() as connection:  # the -wal and -shm files exist while connected
                connection.exec_driver_sql("SELECT count(*) FROM note").scalar()
                modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in instance.glob("alcance.db*")}
            db.engine.dispose()
        assert modes == {"alcance.db": 0o600, "alcance.db-wal": 0o600, "alcance.db-shm": 0o600}
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
        os.chmod(instance / "alcance.db", 0o644)
        os.chmod(instance, 0o755)
        app = create_app({"SECRET_KEY": "x"})
        assert stat.S_IMODE((instance / "alcance.db").stat().st_mode) == 0o600
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)


def _headers(app, base_url: str):
    return app.test_client().get("/login", base_url=base_url).headers


def test_strict_transport_security_over_https_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("ALCANCE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("ALCANCE_ENV", raising=False)
    production = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    assert _headers(production, "https://alcance.example")["Strict-Transport-Security"] == "max-age=31536000"
    # Over plain HTTP a browser ignores the header; it is not sent (a local test server, a health check).
    assert "Strict-Transport-Security" not in _headers(production, "http://alcance.example")
    monkeypatch.setenv("ALCANCE_ENV", "development")
    development = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db"})
    assert "Strict-Transport-Security" not in _headers(development, "https://localhost")


WRITER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA busy_timeout = 5000")
connection.execute("BEGIN IMMEDIATE")
connection.execute("CREATE TABLE long_import (n INTEGER)")
connection.executemany("INSERT INTO long_import VALUES (?)", [(n,) for n in range(10000)])
print("holding the write lock", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def test_pages_that_read_do_not_wait_for_another_process_writing(tmp_path):
    """A second process (standing in for a long CLI import) holds SQLite's write lock; pages that only
    read answer at once from the last committed state instead of waiting, then failing "locked"."""
    import subprocess
    import sys
    import time

    from crm.accounts.models import User
    from crm.countries.services import load_reference
    from tests.conftest import TEST_PASSWORD, sign_in

    path = tmp_path / "busy.db"
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SQLITE_BUSY_TIMEOUT_MS": 4000,
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "DATA_ENCRYPTION_KEYS": ["dGVzdC1rZXktZm9yLWVuY3J5cHRpb24tYXQtcmVzdCE="],
        }
    )
    with app.app_context():
        db.create_all()
        load_reference()
        user = User(email="reader@example.org", name="Reader", role="coordinator")
        user.set_password(TEST_PASSWORD)
        db.session.add(user)
        db.session.commit()
        client = app.test_client()
        sign_in(client, user)
        db.session.remove()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "12"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "holding the write lock"
        for page in ("/my-work", "/countries/SWE", "/countries/", "/contacts"):
            started = time.monotonic()
            response = client.get(page)
            took = time.monotonic() - started
            assert response.status_code == 200 and took < 2, (page, response.status_code, took)
        assert writer.poll() is None  # the other process still held the lock throughout
    finally:
        writer.kill()
        writer.wait(timeout=10)
        with app.app_context():
            db.engine.dispose()
