"""A small same-site crawler over the Flask test client, for whole-site checks."""

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

LINK = re.compile(r'href="([^"#]+)"')
NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


def links(html: str, base: str) -> list[str]:
    found = []
    for href in LINK.findall(html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(urljoin(base, href))
        if parts.netloc in ("", "localhost") and not parts.path.startswith("/static/"):
            found.append(parts.path + ("?" + parts.query if parts.query else ""))
    return found


def nav_links(html: str) -> list[str]:
    return links(NAV.search(html).group(1), "/")


def crawl(client, start: list[str], *, depth: int = 2, limit: int = 700):
    """Yield (url, response) for every page reachable from `start` within `depth` clicks."""
    seen = set()
    queue = deque((url, 0) for url in start)
    while queue and len(seen) < limit:
        url, level = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        yield url, response
        if level < depth and response.mimetype == "text/html":
            queue.extend((link, level + 1) for link in links(response.get_data(as_text=True), url))
