"""A manager opens a campaign's dashboard again and again while the team works. Its figures are made once
and kept, under a number the database gives the campaign anew whenever a row they are made from changes,
whoever writes (the app, an import, raw SQL): the dashboard never shows figures older than the data, and
while nothing changes it reads that number instead of every record and position, and draws the parts of the
page made from them (the summary, the map, the matrix's first rows, the months) only once. Its signature totals
and overdue follow-ups are kept with the figures the same way, each under a number of its own."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from flask import template_rendered

from crm.accounts.models import User
from crm.campaigns import services as campaigns
from crm.campaigns.models import Campaign, Demand
from crm.countries.models import Country
from crm.dashboard import services as dashboards
from crm.database import utcnow
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.assignments import set_assignee
from crm.outreach.models import FollowUp, OutreachRecord, Position
from crm.permissions import visibility_scope
from crm.signatures.imports import import_file
from crm.signatures.models import Petition, SignatureImport, SignatureTotal
from crm.signatures.petitions import create_petition
from crm.signatures.tallies import record_tally
from tests.conftest import sign_in, utc_today
from tests.dashboard.conftest import DEMO_URL, demand, demo_record

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def manager(make_user):
    return make_user("manager")


def _version(campaign) -> int:
    return db.session.scalar(sa.select(Campaign.figures_version).where(Campaign.id == campaign.id))


def _other_campaign() -> Campaign:
    campaign = Campaign(slug="other-campaign", name="Other campaign")
    db.session.add(campaign)
    db.session.flush()
    return campaign


def _country(alpha3: str) -> Country:
    return db.session.scalar(sa.select(Country).where(Country.alpha3 == alpha3))


# Each write the figures are made from, as the app or anyone else makes it.
CHANGES = {
    "a position recorded": lambda demo, manager: outreach.record_position(
        demo_record(demo, "GBR"),
        demand(demo, "icc-referral"),
        "opposed",
        dt.date(2019, 1, 15),
        actor=manager,
        evidence="Letter",
    ),
    "a stage set by hand": lambda demo, manager: outreach.set_stage(demo_record(demo, "SWE"), "closed", actor=manager),
    "a record assigned": lambda demo, manager: set_assignee([demo_record(demo, "SWE")], manager, actor=manager),
    "a government added": lambda demo, manager: db.session.add(
        OutreachRecord(campaign=demo, country=_country("ISL"), stage="contacted")
    ),
    "a government removed, by raw SQL": lambda demo, manager: db.session.execute(
        sa.delete(OutreachRecord).where(OutreachRecord.id == demo_record(demo, "PER").id)
    ),
    "a demand added": lambda demo, manager: campaigns.add_demand(
        demo, campaigns.DemandWording("Release the prisoners"), actor=manager
    ),
    "a demand's Spanish wording": lambda demo, manager: campaigns.reword_demand(
        demand(demo, "icc-referral"),
        campaigns.DemandWording("Refer Venezuela to the ICC", label_es="Remitir Venezuela a la CPI"),
        actor=manager,
    ),
    "a country renamed, by raw SQL": lambda demo, manager: db.session.execute(
        sa.update(Country).where(Country.alpha3 == "CHE").values(name_es="Confederación Suiza")
    ),
    "a stage changed by raw SQL": lambda demo, manager: db.session.execute(
        sa.update(OutreachRecord).where(OutreachRecord.id == demo_record(demo, "CHL").id).values(stage="committed")
    ),
}

# Writes on a campaign's records that no figure reads.
UNRELATED = {
    "a record's priority": lambda demo, manager: outreach.update_record(
        demo_record(demo, "SWE"), actor=manager, priority=1
    ),
    "a follow-up": lambda demo, manager: outreach.add_follow_up(
        demo_record(demo, "SWE"), owner=manager, due_on=utc_today() + dt.timedelta(days=3), note="Call", actor=manager
    ),
    "a government added to another campaign": lambda demo, manager: db.session.add(
        OutreachRecord(campaign=_other_campaign(), country=_country("ISL"), stage="contacted")
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_write_the_figures_are_made_from_renews_the_campaigns_number(demo, manager, change):
    before = _version(demo)
    CHANGES[change](demo, manager)
    db.session.commit()
    assert _version(demo) != before


@pytest.mark.parametrize("change", UNRELATED)
def test_other_writes_keep_the_campaigns_number(demo, manager, change):
    before = _version(demo)
    UNRELATED[change](demo, manager)
    db.session.commit()
    assert _version(demo) == before


def _statements(call) -> list[str]:
    seen: list[str] = []

    def count(_connection, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_while_nothing_changes_the_dashboard_reads_its_numbers_instead_of_records_signatures_and_follow_ups(
    demo, manager
):
    def heads(statements):
        # What each statement reads first: "select country.id", "select position.id", ...
        return [" ".join(statement.lower().split()[:2]).rstrip(",") for statement in statements]

    made = heads(_statements(lambda: dashboards.dashboard(demo, manager, today=utc_today())))
    kept = heads(_statements(lambda: dashboards.dashboard(demo, manager, today=utc_today())))
    # The campaign's numbers, in one statement, read both times: on PostgreSQL through campaign_versions().
    versions = (
        "select versions.figures" if db.engine.dialect.name == "postgresql" else "select campaign.figures_version"
    )
    assert kept == [versions, "select audit_event.id"]
    assert made[0] == versions
    assert set(made) - set(kept) == {
        "select country.id",
        "select outreach_record.id",
        "select demand.id",
        "select position.id",
        "select signature_total.petition_id",
        "select petition.id",
        "with overdue",
    }
    assert len(made) == len(kept) + 7


def test_the_dashboard_shows_a_change_made_behind_its_back(demo, manager):
    before = dashboards.dashboard(demo, manager, today=utc_today())
    assert dict(before.stages)["closed"] == 2 and dict(before.stages)["not_started"] == 1
    record = demo_record(demo, "SWE")
    db.session.execute(sa.update(OutreachRecord).where(OutreachRecord.id == record.id).values(stage="closed"))
    db.session.commit()
    after = dashboards.dashboard(demo, manager, today=utc_today())
    assert dict(after.stages)["closed"] == 3 and dict(after.stages)["not_started"] == 0
    assert {g.country.alpha3: g.record.stage for g in after.figures.governments}["SWE"] == "closed"


def test_the_map_follows_the_day_a_withdrawal_takes_effect(demo, manager):
    """Kept figures are the same from one day to the next; the map's Rome Statute standing is not."""
    effective = utc_today() + dt.timedelta(days=10)
    db.session.execute(
        sa.update(Country)
        .where(Country.alpha3 == "CHE")
        .values(rs_status="state_party", rs_withdrawal_effective_date=effective)
    )
    db.session.commit()
    before = dashboards.dashboard(demo, manager, today=effective - dt.timedelta(days=1))
    after = dashboards.dashboard(demo, manager, today=effective)

    def switzerland(board):
        return next(entry for entry in board.world.entries if entry.country and entry.country.alpha3 == "CHE")

    assert switzerland(before).withdrawing.withdrawal_takes_effect == effective
    assert switzerland(after).withdrawing is None
    assert before.figures.governments is after.figures.governments


