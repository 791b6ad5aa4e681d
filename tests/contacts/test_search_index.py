"""Searching contacts at an organisation's size: each contact keeps its name, e-mail and title folded in
an indexed column, written with every change, so a search compares stored text instead of folding every
contact on every query; and what a list shows is one page read with one query."""

import pytest
import sqlalchemy as sa

from crm.contacts import services
from crm.contacts.models import Contact, contact_search_text
from crm.database import contains_pattern, fold
from crm.extensions import db
from crm.web import page_of
from tests.contacts import make_contact, make_office

pytestmark = pytest.mark.usefixtures("clock")


def found(query, status="active"):
    statement, params = services.contact_list(query=query, status=status)
    return {row.name for row in page_of(statement, per_page=100, page=1, rows=True, params=params).items}


def test_accents_are_ignored_both_ways(app):
    """What was typed with accents is found without them, and what was typed plain is found with them."""
    office = make_office()
    make_contact(office, "Łukasz Łódź Wójcik", title="Cónsul en Łódź")
    make_contact(office, "Lodz Plain", title="Consul in Lodz")
    make_contact(office, "Nguyễn Thị Hạnh", email="hanh@example.org")
    make_contact(office, "José MUÑOZ Peña", title="Consejero político")
    both = {"Łukasz Łódź Wójcik", "Lodz Plain"}
    assert found("lodz") == found("ŁÓDŹ") == found("Łódź") == found("łodz") == both
    assert found("consul en lodz") == found("CÓNSUL EN ŁÓDŹ") == {"Łukasz Łódź Wójcik"}
    assert found("nguyen thi") == found("NGUYỄN THỊ") == {"Nguyễn Thị Hạnh"}
    assert found("munoz pena") == found("Muñoz Peña") == found("MUNOZ") == {"José MUÑOZ Peña"}
    assert found("HANH@EXAMPLE") == {"Nguyễn Thị Hạnh"}
    assert found("politico") == found("POLÍTICO") == {"José MUÑOZ Peña"}
    assert found("%") == found("_") == found("munos") == set()


def test_the_folded_text_is_kept_with_every_change(app):
    office = make_office()
    contact = make_contact(office, "Ana Pérez", title="Primera Secretaria", email="ana@example.org")
    db.session.flush()
    assert contact.search_text == "ana perez\nana@example.org\nprimera secretaria"
    assert contact.search_text == contact_search_text(contact.name, contact.email, contact.title)
    services.update_contact(contact, actor=None, name="Ana Pérez Núñez", title="Embajadora")
    db.session.flush()
    assert found("nunez") == found("embajadora") == {"Ana Pérez Núñez"}
    assert found("secretaria") == set()
    stored = db.session.execute(sa.select(Contact.search_text).where(Contact.id == contact.id)).scalar_one()
    assert stored == "\n".join(fold(v) for v in ("Ana Pérez Núñez", "ana@example.org", "Embajadora"))


def test_the_search_reads_the_stored_text_through_its_index(app):
    """PostgreSQL: a trigram (pg_trgm) GIN index serves "contains" searches; SQLite: the folded column
    is indexed. Either way no folding function runs on the table's rows."""
    office = make_office()
    make_contact(office, "José Muñoz")
    db.session.flush()
    statement, _params = services.contact_list(query="munoz")
    sql = str(statement.compile(db.engine))
    assert "search_text" in sql and "translate" not in sql and "alcance_fold" not in sql
    if db.engine.dialect.name == "postgresql":
        # A table this small is read whole; told not to, the planner can only use an index that serves
        # LIKE '%munoz%' (a B-tree cannot: no plain index scan, and a bitmap scan needs a condition).
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))
        search = services._contact_filters(sa.select(Contact.id), contains_pattern("munoz"), "all")
        compiled = search.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.scalars(sa.text(f"EXPLAIN {compiled}")))
        assert "Bitmap Index Scan on ix_contact_search_text" in plan, plan
    else:
        indexes = {
            index["name"]: index["column_names"] for index in sa.inspect(db.session.connection()).get_indexes("contact")
        }
        assert indexes["ix_contact_search_text"] == ["search_text"]


def test_the_contacts_list_pages_without_counting(app, client, signed_in, monkeypatch):
    """Paged by reading one row more than a page: the last page knows the total, the others say "and more"."""
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 2)
    office = make_office()
    for name in ("Ana Muñoz", "Beto Muñoz", "Carla Muñoz", "Dario Muñoz", "Elena Otra"):
        make_contact(office, name)
    db.session.commit()
    signed_in("manager")
    first = client.get("/contacts?q=munoz").get_data(as_text=True)
    assert "Ana Muñoz" in first and "Beto Muñoz" in first and "Carla Muñoz" not in first
    assert "1–2, and more" in first and "Page 1<" in first and "page=2" in first and "Previous" not in first
    last = client.get("/contacts?q=munoz&page=2").get_data(as_text=True)
    assert "Carla Muñoz" in last and "Dario Muñoz" in last and "Elena" not in last
    assert "4 contacts" in last and "Page 2 of 2" in last and "Next" not in last and "page=1" in last
    beyond = client.get("/contacts?q=munoz&page=3").get_data(as_text=True)
    assert "No contact matches." in beyond and "Page 3" in beyond and "Next" not in beyond
    one_page = client.get("/contacts?q=elena").get_data(as_text=True)
    assert "1 contact" in one_page and 'class="pagination"' not in one_page


def test_a_page_of_contacts_costs_the_same_statements_whatever_it_shows(app, client, signed_in):
    from tests.factories import QueryCounter

    offices = [make_office(city=f"City {n}") for n in range(5)]
    signed_in("manager")
    counts = []
    for n in (2, 40):
        db.session.execute(sa.update(Contact).values(active=False))
        for i in range(n):
            make_contact(offices[i % 5], f"Muñoz {n} {i}")
        db.session.commit()
        with QueryCounter(db.engine) as counter:
            page = client.get("/contacts?q=munoz").get_data(as_text=True)
        assert page.count(f"Muñoz {n} ") == min(n, app.config["ITEMS_PER_PAGE"])
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
