"""The reply clock: no reply some days after a delivered letter or a held meeting creates a follow-up for
the assignee; after a second period the coordinator is told. Each happens once."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.database import utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.outreach.models import FollowUp
from crm.reminders import jobs, services
from crm.reminders.models import ReplyClock

# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]


def now() -> dt.datetime:
    return utcnow()


def today() -> dt.date:
    return now().date()


def days_ago(n) -> dt.date:
    return today() - dt.timedelta(days=n)


def _follow_ups(record):
    return db.session.scalars(sa.select(FollowUp).where(FollowUp.outreach_id == record.id)).all()


def _escalations():
    return db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "escalation")).all()


def _record(make_record, make_user, **kwargs):
    assignee = make_user("volunteer", email="vol@example.org", name="Val Volunteer")
    coordinator = make_user("coordinator", email="coord@example.org", name="Cora Coordinator")
    record = make_record("CHE", assignee=assignee, stage="contacted")
    record.coordinator_id = coordinator.id
    db.session.flush()
    return record, assignee, coordinator


def test_no_reply_after_a_delivered_letter_creates_one_follow_up_then_one_escalation(
    smtp, campaign, make_record, make_user, make_letter
):
    record, assignee, coordinator = _record(make_record, make_user)
    letter = make_letter(record, subject="Three demands", sent_on=days_ago(16), delivered_on=days_ago(15))
    db.session.commit()

    assert services.run_reply_clock(now() - dt.timedelta(days=2)).follow_ups_created == 0  # 13 days: not yet
    report = services.run_reply_clock(now())
    assert report.follow_ups_created == 1 and report.escalations_queued == 0
    [follow_up] = _follow_ups(record)
    assert follow_up.owner_id == assignee.id and follow_up.letter_id == letter.id and follow_up.due_on == today()
    assert "Three demands" in follow_up.note
    assert services.run_reply_clock(now()).follow_ups_created == 0
    assert len(_follow_ups(record)) == 1

    # 14 more days and still no reply: the coordinator is told, once.
    later = now() + dt.timedelta(days=14)
    result = jobs.run_reply_clock(later)
    assert result.delivery.sent_by_kind == {"escalation": 1}
    assert jobs.run_reply_clock(later + dt.timedelta(days=1)).delivery.sent == 0
    [message] = smtp.mailbox.to("coord@example.org")
    assert message["Subject"] == "No reply from Switzerland after 29 days"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Three demands" in body and "Val Volunteer" in body
    clock = db.session.scalar(sa.select(ReplyClock))
    assert clock.escalated_at is not None and clock.follow_up_id == follow_up.id


def test_a_reply_stops_the_clock(campaign, make_record, make_user, make_letter):
    record, _, _ = _record(make_record, make_user)
    letter = make_letter(record, sent_on=days_ago(30), delivered_on=days_ago(30))
    make_letter(record, direction="incoming", subject="Re: Three demands", received_on=days_ago(3), in_reply_to=letter)
    report = services.run_reply_clock(now())
    assert report.follow_ups_created == 0 and report.escalations_queued == 0
    assert _follow_ups(record) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyClock)) == 0


def test_the_period_is_the_campaigns(campaign, make_record, make_user, make_letter):
    campaign.reply_days = 30
    record, _, _ = _record(make_record, make_user)
    make_letter(record, sent_on=days_ago(20), delivered_on=days_ago(20))
    assert services.run_reply_clock(now()).follow_ups_created == 0
    assert services.run_reply_clock(now() + dt.timedelta(days=10)).follow_ups_created == 1


def test_a_held_meeting_starts_the_clock_too(campaign, make_record, make_user, make_meeting):
    record, assignee, _ = _record(make_record, make_user)
    meeting = make_meeting([record], now() - dt.timedelta(days=15), staff=[assignee])
    assert services.run_reply_clock(now()).follow_ups_created == 1
    [follow_up] = _follow_ups(record)
    assert follow_up.meeting_id == meeting.id and follow_up.owner_id == assignee.id
    assert "meeting" in follow_up.note


def test_a_next_step_already_planned_is_not_duplicated(campaign, make_record, make_user, make_letter, make_follow_up):
    record, assignee, _ = _record(make_record, make_user)
    letter = make_letter(record, sent_on=days_ago(20), delivered_on=days_ago(20))
    planned = make_follow_up(record, assignee, today() + dt.timedelta(days=2), note="Call them")
    planned.letter_id = letter.id
    db.session.flush()
    assert services.run_reply_clock(now()).follow_ups_created == 0
    assert _follow_ups(record) == [planned]
    assert db.session.scalar(sa.select(ReplyClock)).follow_up_id == planned.id


def test_closed_records_and_old_history_are_left_alone(campaign, make_record, make_user, make_letter):
    record, _, _ = _record(make_record, make_user)
    make_letter(record, sent_on=days_ago(400), delivered_on=days_ago(400))
    closed = make_record("AUT", stage="closed")
    make_letter(closed, sent_on=days_ago(20), delivered_on=days_ago(20))
    assert services.run_reply_clock(now()).follow_ups_created == 0


def test_the_demo_does_not_flood_anyone(campaign, clock):
    from crm.demo import STORY_ENDS_ON, load_demo

    if clock.today() < STORY_ENDS_ON:
        # The demo tells a story of 2018 (load_demo refuses an earlier day): the same moment of 2026.
        clock.move_to(clock.now().replace(year=2026))

    load_demo()
    report = services.run_reply_clock(now())
    assert report.follow_ups_created == 0 and report.escalations_queued == 0


def test_a_record_nobody_coordinates_escalates_to_the_managers(smtp, campaign, make_record, make_user, make_letter):
    """Not to nowhere: without an active coordinator, each active manager is told, once, in their language."""
    assignee = make_user("volunteer", email="vol@example.org", name="Val Volunteer")
    former = make_user("coordinator", email="former@example.org", active=False)
    make_user("manager", email="mara@example.org", name="Mara Manager")
    make_user("manager", email="mario@example.org", name="Mario Gerente", language="es")
    make_user("manager", email="gone@example.org", active=False)
    make_user("coordinator", email="other@example.org")  # coordinates other records: not told
    record = make_record("CHE", assignee=assignee, stage="contacted")
    record.coordinator_id = former.id
    make_letter(record, subject="Three demands", sent_on=days_ago(30), delivered_on=days_ago(29))
    db.session.commit()

    result = jobs.run_reply_clock(now())
    assert result.delivery.sent_by_kind == {"escalation": 2}
    assert jobs.run_reply_clock(now() + dt.timedelta(days=1)).delivery.sent == 0
    assert smtp.mailbox.to("former@example.org") == smtp.mailbox.to("other@example.org") == []
    assert smtp.mailbox.to("gone@example.org") == []
    [english] = smtp.mailbox.to("mara@example.org")
    assert english["Subject"] == "No reply from Switzerland after 29 days"
    assert "nobody coordinates this outreach record" in english.get_body(preferencelist=("plain",)).get_content()
    [spanish] = smtp.mailbox.to("mario@example.org")
    assert spanish["Subject"] == "Sin respuesta de Suiza después de 29 días"
    assert "nadie coordina" in spanish.get_body(preferencelist=("plain",)).get_content()


def test_a_coordinated_record_does_not_tell_the_managers(campaign, make_record, make_user, make_letter):
    record, _, coordinator = _record(make_record, make_user)
    make_user("manager", email="mara@example.org")
    make_letter(record, sent_on=days_ago(30), delivered_on=days_ago(29))
    services.run_reply_clock(now())
    assert [message.recipient_email for message in _escalations()] == ["coord@example.org"]