def test_a_volunteer_never_gets_a_managers_kept_figures(demo, manager, make_user):
    volunteer = make_user("volunteer")
    outreach.set_stage(demo_record(demo, "SWE"), "contacted", actor=manager)
    set_assignee([demo_record(demo, "SWE")], volunteer, actor=manager)
    db.session.commit()
    assert len(dashboards.kept_figures(demo, manager).governments) == 13
    assert [g.country.alpha3 for g in dashboards.kept_figures(demo, volunteer).governments] == ["SWE"]


def test_a_writer_never_waits_for_another_on_the_campaigns_number(_app, database):
    """Two people update two governments of one campaign at the same time. On PostgreSQL the number is
    renewed as each commits, so the second never waits for the first to finish (renewed as they wrote, the
    campaign's row would be held by the first until its commit). SQLite writes one transaction at a time:
    there the number is renewed at the write."""
    # Committed for real, outside any test's rolled-back transaction (which holds SQLite's write lock).
    with _app.app_context():
        kind, _url = database
        table = Campaign.__table__
        with db.engine.begin() as connection:
            campaign_id = connection.execute(
                sa.insert(table).values(slug="at-once", name="At once")
            ).inserted_primary_key[0]
            countries = connection.execute(
                sa.select(Country.id).where(Country.alpha3.in_(("NOR", "ISL"))).order_by(Country.alpha3)
            ).scalars()
            records = [
                connection.execute(
                    sa.insert(OutreachRecord.__table__).values(campaign_id=campaign_id, country_id=country_id)
                ).inserted_primary_key[0]
                for country_id in countries
            ]
        version = sa.select(table.c.figures_version).where(table.c.id == campaign_id)
        stage = sa.update(OutreachRecord.__table__).values(stage="responded")
        try:
            with db.engine.connect() as first:
                start = first.execute(version).scalar_one()
                first.commit()
                if kind == "postgresql":
                    first.exec_driver_sql("SET lock_timeout = '5s'")
                    with db.engine.connect() as second:
                        second.exec_driver_sql("SET lock_timeout = '5s'")
                        first.execute(stage.where(OutreachRecord.id == records[0]))
                        second.execute(stage.where(OutreachRecord.id == records[1]))
                        assert second.execute(version).scalar_one() == start  # renewed at the commit
                        second.commit()  # while the first still holds its record
                        renewed = first.execute(version).scalar_one()
                        assert renewed != start
                        first.commit()
                        assert first.execute(version).scalar_one() not in (start, renewed)
                else:
                    first.execute(stage.where(OutreachRecord.id == records[0]))
                    assert first.execute(version).scalar_one() != start
                    first.commit()
        finally:
            with db.engine.begin() as connection:
                connection.execute(sa.delete(table).where(table.c.id == campaign_id))


