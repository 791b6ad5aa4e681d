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


def test_a_follow_up_carries_its_records_campaign_however_it_is_made(campaign, make_record, make_user):
    """Through the service, from the record at hand, or from the record's id alone (a job, an import)."""
    user = make_user("volunteer")
    record, other = make_record("FRA"), make_record("PER")
    added = outreach.add_follow_up(record, owner=user, due_on=utc_today(), note="Call back", actor=user)
    at_hand = FollowUp(outreach=other, owner_id=user.id, due_on=utc_today(), note="Write")
    by_id = FollowUp(outreach_id=other.id, owner_id=user.id, due_on=utc_today(), note="Visit")
    db.session.add_all([at_hand, by_id])
    db.session.flush()
    db.session.expire_all()
    assert added.campaign_id == at_hand.campaign_id == by_id.campaign_id == campaign.id


def test_each_link_of_a_meeting_carries_its_utc_day_whoever_writes_it(campaign, make_record, make_meeting):
    from crm.outreach.models import meeting_outreach

    france, spain = make_record("FRA"), make_record("ESP")
    # Late on 2 March in UTC: already 3 March in Madrid, still 2 March in Caracas. The UTC day is kept.
    meeting = make_meeting([france, spain], dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC))

    def days():
        rows = db.session.execute(
            sa.select(meeting_outreach.c.outreach_id, meeting_outreach.c.held_on).where(
                meeting_outreach.c.meeting_id == meeting.id
            )
        )
        return dict(rows.all())

    assert days() == {france.id: dt.date(2026, 3, 2), spain.id: dt.date(2026, 3, 2)}
    # Moved by the app, or by hand in the database: the links follow.
    meeting.held_at = dt.datetime(2026, 2, 27, 9, 0, tzinfo=dt.UTC)
    db.session.flush()
    assert days() == {france.id: dt.date(2026, 2, 27), spain.id: dt.date(2026, 2, 27)}
    db.session.execute(
        sa.text("UPDATE meeting SET held_at = :at WHERE id = :id"), {"at": "2026-01-05 10:00:00", "id": meeting.id}
    )
    assert set(days().values()) == {dt.date(2026, 1, 5)}
    # A link added later, or written over, still says the meeting's day.
    germany = make_record("DEU")
    db.session.execute(sa.insert(meeting_outreach).values(meeting_id=meeting.id, outreach_id=germany.id))
    assert days()[germany.id] == dt.date(2026, 1, 5)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.update(meeting_outreach).values(held_on=dt.date(2000, 1, 1)))
        assert set(days().values()) == {dt.date(2026, 1, 5)}


def test_recent_timelines_read_the_latest_of_each_kind_in_one_query(
    campaign, make_record, make_user, make_meeting, make_letter, make_follow_up, count_queries
):
    owner = make_user("volunteer", name="Olga Owner")
    records = [make_record(code) for code in ("FRA", "ESP", "DEU")]
    for n in range(4):
        day = utc_today() - dt.timedelta(days=10 * n + 1)
        for record in records:
            make_meeting([record], dt.datetime.combine(day, dt.time(12), dt.UTC), summary=f"Meeting {n}")
            make_letter(record, subject=f"Letter {n}", sent_on=day)
            make_follow_up(record, owner, day, note=f"Call {n}")
    outreach.record_position(records[1], campaign.demands[0], "supportive", utc_today(), actor=owner)
    joint = make_meeting(records[:2], utcnow(), summary="Joint meeting")
    demands = {demand.id: demand for demand in campaign.demands}
    queries, recent = count_queries(lambda: outreach.recent_timelines(records, 3, demands))
    assert queries == 1  # every kind of entry at once, whatever the number of records and entries
    for record in records:
        full = outreach.timeline(record)
        assert [(e.kind, e.item.id) for e in recent[record.id].entries] == [(e.kind, e.item.id) for e in full[:3]]
        assert recent[record.id].more
    first = recent[records[0].id].entries[0].item
    assert (first.id, first.governments, first.office) == (joint.id, 2, None)
    follow_up = next(e.item for e in recent[records[2].id].entries if e.kind == "follow_up")
    assert (follow_up.owner.name, follow_up.note, follow_up.status) == ("Olga Owner", "Call 0", "open")
    position = next(e.item for e in recent[records[1].id].entries if e.kind == "position")
    assert (position.stance, position.demand) == ("supportive", campaign.demands[0])
    # Without the demands at hand, they are read too.
    queries, again = count_queries(lambda: outreach.recent_timelines(records, 3))
    position = next(e.item for e in again[records[1].id].entries if e.kind == "position")
    assert queries == 3 and position.demand.id == campaign.demands[0].id
