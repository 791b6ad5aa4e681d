"""Every page fits a phone and a desktop, in English and Spanish, for every role: a user signs in, opens
the menu, and visits each page the menu and the demo data lead to. No page is wider than the window, no
page has a serious or critical accessibility fault (axe-core), and every control of the menu and of the
meeting form is at least 44 x 44 px."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ROOT, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE, DESKTOP = {"width": 360, "height": 740}, {"width": 1366, "height": 900}
AXE_SOURCE = AXE.read_text() if AXE.exists() else ""
MIN_TARGET = 44
# Not pages: files to download, feeds, images, and the raw HTML of an e-mail in the outbox.
NOT_PAGES = re.compile(r"\.(csv|ics|pdf|svg|vcf)$|/attachments/|/outbox/\d+/html$|^/static/|^/logout")
# Two pages of the same kind differ only in their ids, codes or query: one of each is visited.
IDS = re.compile(r"/(\d+|[A-Z]{3})(?=/|$)")

TOUCH_TARGETS = """(selector) => {
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.type === 'hidden' || !el.getClientRects().length) continue;
    // A box or a round button is tapped through its label.
    const target = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label') ? el.closest('label') : el;
    const box = target.getBoundingClientRect();
    if (box.width < MIN_TARGET || box.height < MIN_TARGET) {
      small.push(`${el.tagName.toLowerCase()} "${(target.innerText || el.name || el.id || '').trim().slice(0, 40)}" `
                 + `${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}""".replace("MIN_TARGET", str(MIN_TARGET))

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
}"""


def _kind(url: str) -> str:
    parts = urlsplit(url)
    return IDS.sub("/N", parts.path)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "main a[href], header a[href]", "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)"
    )
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or NOT_PAGES.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _open_menu(page) -> None:
    menu = page.locator("details.menu")
    if menu.count() and page.locator("details.menu > summary").is_visible():
        if menu.get_attribute("open") is None:
            page.locator("details.menu > summary").click()
        assert page.locator("nav[aria-label] ul").is_visible()


def _pages_of(page, live_server: str, limit: int = 60) -> list[str]:
    """The menu's pages, then one page of each kind they link to (two clicks deep)."""
    _open_menu(page)
    menu = page.eval_on_selector_all("details.menu a[href]", "els => els.map(e => new URL(e.href).pathname)")
    kinds, queue, visited = set(), [(u, 0) for u in menu], []
    while queue and len(visited) < limit:
        url, depth = queue.pop(0)
        kind = _kind(url)
        if kind in kinds:
            continue
        kinds.add(kind)
        response = page.goto(url)
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        visited.append(url)
        if depth < 2:
            queue.extend((link, depth + 1) for link in _links(page, live_server) if _kind(link) not in kinds)
    return visited


def _check(page, url: str, viewport: dict, failures: list[str], where: str) -> None:
    page.goto(url)
    if not page.evaluate("typeof axe !== 'undefined'"):
        # Through the DevTools protocol, not a <script>: the page's CSP rightly refuses inline scripts.
        page.evaluate(AXE_SOURCE)
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > viewport["width"]:
        failures.append(f"{where} {url}: the page is {wide} px wide")
    for violation in page.evaluate(AXE_RUN):
        failures.append(f"{where} {url}: {violation}")
    if "/meetings/new" in url:
        for small in page.evaluate(
            TOUCH_TARGETS,
            "main form input, main form select, main form textarea, main form button, main form summary, main form a",
        ):
            failures.append(f"{where} {url}: meeting form target {small}")


def _switch_language(page, language: str) -> None:
    button = page.locator(f"form.language button[value={language}]")
    if button.count():
        button.click()
        page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language


@pytest.mark.parametrize("role", ["admin", "manager", "coordinator", "volunteer"])
def test_every_page_fits_a_phone_and_a_desktop_in_both_languages(browser, live_server, role_accounts, role):
    assert AXE.exists(), "axe-core is missing: `make install-test` installs it with npm"
    email, password, totp = role_accounts[role]
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    failures: list[str] = []
    try:
        sign_in(page, live_server, email, password, totp)
        _switch_language(page, "en")
        urls = _pages_of(page, live_server)
        assert len(urls) >= 8 and any(u.endswith("/meetings/new") for u in urls), urls
        for language in ("en", "es"):
            page.goto("/")
            _switch_language(page, language)
            for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                page.set_viewport_size(viewport)
                page.goto("/")
                _open_menu(page)
                for small in page.evaluate(TOUCH_TARGETS, "header.site a, header.site button, header.site summary"):
                    failures.append(f"{role} {language} {name}: menu target {small}")
                for url in urls:
                    _check(page, url, viewport, failures, f"{role} {language} {name}")
    finally:
        page.goto("/")
        _switch_language(page, "en")
        context.close()
    assert not failures, "\n".join(failures)


FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  const el = document.activeElement;
  const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const shadow = style.boxShadow !== 'none';
  return {tag: el.tagName.toLowerCase(), type: el.type || "", name: el.name || "", visible: ring || shadow};
}"""


def test_keyboard_focus_is_always_visible_on_the_meeting_form(page):
    """Tabbing through the menu and the meeting form, every focused control is outlined (or ringed)."""
    page.set_viewport_size(PHONE)
    page.goto("/campaigns/justice-for-venezuela-2018")
    page.get_by_role("link", name="Germany").click()
    page.get_by_role("link", name="Log a meeting").click()
    # Tab only once the form's page has loaded: a key pressed while the click's navigation is still on
    # its way lands on the old page, and the new one then starts with the focus on its body.
    page.wait_for_url(re.compile(r"/meetings/new$"))
    page.wait_for_load_state("load")
    seen = set()
    for _ in range(25):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_RING)
        if focus["tag"] == "body":  # past the last control: the folded form is shorter than 25 stops
            break
        seen.add(focus["tag"])
        assert focus["visible"], focus
    assert {"a", "summary", "input", "select", "button"} <= seen
