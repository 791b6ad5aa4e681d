"""Dashboard figures, checked against the demo campaign counted by hand (crm/demo.py: 13 governments,
their stages, 16 positions and 10 follow-ups), without HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.countries.services import country_by_code
from crm.dashboard import services as dashboards
from crm.database import utcnow
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp, OutreachRecord
from crm.signatures.models import Petition, Signature, SignatureTally
from tests.conftest import utc_today
from tests.dashboard.conftest import demand, demo_record

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def manager(make_user):
    return make_user("manager")


def responses_by_month(figures) -> list[tuple[dt.date, dict[str, int]]]:
    """monthly_responses' series with each month's counts named by response, for reading the stories."""
    return [
        (month, dict(zip(dashboards.RESPONSES, counts, strict=True)))
        for month, counts in dashboards.monthly_responses(figures)
    ]


def test_governments_by_stage(demo, manager):
    # SWE | CHE DEU | ESP GBR | CRI PRY | FRA COL | CAN ARG | CHL PER
    figures = dashboards.campaign_figures(demo, manager)
    assert dashboards.stage_counts(figures) == [
        ("not_started", 1),
        ("contacted", 2),
        ("meeting_requested", 2),
        ("meeting_held", 2),
        ("responded", 2),
        ("committed", 2),
        ("closed", 2),
    ]


def test_responses_of_the_demo_governments(demo, manager):
    figures = dashboards.campaign_figures(demo, manager)
    by_country = {g.country.alpha3: g.response for g in figures.governments}
    # The six referring states and Costa Rica acted on demand 1 (Lima Group statement) or 3 (referral).
    assert {code for code, r in by_country.items() if r == "acted"} == {"ARG", "CAN", "CHL", "COL", "CRI", "PER", "PRY"}
    # France supports the referral without joining it.
    assert {code for code, r in by_country.items() if r == "supportive"} == {"FRA"}
    # Germany's only position is "unknown": that is no answer, like the governments with none at all.
    assert {code for code, r in by_country.items() if r == "no_answer"} == {"DEU", "CHE", "ESP", "SWE", "GBR"}
    assert dashboards.response_counts(figures) == {"no_answer": 5, "responded": 0, "supportive": 1, "acted": 7}


def test_the_map_colours_every_drawn_country(demo, manager):
    figures = dashboards.campaign_figures(demo, manager)
    world = dashboards.world_figures(figures, dashboards.all_countries())
    # 174 shapes (177 in the file, less Antarctica; N. Cyprus and Somaliland drawn with Cyprus and Somalia).
    assert len(world.entries) == 174
    assert world.counts == {"not_target": 161, "no_answer": 5, "responded": 0, "supportive": 1, "acted": 7}
    classes = {entry.country.alpha3: entry.css_class for entry in world.entries if entry.country}
    assert (classes["ARG"], classes["FRA"], classes["DEU"], classes["VEN"], classes["USA"]) == (
        "acted",
        "supportive",
        "no_answer",
        "not_target",
        "not_target",
    )
    assert world.off_map == set()


def test_targets_too_small_for_the_map_are_named(demo, manager):
    from crm.outreach.models import OutreachRecord

    malta = OutreachRecord(campaign=demo, country=country_by_code("MLT"), stage="contacted")
    db.session.add(malta)
    db.session.commit()
    figures = dashboards.campaign_figures(demo, manager)
    world = dashboards.world_figures(figures, dashboards.all_countries())
    assert world.off_map == {malta.id}
    assert world.counts["no_answer"] == 5 and dashboards.response_counts(figures)["no_answer"] == 6
    # The table beside the map names it, as it names every government, in the reader's language.
    rows = {row.alpha3: row for row in dashboards.government_rows(figures, world, "es")}
    assert rows["MLT"] == (malta.id, "MLT", "Malta", True, "no_answer", (None, None, None))
    assert rows["DEU"].name == "Alemania" and not rows["DEU"].off_map
    assert rows["CRI"].stances == ("acted", None, "supportive")
    assert [row.alpha3 for row in dashboards.government_rows(figures, world)] == [
        g.country.alpha3 for g in figures.governments
    ]


def test_responded_needs_a_stated_position_or_a_responding_stage(demo, manager):
    spain, sweden = demo_record(demo, "ESP"), demo_record(demo, "SWE")
    outreach.record_position(
        spain,
        demand(demo, "refugee-solidarity"),
        "non_committal",
        dt.date(2018, 11, 5),
        actor=manager,
        evidence="The ministry will study the mechanisms.",
    )
    outreach.set_stage(sweden, "responded", actor=manager)
    db.session.commit()
    figures = dashboards.campaign_figures(demo, manager)
    by_country = {g.country.alpha3: g.response for g in figures.governments}
    assert by_country["ESP"] == by_country["SWE"] == "responded"
    assert dashboards.response_counts(figures) == {"no_answer": 3, "responded": 2, "supportive": 1, "acted": 7}


@pytest.mark.parametrize(
    "stage,stances,expected",
    [
        ("not_started", [], "no_answer"),
        ("meeting_held", ["unknown"], "no_answer"),
        ("closed", [], "no_answer"),
        ("responded", [], "responded"),
        ("committed", ["unknown"], "responded"),
        ("contacted", ["opposed"], "responded"),
        ("contacted", ["non_committal", "unknown"], "responded"),
        ("contacted", ["opposed", "supportive"], "supportive"),
        ("committed", ["supportive", "acted", "opposed"], "acted"),
    ],
)
def test_the_response_rule(stage, stances, expected):
    assert dashboards.response_of(stage, stances) == expected


def test_matrix_cells_are_the_current_positions(demo, manager):
    figures = dashboards.campaign_figures(demo, manager)
    rows = {g.country.alpha3: g for g in dashboards.matrix(figures)}
    assert len(rows) == 13
    ids = {d.code: d.id for d in figures.demands}

    def cell(code, demand_code):
        position = rows[code].positions.get(ids[demand_code])
        return position and (position.stance, position.stated_on)

    assert cell("ARG", "repudiate-election") == ("acted", dt.date(2018, 5, 21))
    assert cell("ARG", "refugee-solidarity") is None
    assert cell("ARG", "icc-referral") == ("acted", dt.date(2018, 9, 26))
    # Costa Rica declined at first, then supported: the later position is the current one.
    assert cell("CRI", "icc-referral") == ("supportive", dt.date(2018, 10, 16))
    assert cell("FRA", "icc-referral") == ("supportive", dt.date(2018, 9, 29))
    assert cell("FRA", "repudiate-election") is None
    assert cell("DEU", "icc-referral") == ("unknown", dt.date(2018, 9, 26))
    assert "Lima Group statement" in rows["PER"].positions[ids["repudiate-election"]].evidence


def test_matrix_filters_by_rome_statute_status_and_region(demo, manager):
    figures = dashboards.campaign_figures(demo, manager)

    def codes(**filters):
        return {g.country.alpha3 for g in dashboards.matrix(figures, **filters)}

    # All thirteen are States Parties.
    assert len(codes(status="state_party")) == 13
    assert codes(status="non_party") == set()
    assert codes(region="150") == {"FRA", "CHE", "DEU", "ESP", "SWE", "GBR"}  # Europe
    assert codes(region="019") == {"CAN", "ARG", "CRI", "CHL", "COL", "PER", "PRY"}  # Americas
    assert codes(region="005") == {"ARG", "CHL", "COL", "PER", "PRY"}  # South America (intermediate)
    assert codes(region="155") == {"FRA", "CHE", "DEU"}  # Western Europe (sub-region)
    assert codes(status="state_party", region="013") == {"CRI"}  # Central America
    # An unknown status is no filter at all.
    assert len(codes(status="bogus")) == 13


def test_responses_over_time(demo, manager):
    series = responses_by_month(dashboards.campaign_figures(demo, manager))
    # From the campaign's start (May 2018) to the last position (Costa Rica, October 2018).
    assert [month for month, _ in series] == [dt.date(2018, m, 1) for m in range(5, 11)]
    counts = dict(series)
    # 21 May 2018: seven Lima Group signatories acted; the six others had not answered.
    assert counts[dt.date(2018, 5, 1)] == {"no_answer": 6, "responded": 0, "supportive": 0, "acted": 7}
    assert counts[dt.date(2018, 8, 1)] == counts[dt.date(2018, 5, 1)]
    # September: France supports the referral; Costa Rica's "non-committal" does not undo its acting.
    assert counts[dt.date(2018, 9, 1)] == {"no_answer": 5, "responded": 0, "supportive": 1, "acted": 7}
    assert counts[dt.date(2018, 10, 1)] == {"no_answer": 5, "responded": 0, "supportive": 1, "acted": 7}


def _opposes_the_referral(demo, manager, code: str, day: dt.date, evidence: str) -> None:
    outreach.record_position(
        demo_record(demo, code), demand(demo, "icc-referral"), "opposed", day, actor=manager, evidence=evidence
    )
    db.session.commit()


def test_responses_over_time_count_a_stated_position_from_its_month(demo, manager):
    _opposes_the_referral(demo, manager, "GBR", dt.date(2019, 1, 15), "Declined in a written answer.")
    counts = dict(responses_by_month(dashboards.campaign_figures(demo, manager)))
    assert counts[dt.date(2018, 12, 1)]["responded"] == 0
    assert counts[dt.date(2019, 1, 1)] == {"no_answer": 4, "responded": 1, "supportive": 1, "acted": 7}


def test_responses_over_time_are_counted_anew_once_a_position_is_recorded(demo, manager):
    """A position recorded shows in the series as soon as it is read again."""
    before = responses_by_month(dashboards.campaign_figures(demo, manager))
    assert responses_by_month(dashboards.campaign_figures(demo, manager)) == before
    _opposes_the_referral(demo, manager, "GBR", dt.date(2018, 10, 3), "Declined in a written answer.")
    after = dict(responses_by_month(dashboards.campaign_figures(demo, manager)))
    assert after[dt.date(2018, 10, 1)] == {"no_answer": 4, "responded": 1, "supportive": 1, "acted": 7}
    assert dict(before)[dt.date(2018, 10, 1)]["responded"] == 0


def test_responses_over_time_follow_a_government_that_changes_its_mind(demo, manager):
    # France supported the referral in September 2018; it opposes it from March 2019, and so counts as
    # having responded from then on, with the months between carried over unchanged.
    _opposes_the_referral(demo, manager, "FRA", dt.date(2019, 3, 2), "Withdrew its support in a statement.")
    series = responses_by_month(dashboards.campaign_figures(demo, manager))
    assert [month for month, _ in series] == [dt.date(2018, m, 1) for m in range(5, 13)] + [
        dt.date(2019, m, 1) for m in (1, 2, 3)
    ]
    counts = dict(series)
    assert counts[dt.date(2019, 2, 1)] == {"no_answer": 5, "responded": 0, "supportive": 1, "acted": 7}
    assert counts[dt.date(2019, 3, 1)] == {"no_answer": 5, "responded": 1, "supportive": 0, "acted": 7}


def test_overdue_follow_ups_by_owner(demo, manager):
    # Open and due before today: SWE (coordinator Chris, -3 days), GBR and DEU (Sam, -1 and -6),
    # CRI (Luisa, -2). Switzerland's is snoozed for ten more days; the others are due later or done.
    overdue = dashboards.overdue_by_owner(demo, utc_today())
    summary = [(o.owner.name, len(o.follow_ups), o.oldest) for o in overdue]
    assert summary == [
        ("Sam Placeholder (demo)", 2, utc_today() - dt.timedelta(days=6)),
        ("Chris Sample (demo)", 1, utc_today() - dt.timedelta(days=3)),
        ("Luisa Muestra (demo)", 1, utc_today() - dt.timedelta(days=2)),
    ]
    assert [f.alpha3 for f in overdue[0].follow_ups] == ["DEU", "GBR"]


def test_a_snooze_that_ended_makes_a_follow_up_overdue(demo, manager):
    switzerland = db.session.scalar(sa.select(FollowUp).where(FollowUp.outreach_id == demo_record(demo, "CHE").id))
    switzerland.snoozed_until = utc_today() - dt.timedelta(days=1)
    db.session.commit()
    owners = {o.owner.name: len(o.follow_ups) for o in dashboards.overdue_by_owner(demo, utc_today())}
    assert owners["Pedro Prueba (demo)"] == 1
    assert sum(owners.values()) == 5


def test_signature_totals_count_each_petition_and_country_once(demo):
    petition = Petition(campaign_id=demo.id, slug="demo-petition", name="Demo petition")
    other = Petition(campaign_id=demo.id, slug="demo-petition-2", name="Second petition")
    db.session.add_all([petition, other])
    db.session.flush()
    spain, france = country_by_code("ESP"), country_by_code("FRA")
    for index, country in enumerate([spain] * 3 + [france] * 2 + [None]):
        db.session.add(
            Signature(
                campaign_id=demo.id,
                petition_id=petition.id,
                email_hash=f"{index:064x}",
                country_id=country.id if country else None,
            )
        )
    # The platform says 40 from Spain for the first petition: the same people as the 3 imported, so 40.
    db.session.add(SignatureTally(petition_id=petition.id, country_id=spain.id, signers=40, as_of=dt.date(2018, 6, 1)))
    db.session.add(SignatureTally(petition_id=other.id, country_id=france.id, signers=7, as_of=dt.date(2018, 6, 1)))
    db.session.flush()
    totals = dashboards.signature_totals(demo)
    assert totals.total == 40 + 2 + 1 + 7
    assert [(p.name, n) for p, n in totals.petitions] == [("Demo petition", 43), ("Second petition", 7)]
    assert [(c.alpha3, n) for c, n in totals.countries] == [("ESP", 40), ("FRA", 9)]
    assert totals.unknown_country == 1


def test_the_demo_has_no_signatures(demo):
    totals = dashboards.signature_totals(demo)
    assert (totals.total, totals.petitions, totals.countries, totals.unknown_country) == (0, [], [], 0)


def test_recent_changes_are_this_campaigns_outreach_events(demo, manager, make_user):
    germany = demo_record(demo, "DEU")
    outreach.set_stage(germany, "meeting_requested", actor=manager)
    outreach.record_position(
        germany,
        demand(demo, "icc-referral"),
        "non_committal",
        utc_today(),
        actor=manager,
        evidence="Will study the referral.",
    )
    owner = make_user("volunteer")
    outreach.add_follow_up(germany, owner=owner, due_on=utc_today(), note="Send the dossier", actor=manager)
    # Events on another campaign's records and on other kinds of records are not shown.
    from crm.audit import services as audit

    audit.record("contact.update", actor=manager, entity_type="contact", entity_id=1)
    db.session.commit()
    # Newest first, above the demo's own history (loaded through the services, audited like anyone's work).
    changes = dashboards.recent_changes(demo, limit=4)
    assert [c.event.action for c in changes] == [
        "follow_up.create",
        "outreach.stage",
        "position.create",
        "outreach.stage",
    ]
    assert {c.outreach_id for c in changes} == {germany.id}
    assert {c.actor_name for c in changes} == {manager.name}
    assert len(dashboards.recent_changes(demo, limit=2)) == 2
    assert "contact.update" not in {c.event.action for c in dashboards.recent_changes(demo, limit=10_000)}


def test_the_dashboard_shows_five_changes_and_pages_the_rest(demo, manager):
    spain = demo_record(demo, "ESP")
    # The demo's own history: it was loaded through the services, audited like anyone's work.
    history = len(dashboards.recent_changes(demo, limit=10_000))
    for day in range(30):
        outreach.set_stage(spain, "contacted" if day % 2 else "meeting_held", actor=manager)
    db.session.commit()
    assert len(dashboards.recent_changes(demo)) == 5
    total = len(dashboards.recent_changes(demo, limit=10_000))
    assert total == history + 30
    pages = [dashboards.changes_page(demo, number) for number in range(1, -(-total // 25) + 1)]
    first, last = pages[0], pages[-1]
    assert len(first.items) == 25 and first.has_next and not first.has_prev
    assert len(last.items) == total - 25 * (len(pages) - 1) and not last.has_next and last.total == total
    beyond = dashboards.changes_page(demo, len(pages) + 1)
    assert beyond.items == [] and beyond.has_prev and not beyond.has_next
    newest_first = [c.event.id for page in pages for c in page.items]
    assert newest_first == sorted(newest_first, reverse=True)


@pytest.mark.parametrize(
    "role,allowed", [("admin", True), ("manager", True), ("coordinator", False), ("volunteer", False)]
)
def test_who_may_see_the_dashboard(make_user, role, allowed):
    user = make_user(role)
    assert dashboards.may_view_dashboard(user) is allowed
    assert dashboards.may_export(user) is allowed
    user.active = False
    assert dashboards.may_view_dashboard(user) is False


def test_matrix_filters_by_response_stage_and_assignee(demo, manager):
    figures = dashboards.campaign_figures(demo, manager)

    def codes(**filters):
        return {g.country.alpha3 for g in dashboards.matrix(figures, **filters)}

    assert codes(stage="meeting_held") == {"CRI", "PRY"}
    assert codes(stage="closed") == {"CHL", "PER"}
    assert codes(assignee="none") == {"SWE"}
    volunteer = demo_record(demo, "FRA").assignee
    assert codes(assignee=str(volunteer.id)) == {"FRA", "CAN", "DEU", "GBR"}
    assert codes(assignee=str(volunteer.id), stage="committed") == {"CAN"}
    # The six referring states and Argentina acted (the referral, the Lima Group), France supports.
    assert codes(response="acted") == {"ARG", "CAN", "CHL", "COL", "CRI", "PER", "PRY"}
    assert codes(response="supportive") == {"FRA"}
    assert codes(response="no_answer") == {"CHE", "DEU", "ESP", "GBR", "SWE"}
    assert codes(response="no_answer", stage="meeting_requested") == {"ESP", "GBR"}
    assert len(codes(response="bogus")) == 13


def test_each_audit_event_is_filed_under_its_campaign(demo, manager, make_user):
    from crm.audit.models import AuditEvent
    from crm.letters import letter_templates
    from crm.signatures.petitions import create_petition

    germany = demo_record(demo, "DEU")
    other = Campaign(slug="elsewhere", name="Elsewhere")
    db.session.add(other)
    db.session.flush()
    elsewhere = OutreachRecord(campaign=other, country_id=germany.country_id)
    db.session.add(elsewhere)
    db.session.flush()
    owner = make_user("volunteer")
    events = [
        outreach.set_stage(germany, "meeting_requested", actor=manager),
        outreach.record_position(germany, demand(demo, "icc-referral"), "opposed", utc_today(), actor=manager),
        outreach.add_follow_up(germany, owner=owner, due_on=utc_today(), note="Call", actor=manager),
        outreach.log_meeting([germany], actor=manager, held_at=utcnow(), summary="Met"),
        letter_templates.save_template(None, name="t", language="en", subject="S", body="B", actor=manager),
        create_petition(demo, "Filed", actor=manager),
    ]
    joint = outreach.log_meeting([germany, elsewhere], actor=owner, held_at=utcnow(), summary="Joint")
    db.session.commit()
    filed = dict(
        db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.campaign_id).where(AuditEvent.actor_id == manager.id)
        ).all()
    )
    for action in ("outreach.stage", "position.create", "follow_up.create", "petition.create"):
        assert filed[action] == demo.id, action
    assert filed["letter_template.create"] is None  # a template belongs to no campaign
    meetings = dict(
        db.session.execute(
            sa.select(AuditEvent.entity_id, AuditEvent.campaign_id).where(AuditEvent.action == "meeting.create")
        ).all()
    )
    assert meetings[str(joint.id)] is None  # governments of two campaigns: filed under neither
    assert len(events) == 6


def test_recent_changes_read_only_this_campaigns_latest_events(demo, manager, count_queries):
    spain = demo_record(demo, "ESP")
    outreach.set_stage(spain, "contacted", actor=manager)
    db.session.commit()
    few, before = count_queries(lambda: dashboards.recent_changes(demo))
    # Another campaign's busy history is not read, nor shown.
    other = Campaign(slug="busy-elsewhere", name="Busy elsewhere")
    db.session.add(other)
    db.session.flush()
    record = OutreachRecord(campaign=other, country_id=spain.country_id)
    db.session.add(record)
    db.session.flush()
    for day in range(30):
        outreach.set_stage(record, "contacted" if day % 2 else "meeting_held", actor=manager)
    db.session.commit()
    many, after = count_queries(lambda: dashboards.recent_changes(demo))
    assert many == few
    assert [c.event.id for c in after] == [c.event.id for c in before]


def test_an_owner_with_many_overdue_follow_ups_is_counted_whole_and_listed_most_overdue_first(demo, manager, make_user):
    owner = make_user("volunteer", name="Busy Owner")
    spain = demo_record(demo, "ESP")
    for days in range(1, dashboards.OVERDUE_LISTED + 6):
        outreach.add_follow_up(
            spain, owner=owner, due_on=utc_today() - dt.timedelta(days=days), note=f"Late by {days}", actor=manager
        )
    db.session.commit()
    overdue = dashboards.overdue_by_owner(demo, utc_today())
    busy = overdue[0]
    assert (busy.owner.name, busy.count, busy.oldest) == (
        "Busy Owner",
        dashboards.OVERDUE_LISTED + 5,
        utc_today() - dt.timedelta(days=dashboards.OVERDUE_LISTED + 5),
    )
    assert [f.note for f in busy.follow_ups] == [
        f"Late by {days}" for days in range(dashboards.OVERDUE_LISTED + 5, 5, -1)
    ]
    assert dashboards.dashboard(demo, manager, today=utc_today()).overdue_total == busy.count + 4


def test_the_owners_with_the_most_overdue_are_listed_and_everyone_is_counted(demo, manager):
    overdue = dashboards.overdue_by_owner(demo, utc_today(), owners=2)
    assert [o.owner.name for o in overdue] == ["Sam Placeholder (demo)", "Chris Sample (demo)"]
    assert (overdue.total, overdue.more_owners) == (4, 1)
    spanish = dashboards.overdue_by_owner(demo, utc_today(), "es")
    assert [f.country for f in spanish[0].follow_ups] == ["Alemania", "Reino Unido"]


def test_owners_as_many_overdue_since_the_same_day_are_placed_by_their_folded_names(demo, manager, make_user):
    # Python's order of folded names, by code point: "ana maria" before "anab" (a space before a letter),
    # "anab" before "Ángela" folded ("angela"); the database picks the first owners in the same order.
    spain = demo_record(demo, "ESP")
    for name in ("Ángela Ruiz", "Anab Ortiz", "Ana María"):
        owner = make_user("volunteer", name=name)
        for days in (30, 29, 28):
            outreach.add_follow_up(
                spain, owner=owner, due_on=utc_today() - dt.timedelta(days=days), note=f"{name} {days}", actor=manager
            )
    db.session.commit()
    overdue = dashboards.overdue_by_owner(demo, utc_today(), owners=2)
    assert [o.owner.name for o in overdue] == ["Ana María", "Anab Ortiz"]
    assert (overdue.total, overdue.more_owners) == (4 + 9, 4)
    assert [f.note for f in overdue[1].follow_ups] == ["Anab Ortiz 30", "Anab Ortiz 29", "Anab Ortiz 28"]