def test_figures_made_inside_a_writers_transaction_are_never_kept_for_others(_app, database):
    """A request that records a position and then, before committing, asks for the campaign's figures sees
    its own position; if it then rolls back, nobody is ever shown that position. (On PostgreSQL the
    campaign's number is renewed at the commit: asked for inside the transaction, it is renewed first for
    the transaction's own changes, so the figures made there are kept under a number nobody else reads.)"""
    table = Campaign.__table__
    with _app.app_context():
        with db.engine.begin() as connection:
            campaign_id = connection.execute(
                sa.insert(table).values(slug="phantom", name="Phantom")
            ).inserted_primary_key[0]
            demand_id = connection.execute(
                sa.insert(Demand.__table__).values(campaign_id=campaign_id, ordinal=1, code="d1", title="Refer")
            ).inserted_primary_key[0]
            country_id = connection.execute(sa.select(Country.id).where(Country.alpha3 == "NOR")).scalar_one()
            record_id = connection.execute(
                sa.insert(OutreachRecord.__table__).values(campaign_id=campaign_id, country_id=country_id)
            ).inserted_primary_key[0]
        reader = User(email="phantom-reader@example.org", name="Reader", role="manager", active=True)
        assert visibility_scope(reader) == "all"  # the reader whose figures are kept
        try:
            campaign = db.session.get(Campaign, campaign_id)
            assert dashboards.kept_figures(campaign, reader).stances == {record_id: {}}
            db.session.commit()

            campaign = db.session.get(Campaign, campaign_id)
            db.session.add(
                Position(
                    campaign_id=campaign_id,
                    outreach_id=record_id,
                    demand_id=demand_id,
                    stance="acted",
                    stated_on=dt.date(2026, 1, 5),
                )
            )
            db.session.flush()
            assert dashboards.kept_figures(campaign, reader).stances == {record_id: {demand_id: "acted"}}
            db.session.rollback()

            campaign = db.session.get(Campaign, campaign_id)
            assert dashboards.kept_figures(campaign, reader).stances == {record_id: {}}
            db.session.commit()
        finally:
            db.session.rollback()
            db.session.remove()
            with db.engine.begin() as connection:
                connection.execute(sa.delete(table).where(table.c.id == campaign_id))


# The page: parts drawn from the kept figures alone are drawn once ----------------------------------------

PIECES = {"dashboard/_glance.html", "dashboard/_matrix_preview.html", "dashboard/_over_time.html"}


def _view(client, url: str) -> tuple[str, set[str]]:
    """The page at `url`, and which of the dashboard's kept pieces were drawn for it."""
    drawn: list[str] = []

    def record(_app, template, context, **_extra):
        drawn.append(template.name)

    with template_rendered.connected_to(record):
        response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True), set(drawn) & PIECES


def _matrix_rows(page: str) -> list[tuple[str, str]]:
    """The matrix preview's rows: each country's code and its cells."""
    table = page.split('<table class="compact matrix-preview">')[1].split("</table>")[0]
    return re.findall(r'<tr data-iso="([A-Z]{3})">(.*?)</tr>', table, re.S)


