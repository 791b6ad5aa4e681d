"""The record page on a phone: a meeting's summary is written once, the positions stated at it link to
it, and a long timeline comes in pages."""

import datetime as dt

import sqlalchemy as sa

from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import Meeting

HELD = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
SUMMARY = "The ambassador will recommend supporting all three demands to the ministry."


def test_a_meetings_summary_is_written_once_and_its_positions_link_to_it(client, signed_in, campaign, make_record):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    stated = [outreach.StatedPosition(demand=d, stance="supportive") for d in campaign.demands]
    meeting = outreach.log_meeting([record], actor=user, held_at=HELD, summary=SUMMARY, positions=stated)
    db.session.commit()
    page = client.get(f"/outreach/{record.id}").get_data(as_text=True)
    assert page.count(SUMMARY) == 1
    assert page.count(f'<a href="/meetings/{meeting.id}">Stated at the meeting of 30 Nov 2026</a>') == 3


def test_a_long_timeline_comes_in_pages(client, signed_in, make_record):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    for n in range(20):
        outreach.log_meeting(
            [record], actor=user, held_at=HELD - dt.timedelta(days=n), summary=f"Meeting number {n:02d}"
        )
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 20
    first = client.get(f"/outreach/{record.id}").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Meeting number 00" in first and "Meeting number 14" in first
    assert "Meeting number 15" not in first and f'href="/outreach/{record.id}?page=2"' in first
    second = client.get(f"/outreach/{record.id}?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and "Meeting number 15" in second and "Meeting number 19" in second
    assert "Meeting number 14" not in second
    # A page out of range gives the nearest page, never an error.
    assert "Page 2 of 2" in client.get(f"/outreach/{record.id}?page=99").get_data(as_text=True)
    assert "Page 1 of 2" in client.get(f"/outreach/{record.id}?page=-3").get_data(as_text=True)
    assert client.get(f"/outreach/{record.id}?page=abc").status_code == 200


def test_paging_a_list(app):
    assert outreach.paged([], None).pages == 1
    page = outreach.paged(list(range(31)), 3, per_page=15)
    assert (page.items, page.page, page.pages, page.has_prev, page.has_next) == ([30], 3, 3, True, False)


def test_a_page_of_the_timeline_is_the_same_page_of_the_whole_timeline(
    campaign, make_record, make_user, make_meeting, make_letter, make_follow_up, count_queries
):
    # Entries of every kind on shared days, so that the order within a day decides pages too; a meeting
    # late in the evening (its UTC day), a draft (dated by its creation), a reply (by its receipt).
    owner = make_user("volunteer")
    record, other = make_record("FRA"), make_record("DEU")
    start = dt.date(2026, 10, 1)
    for n in range(12):
        day = start + dt.timedelta(days=n // 3)
        make_meeting([record, other] if n % 4 == 0 else [record], dt.datetime.combine(day, dt.time(23, 30), dt.UTC))
        make_letter(record, subject=f"Letter {n}", sent_on=day if n % 5 else None)
        make_follow_up(record, owner, day + dt.timedelta(days=n % 2), note=f"Call {n}")
        make_letter(other, subject=f"Someone else's letter {n}", sent_on=day)
    make_letter(record, direction="incoming", subject="Their reply", received_on=start)
    for n, demand in enumerate(campaign.demands):
        outreach.record_position(record, demand, "supportive", start + dt.timedelta(days=n), actor=owner)
    db.session.commit()
    whole = [(e.kind, e.item.id) for e in outreach.timeline(record)]
    assert len(whole) == 12 + 13 + 12 + len(campaign.demands)
    for per_page in (1, 4, 15):
        pages = -(-len(whole) // per_page)
        for number in range(1, pages + 1):
            page = outreach.timeline_page(record, number, per_page=per_page)
            assert (page.page, page.pages) == (number, pages)
            assert [(e.kind, e.item.id) for e in page.items] == whole[(number - 1) * per_page : number * per_page]
    # The first page and the last cost the same number of queries: what grows with the page is rows.
    history = outreach.positions_of(record)
    first, _ = count_queries(lambda: outreach.timeline_page(record, 1, history, per_page=4))
    last, _ = count_queries(lambda: outreach.timeline_page(record, 99, history, per_page=4))
    assert first == last


def test_a_positions_evidence_is_shown_as_written_with_its_source_linked(client, signed_in, campaign, make_record):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    first, second, _ = campaign.demands
    day = dt.date(2026, 11, 2)
    evidence = 'The minister said "yes" <on the record> & in writing'
    outreach.record_position(
        record, first, "supportive", day, actor=user, evidence=evidence, evidence_url="https://example.org/?a=1&b=2"
    )
    outreach.record_position(record, second, "opposed", day, actor=user)
    db.session.commit()
    for path in (f"/outreach/{record.id}", "/countries/FRA"):
        page = client.get(path).get_data(as_text=True)
        table = page.split('<table class="positions">', 1)[1].split("</table>", 1)[0]
        assert "The minister said &#34;yes&#34; &lt;on the record&gt; &amp; in writing" in table
        assert ' <a href="https://example.org/?a=1&amp;b=2" rel="noopener noreferrer nofollow">source</a>' in table
        assert table.count("2 Nov 2026") == 2 and table.count('class="stance stance-unknown"') == 1
