"""Issue 17, joint statements, done when: in a real browser against a real gunicorn, a visitor (not signed
in, on a 360 px phone, in Spanish) signs a statement, confirms through the link read from a real SMTP server
on loopback, a coordinator approves the signature, and it appears on the public page; withdrawn from the
e-mail's other link, it leaves the list. Nothing is loaded from another origin, and no page is wider than
the phone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import BIN, ROOT, SET_PASSWORD, _free_port, served
from tests.e2e.test_every_page_fits import AXE_RUN, AXE_SOURCE
from tests.reminders.conftest import SMTPServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAMPAIGN = "justice-for-venezuela-2018"
COORDINATOR = "coordinator.demo@example.org"
PASSWORD = "a coordinator's long passphrase"
SIGNER = "ana@accionsolidaria.info"
TEXT_ES = "Las organizaciones firmantes nos solidarizamos con quienes defienden los derechos humanos en Venezuela."


def flask(env, *args, stdin=None):
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
    )


def public_form_env(instance, smtp, port) -> dict:
    """An install's environment for a public form's test: its own SQLite database, mail to the loopback
    SMTP server, links built on the served address, a short minimum time to fill the form."""
    return {
        **os.environ,
        "ALCANCE_ENV": "development",
        "ALCANCE_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "joint-statement-secret",
        "DATABASE_URL": f"sqlite:///{instance}/statement.db",
        "ALCANCE_ADMIN_EMAIL": "statement-admin@example.org",
        "ALCANCE_ADMIN_PASSWORD": "an organiser passphrase long enough",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_DEFAULT_SENDER": "alcance@example.org",
        "ALCANCE_BASE_URL": f"http://127.0.0.1:{port}",
        "PUBLIC_FORM_MIN_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    """The demo on a fresh database, a real SMTP server, and gunicorn with two workers serving it."""
    instance = tmp_path_factory.mktemp("joint-statement")
    smtp = SMTPServer()
    smtp.start()
    port = _free_port()
    env = public_form_env(instance, smtp, port)
    flask(env, "setup")
    subprocess.run(
        [sys.executable, "-c", SET_PASSWORD, PASSWORD, COORDINATOR], cwd=ROOT, env=env, check=True, capture_output=True
    )
    text_file = instance / "declaracion.txt"
    text_file.write_text(TEXT_ES + "\n", encoding="utf-8")
    slug = flask(
        env,
        "statements",
        "create",
        "--campaign",
        CAMPAIGN,
        "--title",
        "En solidaridad con las personas defensoras",
        "--text-file",
        str(text_file),
        "--language",
        "es",
    ).stdout.strip()
    try:
        with served(env, instance, port) as base:
            yield {"base": base, "env": env, "smtp": smtp, "slug": slug, "log": instance / "server.log"}
    finally:
        smtp.stop()


def links_sent_to(install, address: str, prefix: str = "/s") -> dict[str, str]:
    """Deliver what is queued, as the scheduler's sweep does, and read the links from the e-mail received
    (a statement's under /s, a hosted petition's under /sign)."""
    flask(install["env"], "reminders", "deliver")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = install["smtp"].mailbox.to(address)
        if messages:
            body = messages[-1].get_body(preferencelist=("plain",)).get_content()
            return {
                kind: re.search(rf"https?://\S+{prefix}/{kind}/[\w-]+", body).group(0)
                for kind in ("confirm", "withdraw")
            }
        time.sleep(0.2)
    raise AssertionError(f"no confirmation reached {address}")


def phone(browser, base, locale):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=base, locale=locale, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return context, page, requests


def fits(page) -> None:
    """No wider than the phone, and no serious or critical accessibility fault (axe-core)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide on a 360 px screen"
    if AXE_SOURCE:
        page.evaluate(AXE_SOURCE)
        assert page.evaluate(AXE_RUN) == [], page.url


def listed(page) -> str:
    return page.locator("section[aria-labelledby=signatories]").inner_text()


def test_a_visitor_signs_in_spanish_a_coordinator_approves_and_the_signer_withdraws(browser, install):
    base, slug = install["base"], install["slug"]
    visitor, page, requests = phone(browser, base, "es-ES")
    page.goto(f"/s/{slug}")
    assert page.locator("html").get_attribute("lang") == "es"
    assert TEXT_ES in page.locator("article").inner_text()
    assert "Todavía no hay firmas en la lista." in listed(page)
    fits(page)
    page.fill("#organisation", "Acción Solidaria")
    page.select_option("#country", "VEN")
    page.fill("#website", "accionsolidaria.info")
    page.fill("#signer_name", "Ana Pérez")
    page.fill("#signer_role", "Directora")
    page.fill("#email", SIGNER)
    page.check("#publish_logo")
    page.check("#consent")
    page.wait_for_timeout(2100)  # a person takes longer than the form's minimum time
    page.get_by_role("button", name="Firmar", exact=True).click()
    page.wait_for_url(re.compile(rf"/s/{slug}\?lang=es#sent$"))
    assert "Casi listo: enviamos un enlace a ana@accionsolidaria.info" in page.locator("#sent").inner_text()
    assert "Acción Solidaria" not in listed(page)  # not counted before it is confirmed
    fits(page)

    links = links_sent_to(install, SIGNER)
    page.goto(links["confirm"])
    assert "Acción Solidaria" in page.locator("main").inner_text()
    page.get_by_role("button", name="Confirmar mi firma").click()
    assert "Gracias: su firma está confirmada" in page.locator("h1").inner_text()
    fits(page)
    page.goto(f"/s/{slug}")
    assert "Acción Solidaria" not in listed(page)  # confirmed, waiting for the campaign's check

    staff = browser.new_context(viewport={"width": 412, "height": 915}, base_url=base, locale="en-GB")
    coordinator = staff.new_page()
    coordinator.goto("/login")
    coordinator.fill("#email", COORDINATOR)
    coordinator.fill("#password", PASSWORD)
    coordinator.click("button[type=submit]")
    coordinator.wait_for_url(base + "/")
    coordinator.goto(f"/campaigns/{CAMPAIGN}/statements")
    coordinator.get_by_role("link", name="En solidaridad con las personas defensoras").click()
    card = coordinator.locator("section[aria-labelledby=queue] .card", has_text="Acción Solidaria")
    assert SIGNER in card.inner_text()  # coordinators see the address; the public never does
    card.locator("form[action$='/approve'] button").click()
    coordinator.wait_for_url(re.compile(r"/statements/\d+#queue$"))
    approved = coordinator.locator("section[aria-labelledby=approved]").inner_text()
    assert "Acción Solidaria" in approved
    staff.close()

    page.goto(f"/s/{slug}")
    public_list = listed(page)
    assert "Acción Solidaria" in public_list and "Venezuela" in public_list and "1 firma hasta ahora." in public_list
    body = page.content()
    assert SIGNER not in body and "Ana Pérez" not in body
    fits(page)

    page.goto(links["withdraw"])
    page.get_by_role("button", name="Retirar esta firma").click()
    assert "La firma está retirada" in page.locator("h1").inner_text()
    page.goto(f"/s/{slug}")
    assert "Acción Solidaria" not in listed(page)
    assert "Todavía no hay firmas en la lista." in listed(page)

    assert all(url.startswith(base) for url in requests), [url for url in requests if not url.startswith(base)]
    visitor.close()
    # The links were used, not logged: the access log keeps neither secret.
    log = install["log"].read_text()
    for link in links.values():
        assert link.rsplit("/", 1)[1] not in log
    assert "/s/confirm/[redacted]" in log and "/s/withdraw/[redacted]" in log
