"""The dashboard in a real browser: an admin opens the demo campaign's dashboard on a desktop screen, the
map is drawn from real country shapes with its legend and table, nothing comes from another origin,
and a screenshot of the map is taken for the README (docs/dashboard-map.png, when updating them)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DASHBOARD = "/dashboard/justice-for-venezuela-2018"


def _new_context(browser, live_server, admin_session, **options):
    """A desktop-sized window holding the signed-in admin's session (the one the `page` fixture uses)."""
    return browser.new_context(
        viewport={"width": 1440, "height": 1000},
        base_url=live_server,
        locale="en-GB",
        storage_state=admin_session,
        **options,
    )


@pytest.fixture
def desktop(browser, live_server, admin_session):
    """The signed-in admin on a desktop screen, recording every request and console error."""
    context = _new_context(browser, live_server, admin_session)
    desk = context.new_page()
    seen = SimpleNamespace(page=desk, requests=[], errors=[], failed=[])
    desk.on("request", lambda request: seen.requests.append(request.url))
    desk.on("response", lambda response: response.status >= 400 and seen.failed.append(response.url))
    # A CSP violation shows as a console error; a missing resource too (checked through `failed`).
    desk.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Failed to load resource" not in message.text
            and seen.errors.append(message.text)
        ),
    )
    yield seen
    context.close()


def test_the_dashboard_map_renders_and_is_saved_for_the_readme(desktop, live_server, screenshot_path):
    page = desktop.page
    page.goto(DASHBOARD)
    assert page.locator("h1").inner_text().startswith("Dashboard: Justice for Venezuela")
    world = page.locator("svg.world-map")
    world.wait_for()
    # Each country is drawn from the shapes' file, served from this app and kept by the browser.
    assert world.locator("use.country").count() == 174
    # Shapes were really drawn: the map fills its column and Argentina has an area on screen.
    box = world.bounding_box()
    assert box["width"] > 600 and box["height"] > 250
    argentina = world.locator('use[data-iso="032"]').bounding_box()
    assert argentina["width"] > 10 and argentina["height"] > 30
    assert world.locator('use[data-iso="032"] title').text_content() == "Argentina: Acted"
    legend = world.locator("g.legend").text_content()
    assert "Acted (7)" in legend and "No answer (5)" in legend and "Not a target (161)" in legend
    # The same data beside it, as a table, one click away.
    page.get_by_text("The map's data as a table").click()
    table = page.locator("#map-data")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 13
    assert table.bounding_box()["x"] > box["x"] + box["width"] - 1  # beside the map, not below it
    # Pages load nothing from another origin, and nothing was blocked by the Content Security Policy.
    assert all(url.startswith(live_server) for url in desktop.requests), desktop.requests
    assert desktop.errors == []
    # The browser asks for /favicon.ico on its own; the app has none.
    assert [url for url in desktop.failed if not url.endswith("/favicon.ico")] == []
    screenshot = screenshot_path("dashboard-map.png")
    page.locator("#map").screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 20_000


def test_a_country_on_the_map_opens_its_positions(desktop):
    page = desktop.page
    page.goto(DASHBOARD)
    page.locator('svg.world-map use[data-iso="124"]').click()  # Canada
    page.wait_for_url(re.compile(r"/outreach/\d+#positions$"))
    assert page.locator("h1").inner_text() == "Canada"
    assert page.url.endswith("#positions")


def test_the_dashboard_works_without_javascript(browser, live_server, admin_session):
    context = _new_context(browser, live_server, admin_session, java_script_enabled=False)
    plain = context.new_page()
    try:
        plain.goto(DASHBOARD + "?region=150#matrix")
        assert plain.locator("svg.world-map use.country").count() == 174
        assert plain.locator("table.matrix-preview tbody tr").count() == 6
        plain.select_option("#region", "005")
        plain.get_by_role("button", name="Filter").click()
        plain.wait_for_url(re.compile(r"[?&]region=005(&|#|$)"))
        assert plain.locator("table.matrix-preview tbody tr").count() == 5
    finally:
        context.close()
