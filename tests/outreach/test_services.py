"""Outreach rules, tested without HTTP."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, Demand
from crm.database import utcnow
from crm.errors import StaleRecord
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp, Position, PositionHistoryIsKept
from tests.conftest import utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def test_positions_keep_history_and_the_latest_is_current(campaign, make_record, make_user):
    user = make_user("coordinator")
    record = make_record()
    demand = campaign.demands[2]
    first = outreach.record_position(record, demand, "non_committal", utc_today() - dt.timedelta(days=30), actor=user)
    second = outreach.record_position(
        record,
        demand,
        "supportive",
        utc_today() - dt.timedelta(days=2),
        actor=user,
        evidence="Minister said yes",
        evidence_url="https://example.org/statement",
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Position)) == 2
    assert outreach.current_positions([record])[(record.id, demand.id)] is second
    first.stance = "acted"
    with pytest.raises(PositionHistoryIsKept):
        db.session.flush()
    db.session.rollback()


def test_position_rules(campaign, make_record, make_user):
    user = make_user("coordinator")
    record = make_record()
    other = Campaign(slug="other", name="Other")
    foreign_demand = Demand(campaign=other, ordinal=1, code="x", title="X")
    db.session.add_all([other, foreign_demand])
    db.session.flush()
    with pytest.raises(outreach.OutreachError, match="another campaign"):
        outreach.record_position(record, foreign_demand, "supportive", utc_today(), actor=user)
    with pytest.raises(outreach.OutreachError, match="future"):
        outreach.record_position(
            record, campaign.demands[0], "supportive", utc_today() + dt.timedelta(days=5), actor=user
        )
    with pytest.raises(outreach.OutreachError, match="unknown position"):
        outreach.record_position(record, campaign.demands[0], "delighted", utc_today(), actor=user)


def test_stage_follows_what_is_logged_and_never_moves_back_by_itself(campaign, make_record, make_user):
    user = make_user("coordinator")
    record = make_record(stage="contacted")
    outreach.record_position(record, campaign.demands[0], "supportive", utc_today(), actor=user)
    assert record.stage == "responded"
    outreach.record_position(record, campaign.demands[2], "acted", utc_today(), actor=user)
    assert record.stage == "committed"
    assert outreach.advance_stage(record, "meeting_held", actor=user) is False
    assert record.stage == "committed"
    outreach.set_stage(record, "contacted", actor=user, expected_version=record.version)
    assert record.stage == "contacted"


def test_a_stale_form_cannot_overwrite_a_newer_save(campaign, make_record, make_user):
    user = make_user("coordinator")
    record = make_record()
    seen = record.version
    outreach.set_stage(record, "contacted", actor=user, expected_version=seen)
    db.session.flush()
    assert record.version == seen + 1
    with pytest.raises(StaleRecord):
        outreach.set_stage(record, "closed", actor=user, expected_version=seen)
    assert record.stage == "contacted"


def test_joint_meeting_with_positions_and_next_step_in_one_call(
    campaign, make_record, make_user, make_office, make_contact
):
    user = make_user("volunteer")
    france, chile = make_record("FRA", assignee=user), make_record("CHL", assignee=user)
    office = make_office("FRA")
    ambassador = make_contact(office)
    meeting = outreach.log_meeting(
        [france, chile],
        actor=user,
        held_at=utcnow() - dt.timedelta(hours=2),
        summary="Joint meeting in Madrid",
        office=office,
        contacts=[ambassador],
        staff=[user],
        positions=[outreach.StatedPosition(campaign.demands[0], "supportive")],
        next_step=outreach.NextStep(owner=user, due_on=utc_today() + dt.timedelta(days=3), note="Send the dossier"),
    )
    db.session.flush()
    assert {r.id for r in meeting.outreach_records} == {france.id, chile.id}
    assert france.meetings == [meeting] and chile.meetings == [meeting]
    assert france.stage == "responded" and chile.stage == "meeting_held"
    positions = db.session.scalars(sa.select(Position)).all()
    assert [(p.outreach_id, p.stance, p.meeting_id) for p in positions] == [(france.id, "supportive", meeting.id)]
    follow_up = db.session.scalars(sa.select(FollowUp)).one()
    assert (follow_up.outreach_id, follow_up.owner_id, follow_up.meeting_id) == (france.id, user.id, meeting.id)
    assert france.next_follow_up_on == utc_today() + dt.timedelta(days=3)
    kinds = [e.kind for e in outreach.timeline(france)]
    assert sorted(kinds) == ["follow_up", "meeting", "position"]


def test_meeting_rules(campaign, make_record, make_user):
    user = make_user("volunteer")
    record = make_record()
    with pytest.raises(outreach.OutreachError, match="future"):
        outreach.log_meeting([record], actor=user, held_at=utcnow() + dt.timedelta(days=3), summary="x")
    with pytest.raises(outreach.OutreachError, match="summary"):
        outreach.log_meeting([record], actor=user, held_at=utcnow(), summary="   ")
    with pytest.raises(outreach.OutreachError, match="twice"):
        outreach.log_meeting([record, record], actor=user, held_at=utcnow(), summary="x")
    with pytest.raises(outreach.OutreachError, match="at least one"):
        outreach.log_meeting([], actor=user, held_at=utcnow(), summary="x")


def test_follow_ups_complete_snooze_and_next_date(campaign, make_record, make_user):
    user = make_user("volunteer")
    record = make_record(assignee=user)
    early = outreach.add_follow_up(
        record, owner=user, due_on=utc_today() - dt.timedelta(days=1), note="Call back", actor=user
    )
    late = outreach.add_follow_up(
        record, owner=user, due_on=utc_today() + dt.timedelta(days=10), note="Deliver", actor=user
    )
    assert record.next_follow_up_on == early.due_on
    early.reminder_sent_at = utcnow()
    outreach.snooze_follow_up(early, utc_today() + dt.timedelta(days=2), actor=user)
    assert early.status == "snoozed" and early.reminder_sent_at is None
    assert record.next_follow_up_on == utc_today() + dt.timedelta(days=2)
    outreach.complete_follow_up(early, actor=user)
    assert early.status == "done" and early.completed_at is not None
    assert record.next_follow_up_on == late.due_on
    with pytest.raises(outreach.OutreachError):
        outreach.snooze_follow_up(early, utc_today() + dt.timedelta(days=5), actor=user)
    with pytest.raises(outreach.OutreachError):
        outreach.complete_follow_up(early, actor=user)
    with pytest.raises(outreach.OutreachError, match="after today"):
        outreach.snooze_follow_up(late, utc_today(), actor=user)
    with pytest.raises(outreach.OutreachError, match="next step"):
        outreach.add_follow_up(record, owner=user, due_on=utc_today(), note=" ", actor=user)
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "follow_up")).all()
    assert actions.count("follow_up.create") == 2 and "follow_up.snooze" in actions and "follow_up.complete" in actions
