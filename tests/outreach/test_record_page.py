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