def test_a_second_view_draws_nothing_again_until_a_position_changes(client, signed_in, demo):
    manager = signed_in("manager")
    first, drawn = _view(client, DEMO_URL)
    assert drawn == PIECES
    again, drawn = _view(client, DEMO_URL)
    assert drawn == set()
    assert _without_tokens(again) == _without_tokens(first)

    # The first government in the preview with no position on refugee solidarity states one.
    unknown = '<td data-demand="refugee-solidarity">—</td>'
    alpha3 = next(alpha3 for alpha3, cells in _matrix_rows(first) if unknown in cells)
    outreach.record_position(
        demo_record(demo, alpha3),
        demand(demo, "refugee-solidarity"),
        "acted",
        utc_today(),
        actor=manager,
        evidence="Vote",
    )
    db.session.commit()
    after, drawn = _view(client, DEMO_URL)
    assert drawn == PIECES
    assert unknown not in dict(_matrix_rows(after))[alpha3]


def _without_tokens(page: str) -> str:
    """The page without its forms' tokens, which differ from one request to the next."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page)


def test_each_set_of_filters_the_language_and_the_campaigns_name_and_start_get_their_own_parts(client, signed_in, demo):
    signed_in("manager")
    everyone, _ = _view(client, DEMO_URL)
    supportive, drawn = _view(client, DEMO_URL + "?response=supportive")
    assert drawn == {"dashboard/_matrix_preview.html", "dashboard/_over_time.html"}  # the same day's map
    assert _matrix_rows(supportive) and all("response-supportive" in cells for _, cells in _matrix_rows(supportive))
    assert not all("response-supportive" in cells for _, cells in _matrix_rows(everyone))
    again, drawn = _view(client, DEMO_URL)
    assert drawn == set() and _matrix_rows(again) == _matrix_rows(everyone)

    client.post("/language", data={"language": "es"})
    spanish, drawn = _view(client, DEMO_URL)
    assert drawn == PIECES and "Respuestas en el mapa" in spanish

    db.session.execute(sa.update(Campaign).where(Campaign.id == demo.id).values(name="Justice, renamed"))
    db.session.commit()
    client.post("/language", data={"language": "en"})
    renamed, drawn = _view(client, DEMO_URL)
    assert drawn == PIECES
    assert "Responses of governments to Justice, renamed" in renamed

    # The monthly series begins with the campaign (or its first position, if earlier).
    every_month, _ = _view(client, DEMO_URL + "?months=all")
    db.session.execute(
        sa.update(Campaign).where(Campaign.id == demo.id).values(starts_on=_first_month(every_month).replace(year=2010))
    )
    db.session.commit()
    earlier, drawn = _view(client, DEMO_URL + "?months=all")
    assert drawn == PIECES  # the start is part of every piece's key
    assert _first_month(earlier).year == 2010 and _first_month(every_month).year > 2010


def _first_month(page: str) -> dt.date:
    """The first month of the page's monthly table."""
    table = page.split('<table class="compact over-time">')[1]
    return dt.date.fromisoformat(re.search(r'<tr data-month="(\d{4}-\d{2})"', table)[1] + "-01")


def test_the_next_day_the_map_is_drawn_again(client, signed_in, demo, clock):
    """A withdrawal from the Rome Statute takes effect on its day: the summary and map are one day's."""
    manager = signed_in("manager")
    db.session.execute(
        sa.update(Country)
        .where(Country.alpha3 == "CHE")
        .values(rs_status="state_party", rs_withdrawal_effective_date=utc_today() + dt.timedelta(days=1))
    )
    db.session.commit()

    def switzerland(page: str) -> str:
        return re.search(r'<use [^>]*data-iso="756"[^>]*>.*?</use>', page)[0]

    before, drawn = _view(client, DEMO_URL)
    assert drawn == PIECES and "withdrawal takes effect" in switzerland(before)
    clock.advance(days=1)
    sign_in(client, manager)  # a session lasts less than a day
    after, drawn = _view(client, DEMO_URL)
    assert drawn == {"dashboard/_glance.html", "dashboard/_matrix_preview.html"}  # the months are the same
    assert "withdrawal takes effect" not in switzerland(after)


# The signature totals: kept with the figures, under the campaign's second number --------------------------


def _signatures_version(campaign) -> int:
    return db.session.scalar(sa.select(Campaign.signatures_version).where(Campaign.id == campaign.id))


def _import(petition, lines: list[tuple[str, str]], name: str):
    data = "email,country,signed_at\n" + "".join(f"{email},{country},2026-01-05\n" for email, country in lines)
    return import_file(petition, io.BytesIO(data.encode()), filename=name).record


