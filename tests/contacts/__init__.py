"""Offices and contacts. Factories shared by these tests build records the way the services do."""

from __future__ import annotations

import datetime as dt
import itertools

from crm import clock
from crm.campaigns.models import Campaign
from crm.contacts import offices, services
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import Meeting, OutreachRecord

_sequence = itertools.count(1)


def make_office(
    code: str = "FRA",
    host: str = "ESP",
    kind: str = "embassy",
    city: str = "Madrid",
    name: str | None = None,
    actor=None,
    **extra,
):
    return offices.create_office(
        actor=actor,
        country=country_by_code(code),
        host_country=country_by_code(host),
        kind=kind,
        city=city,
        name=name or f"Embassy of {code} in {city}",
        **extra,
    )


def make_contact(office, name: str | None = None, actor=None, confirm_duplicate: bool = True, **extra):
    return services.create_contact(
        actor=actor,
        office=office,
        name=name or f"Person {next(_sequence)}",
        confirm_duplicate=confirm_duplicate,
        **extra,
    )


def make_outreach(code: str = "FRA") -> OutreachRecord:
    n = next(_sequence)
    campaign = Campaign(slug=f"campaign-{n}", name=f"Campaign {n}")
    record = OutreachRecord(campaign=campaign, country=country_by_code(code))
    db.session.add_all([campaign, record])
    db.session.flush()
    return record


def make_meeting(
    record: OutreachRecord, contacts, office=None, summary: str = "Met to present the demands", days_ago: int = 3
) -> Meeting:
    meeting = Meeting(
        office=office,
        held_at=utcnow() - dt.timedelta(days=days_ago),
        summary=summary,
        outreach_records=[record],
        contacts=list(contacts),
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def make_letter(
    record: OutreachRecord, contact, subject: str = "Request for a meeting", sent_on: dt.date | None = None
) -> Letter:
    letter = Letter(
        outreach=record,
        recipient_contact=contact,
        recipient_office=contact.office,
        subject=subject,
        sent_on=sent_on or clock.today() - dt.timedelta(days=10),
    )
    db.session.add(letter)
    db.session.flush()
    return letter
