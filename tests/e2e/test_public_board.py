"""The public board in a real browser: an admin publishes the demo campaign's board with one government
and its current positions; a visitor, not signed in, on a 360 px phone in Spanish, sees that government,
its public evidence and the organisations there that co-signed the campaign's statement, nothing internal,
nothing from another origin, and a page that fits the screen."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import LIVE, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "justice-for-venezuela-2018"
# The demo's fictional staff all carry "(demo)" in their names; its contacts are fictional too. A joint
# statement's signers, their addresses and a withheld organisation's name stay inside too.
INTERNAL = (
    "(demo)",
    "Fictional demo contact",
    "e2e-admin@example.org",
    "Signer Kept Inside",
    "@ligue-e2e.example.org",
    "Organisation Kept Withheld",
)
# A statement of the demo campaign, co-signed in France by one organisation by name and one withheld.
CO_SIGN = """
from crm import create_app
from crm.campaigns.models import Campaign
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.statements import services as statements
app = create_app()
with app.app_context():
    statement = statements.create_statement(
        Campaign.by_slug("justice-for-venezuela-2018"),
        {"en": statements.Wording("Solidarity", "Text."), "es": statements.Wording("Solidaridad", "Texto.")},
        actor="e2e",
    )
    for n, (organisation, listing) in enumerate((("Ligue e2e des droits", "named"), ("Organisation Kept Withheld", "withheld"))):
        details = statements.SignUp(
            kind="organisation", country=country_by_code("FRA"), organisation=organisation,
            website="https://ligue-e2e.example.org", signer_name="Signer Kept Inside", signer_role="Director",
            email=f"s{n}@ligue-e2e.example.org", listing=listing, consent=True,
        )
        signature = statements.sign(statement, details, language="en", now=utcnow()).signature
        statements.confirm(signature, now=utcnow())
        statements.approve(signature, actor="e2e", now=utcnow())
    db.session.commit()
"""


def test_a_published_board_shows_the_public_only_what_was_chosen(browser, live_server, page):
    subprocess.run([sys.executable, "-c", CO_SIGN], cwd=ROOT, env=LIVE["env"], check=True, capture_output=True)
    page.goto(f"/campaigns/{SLUG}/board")
    page.get_by_role("button", name="Publish the board").click()
    page.wait_for_url(f"**/campaigns/{SLUG}/board")
    france = page.locator("fieldset.board-entry", has_text="France")
    france.locator("legend input[type=checkbox]").check()
    # Each demand's current position (the first in its list) is made public.
    for position in france.locator("ul.plain").all():
        position.locator("input[type=checkbox]").first.check()
    page.get_by_role("button", name="Save what is public").click()
    page.wait_for_url(f"**/campaigns/{SLUG}/board")
    assert "Saved: 1 governments" in page.locator("body").inner_text()

    visitor = browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=live_server, locale="es-ES", is_mobile=True, has_touch=True
    )
    public = visitor.new_page()
    origins = []
    public.on("request", lambda request: origins.append(request.url))
    response = public.goto(f"/p/{SLUG}")
    assert response.status == 200 and response.headers["cache-control"] == "public, max-age=300"
    assert public.locator("html").get_attribute("lang") == "es"
    rows = public.locator("table.matrix tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-iso") == "FRA"
    assert "Francia" in rows.first.inner_text() and "Fuente" in rows.first.inner_text()
    text = public.locator("body").inner_text()
    assert not any(secret in text for secret in INTERNAL)
    assert "Ligue e2e des droits" in text and "1 organización en Francia, nombre reservado" in text
    width = public.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the board is {width} px wide on a 360 px screen"
    assert all(url.startswith(live_server) for url in origins), origins
    for suffix in (".json", ".csv"):
        body = visitor.request.get(f"{live_server}/p/{SLUG}{suffix}?lang=es").text()
        assert "Francia" in body and "Ligue e2e des droits" in body
        assert not any(secret in body for secret in INTERNAL)
    data = json.loads(visitor.request.get(f"{live_server}/p/{SLUG}.json").text())
    assert [g["iso3"] for g in data["governments"]] == ["FRA"]
    visitor.close()

    page.goto(f"/campaigns/{SLUG}/board")
    page.get_by_role("button", name="Take the board down").click()
    page.wait_for_url(f"**/campaigns/{SLUG}/board")
    assert page.request.get(f"{live_server}/p/{SLUG}").status == 404
