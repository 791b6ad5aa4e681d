"""Pages that fit a screen: on a 360 x 740 phone and a 1366 x 900 desktop, the demo campaign's dashboard is
a few sections each about one screen high, and the meeting form's common case is about one phone screen.
The measurements are printed (pytest -s) for the README; the screenshots of the meeting form and the
record page on a phone are taken for the README (saved in docs/ when updating them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import LIVE, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE, DESKTOP = {"width": 360, "height": 740}, {"width": 1366, "height": 900}
DASHBOARD = "/dashboard/justice-for-venezuela-2018"
HEIGHTS = """() => ({
  page: document.documentElement.scrollHeight,
  sections: [...document.querySelectorAll('main section')].map(s => [s.id, Math.round(s.getBoundingClientRect().height)]),
})"""


def _window(browser, live_server, admin_session, viewport, **options):
    phone = viewport is PHONE
    # Twice the pixels on a phone, as phones have: the screenshots stay sharp; measures are in CSS pixels.
    context = browser.new_context(
        viewport=viewport,
        base_url=live_server,
        locale="en-GB",
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        storage_state=admin_session,
        **options,
    )
    return context, context.new_page()


# Recent changes as a working campaign has them: Canada's record moves a stage on and back, six times.
SOME_CHANGES = """
from crm import create_app
from crm.accounts.services import find_by_email
from crm.campaigns.models import Campaign
from crm.extensions import db
from crm.outreach import services as outreach
app = create_app()
with app.app_context():
    campaign = db.session.query(Campaign).filter_by(slug="justice-for-venezuela-2018").one()
    canada = next(r for r in campaign.outreach_records if r.country.alpha3 == "CAN")
    admin = find_by_email("e2e-admin@example.org")
    stage = canada.stage
    for _ in range(3):
        outreach.set_stage(canada, "closed" if stage != "closed" else "contacted", actor=admin)
        outreach.set_stage(canada, stage, actor=admin)
    db.session.commit()
"""


@pytest.fixture(scope="module")
def some_changes(live_server):
    subprocess.run([sys.executable, "-c", SOME_CHANGES], cwd=ROOT, env=LIVE["env"], check=True, capture_output=True)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_dashboard_is_sections_that_each_fit_a_screen(browser, live_server, admin_session, some_changes, size):
    viewport = PHONE if size == "phone" else DESKTOP
    context, page = _window(browser, live_server, admin_session, viewport)
    try:
        page.goto(DASHBOARD)
        measured = page.evaluate(HEIGHTS)
        print(f"\ndashboard {size}: {measured}")
        screen = viewport["height"]
        assert page.locator("#changes li").count() == 5
        for name, height in measured["sections"]:
            assert height <= screen, f"section {name} is {height} px high on a {size}"
        assert measured["page"] <= 4 * screen, f"the dashboard is {measured['page']} px high on a {size}"
    finally:
        context.close()


def _open_meeting_form(page) -> None:
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name="Germany").click()
    page.get_by_role("link", name="Log a meeting").click()
    page.wait_for_load_state("load")


FORM_HEIGHT = """() => {
  const form = document.querySelector('form.meeting-form');
  const save = form.querySelector('button[type=submit]').getBoundingClientRect();
  const positions = form.querySelector('fieldset.positions-stated').getBoundingClientRect();
  const fields = [...form.querySelectorAll('input, select, textarea')].filter(el =>
      el.type !== 'hidden' && el.getClientRects().length && !el.closest('details:not([open])'));
  const names = new Set(fields.map(el => el.name || el.id));
  return {form: Math.round(form.getBoundingClientRect().height), save_bottom: Math.round(save.bottom + scrollY),
          positions_bottom: Math.round(positions.bottom + scrollY),
          fields: [...names]};
}"""


def test_the_meeting_forms_common_case_is_about_one_phone_screen(browser, live_server, admin_session, screenshot_path):
    context, page = _window(browser, live_server, admin_session, PHONE)
    try:
        _open_meeting_form(page)
        measured = page.evaluate(FORM_HEIGHT)
        print(f"\nmeeting form on a phone: {measured}")
        page.screenshot(path=str(screenshot_path("phone-meeting-form.png")), full_page=True)
        # The common case, all on the screen: when, office, who we met, summary, positions; then our side
        # (the person logging, ticked) and the rest folded, and Save. Before: Save ended at 1,994 px.
        assert measured["fields"] == ["held_at", "office", "contacts", "summary", "stance_1", "stance_2", "stance_3"]
        assert measured["positions_bottom"] <= 1.4 * PHONE["height"], measured
        assert measured["save_bottom"] <= 1.7 * PHONE["height"], measured
        assert page.get_by_role("group", name="Attendees (our side)").is_hidden()
        page.get_by_text("Our side: Administrator").click()
        assert page.get_by_role("group", name="Attendees (our side)").locator("input:checked").count() == 1
    finally:
        context.close()


def test_the_record_page_on_a_phone_is_saved_for_the_readme(browser, live_server, admin_session, screenshot_path):
    context, page = _window(browser, live_server, admin_session, PHONE)
    try:
        page.goto("/campaigns/justice-for-venezuela-2018")
        page.get_by_role("link", name="Germany").click()
        print(f"\nrecord page on a phone: {page.evaluate('document.documentElement.scrollHeight')} px")
        page.screenshot(path=str(screenshot_path("phone-record-page.png")), full_page=True)
    finally:
        context.close()
