"""The country page's outreach cards: each record's latest timeline entries, read in a fixed number of
queries however many records and entries the government has."""

import datetime as dt

import pytest

from crm.campaigns.models import Campaign, Demand, DemandTranslation
from crm.contacts.offices import GOVERNMENT_OFFICES, PEOPLE_PER_OFFICE
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import OutreachRecord
from tests.conftest import sign_in, utc_today
from tests.factories import QueryCounter

pytestmark = pytest.mark.usefixtures("clock")


def _campaign_with_history(n, owner, entries):
    """A campaign with a record for France whose timeline holds `entries` of each kind."""
    campaign = Campaign(slug=f"busy-{n}", name=f"Busy campaign {n}")
    demand = Demand(campaign=campaign, ordinal=1, code="d1", title=f"Demand of campaign {n}")
    demand.translations.append(DemandTranslation(language="es", title=f"Exigencia de la campaña {n}"))
    record = OutreachRecord(campaign=campaign, country_id=country_by_code("FRA").id, assignee_id=owner.id)
    db.session.add_all([campaign, demand, record])
    db.session.flush()
    for i in range(entries):
        day = utc_today() - dt.timedelta(days=10 * i + 1)
        outreach.log_meeting(
            [record], actor=owner, held_at=utcnow() - dt.timedelta(days=10 * i + 2), summary=f"Meeting {n}-{i}"
        )
        outreach.add_follow_up(record, owner=owner, due_on=day, note=f"Call {n}-{i}", actor=owner)
        outreach.record_position(record, demand, "supportive", day, actor=owner, evidence=f"Said {n}-{i}")
    return record


def _page(client, **kwargs):
    with QueryCounter(db.engine) as counter:
        response = client.get("/countries/FRA", **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True), counter.count


def test_country_page_shows_the_latest_entries_and_links_to_the_whole_timeline(client, signed_in, make_user):
    signed_in("coordinator")
    owner = make_user("volunteer")
    record = _campaign_with_history(1, owner, entries=4)
    db.session.commit()
    page, _ = _page(client)
    # Newest first, five entries in all: the latest position, follow-up and meeting, then the next ones.
    assert page.count('class="entry entry-') == outreach.CARD_TIMELINE
    assert "Call 1-0" in page and "Meeting 1-0" in page and "Call 1-1" in page
    assert "Call 1-3" not in page and "Meeting 1-3" not in page
    assert f"/outreach/{record.id}#timeline" in page and "the full timeline" in page


def test_a_short_timeline_is_shown_whole_without_a_link(client, signed_in, make_user):
    signed_in("coordinator")
    owner = make_user("volunteer")
    record = _campaign_with_history(1, owner, entries=1)
    db.session.commit()
    page, _ = _page(client)
    assert page.count('class="entry entry-') == 3
    assert f"/outreach/{record.id}#timeline" not in page


def test_queries_do_not_grow_with_records_and_entries_and_the_page_stays_small(client, signed_in, make_user):
    signed_in("coordinator")
    owner = make_user("volunteer")
    _campaign_with_history(1, owner, entries=1)
    db.session.commit()
    _, few = _page(client, headers={"Accept-Language": "es"})
    for n in range(2, 8):
        _campaign_with_history(n, owner, entries=8)
    db.session.commit()
    page, many = _page(client, headers={"Accept-Language": "es"})
    assert many == few
    assert "Busy campaign 7" in page
    assert len(page.encode()) < 300_000


def test_recent_timelines_match_the_full_timeline(app, make_user):
    owner = make_user("volunteer")
    records = [_campaign_with_history(n, owner, entries=n) for n in range(0, 4)]
    recent = outreach.recent_timelines(records, 4)
    for record in records:
        full = outreach.timeline(record)
        assert [(e.kind, e.item.id) for e in recent[record.id].entries] == [(e.kind, e.item.id) for e in full[:4]]
        assert recent[record.id].more == (len(full) > 4)


def test_the_newest_active_campaigns_are_shown_in_full_and_the_others_a_line_each(client, signed_in, make_user):
    signed_in("coordinator")
    owner = make_user("volunteer")
    records = [_campaign_with_history(n, owner, entries=1) for n in range(1, outreach.CARDS_SHOWN + 3)]
    for n, record in enumerate(records, start=1):
        record.campaign.starts_on = dt.date(2018, 1, 1) + dt.timedelta(days=30 * n)  # the last is the newest
    archived = records[-1].campaign
    archived.archived_at = utcnow()
    db.session.commit()
    page, _ = _page(client)
    full = page.split('id="other-campaigns"')[0]
    others = page.split('id="other-campaigns"')[1].split("</section>")[0]
    # The newest active campaigns in full, newest first; the archived one and the oldest in a line each.
    shown = [f"Busy campaign {n}" for n in range(len(records) - 1, len(records) - 1 - outreach.CARDS_SHOWN, -1)]
    assert [name for name in shown if f">{name}</a></h2>" in full] == shown
    assert full.index(shown[0]) < full.index(shown[-1])
    assert page.count('class="card outreach-card"') == outreach.CARDS_SHOWN
    assert f'>Busy campaign {len(records)}</a> <span class="badge">Archived</span>' in others
    assert ">Busy campaign 1</a>" in others and f'href="/outreach/{records[0].id}"' in others
    assert "Meeting 1-0" not in page  # the lines carry no timeline


