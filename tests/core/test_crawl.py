"""A crawl, as an admin on the demo data: every page linked from the navigation, and the pages they
link to, answers without a server error."""
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

from crm.demo import load_demo
from crm.extensions import db

LINK = re.compile(r'href="([^"#]+)"')
NAV = re.compile(r"<nav aria-label=\"Main\">(.*?)</nav>", re.S)


def _links(html: str, base: str) -> list[str]:
    found = []
    for href in LINK.findall(html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(urljoin(base, href))
        if parts.netloc in ("", "localhost") and not parts.path.startswith("/static/"):
            found.append(parts.path + ("?" + parts.query if parts.query else ""))
    return found


def test_no_page_linked_from_the_navigation_fails(client, signed_in):
    load_demo()
    db.session.commit()
    signed_in("admin")
    home = client.get("/")
    assert home.status_code == 200
    nav = _links(NAV.search(home.get_data(as_text=True)).group(1), "/")
    assert len(nav) >= 3
    seen, failures = set(), []
    queue = deque((url, 0) for url in ["/", *nav])
    while queue and len(seen) < 700:
        url, depth = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
        if depth < 2 and response.mimetype == "text/html":
            queue.extend((link, depth + 1) for link in _links(response.get_data(as_text=True), url))
    assert failures == []
    assert len(seen) > 100  # countries, outreach records, meetings, letters were all reached