@pytest.fixture
def petition(app, demo, tmp_path):
    """A petition of the demo campaign with three signers imported (two in Spain, one in France)."""
    app.config["SIGNATURE_UPLOAD_DIR"] = str(tmp_path / "uploads")
    petition = create_petition(demo, "Justicia ya")
    db.session.flush()
    _import(petition, [("ana@example.org", "ES"), ("ben@example.org", "ES"), ("cai@example.org", "FR")], "first.csv")
    db.session.commit()
    return petition


# Each write the signature totals are made from, as the app or anyone else makes it.
SIGNATURE_CHANGES = {
    "a file imported": lambda demo, petition: _import(petition, [("dan@example.org", "PE")], "more.csv"),
    # (Undoing it is refused here: the demo's delivered letters froze the totals.)
    "an import's record removed, by raw SQL": lambda demo, petition: db.session.execute(
        sa.delete(SignatureImport).where(SignatureImport.petition_id == petition.id)
    ),
    "a platform's tally": lambda demo, petition: record_tally(petition, _country("PER"), 40, dt.date(2026, 1, 6)),
    "a petition added": lambda demo, petition: create_petition(demo, "Otra petición"),
    "a petition renamed, by raw SQL": lambda demo, petition: db.session.execute(
        sa.update(Petition).where(Petition.id == petition.id).values(name="Justicia, ya")
    ),
    "a count removed, by raw SQL": lambda demo, petition: db.session.execute(
        sa.delete(SignatureTotal).where(SignatureTotal.petition_id == petition.id)
    ),
}

# Writes no signature total reads.
UNRELATED_TO_SIGNATURES = {
    "a position recorded": CHANGES["a position recorded"],
    "a petition of another campaign": lambda demo, petition: create_petition(_other_campaign(), "Elsewhere"),
}


@pytest.mark.parametrize("change", SIGNATURE_CHANGES)
def test_every_write_the_signature_totals_are_made_from_renews_the_campaigns_second_number(demo, petition, change):
    before, figures = _signatures_version(demo), _version(demo)
    SIGNATURE_CHANGES[change](demo, petition)
    db.session.commit()
    assert _signatures_version(demo) != before
    assert _version(demo) == figures  # the figures are kept: nothing they are made from changed


@pytest.mark.parametrize("change", UNRELATED_TO_SIGNATURES)
def test_other_writes_keep_the_campaigns_second_number(demo, manager, petition, change):
    before = _signatures_version(demo)
    change_ = UNRELATED_TO_SIGNATURES[change]
    change_(demo, manager) if change == "a position recorded" else change_(demo, petition)
    db.session.commit()
    assert _signatures_version(demo) == before


def test_the_dashboard_counts_a_new_signer_at_once_and_the_figures_stay_kept(demo, manager, petition):
    before = dashboards.dashboard(demo, manager, today=utc_today())
    assert before.signatures.total == 3
    assert [(country.alpha3, count) for country, count in before.signatures.countries] == [("ESP", 2), ("FRA", 1)]
    again = dashboards.dashboard(demo, manager, today=utc_today())
    assert again.signatures is before.signatures  # kept while nothing changed

    _import(petition, [("dan@example.org", "FR"), ("eva@example.org", "FR")], "more.csv")
    db.session.commit()
    after = dashboards.dashboard(demo, manager, today=utc_today())
    assert after.signatures.total == 5
    assert [(country.alpha3, count) for country, count in after.signatures.countries] == [("FRA", 3), ("ESP", 2)]
    assert [(row.name, count) for row, count in after.signatures.petitions] == [("Justicia ya", 5)]
    assert after.kept is before.kept  # the figures were not made again


def test_a_volunteer_counts_the_signatures_afresh_each_time(demo, make_user, petition):
    volunteer = make_user("volunteer")
    first = dashboards.dashboard(demo, volunteer, today=utc_today())
    second = dashboards.dashboard(demo, volunteer, today=utc_today())
    assert first.signatures.total == second.signatures.total == 3
    assert first.signatures is not second.signatures


# The overdue follow-ups: kept with the figures, under the campaign's third number and the day ---------------


def _follow_ups_version(campaign) -> int:
    return db.session.scalar(sa.select(Campaign.follow_ups_version).where(Campaign.id == campaign.id))


@pytest.fixture
def late(demo, manager):
    """A follow-up on Sweden's record, three days overdue."""
    follow_up = outreach.add_follow_up(
        demo_record(demo, "SWE"), owner=manager, due_on=utc_today() - dt.timedelta(days=3), note="Call", actor=manager
    )
    db.session.commit()
    return follow_up


