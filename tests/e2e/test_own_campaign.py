"""Issue 12, done when: from an empty install (no demo), in a real browser against a real gunicorn, an admin
sets up a campaign of their own, invites a coordinator and a volunteer (the links read from a real SMTP
server on loopback), the coordinator assigns five records, the volunteer logs a meeting and records the
new contact met there, and the campaign is on the dashboard with its targets. Then `demo remove` on that
install, once the demo is loaded beside it, leaves the campaign untouched (row counts compared)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time

import pyotp
import pytest

from tests.e2e.conftest import BIN, CHROMIUM_ARGS, ROOT, _free_port, _wait_for, served  # noqa: F401
from tests.reminders.conftest import SMTPServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN_EMAIL = "organiser@example.org"
ADMIN_PASSWORD = "long enough e2e passphrase"
PASSWORD = "a passphrase nobody else typed"
DEMANDS = [
    ("Repudiate the election", "Repudiar la elección"),
    ("Open solidarity mechanisms", "Abrir mecanismos de solidaridad"),
    ("Refer the situation to the ICC", "Remitir la situación a la CPI"),
]


def flask(env, *args, check=True):
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def empty_install(tmp_path_factory):
    """A fresh install with ALCANCE_DEMO=0, a real SMTP server, and gunicorn serving it."""
    instance = tmp_path_factory.mktemp("own-campaign")
    smtp = SMTPServer()
    smtp.start()
    env = {
        **os.environ,
        "ALCANCE_ENV": "development",
        "ALCANCE_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "own-campaign-secret",
        "DATABASE_URL": f"sqlite:///{instance}/own.db",
        "ALCANCE_ADMIN_EMAIL": ADMIN_EMAIL,
        "ALCANCE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ALCANCE_DEMO": "0",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_DEFAULT_SENDER": "alcance@example.org",
    }
    port = _free_port()
    env["ALCANCE_BASE_URL"] = f"http://127.0.0.1:{port}"
    flask(env, "setup")
    uri = next(
        line
        for line in flask(env, "users", "enroll-2fa", ADMIN_EMAIL).stdout.splitlines()
        if line.startswith("otpauth://")
    )
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    try:
        with served(env, instance, port) as base:
            yield {"base": base, "env": env, "smtp": smtp, "secret": secret, "db": instance / "own.db"}
    finally:
        smtp.stop()


def new_page(browser, base):
    context = browser.new_context(viewport={"width": 360, "height": 800}, base_url=base, locale="en-GB")
    return context.new_page()


def link_sent_to(install, address: str) -> str:
    """Deliver what is queued to the SMTP server, as the scheduler does, and read the link from the e-mail."""
    flask(install["env"], "reminders", "deliver")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = install["smtp"].mailbox.to(address)
        if messages:
            body = messages[-1].get_body(preferencelist=("plain",)).get_content()
            return re.search(r"https?://\S+/invitation/[\w-]+", body).group(0)
        time.sleep(0.2)
    raise AssertionError(f"no invitation reached {address}")


def accept_and_sign_in(page, link, email, name):
    page.goto(link)
    page.fill("#name", name)
    page.fill("#new_password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def table_counts(path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def test_an_organisation_runs_its_own_campaign_from_an_empty_install(browser, empty_install):
    install, base = empty_install, empty_install["base"]
    admin = new_page(browser, base)
    admin.goto("/login")
    admin.fill("#email", ADMIN_EMAIL)
    admin.fill("#password", ADMIN_PASSWORD)
    admin.click("button[type=submit]")
    admin.fill("#code", pyotp.TOTP(install["secret"]).now())
    admin.click("button[type=submit]")
    admin.wait_for_url(base + "/")
    assert "Start your own campaign" in admin.locator("main").inner_text()

    admin.get_by_role("link", name="Create a campaign").click()
    admin.fill("#name", "Free elections in Venezuela")
    admin.fill("#name_es", "Elecciones libres en Venezuela")
    admin.fill("#slug", "free-elections")
    for index, (english, spanish) in enumerate(DEMANDS):
        admin.fill(f"#demands-{index}-label", english)
        admin.fill(f"#demands-{index}-label_es", spanish)
    admin.get_by_role("button", name="Create campaign").click()
    admin.wait_for_url(base + "/campaigns/free-elections/targets")
    admin.select_option("#region", "419")
    admin.select_option("#rome_status", "state_party")
    admin.fill("#names", "Alemania, FRA, Reino Unido")
    admin.get_by_role("button", name="Add targets").click()
    added = int(re.search(r"(\d+) target governments added", admin.locator(".flash").inner_text()).group(1))
    assert added > 20  # every state party in Latin America and the Caribbean, and the three named
    targets = admin.locator("main table tbody").inner_text()
    for name in ("Germany", "France", "United Kingdom", "Venezuela", "Argentina"):
        assert name in targets

    for email, role in (("coco@example.org", "coordinator"), ("vero@example.org", "volunteer")):
        admin.goto("/admin/users/invite")
        admin.fill("#email", email)
        admin.select_option("#role", role)
        admin.get_by_role("button", name="Send the invitation").click()
        assert "Invitation sent to " + email in admin.locator(".flash").inner_text()

    coordinator = new_page(browser, base)
    accept_and_sign_in(coordinator, link_sent_to(install, "coco@example.org"), "coco@example.org", "Coco Coordinadora")
    volunteer = new_page(browser, base)
    accept_and_sign_in(volunteer, link_sent_to(install, "vero@example.org"), "vero@example.org", "Vero Voluntaria")

    coordinator.goto("/board")
    boxes = coordinator.locator("input[name=record]")
    for index in range(5):
        boxes.nth(index).check()
    coordinator.select_option("#assignee", label="Vero Voluntaria")
    coordinator.get_by_role("button", name="Apply to ticked records").click()
    assert "5 records changed." in coordinator.locator(".flash").inner_text()

    volunteer.goto("/my-work")
    rows = volunteer.locator("main table tbody tr")
    assert rows.count() == 5
    government = rows.first.locator("a").first.inner_text()
    rows.first.get_by_role("link", name="Log meeting").click()
    volunteer.fill("#summary", "Met the new chargé d'affaires; they will forward the three demands.")
    volunteer.get_by_role("button", name="Save meeting").click()
    volunteer.get_by_text("Meeting logged.").wait_for()  # the form saves through fetch, then shows the answer
    volunteer.goto("/offices/new")
    volunteer.select_option("#kind", "embassy")
    volunteer.fill("#name", f"Embassy of {government} in Madrid")
    volunteer.select_option("#country", label=government)
    volunteer.fill("#city", "Madrid")
    volunteer.select_option("#host_country", label="Spain")
    volunteer.get_by_role("button", name="Save").click()
    assert volunteer.get_by_text("Office saved.").is_visible()
    volunteer.get_by_role("link", name="Add a contact").click()
    volunteer.fill("#name", "Nueva Diplomática")
    volunteer.fill("#title", "Chargé d'affaires")
    volunteer.get_by_role("button", name="Save").click()
    assert volunteer.get_by_text("Contact saved.").is_visible()
    assert volunteer.locator("h1").inner_text() == "Nueva Diplomática"

    # An embassy list is previewed, then imported from the copy the server kept in between (whichever of
    # the two workers answers each step), and the copy is gone once the import is done.
    admin.goto("/contacts/import")
    admin.set_input_files(
        "#file",
        files=[
            {
                "name": "embajadas.csv",
                "mimeType": "text/csv",
                "buffer": (
                    "Nombre,Cargo,Sede,País,Ciudad,País sede\n"
                    "Hanna Beispiel,Botschaftsrätin,Embajada de Alemania,Alemania,Madrid,España\n"
                    "Jean Exemple,Conseiller,Ambassade de France,FRA,Madrid,ESP\n"
                ).encode(),
            }
        ],
    )
    admin.get_by_role("button", name="Preview", exact=True).click()
    assert "Contacts to add: 2" in admin.locator("main").inner_text()
    admin.get_by_role("button", name="Import these contacts").click()
    assert "Import done: 2 contacts added" in admin.locator(".flash").inner_text()
    staged = install["env"]["ALCANCE_INSTANCE_PATH"] + "/contact_uploads"
    assert not [name for name in os.listdir(staged) if name.endswith(".upload")]

    # Every new page fits a 360 px screen: nothing wider than the window scrolls the page sideways.
    for path in (
        "/",
        "/campaigns/manage",
        "/campaigns/new",
        "/campaigns/free-elections/edit",
        "/campaigns/free-elections/demands",
        "/campaigns/free-elections/settings",
        "/campaigns/free-elections/targets",
        "/admin/users/invite",
        "/admin/users",
        "/contacts/import",
    ):
        admin.goto(path)
        width = admin.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)

    admin.goto("/dashboard/")
    entry = admin.locator("ul.dashboard-campaigns li").filter(has_text="Free elections in Venezuela")
    assert f"{added} target governments" in entry.inner_text()

    # demo remove on an install that has both: the user's campaign and all around it stay as they were.
    before = table_counts(install["db"])
    assert "loaded" in flask(install["env"], "seed", "demo").stdout
    loaded = table_counts(install["db"])
    removed = flask(install["env"], "demo", "remove")
    assert removed.stdout.startswith("demo campaign: removed")
    after = table_counts(install["db"])
    # The audit log alone keeps the demo's history, and one line more: the removal.
    assert {table for table in after if after[table] != before[table]} == {"audit_event"}
    assert after["audit_event"] == loaded["audit_event"] + 1
