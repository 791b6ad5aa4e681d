"""A script payload in every text field people can fill comes back escaped on every page that shows it."""

import datetime as dt

import pytest

from crm.accounts.models import User
from crm.audit import services as audit
from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office, Post
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.letters.models import Letter, LetterTemplate
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, Position
from tests.conftest import utc_today
from tests.crawler import crawl, nav_links

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")

PAYLOAD = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
RAW = ('<script>alert("xss")', "<img src=x onerror")


def _fill_everything(admin: User):
    admin.name = "Admin " + PAYLOAD
    france, spain = country_by_code("FRA"), country_by_code("ESP")
    france.rs_note = "Note " + PAYLOAD
    campaign = Campaign(slug="xss", name="Campaign " + PAYLOAD, description=PAYLOAD)
    demand = Demand(campaign=campaign, ordinal=1, code="d", title="Demand " + PAYLOAD, description=PAYLOAD)
    record = OutreachRecord(campaign=campaign, country_id=france.id, assignee=admin)
    office = Office(
        country_id=france.id,
        host_country_id=spain.id,
        kind="embassy",
        city="City " + PAYLOAD,
        name="Office " + PAYLOAD,
        address=PAYLOAD,
        notes=PAYLOAD,
        website="https://example.org/" + PAYLOAD,
    )
    contact = Contact(
        office=office,
        name="Contact " + PAYLOAD,
        title=PAYLOAD,
        notes=PAYLOAD,
        email="x<script>@example.org",
        personal_phone=PAYLOAD,
    )
    db.session.add_all(
        [
            campaign,
            demand,
            record,
            office,
            contact,
            Post(contact=contact, office=office, title=PAYLOAD, started_on=dt.date(2020, 1, 1)),
        ]
    )
    db.session.flush()
    meeting = Meeting(
        office=office,
        held_at=utcnow() - dt.timedelta(days=1),
        summary="Summary " + PAYLOAD,
        outcome=PAYLOAD,
        location=PAYLOAD,
        confidential_notes=PAYLOAD,
    )
    meeting.outreach_records = [record]
    meeting.contacts = [contact]
    letter = Letter(
        outreach=record,
        subject="Subject " + PAYLOAD,
        body=PAYLOAD,
        recipient_name=PAYLOAD,
        recipient_contact=contact,
        language="en",
    )
    db.session.add_all(
        [
            meeting,
            letter,
            FollowUp(outreach=record, owner=admin, due_on=utc_today(), note="Note " + PAYLOAD),
            Position(
                campaign_id=campaign.id,
                outreach_id=record.id,
                demand_id=demand.id,
                stance="supportive",
                stated_on=utc_today(),
                evidence=PAYLOAD,
                evidence_url="https://e.org/" + PAYLOAD,
            ),
            LetterTemplate(name="tpl " + PAYLOAD, language="en", subject=PAYLOAD, body=PAYLOAD),
        ]
    )
    audit.record("test." + PAYLOAD[:40], actor=admin, entity=record, after={"x": PAYLOAD})
    db.session.commit()


def test_no_page_returns_a_payload_unescaped(client, signed_in):
    admin = signed_in("admin")
    _fill_everything(admin)
    home = client.get("/")
    start = [
        "/",
        *nav_links(home.get_data(as_text=True)),
        "/countries/FRA",
        "/contacts",
        "/offices",
        "/admin/audit",
        "/campaigns/xss",
        "/letter-templates",
    ]
    shown = 0
    for url, response in crawl(client, start, depth=2, limit=400):
        if response.mimetype != "text/html":
            continue  # the PDF dossier, CSV exports and calendar files are not rendered as pages
        body = response.get_data(as_text=True)
        assert not any(raw in body for raw in RAW), f"unescaped payload on {url}"
        shown += "&lt;script&gt;alert(" in body
    assert shown >= 10  # the payload was really shown, escaped, on many pages
