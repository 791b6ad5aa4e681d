"""What staff do, in a real browser: sign in, open a country, log a meeting with a follow-up,
switch the interface to Spanish."""

import datetime as dt
import re

import pytest

from crm import clock

# The browser talks to a real server in another process: dates come from the real clock, in UTC.
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sign_in_and_open_a_country(page):
    # On a phone the menu is folded until it is opened.
    assert not page.get_by_role("link", name="Countries").is_visible()
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="Countries").click()
    page.fill("#q", "Argentina")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Argentina").click()
    assert page.locator("h1").inner_text() == "Argentina"
    assert page.get_by_text("Lima Group statement of 21 May 2018").first.is_visible()
    facts = page.locator("table.rome-facts")
    assert "State Party" in facts.inner_text() and "verified" in facts.inner_text()


def test_log_a_meeting_with_a_follow_up_on_a_phone(page):
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name="Germany").click()
    page.get_by_role("link", name="Log a meeting").click()
    page.fill("#summary", "Met the political counsellor; Germany will study the referral.")
    # One tap per position: a row of buttons for each demand.
    page.get_by_role("group", name=re.compile(r"^3\. ICC referral")).get_by_text("Non-committal").click()
    # Where, the outcome and the next step are folded together, after the fields used every time.
    page.get_by_text("More: where, outcome, next step, joint meeting").click()
    page.fill("#outcome", "Asked for our dossier.")
    page.fill("#next_note", "Send the dossier to the counsellor")
    due = (clock.today() + dt.timedelta(days=5)).isoformat()
    page.fill("#next_due", due)
    page.get_by_role("button", name="Save meeting").click()
    # The form is sent in the background (static/js/drafts.js): wait for the server's answer.
    page.get_by_text("Meeting logged.").wait_for()
    assert "Germany will study the referral" in page.locator("main").inner_text()
    page.get_by_role("link", name="Germany").click()
    timeline = page.locator("ol.timeline").inner_text()
    assert "Send the dossier to the counsellor" in timeline
    assert "Met the political counsellor" in timeline
    page.goto("/follow-ups")
    assert "Send the dossier to the counsellor" in page.locator("table").inner_text()


def test_switch_to_spanish_and_see_the_same_page_translated(page):
    page.goto("/countries/DEU")
    assert page.locator("h1").inner_text() == "Germany"
    page.get_by_role("button", name="Español").click()
    page.wait_for_load_state()
    assert re.search(r"/countries/DEU$", page.url)
    assert page.locator("h1").inner_text() == "Alemania"
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Estado Parte" in page.locator("table.rome-facts").inner_text()
    page.get_by_text("Menú", exact=True).click()
    assert page.get_by_role("link", name="Países").is_visible()
    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "Germany"


def test_record_a_reply_to_a_letter(page):
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name="Canada").click()
    page.locator("ol.timeline").get_by_role(
        "link", name=re.compile("three demands from the Venezuelan diaspora")
    ).click()
    page.get_by_role("link", name="Log a reply").click()
    page.fill("#received_on", (clock.today() - dt.timedelta(days=1)).isoformat())
    page.select_option("#channel", "email")
    page.fill("#subject", "Re: Justice for Venezuela — answer from Global Affairs Canada")
    page.fill("#body", "Canada thanks the diaspora and confirms its support for the referral.")
    page.get_by_role("button", name="Log reply").click()
    page.get_by_text("Reply logged.").wait_for()
    assert "answer from Global Affairs Canada" in page.locator("main").inner_text()
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name="Canada").click()
    assert "answer from Global Affairs Canada" in page.locator("ol.timeline").inner_text()


def test_log_a_meeting_with_someone_met_for_the_first_time_by_tapping(page):
    """The diplomat met for the first time is recorded in the same submit; attendees are found by
    typing a few letters into the list's filter and ticked."""
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name="Spain").click()
    page.get_by_role("link", name="Log a meeting").click()
    page.select_option("#office", index=1)
    # Their side: boxes to tick, one per person of the government's offices.
    their_side = page.get_by_role("group", name="Attendees (their side)")
    assert their_side.locator("input[type=checkbox]").count() >= 1
    page.get_by_text("Met someone not on the list?").click()
    page.fill("#new_contact_name", "Inés Recién Llegada")
    page.fill("#new_contact_title", "Consejera política")
    # Our side starts with the person logging, already ticked, and is folded; a few letters find a colleague
    # (accents and case ignored), and what is ticked stays in view.
    page.get_by_text("Our side: Administrator").click()
    our_side = page.get_by_role("group", name="Attendees (our side)")
    assert our_side.locator("input:checked").count() == 1
    assert our_side.locator("li").first.inner_text().strip() == "Administrator"
    everyone = our_side.locator("li").count()
    our_side.get_by_role("searchbox").fill("MUÉSTRA")
    assert [t.strip() for t in our_side.locator("li:visible").all_inner_texts()] == [
        "Administrator",
        "Luisa Muestra (demo)",
    ]
    our_side.get_by_label("Luisa Muestra (demo)").check()
    our_side.get_by_role("searchbox").fill("")
    assert our_side.locator("li:visible").count() == everyone
    page.fill("#summary", "First meeting with the new political counsellor.")
    page.get_by_role("group", name=re.compile(r"^1\. ")).get_by_text("Supportive").click()
    page.get_by_role("button", name="Save meeting").click()
    # The form is sent in the background (static/js/drafts.js): wait for the server's answer.
    page.get_by_text("Meeting logged.").wait_for()
    their = page.locator("dt:text-is('Attendees (their side)') + dd").inner_text()
    ours = page.locator("dt:text-is('Attendees (our side)') + dd").inner_text()
    assert "Inés Recién Llegada (Consejera política)" in their
    assert sorted(ours.split(", ")) == ["Administrator", "Luisa Muestra (demo)"]