def test_a_busy_governments_offices_show_the_first_with_their_first_people_and_link_to_the_rest(
    client, signed_in, make_office, make_contact
):
    signed_in("coordinator")
    offices = [make_office("FRA", city=f"City {n:02d}") for n in range(GOVERNMENT_OFFICES + 2)]
    for n in range(PEOPLE_PER_OFFICE + 3):
        make_contact(offices[0], name=f"Person {n:02d}", title="Counsellor")
    make_contact(offices[1], name="Only Person", title=None)
    gone = make_contact(offices[1], name="Gone Person")
    gone.active = False
    closed = make_office("FRA", city="A city closed")
    closed.active = False
    db.session.commit()
    page = client.get("/countries/FRA").get_data(as_text=True)
    section = page.split('id="offices"')[1].split("</section>")[0]
    # Active offices first, by city: the first few, then a link to all of them (the inactive one too).
    assert section.count('<li class="inactive">') == 0 and "A city closed" not in section
    assert [f"City {n:02d}" in section for n in range(GOVERNMENT_OFFICES + 2)] == [True] * GOVERNMENT_OFFICES + [
        False
    ] * 2
    assert f"All {GOVERNMENT_OFFICES + 3} offices of this government" in section
    assert 'href="/offices?country=FRA&amp;status=all"' in section
    # Each office's first people by name, and how many more its page lists.
    assert [f"Person {n:02d}, Counsellor" in section for n in range(PEOPLE_PER_OFFICE + 3)] == [
        True
    ] * PEOPLE_PER_OFFICE + [False] * 3
    assert f'<a href="/offices/{offices[0].id}">and 3 more people</a>' in section
    assert "<li>Only Person</li>" in section and "Gone Person" not in section
    assert f'<a href="/offices/{offices[1].id}">{offices[1].name}</a>' in section


def test_each_card_names_its_campaign_in_the_readers_language_and_who_works_it(client, signed_in, make_user):
    from crm.campaigns.models import CampaignTranslation

    signed_in("coordinator", language="es")
    owner = make_user("volunteer", name="Vera Voluntaria")
    record = _campaign_with_history(1, owner, entries=1)
    record.campaign.translations.append(CampaignTranslation(language="es", name="Campaña ocupada"))
    nobody = _campaign_with_history(2, owner, entries=1)
    nobody.assignee_id = None
    db.session.commit()
    page, _ = _page(client)
    assert f'<a href="/outreach/{record.id}">Campaña ocupada</a></h2>' in page and "Busy campaign 1<" not in page
    assert "Vera Voluntaria" in page and "nadie todavía" in page
    # The demands too, in their positions tables and timelines.
    assert "1. Exigencia de la campaña 1</th>" in page and "Demand of campaign 1" not in page


def test_a_volunteer_sees_the_cards_and_offices_of_the_governments_they_work_on_only(
    app, client, signed_in, make_user, make_office, make_contact
):
    office = make_office("FRA", city="Lyon")
    make_contact(office, name="Claire Contact", title="Counsellor")
    worker = make_user("volunteer", name="Walter Worker")
    record = _campaign_with_history(1, worker, entries=1)
    db.session.commit()
    manager = app.test_client()
    sign_in(manager, make_user("manager", name="Mona Manager"))
    page, _ = _page(manager)  # a manager first: the statements for those who see everything are made
    assert "Busy campaign 1" in page and "Claire Contact" in page
    signed_in("volunteer")  # another volunteer: the page's statements are made once for every volunteer
    page, _ = _page(client)
    assert "Busy campaign 1" not in page and "Claire Contact" not in page and "Lyon" not in page
    assert "No offices recorded for this government." in page
    theirs = app.test_client()
    sign_in(theirs, worker)
    page, _ = _page(theirs)
    assert f'<a href="/outreach/{record.id}">Busy campaign 1</a>' in page and "Call 1-0" in page
    assert "Lyon" in page and "<li>Claire Contact, Counsellor</li>" in page


def test_the_cards_timeline_statement_stays_short_enough_for_psycopg_to_keep_it_parsed():
    # psycopg parses a statement longer than MAX_CACHED_STATEMENT_LENGTH again on every execution: the
    # cards' timelines, with every card's record listed, stay under it.
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH
    from sqlalchemy.dialects import postgresql

    statement = outreach._recent_statement("postgresql")
    ids = list(range(1, outreach.CARDS_SHOWN + 1))
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    expanded = compiled.construct_expanded_state({"ids": ids, "fetch": outreach.CARD_TIMELINE + 1})
    assert len(expanded.statement.encode()) <= MAX_CACHED_STATEMENT_LENGTH
