"""Real-browser tests: a real gunicorn (two workers) on a freshly set-up SQLite database with the demo,
driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ADMIN_EMAIL = "e2e-admin@example.org"
ADMIN_PASSWORD = "e2e passphrase long enough"
# The screenshots the README shows (docs/*.png) are written there only when asked for
# (ALCANCE_UPDATE_SCREENSHOTS=1, README "Development"): a test run leaves the working tree as it found it.
UPDATE_SCREENSHOTS = os.environ.get("ALCANCE_UPDATE_SCREENSHOTS") == "1"


@pytest.fixture
def screenshot_path(tmp_path):
    """Where a README screenshot named `name` goes: docs/ when updating them, else this test's own folder."""

    def path(name: str) -> Path:
        folder = ROOT / "docs" if UPDATE_SCREENSHOTS else tmp_path
        folder.mkdir(exist_ok=True)
        return folder / name

    return path


# Chromium must not try to reach the network at start (the machine has none; see README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url}")


@contextmanager
def served(env: dict, instance: Path, port: int):
    """The app as `make run` serves it: gunicorn with Alcance's settings (crm/serving.py) and two workers,
    its access log in the instance's server.log, stopped when the block ends."""
    with open(instance / "server.log", "w") as log:
        process = subprocess.Popen(
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
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base + "/healthz", process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("e2e-instance")
    env = {
        **os.environ,
        "ALCANCE_ENV": "development",
        "ALCANCE_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "e2e-secret",
        "DATABASE_URL": f"sqlite:///{instance}/e2e.db",
        "ALCANCE_ADMIN_EMAIL": ADMIN_EMAIL,
        "ALCANCE_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "setup"], cwd=ROOT, env=env, check=True, capture_output=True)
    # Admins must sign in with a second factor: give the admin one, and keep its key to make codes.
    enrolled = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "users", "enroll-2fa", ADMIN_EMAIL],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    uri = next(line for line in enrolled.stdout.splitlines() if line.startswith("otpauth://"))
    ADMIN_TOTP["secret"] = parse_qs(urlsplit(uri).query)["secret"][0]
    port = _free_port()
    SERVER_LOG["path"] = instance / "server.log"
    LIVE["env"], LIVE["port"] = env, port
    with served(env, instance, port) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


ADMIN_TOTP: dict = {"secret": None, "last_step": None}
SERVER_LOG: dict = {"path": None}
LIVE: dict = {"env": None, "port": None}


def admin_code() -> str:
    """A code for the admin's authenticator that was not used yet: Alcance accepts each code once, so a
    second sign-in within the same 30 seconds waits for the next code."""
    step = int(time.time()) // 30
    if ADMIN_TOTP["last_step"] is not None and step <= ADMIN_TOTP["last_step"]:
        time.sleep((ADMIN_TOTP["last_step"] + 1) * 30 - time.time() + 0.5)
        step = int(time.time()) // 30
    ADMIN_TOTP["last_step"] = step
    return pyotp.TOTP(ADMIN_TOTP["secret"]).at(step * 30)


def sign_in_as_admin(page, live_server) -> None:
    """Both steps: the password, then a code from the authenticator."""
    page.goto("/login")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/login/2fa")
    page.fill("#code", admin_code())
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")


@pytest.fixture(scope="session")
def admin_session(browser, live_server):
    """The cookies of one signed-in admin, shared by the tests' windows (one sign-in per run)."""
    context = browser.new_context(base_url=live_server, locale="en-GB")
    sign_in_as_admin(context.new_page(), live_server)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def page(browser, live_server, admin_session):
    """A signed-in admin's page, in a phone-sized window (staff log meetings on their phones)."""
    context = browser.new_context(
        viewport={"width": 412, "height": 915},
        base_url=live_server,
        locale="en-GB",
        is_mobile=True,
        has_touch=True,
        storage_state=admin_session,
    )
    page = context.new_page()
    page.goto("/")
    yield page
    context.close()


def flask_command(*args: str, stdin: str | None = None) -> str:
    """Run `flask --app wsgi ARGS` against the live server's database; returns what it printed."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=LIVE["env"],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
    )
    return done.stdout


ROLE_PASSWORD = "e2e role passphrase long enough"
MANAGER_EMAIL = "e2e-manager@example.org"
# The demo's own coordinator and volunteer (they have records assigned), given a password for the tests.
DEMO_ROLE_EMAILS = {"coordinator": "coordinator.demo@example.org", "volunteer": "volunteer.demo@example.org"}
SET_PASSWORD = """
import sys
from crm import create_app
from crm.accounts.services import find_by_email, replace_password
from crm.extensions import db
app = create_app()
with app.app_context():
    for email in sys.argv[2:]:
        replace_password(find_by_email(email), sys.argv[1])
    db.session.commit()
"""


@pytest.fixture(scope="session")
def role_accounts(live_server):
    """One account of each role, with what it signs in with: admin and manager have a second factor."""
    flask_command(
        "users", "create", MANAGER_EMAIL, "--name", "E2E Manager", "--role", "manager", stdin=ROLE_PASSWORD + "\n"
    )
    uri = next(
        line
        for line in flask_command("users", "enroll-2fa", MANAGER_EMAIL).splitlines()
        if line.startswith("otpauth://")
    )
    subprocess.run(
        [sys.executable, "-c", SET_PASSWORD, ROLE_PASSWORD, *DEMO_ROLE_EMAILS.values()],
        cwd=ROOT,
        env=LIVE["env"],
        check=True,
        capture_output=True,
    )
    return {
        "admin": (ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP),
        "manager": (
            MANAGER_EMAIL,
            ROLE_PASSWORD,
            {"secret": parse_qs(urlsplit(uri).query)["secret"][0], "last_step": None},
        ),
        "coordinator": (DEMO_ROLE_EMAILS["coordinator"], ROLE_PASSWORD, None),
        "volunteer": (DEMO_ROLE_EMAILS["volunteer"], ROLE_PASSWORD, None),
    }


def fresh_code(totp: dict) -> str:
    """A code of this authenticator not used yet (each code is accepted once)."""
    step = int(time.time()) // 30
    if totp["last_step"] is not None and step <= totp["last_step"]:
        time.sleep((totp["last_step"] + 1) * 30 - time.time() + 0.5)
        step = int(time.time()) // 30
    totp["last_step"] = step
    return pyotp.TOTP(totp["secret"]).at(step * 30)


def sign_in(page, live_server, email: str, password: str, totp: dict | None) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    if totp is not None:
        page.wait_for_url(live_server + "/login/2fa")
        page.fill("#code", fresh_code(totp))
        page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
