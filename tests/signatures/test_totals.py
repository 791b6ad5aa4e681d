"""Totals: tallies with individual signatures, per day, and the snapshot kept with a delivered letter."""

import datetime as dt
import io
import random

import pytest
import sqlalchemy as sa

from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.letters.models import Letter
from crm.signatures.errors import SignatureError
from crm.signatures.imports import import_file
from crm.signatures.models import UNKNOWN_COUNTRY, SignatureCount, SignatureTally
from crm.signatures.tallies import import_tallies, record_tally
from crm.signatures.totals import _Cell, _range, daily_totals, totals_for
from tests.signatures.conftest import database_state, import_fixture

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def _rows(petition, country_code, count, start=0):
    data = "email,country\n" + "".join(
        f"{petition.slug}-{country_code}-{i}@example.org,{country_code}\n" for i in range(start, start + count)
    )
    return import_file(petition, io.BytesIO(data.encode()), filename=f"{country_code}{start}.csv").record


def test_a_tally_and_the_rows_of_one_petition_and_country_are_never_added(app, make_petition, campaign):
    first, second = make_petition(), make_petition()
    _rows(first, "ES", 3)
    _rows(first, "FR", 4)
    record_tally(first, country_by_code("ESP"), 100, dt.date(2018, 6, 1))  # the platform's figure: 100
    record_tally(first, country_by_code("FRA"), 2, dt.date(2018, 6, 1))  # fewer than imported: 4 count
    record_tally(second, country_by_code("FRA"), 10, dt.date(2018, 6, 1))  # another petition: added
    totals = totals_for(campaign, country_by_code("FRA"))
    assert totals.by_country == {"ESP": 100, "FRA": 14}
    assert (totals.total, totals.resident, totals.from_tallies) == (114, 14, 97 + 10)
    assert totals.by_petition == {first.id: 104, second.id: 10}


def test_a_new_tally_replaces_the_earlier_one(app, make_petition, campaign, make_user):
    petition = make_petition()
    spain = country_by_code("ESP")
    record_tally(petition, spain, 1204, dt.date(2018, 6, 1), source="dashboard")
    record_tally(petition, spain, 1500, dt.date(2018, 6, 8), source="dashboard", actor=make_user("manager"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignatureTally)) == 1
    assert totals_for(campaign).total == 1500
    with pytest.raises(SignatureError):
        record_tally(petition, spain, 900, dt.date(2018, 5, 1))  # older than the one recorded
    with pytest.raises(SignatureError):
        record_tally(petition, spain, -1, dt.date(2018, 6, 9))


def test_tallies_from_a_file_are_all_or_nothing(app, make_petition, campaign):
    petition = make_petition()
    good = b'country,signers,as_of,source\nES,1204,2018-06-01,dashboard\nCanada,"2,310",2018-06-01,\n'
    tallies = import_tallies(petition, io.BytesIO(good))
    assert len(tallies) == 2
    assert totals_for(campaign).by_country == {"CAN": 2310, "ESP": 1204}
    before = database_state()
    bad = b"country,signers,as_of\nES,1300,2018-06-02\nNarnia,5,2018-06-02\n"
    with pytest.raises(SignatureError) as refused:
        import_tallies(petition, io.BytesIO(bad))
    assert "Rows 3" in str(refused.value)
    assert database_state() == before


def test_totals_per_day(app, make_petition, campaign):
    petition = make_petition(platform="change_org")
    import_fixture(petition, "change_org.csv")
    record_tally(make_petition(), country_by_code("ESP"), 50, dt.date(2018, 5, 11))
    days = daily_totals(campaign)
    imported_on = utcnow().date()
    assert [(d.day, d.added, d.total) for d in days] == [
        (dt.date(2018, 5, 10), 1, 1),  # ana
        (dt.date(2018, 5, 11), 52, 53),  # hugo, ines, and the tally of 50
        (dt.date(2018, 5, 12), 3, 56),  # jorge, carla, kim
        (imported_on, 1, 57),  # luis: his date was not understood, so the day of import
    ]
    assert days[-1].total == totals_for(campaign).total


def test_totals_take_a_fixed_number_of_queries(app, make_petition, campaign, count_queries):
    for _ in range(3):
        _rows(make_petition(), "ES", 2)
    db.session.flush()
    db.session.refresh(campaign)  # an import commits, which expires the campaign: not the totals' query
    few, _ = count_queries(lambda: totals_for(campaign))
    for i in range(20):
        petition = make_petition()
        _rows(petition, "CA", 3)
        record_tally(petition, country_by_code("MEX"), i, dt.date(2018, 1, 1))
    db.session.flush()
    db.session.refresh(campaign)
    many, totals = count_queries(lambda: totals_for(campaign))
    assert few == many <= 3
    assert totals.total == 6 + 60 + sum(range(20))