# Each write the overdue follow-ups are made from, as the app or anyone else makes it.
FOLLOW_UP_CHANGES = {
    "a follow-up added": lambda demo, manager, late: outreach.add_follow_up(
        demo_record(demo, "PER"), owner=manager, due_on=utc_today(), note="Write", actor=manager
    ),
    "a follow-up done": lambda demo, manager, late: outreach.complete_follow_up(late, actor=manager),
    "a follow-up snoozed": lambda demo, manager, late: outreach.snooze_follow_up(
        late, utc_today() + dt.timedelta(days=2), actor=manager
    ),
    "a follow-up's note, by raw SQL": lambda demo, manager, late: db.session.execute(
        sa.update(FollowUp).where(FollowUp.id == late.id).values(note="Call the consul")
    ),
    "a follow-up removed, by raw SQL": lambda demo, manager, late: db.session.execute(
        sa.delete(FollowUp).where(FollowUp.id == late.id)
    ),
    "an owner renamed": lambda demo, manager, late: db.session.execute(
        sa.update(User).where(User.id == manager.id).values(name="Renamed manager")
    ),
}

# Writes no overdue list reads.
UNRELATED_TO_FOLLOW_UPS = {
    "a reminder sent": lambda demo, manager, late: db.session.execute(
        sa.update(FollowUp).where(FollowUp.id == late.id).values(reminder_sent_at=utcnow())
    ),
    "a person's language": lambda demo, manager, late: db.session.execute(
        sa.update(User).where(User.id == manager.id).values(language="es")
    ),
    "a position recorded": lambda demo, manager, late: CHANGES["a position recorded"](demo, manager),
    "a follow-up on another campaign's record": lambda demo, manager, late: _follow_up_elsewhere(manager),
}


def _follow_up_elsewhere(manager) -> None:
    record = OutreachRecord(campaign=_other_campaign(), country=_country("ISL"))
    db.session.add(record)
    db.session.add(FollowUp(outreach=record, owner_id=manager.id, due_on=utc_today(), note="Elsewhere"))


@pytest.mark.parametrize("change", FOLLOW_UP_CHANGES)
def test_every_write_the_overdue_list_is_made_from_renews_the_campaigns_third_number(demo, manager, late, change):
    before, figures = _follow_ups_version(demo), _version(demo)
    FOLLOW_UP_CHANGES[change](demo, manager, late)
    db.session.commit()
    assert _follow_ups_version(demo) != before
    assert _version(demo) == figures


@pytest.mark.parametrize("change", UNRELATED_TO_FOLLOW_UPS)
def test_other_writes_keep_the_campaigns_third_number(demo, manager, late, change):
    before = _follow_ups_version(demo)
    UNRELATED_TO_FOLLOW_UPS[change](demo, manager, late)
    db.session.commit()
    assert _follow_ups_version(demo) == before


def _overdue_notes(board) -> list[str]:
    return [row.note for owner in board.overdue for row in owner.follow_ups]


def test_a_follow_up_done_leaves_the_overdue_list_at_once_and_one_due_today_joins_it_tomorrow(
    demo, manager, late, clock
):
    outreach.add_follow_up(demo_record(demo, "PER"), owner=manager, due_on=utc_today(), note="Write", actor=manager)
    db.session.commit()
    before = dashboards.dashboard(demo, manager, today=utc_today())
    assert "Call" in _overdue_notes(before) and "Write" not in _overdue_notes(before)  # with the demo's own
    assert dashboards.dashboard(demo, manager, today=utc_today()).overdue is before.overdue  # kept

    outreach.complete_follow_up(late, actor=manager)
    db.session.commit()
    after = dashboards.dashboard(demo, manager, today=utc_today())
    assert "Call" not in _overdue_notes(after) and after.overdue.total == before.overdue.total - 1
    assert after.kept is before.kept  # the figures were not made again

    clock.advance(days=1)
    tomorrow = dashboards.dashboard(demo, manager, today=utc_today())
    assert "Write" in _overdue_notes(tomorrow) and tomorrow.overdue.total == after.overdue.total + 1


def test_a_volunteer_lists_the_overdue_follow_ups_afresh_each_time(demo, make_user, late):
    volunteer = make_user("volunteer")
    first = dashboards.dashboard(demo, volunteer, today=utc_today())
    second = dashboards.dashboard(demo, volunteer, today=utc_today())
    assert "Call" in _overdue_notes(first) and _overdue_notes(first) == _overdue_notes(second)
    assert first.overdue is not second.overdue
