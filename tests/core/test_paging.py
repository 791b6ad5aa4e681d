"""Lists page by reading one row more than a page (limit + 1), never counting the whole list: what the
pages know at each boundary, and what a page number that is not one gives."""

import pytest
import sqlalchemy as sa

from crm.countries.models import Country
from crm.extensions import db
from crm.web import page_of, requested_page

pytestmark = pytest.mark.usefixtures("clock")


def countries():
    return sa.select(Country.id, Country.alpha3).order_by(Country.id)


def test_a_page_knows_whether_another_follows_and_the_total_only_at_the_end(app):
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Country))
    whole = page_of(countries(), per_page=total, page=1, rows=True)
    assert (len(whole.items), whole.has_next, whole.has_prev, whole.total, whole.pages) == (
        total,
        False,
        False,
        total,
        1,
    )
    short = page_of(countries(), per_page=total - 1, page=1, rows=True)
    assert (len(short.items), short.has_next, short.total, short.pages) == (total - 1, True, None, None)
    assert (short.first, short.last, short.next_num) == (1, total - 1, 2)
    rest = page_of(countries(), per_page=total - 1, page=2, rows=True)
    assert (len(rest.items), rest.has_next, rest.has_prev, rest.total, rest.pages) == (1, False, True, total, 2)
    assert rest.items[0].id == whole.items[-1].id and rest.prev_num == 1
    beyond = page_of(countries(), per_page=total - 1, page=3, rows=True)
    assert (beyond.items, beyond.has_next, beyond.total) == ([], False, None)


def test_an_exact_multiple_of_the_page_size_has_no_empty_last_page(app):
    rows = db.session.execute(countries().limit(10)).all()
    statement = countries().where(Country.id.in_([row.id for row in rows]))
    first, second = (page_of(statement, per_page=5, page=n, rows=True) for n in (1, 2))
    assert first.has_next and not second.has_next and second.total == 10 and second.pages == 2
    assert [r.id for r in first.items + second.items] == [row.id for row in rows]


def test_entities_come_back_as_objects(app):
    page = page_of(sa.select(Country).order_by(Country.id), per_page=3, page=1)
    assert all(isinstance(country, Country) for country in page.items) and len(page.items) == 3


@pytest.mark.parametrize(
    ("query", "page"),
    [("", 1), ("?page=2", 2), ("?page=abc", 1), ("?page=-3", 1), ("?page=0", 1), ("?page=99999999999", 99999999999)],
)
def test_the_requested_page_is_a_whole_number_from_one(app, query, page):
    with app.test_request_context("/contacts" + query):
        assert requested_page() == page


def test_a_long_list_links_each_row_with_one_url_built_once(app):
    from flask import url_for

    from crm.web import id_url

    with app.test_request_context("/"):
        record_url = id_url("outreach.show", "outreach_id")
        for record_id in (1, 42, 2**31 - 1):
            assert record_url(record_id) == url_for("outreach.show", outreach_id=record_id)
        letter_url = id_url("letters.show", "letter_id", _anchor="reply")
        assert letter_url(7) == url_for("letters.show", letter_id=7, _anchor="reply")
        render = app.jinja_env.from_string("{% set to = id_url('outreach.show', 'outreach_id') %}{{ to(5) }}").render
        assert render() == "/outreach/5"


def test_a_pages_limit_and_offset_are_written_into_its_statement(app):
    """PostgreSQL plans a statement whose LIMIT is a parameter again on every execution; written in, a
    list's statement is planned once per connection (crm/database.py, written)."""
    sent = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        page_of(countries(), per_page=20, page=3, rows=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = [(text, given) for text, given in sent if "FROM country" in text]
    assert " LIMIT 21 OFFSET 40" in " ".join(statement.split())
    assert not parameters
