"""A crawl, as an admin on the demo data: every page linked from the navigation, and the pages they
link to, answers without a server error."""

from crm.demo import load_demo
from crm.extensions import db
from tests.crawler import crawl, nav_links


def test_no_page_linked_from_the_navigation_fails(client, signed_in):
    load_demo()
    db.session.commit()
    signed_in("admin")
    home = client.get("/")
    nav = nav_links(home.get_data(as_text=True))
    assert len(nav) >= 8
    pages = list(crawl(client, ["/", *nav]))
    failures = [(url, response.status_code) for url, response in pages if response.status_code >= 500]
    assert failures == []
    assert len(pages) > 100  # countries, outreach records, meetings, letters were all reached
