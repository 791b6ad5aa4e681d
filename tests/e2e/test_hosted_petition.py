"""Issue 18, hosted petitions, done when: in a real browser against a real gunicorn, a visitor (not signed
in, on a 360 px phone, in Spanish) signs, confirms through the link read from a real SMTP server on
loopback, and finds the signature counted once in the totals of their country of residence; a second
signer, already imported from an Action Network file, confirms too and is not counted twice."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import _free_port, served
from tests.e2e.test_joint_statement import CAMPAIGN, fits, flask, links_sent_to, phone, public_form_env
from tests.reminders.conftest import SMTPServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_SIGNER = "lucia@example.org"
IMPORTED_SIGNER = "ana@example.org"  # in tests/signatures/fixtures/action_network.csv, living in Spain
ACTION_NETWORK = "tests/signatures/fixtures/action_network.csv"


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    """The demo, an Action Network file imported, a hosted petition, SMTP on loopback, gunicorn."""
    instance = tmp_path_factory.mktemp("hosted-petition")
    smtp = SMTPServer()
    smtp.start()
    port = _free_port()
    env = public_form_env(instance, smtp, port)
    flask(env, "setup")
    imported = flask(
        env, "petitions", "create", "--campaign", CAMPAIGN, "--name", "Action Network", "--platform", "action_network"
    ).stdout.strip()
    flask(env, "signatures", "import", "--petition", imported, ACTION_NETWORK)
    slug = flask(
        env, "petitions", "create", "--campaign", CAMPAIGN, "--name", "Firma aquí", "--platform", "hosted"
    ).stdout.strip()
    try:
        with served(env, instance, port) as base:
            yield {"base": base, "env": env, "smtp": smtp, "slug": slug, "log": instance / "server.log"}
    finally:
        smtp.stop()


def counted(page) -> dict[str, int]:
    """The page's running total, and per country of residence as its table shows them."""
    section = page.locator("section[aria-labelledby=total]")
    numbers = {"total": int(re.sub(r"\D", "", section.locator("p.total").inner_text()))}
    for row in section.locator("table tr").all():
        numbers[row.locator("th").inner_text().strip()] = int(re.sub(r"\D", "", row.locator("td").inner_text()))
    return numbers


def sign_and_confirm(page, install, *, name, email, country):
    slug = install["slug"]
    page.goto(f"/sign/{slug}")
    page.fill("#name", name)
    page.fill("#email", email)
    page.select_option("#country", country)
    page.check("#consent")
    page.wait_for_timeout(2100)  # a person takes longer than the form's minimum time
    page.get_by_role("button", name="Firmar", exact=True).click()
    page.wait_for_url(re.compile(rf"/sign/{slug}\?lang=es&sent=1#sent$"))
    assert "Casi listo" in page.locator("#sent").inner_text()
    fits(page)
    links = links_sent_to(install, email, prefix="/sign")
    page.goto(links["confirm"])
    page.get_by_role("button", name="Confirmar mi firma").click()
    assert "Gracias: su firma está confirmada" in page.locator("h1").inner_text()
    fits(page)
    return links


def test_a_visitor_signs_in_spanish_confirms_and_counts_once_in_their_country(browser, install):
    base, slug = install["base"], install["slug"]
    visitor, page, requests = phone(browser, base, "es-ES")
    page.goto(f"/sign/{slug}")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "7 días" in page.content()
    fits(page)
    before = counted(page)

    links = sign_and_confirm(page, install, name="Lucía Rojas", email=NEW_SIGNER, country="VEN")
    page.goto(f"/sign/{slug}")
    after = counted(page)
    assert after["total"] == before["total"] + 1
    assert after["Venezuela"] == before.get("Venezuela", 0) + 1

    sign_and_confirm(page, install, name="Ana Pérez", email=IMPORTED_SIGNER, country="ESP")
    page.goto(f"/sign/{slug}")
    assert counted(page) == after  # already counted from the Action Network file: once
    assert NEW_SIGNER not in page.content() and "Lucía Rojas" not in page.content()

    assert all(url.startswith(base) for url in requests), [url for url in requests if not url.startswith(base)]
    visitor.close()
    log = install["log"].read_text()
    assert links["confirm"].rsplit("/", 1)[1] not in log and "/sign/confirm/[redacted]" in log