# --- the delivery snapshot -------------------------------------------------------------------------


def test_later_imports_never_change_a_delivered_letters_snapshot(app, make_petition, campaign, make_record, make_user):
    from crm.letters import services as letters

    record = make_record("CAN")
    actor = make_user("coordinator")
    import_fixture(make_petition(platform="action_network"), "action_network.csv")
    letter = Letter(
        outreach_id=record.id, direction="outgoing", subject="Carta", body="Texto", sent_on=dt.date(2018, 6, 1)
    )
    db.session.add(letter)
    db.session.flush()
    letters.mark_delivered(letter, dt.date(2018, 6, 2), actor, expected_version=letter.version)
    db.session.commit()
    delivered = (
        letter.signatures_total,
        letter.signatures_resident,
        dict(letter.signatures_by_country),
        letter.signatures_snapshot_at,
    )
    assert delivered[:3] == (7, 3, {"CAN": 3, "ESP": 1, "VEN": 1})
    now = totals_for(campaign, record.country)
    assert (now.total, now.resident, now.by_country) == delivered[:3]  # letters and pages count alike

    import_fixture(make_petition(platform="change_org"), "change_org.csv")
    record_tally(make_petition(), country_by_code("CAN"), 2310, dt.date(2018, 6, 3))
    db.session.commit()
    db.session.expire_all()
    letter = db.session.get(Letter, letter.id)
    assert (
        letter.signatures_total,
        letter.signatures_resident,
        letter.signatures_by_country,
        letter.signatures_snapshot_at,
    ) == delivered
    later = totals_for(campaign, record.country)
    assert (later.total, later.resident) == (12 + 2310, 4 + 2310)


def test_totals_per_day_agree_with_counting_each_day_from_scratch(app, make_petition, campaign):
    """Years of days over many countries are summed by the database where no tally is involved, cell by cell
    where one is: both agree, day after day, with the rules applied afresh to everything up to that day."""
    rng = random.Random(20181016)
    petitions = [make_petition() for _ in range(3)]
    countries = [country_by_code(code).id for code in ("ESP", "FRA", "COL", "CAN")] + [UNKNOWN_COUNTRY]
    days = [dt.date(2018, 5, 1) + dt.timedelta(days=rng.randrange(900)) for _ in range(40)]
    cells = {}
    for petition in petitions:
        for country in countries:
            for day in rng.sample(days, 8):
                signers = rng.randrange(1, 50)
                cells[(petition.id, country, day)] = (signers, rng.choice([0, 0, signers // 2, signers]))
    db.session.add_all(
        SignatureCount(
            petition_id=petition_id,
            campaign_id=campaign.id,
            country_id=country,
            day=day,
            signers=signers,
            without_email=named,
        )
        for (petition_id, country, day), (signers, named) in cells.items()
    )
    tallies = [(petitions[0], "ESP", 400, dt.date(2019, 3, 1)), (petitions[1], "COL", 3, dt.date(2018, 9, 9))]
    for petition, code, signers, as_of in tallies:
        db.session.add(
            SignatureTally(petition_id=petition.id, country_id=country_by_code(code).id, signers=signers, as_of=as_of)
        )
    db.session.flush()

    def total_on(end: dt.date) -> int:
        grouped: dict = {}
        for (petition_id, country, day), (signers, named) in cells.items():
            if day <= end:
                cell = grouped.setdefault((petition_id, country), _Cell())
                cell.rows, cell.named = cell.rows + signers, cell.named + named
        for petition, code, signers, as_of in tallies:
            if as_of <= end:
                grouped.setdefault((petition.id, country_by_code(code).id), _Cell()).tally = signers
        by_country: dict = {}
        for (_, country), cell in grouped.items():
            by_country.setdefault(country, []).append(cell)
        return sum(_range(group)[0] for group in by_country.values())

    series = daily_totals(campaign)
    assert [day.day for day in series] == sorted({day for *_, day in cells} | {as_of for *_, as_of in tallies})
    assert [day.total for day in series] == [total_on(day.day) for day in series]
    assert [day.added for day in series] == [
        day.total - (series[n - 1].total if n else 0) for n, day in enumerate(series)
    ]
    assert series[-1].total == totals_for(campaign).total
