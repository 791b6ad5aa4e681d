"""The demo campaign: loaded once, real evidence on real governments, fictional people, reminders due at once."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa

from crm.accounts.models import User
from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office, Post
from crm.demo import DEMO_ACTOR, DEMO_CAMPAIGN_SLUG, USERS, load_demo
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import STAGES, FollowUp, Meeting, OutreachRecord, Position
from crm.outreach.services import effective_due
from tests.conftest import CLOCKS, count_rows, utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")

REFERRING_STATES = {"ARG", "CAN", "CHL", "COL", "PER", "PRY"}


def every_table_count() -> dict[str, int]:
    """Rows in every table, association tables included."""
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def demo_campaign() -> Campaign:
    return db.session.scalar(sa.select(Campaign).where(Campaign.slug == DEMO_CAMPAIGN_SLUG))


def demo_records() -> list[OutreachRecord]:
    return demo_campaign().outreach_records


@pytest.fixture
def demo(app):
    assert load_demo() is True
    return demo_campaign()


def test_a_second_load_changes_nothing(app):
    assert load_demo() is True
    before = every_table_count()

    assert load_demo() is False

    assert every_table_count() == before


def test_the_campaign_is_marked_as_demo(demo):
    assert demo.is_demo
    assert demo.name == "Justice for Venezuela"
    assert demo.description.startswith("DEMO DATA —")
    assert "fictional" in demo.description
    assert demo.starts_on == dt.date(2018, 5, 20)
    assert demo.reply_days == 14


def test_three_demands_in_order_with_spanish_wording(demo):
    assert [(d.ordinal, d.code) for d in demo.demands] == [
        (1, "repudiate-election"),
        (2, "refugee-solidarity"),
        (3, "icc-referral"),
    ]
    for demand in demo.demands:
        title_es, description_es = demand.text("es")
        assert title_es != demand.title
        assert description_es and description_es != demand.description


def test_every_stage_appears(demo):
    assert {record.stage for record in demo_records()} == set(STAGES)


def test_hand_counted_contents(demo):
    # 9 governments named by the call + Chile, Colombia, Peru and Paraguay.
    assert len(demo_records()) == 13
    assert {record.country.alpha3 for record in demo_records()} == {
        "FRA",
        "CAN",
        "CHE",
        "ARG",
        "DEU",
        "ESP",
        "CRI",
        "SWE",
        "GBR",
        "CHL",
        "COL",
        "PER",
        "PRY",
    }
    assert count_rows(Demand) == 3
    assert count_rows(Office) == 25
    assert count_rows(Contact) == 16
    assert count_rows(Post) == 17  # one contact rotated from Caracas to Paris
    assert count_rows(Meeting) == 4
    assert count_rows(Letter) == 9  # 7 sent, 2 replies
    # Lima Group (7) + referring states (6) + France + Costa Rica twice + Germany.
    assert count_rows(Position) == 17
    assert count_rows(FollowUp) == 10
    assert count_rows(User) == 5


def test_the_joint_meeting_sits_on_two_records(demo):
    joint = [meeting for meeting in db.session.scalars(sa.select(Meeting)) if len(meeting.outreach_records) > 1]
    assert len(joint) == 1
    assert {record.country.alpha3 for record in joint[0].outreach_records} == {"ARG", "CHL"}
    assert len(joint[0].contacts) == 2
    assert joint[0].staff
    assert joint[0].held_at.tzinfo is not None


def test_follow_ups_are_due_at_once_and_records_point_to_the_earliest(demo):
    today = utc_today()
    follow_ups = db.session.scalars(sa.select(FollowUp)).all()
    assert any(f.status == "open" and f.due_on <= today for f in follow_ups)
    assert any(f.status == "open" and f.due_on > today for f in follow_ups)
    assert [f.status for f in follow_ups].count("done") == 1
    assert all(f.completed_at is not None for f in follow_ups if f.status == "done")
    assert any(f.status == "snoozed" and f.snoozed_until > today for f in follow_ups)
    # As the follow-up services keep it: the earliest open follow-up, a snoozed one counting from its snooze's end.
    for record in demo_records():
        pending = [effective_due(f) for f in record.follow_ups if f.status in ("open", "snoozed")]
        assert record.next_follow_up_on == (min(pending) if pending else None)


def test_the_referring_states_acted_on_the_icc_referral(demo):
    referral = next(d for d in demo.demands if d.code == "icc-referral")
    positions = db.session.scalars(sa.select(Position).where(Position.demand_id == referral.id)).all()
    acted = {p.outreach.country.alpha3 for p in positions if p.stance == "acted"}
    assert acted == REFERRING_STATES
    for position in positions:
        if position.stance == "acted":
            assert position.stated_on == dt.date(2018, 9, 26)
            assert position.evidence and position.evidence_url.startswith("https://")


def test_costa_rica_keeps_its_position_history(demo):
    costa_rica = next(r for r in demo_records() if r.country.alpha3 == "CRI")
    history = [(p.demand.code, p.stance) for p in costa_rica.positions if p.demand.code == "icc-referral"]
    assert history == [("icc-referral", "non_committal"), ("icc-referral", "supportive")]
    assert "disputed" in costa_rica.positions[-1].evidence


def test_a_reply_answers_a_sent_letter(demo):
    replies = db.session.scalars(sa.select(Letter).where(Letter.direction == "incoming")).all()
    assert replies
    for reply in replies:
        assert reply.in_reply_to.direction == "outgoing"
        assert reply.received_on >= reply.in_reply_to.sent_on


def test_people_are_fictional_and_nobody_can_sign_in(demo):
    for contact in db.session.scalars(sa.select(Contact)):
        assert contact.notes == "Fictional demo contact."
        assert contact.email is None or contact.email.endswith("@example.org")
        assert contact.posts
    for email, *_ in USERS.values():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert email.endswith("@example.org")
        assert user.password_hash is None
        assert not user.check_password("")
    assert {user.role for user in db.session.scalars(sa.select(User))} == {"coordinator", "volunteer"}
    assert {user.language for user in db.session.scalars(sa.select(User))} == {"en", "es"}


def test_real_offices_carry_no_invented_way_to_reach_them(demo):
    for office in db.session.scalars(sa.select(Office)):
        assert office.email is None and office.phone is None
        assert office.city.strip()


def test_an_existing_demo_user_is_reused(app):
    existing = User(email="coordinadora.demo@example.org", name="Already here", role="coordinator")
    db.session.add(existing)
    db.session.flush()

    load_demo()

    assert count_rows(User) == 5
    assert db.session.scalar(sa.select(User).where(User.email == existing.email)).name == "Already here"


def test_missing_reference_data_is_a_clear_error(app, monkeypatch):
    monkeypatch.setattr("crm.demo.country_by_code", lambda code: None if code == "CRI" else object())

    with pytest.raises(RuntimeError, match="flask --app wsgi seed reference"):
        load_demo()

    assert count_rows(Campaign) == 0


def test_the_seed_command_loads_once(runner):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert "loaded" in first.output and "already present" not in first.output

    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output


def test_made_through_the_services_with_their_audit_trail(demo):
    events = db.session.scalars(sa.select(AuditEvent)).all()
    made = Counter(event.action for event in events)
    assert made["user.create"] == 5
    assert made["campaign.create"] == 1 and made["campaign.targets_add"] == 1
    assert made["office.create"] == 25
    assert made["contact.create"] == 16 and made["contact.move"] == 1
    assert made["meeting.create"] == 4
    assert made["letter.compose"] == made["letter.sent"] == 7 and made["letter.reply"] == 2
    assert made["position.create"] == 17
    assert made["follow_up.create"] == 10 and made["follow_up.complete"] == made["follow_up.snooze"] == 1
    assert made["assignment.change"] == 12  # every government but Sweden, taken by its volunteer
    # Set up by the demo itself, worked by its fictional staff: nobody else is named.
    assert {event.actor_label for event in events} == {DEMO_ACTOR, *(email for email, *_ in USERS.values())}
    created = next(event for event in events if event.action == "campaign.create")
    assert created.after["is_demo"] is True and created.campaign_id == demo.id
    assert all(p.recorded_by_id is not None for p in db.session.scalars(sa.select(Position)))
    assert all(letter.created_by_id is not None for letter in db.session.scalars(sa.select(Letter)))


def test_a_diplomat_who_moved_left_one_post_the_day_the_next_began(demo):
    julien = db.session.scalar(sa.select(Contact).where(Contact.name == "Julien Exemple"))
    earlier, current = sorted(julien.posts, key=lambda post: post.started_on)
    assert (earlier.office.city, earlier.ended_on) == ("Caracas", current.started_on)
    assert current.ended_on is None and julien.office == current.office


@pytest.mark.parametrize("clock", [CLOCKS["caracas-offset-change"]], indirect=True)
def test_not_before_its_story_happened(app, runner, clock):
    # In 2016 the 2018 campaign's meetings, letters and positions would be dated in the future.
    with pytest.raises(RuntimeError, match="the demo tells of events up to 2018-10-16"):
        load_demo()
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 1 and "demo campaign not loaded: the demo tells of events" in result.output

    assert count_rows(Campaign) == count_rows(AuditEvent) == 0
