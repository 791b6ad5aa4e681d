"""Nothing typed is lost: a meeting being saved when the connection drops stays on the phone as a draft,
comes back after a reload, and is sent once when the server answers again. Sign-out removes drafts, and
the form still works with JavaScript off."""

import re
import sqlite3
import uuid

import pytest

from tests.e2e.conftest import LIVE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def meetings_with(summary: str) -> int:
    """Counted in the live server's own database."""
    path = LIVE["env"]["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM meeting WHERE summary = ?", (summary,)).fetchone()[0]


def drafts_in(page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('alcance:draft:'))")


def _open_meeting_form(page, country: str) -> str:
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name=country).click()
    page.get_by_role("link", name="Log a meeting").click()
    return page.url


def test_a_meeting_saved_while_the_server_is_cut_off_is_kept_and_sent_exactly_once(page):
    form_url = _open_meeting_form(page, "Sweden")
    summary = f"Met the deputy head of mission ({uuid.uuid4().hex[:8]})"
    page.fill("#summary", summary)
    page.get_by_role("group", name=re.compile(r"^2\. ")).get_by_text("Supportive").click()
    page.get_by_text("More: where, outcome, next step, joint meeting").click()
    page.fill("#confidential_notes", "Source inside the ministry: do not repeat")
    # Confidential notes are never left on the phone; everything else is.
    kept = page.evaluate("Object.entries(localStorage).filter(([k]) => k.startsWith('alcance:draft:'))")
    assert len(kept) == 1 and summary in kept[0][1] and "Source inside the ministry" not in kept[0][1]

    # The server is cut off while saving: the request never reaches it.
    page.route(
        form_url, lambda route: route.abort("connectionfailed") if route.request.method == "POST" else route.continue_()
    )
    page.get_by_role("button", name="Save meeting").click()
    notice = page.locator(".draft-notice")
    notice.get_by_text("the server did not answer").wait_for()
    assert meetings_with(summary) == 0

    # Reloaded, the form comes back filled in from the draft kept on the phone.
    page.reload()
    assert page.input_value("#summary") == summary
    assert page.get_by_role("group", name=re.compile(r"^2\. ")).get_by_label("Supportive").is_checked()
    assert "draft kept on this phone" in notice.inner_text()
    assert len(drafts_in(page)) == 1

    # Worse: the server saves it but its answer is lost on the way back. The draft stays.
    def saved_but_unanswered(route):
        if route.request.method == "POST":
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.unroute(form_url)
    page.route(form_url, saved_but_unanswered)
    notice.get_by_role("button", name="Send now").click()
    notice.get_by_text("the server did not answer").wait_for()
    assert meetings_with(summary) == 1 and len(drafts_in(page)) == 1

    # The server is back: sending the draft again finds the meeting already saved, and removes the draft.
    page.unroute(form_url)
    notice.get_by_role("button", name="Send now").click()
    page.get_by_text("This form was already sent and saved; it was not saved again.").wait_for()
    assert summary in page.locator("main").inner_text()
    assert meetings_with(summary) == 1
    assert drafts_in(page) == []


def test_a_meeting_sent_at_once_is_saved_and_leaves_no_draft(page):
    _open_meeting_form(page, "Costa Rica")
    summary = f"Met the ambassador ({uuid.uuid4().hex[:8]})"
    page.fill("#summary", summary)
    assert len(drafts_in(page)) == 1
    page.get_by_role("button", name="Save meeting").click()
    page.get_by_text("Meeting logged.").wait_for()
    assert meetings_with(summary) == 1 and drafts_in(page) == []


def test_sign_out_removes_every_draft(browser, live_server, role_accounts):
    email, password, totp = role_accounts["coordinator"]
    context = browser.new_context(
        base_url=live_server, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, email, password, totp)
        _open_meeting_form(page, "France")
        page.fill("#summary", "Half-typed notes")
        assert len(drafts_in(page)) == 1
        page.get_by_text("Menu", exact=True).click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/login"))
        assert drafts_in(page) == []
    finally:
        context.close()


def test_the_meeting_form_works_without_javascript(browser, live_server, admin_session):
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": 360, "height": 740},
        java_script_enabled=False,
        storage_state=admin_session,
    )
    page = context.new_page()
    try:
        _open_meeting_form(page, "Colombia")
        summary = f"Met the consul ({uuid.uuid4().hex[:8]})"
        page.fill("#summary", summary)
        page.get_by_role("group", name=re.compile(r"^1\. ")).get_by_text("Non-committal").click()
        page.get_by_role("button", name="Save meeting").click()
        assert page.get_by_text("Meeting logged.").is_visible()
        assert meetings_with(summary) == 1
    finally:
        context.close()
