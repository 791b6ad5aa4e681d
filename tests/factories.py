"""Shared fixtures for every feature's tests (loaded by tests/conftest.py): a campaign with demands,
outreach records, offices and contacts, follow-ups, letters and meetings, and a counter of SQL statements."""

import datetime as dt

import pytest

from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import FollowUp, Meeting, OutreachRecord


@pytest.fixture
def campaign(app):
    campaign = Campaign(slug="test-campaign", name="Test campaign")
    db.session.add(campaign)
    for ordinal, (code, title) in enumerate(
        [("repudiate", "Repudiate the election"), ("refugees", "Refugee solidarity"), ("icc", "ICC referral")], start=1
    ):
        db.session.add(Demand(campaign=campaign, ordinal=ordinal, code=code, title=title))
    db.session.flush()
    return campaign


@pytest.fixture
def make_record(campaign):
    def factory(alpha3="FRA", assignee=None, stage="not_started", campaign_=None):
        record = OutreachRecord(
            campaign=campaign_ or campaign,
            country_id=country_by_code(alpha3).id,
            assignee_id=getattr(assignee, "id", None),
            stage=stage,
        )
        db.session.add(record)
        db.session.flush()
        return record

    return factory


@pytest.fixture
def make_office():
    def factory(alpha3="FRA", host="ESP", city="Madrid", kind="embassy", name=None):
        office = Office(
            country_id=country_by_code(alpha3).id,
            host_country_id=country_by_code(host).id,
            city=city,
            kind=kind,
            name=name or f"Embassy of {alpha3} in {city}",
        )
        db.session.add(office)
        db.session.flush()
        return office

    return factory


@pytest.fixture
def make_contact():
    def factory(office, name="Jean Exemple", title="Ambassador"):
        contact = Contact(office=office, name=name, title=title)
        db.session.add(contact)
        db.session.flush()
        return contact

    return factory


@pytest.fixture
def make_follow_up():
    def factory(
        record, owner, due_on: dt.date, note="Call the embassy about the letter", status="open", snoozed_until=None
    ):
        # Whoever owns a follow-up on a record nobody works yet is given the record, as a coordinator
        # would: reminders and digests only tell a volunteer about records they may open.
        if record.assignee_id is None:
            record.assignee_id = owner.id
        follow_up = FollowUp(
            outreach_id=record.id,
            owner_id=owner.id,
            due_on=due_on,
            note=note,
            status=status,
            snoozed_until=snoozed_until,
            completed_at=dt.datetime.now(dt.UTC) if status == "done" else None,
        )
        db.session.add(follow_up)
        db.session.flush()
        return follow_up

    return factory


@pytest.fixture
def make_letter():
    def factory(
        record,
        *,
        direction="outgoing",
        subject="Three demands",
        sent_on=None,
        delivered_on=None,
        received_on=None,
        in_reply_to=None,
    ):
        letter = Letter(
            outreach_id=record.id,
            direction=direction,
            subject=subject,
            sent_on=sent_on,
            delivered_on=delivered_on,
            received_on=received_on,
            in_reply_to_id=getattr(in_reply_to, "id", None),
        )
        db.session.add(letter)
        db.session.flush()
        return letter

    return factory


@pytest.fixture
def make_meeting():
    def factory(
        records,
        held_at: dt.datetime,
        *,
        staff=(),
        office=None,
        summary="Met the political counsellor",
        confidential_notes=None,
        location=None,
    ):
        meeting = Meeting(
            held_at=held_at,
            summary=summary,
            office_id=getattr(office, "id", None),
            confidential_notes=confidential_notes,
            location=location,
        )
        meeting.outreach_records = list(records)
        meeting.staff = list(staff)
        db.session.add(meeting)
        db.session.flush()
        return meeting

    return factory


class QueryCounter:
    """Counts (and keeps) the SQL statements sent while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _count(self, _connection, _cursor, statement, *args, **kwargs):
        self.statements.append(statement)

    def __enter__(self):
        import sqlalchemy as sa

        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.fixture
def count_queries():
    def run(callable_):
        with QueryCounter(db.engine) as counter:
            result = callable_()
        return counter.count, result

    return run
