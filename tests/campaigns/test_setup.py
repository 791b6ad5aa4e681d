"""Setting up a campaign: its description, demands and settings, archiving it, and choosing its targets.
Services tested directly, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.campaigns import services as campaigns
from crm.campaigns import targets
from crm.campaigns.models import Demand
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import OutreachRecord
from crm.permissions import can_edit_outreach
from tests.conftest import count_rows

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
W = campaigns.DemandWording


def three_demands():
    return [
        W(
            "Repudiate the election",
            "Declare the election illegitimate.",
            "Repudiar la elección",
            "Declarar ilegítima la elección.",
        ),
        W("Open solidarity mechanisms", None, "Abrir mecanismos de solidaridad", None),
        W("Refer to the ICC", "Refer the situation to the Prosecutor."),
    ]


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def own(app, manager):
    return campaigns.create_campaign(
        name="Free elections",
        slug="free-elections",
        translations={"es": campaigns.CampaignWording("Elecciones libres")},
        demands=three_demands(),
        actor=manager,
        letter_language="es",
        starts_on=dt.date(2026, 1, 15),
    )


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def test_a_manager_creates_a_campaign_with_its_demands_in_two_languages(own):
    assert (own.name, own.display_name("es"), own.slug, own.letter_language, own.status) == (
        "Free elections",
        "Elecciones libres",
        "free-elections",
        "es",
        "active",
    )
    assert [d.ordinal for d in own.demands] == [1, 2, 3]
    assert [d.text("es")[0] for d in own.demands] == [
        "Repudiar la elección",
        "Abrir mecanismos de solidaridad",
        "Refer to the ICC",
    ]
    assert own.demands[0].text("en") == ("Repudiate the election", "Declare the election illegitimate.")
    assert own.display_name("es") == "Elecciones libres"


@pytest.mark.parametrize(
    "slug, demands, message",
    [
        ("free-elections", [W("One")], "already has the slug"),
        ("Free Elections", [W("One")], "lower-case letters"),
        ("", [W("One")], "slug"),
        ("other", [W("One"), W("   ")], "Demand 2: A demand needs a short label"),
        ("other", [W("One", code="ICC referral")], "Demand 1: A demand's code"),
        ("other", [W("One", code="icc"), W("Two", code="icc")], "Two demands have the same code"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(own, manager, slug, demands, message):
    db.session.commit()
    before = table_counts()
    with pytest.raises(campaigns.CampaignError, match=message):
        campaigns.create_campaign(name="Another", slug=slug, demands=demands, actor=manager)
    db.session.rollback()
    assert table_counts() == before


def test_a_demand_may_be_given_its_code_once_and_for_all(own, manager):
    added = campaigns.add_demand(own, W("Protect refugees", code="refugees"), actor=manager)
    assert (added.ordinal, added.code) == (4, "refugees")
    with pytest.raises(campaigns.CampaignError, match="Another demand of this campaign has the code"):
        campaigns.add_demand(own, W("Protect them again", code="refugees"), actor=manager)
    campaigns.reword_demand(added, W("Protect the refugees", code="other"), actor=manager)
    assert added.code == "refugees"


def test_demands_are_added_reworded_and_reordered(own, manager):
    added = campaigns.add_demand(own, W("Protect refugees", label_es="Proteger a los refugiados"), actor=manager)
    assert (added.ordinal, added.code) == (4, "d4")
    campaigns.reword_demand(own.demands[1], W("Open the borders", "All of them.", "Abrir las fronteras"), actor=manager)
    assert own.demands[1].text("es") == ("Abrir las fronteras", None)
    assert campaigns.move_demand(added, -1, actor=manager) is True
    db.session.expire_all()
    assert [d.title for d in own.demands] == [
        "Repudiate the election",
        "Open the borders",
        "Protect refugees",
        "Refer to the ICC",
    ]
    assert campaigns.move_demand(own.demands[0], -1, actor=manager) is False


def test_a_demand_with_positions_is_retired_and_one_without_is_deleted(own, manager, make_record):
    record = make_record("DEU", campaign_=own)
    first, second = own.demands[0], own.demands[1]
    outreach.record_position(record, first, "supportive", dt.date(2026, 2, 1), actor=manager)
    assert campaigns.retire_demand(first, actor=manager, now=NOW) == "retired"
    assert campaigns.retire_demand(second, actor=manager, now=NOW) == "deleted"
    db.session.expire_all()
    assert first.retired_at == NOW
    assert [d.title for d in own.active_demands] == ["Refer to the ICC"]
    assert db.session.get(Demand, first.id) is not None


def test_settings_are_checked(own, manager, make_user):
    coordinator = make_user("coordinator")
    campaigns.update_settings(
        own, actor=manager, reply_days=10, stall_days=30, claims_need_approval=True, default_coordinator=coordinator
    )
    assert (own.reply_days, own.stall_days, own.claims_need_approval, own.default_coordinator) == (
        10,
        30,
        True,
        coordinator,
    )
    with pytest.raises(campaigns.CampaignError, match="active coordinator"):
        campaigns.update_settings(
            own,
            actor=manager,
            reply_days=10,
            stall_days=30,
            claims_need_approval=True,
            default_coordinator=make_user("volunteer"),
        )
    with pytest.raises(campaigns.CampaignError, match="between 1 and 3650"):
        campaigns.update_settings(own, actor=manager, reply_days=0, stall_days=30, claims_need_approval=True)


def test_an_archived_campaign_is_read_only_and_leaves_the_start_page(own, manager, make_record):
    record = make_record("DEU", campaign_=own)
    assert campaigns.archive_campaign(own, actor=manager, now=NOW) is True
    assert own.status == "archived"
    assert own not in [item["campaign"] for item in campaigns.campaign_overview()]
    assert can_edit_outreach(manager, record) is False
    assert record.id not in set(db.session.scalars(campaigns.open_records()))
    with pytest.raises(campaigns.CampaignArchived):
        campaigns.add_demand(own, W("Late"), actor=manager)
    with pytest.raises(campaigns.CampaignArchived):
        targets.add_targets(own, names=["FRA"], actor=manager)


def test_every_state_party_in_latin_america_and_three_named_governments(own, manager, clock):
    expected = set(
        db.session.scalars(
            sa.select(Country.alpha3).where(Country.sub_region_code == "419", Country.rs_status == "state_party")
        )
    )
    report = targets.add_targets(
        own,
        actor=manager,
        region="419",
        rome_status="state_party",
        names=targets.split_names("Alemania, FRA; Reino Unido"),
    )
    added = {c.alpha3 for c in report.added}
    assert added == expected | {"DEU", "FRA", "GBR"}
    assert "VEN" in added and "PRI" not in added
    stages = set(db.session.scalars(sa.select(OutreachRecord.stage).where(OutreachRecord.campaign_id == own.id)))
    assert stages == {"not_started"}
    again = targets.add_targets(own, actor=manager, names=["Germany"])
    assert (again.added, [c.alpha3 for c in again.already]) == ([], ["DEU"])


def test_an_unknown_name_adds_nothing_and_is_reported(own, manager):
    db.session.commit()
    before = table_counts()
    with pytest.raises(targets.UnknownCountries) as refused:
        targets.add_targets(own, actor=manager, names=["Alemania", "Atlantis", "Reino Unido", "ZZ"])
    assert refused.value.names == ["Atlantis", "ZZ"]
    db.session.rollback()
    assert table_counts() == before


@pytest.mark.parametrize("region, status, field", [("999", None, "region"), (None, "ratified", "rome_status")])
def test_an_unknown_region_or_status_is_refused(own, manager, region, status, field):
    with pytest.raises(campaigns.CampaignError) as refused:
        targets.add_targets(own, actor=manager, region=region, rome_status=status)
    assert refused.value.field == field


def test_a_target_without_history_is_removed_and_one_with_history_closed(own, manager, make_user):
    coordinator = make_user("coordinator")
    campaigns.update_settings(
        own, actor=manager, reply_days=14, stall_days=21, claims_need_approval=False, default_coordinator=coordinator
    )
    targets.add_targets(own, actor=manager, names=["DEU", "FRA"])
    germany, france = (
        db.session.scalar(
            sa.select(OutreachRecord).where(
                OutreachRecord.campaign_id == own.id, OutreachRecord.country_id == country_by_code(code).id
            )
        )
        for code in ("DEU", "FRA")
    )
    assert germany.coordinator_id == coordinator.id
    outreach.add_follow_up(france, owner=manager, due_on=dt.date(2026, 3, 5), note="Call", actor=manager)
    assert targets.remove_target(germany, actor=manager) == "removed"
    assert targets.remove_target(france, actor=manager) == "closed"
    db.session.expire_all()
    assert [r.country.alpha3 for r in own.outreach_records] == ["FRA"]
    assert france.stage == "closed"


def test_archived_records_cannot_be_assigned_or_claimed_and_retired_demands_leave_the_forms(
    own, manager, make_record, make_user, client, signed_in
):
    from crm.outreach import assignments
    from crm.outreach.services import OutreachError

    volunteer = make_user("volunteer")
    record = make_record("DEU", campaign_=own)
    outreach.record_position(record, own.demands[0], "supportive", dt.date(2026, 2, 1), actor=manager)
    campaigns.retire_demand(own.demands[0], actor=manager, now=NOW)
    db.session.commit()
    signed_in("coordinator")
    page = client.get(f"/outreach/{record.id}/positions/new").get_data(as_text=True)
    assert "Open solidarity mechanisms" in page and "Repudiate the election" not in page
    campaigns.archive_campaign(own, actor=manager, now=NOW)
    assert record not in assignments.claimable_records(volunteer)[0]
    with pytest.raises(OutreachError, match="archived"):
        assignments.set_assignee([record], volunteer, actor=manager)
    with pytest.raises(OutreachError, match="archived"):
        assignments.claim(record, volunteer)
