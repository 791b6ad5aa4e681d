"""Signature counts kept by the writes: the totals every page shows read them, and they give exactly what
counting the signatures themselves gives (the computation the pages used before), after file imports,
webhook pushes, erasure and a rebuild."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.privacy import services as privacy
from crm.signatures import counts
from crm.signatures.imports import ImportRejected, import_file
from crm.signatures.models import Petition, Signature, SignatureCount, SignatureTally
from crm.signatures.petitions import create_petition
from crm.signatures.tallies import record_tally
from crm.signatures.totals import daily_totals, totals_for
from tests.factories import QueryCounter
from tests.signatures.conftest import push_people

pytestmark = pytest.mark.usefixtures("clock")


def _utc_day(column):
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.func.date(column)
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def counted_from_the_signatures(campaign):
    """The old computation: every signature of the campaign grouped per petition, country and day."""
    day = _utc_day(sa.func.coalesce(Signature.signed_at, Signature.created_at))
    rows = db.session.execute(
        sa.select(Signature.petition_id, Signature.country_id, day, sa.func.count())
        .where(Signature.campaign_id == campaign.id)
        .group_by(Signature.petition_id, Signature.country_id, day)
    ).all()
    return {(p, c, d if not isinstance(d, str) else dt.date.fromisoformat(d)): n for p, c, d, n in rows}


def old_totals(campaign, country=None):
    """What totals_for gave when it grouped the signatures on every call (its rules, the old input)."""
    cells = {}
    for (petition_id, country_id, _day), number in counted_from_the_signatures(campaign).items():
        cells[(petition_id, country_id)] = cells.get((petition_id, country_id), 0) + number
    tallies = {
        (p, c): n
        for p, c, n in db.session.execute(
            sa.select(SignatureTally.petition_id, SignatureTally.country_id, SignatureTally.signers)
            .join(Petition, Petition.id == SignatureTally.petition_id)
            .where(Petition.campaign_id == campaign.id)
        )
    }
    total, by_country, by_petition, unknown = 0, {}, {}, 0
    for cell in set(cells) | set(tallies):
        number = max(cells.get(cell, 0), tallies.get(cell, 0))
        total += number
        by_petition[cell[0]] = by_petition.get(cell[0], 0) + number
        if cell[1] is None:
            unknown += number
        elif number:
            alpha3 = db.session.get(Country, cell[1]).alpha3
            by_country[alpha3] = by_country.get(alpha3, 0) + number
    resident = by_country.get(country.alpha3, 0) if country else 0
    return total, dict(sorted(by_country.items(), key=lambda i: (-i[1], i[0]))), by_petition, unknown, resident


def assert_totals_as_before(campaign, country=None):
    totals = totals_for(campaign, country)
    total, by_country, by_petition, unknown, resident = old_totals(campaign, country)
    assert (
        totals.total,
        totals.by_country,
        {k: v for k, v in totals.by_petition.items() if v},
        totals.unknown_country,
        totals.resident,
    ) == (total, by_country, {k: v for k, v in by_petition.items() if v}, unknown, resident)
    kept = {
        (p, None if c == 0 else c, d): n
        for p, c, d, n in db.session.execute(
            sa.select(
                SignatureCount.petition_id, SignatureCount.country_id, SignatureCount.day, SignatureCount.signers
            ).where(SignatureCount.campaign_id == campaign.id)
        )
    }
    assert kept == counted_from_the_signatures(campaign)
    daily = daily_totals(campaign)
    assert (daily[-1].total if daily else 0) == total


def _file(petition, lines, name):
    data = "email,country,signed_at\n" + "".join(f"{e},{c},{d}\n" for e, c, d in lines)
    return import_file(petition, io.BytesIO(data.encode()), filename=name)


@pytest.fixture
def campaigns(app):
    first, second = Campaign(slug="counts-one", name="One"), Campaign(slug="counts-two", name="Two")
    db.session.add_all([first, second])
    db.session.flush()
    return first, second


def test_totals_equal_the_old_computation_after_imports_pushes_and_erasure(app, campaigns, make_user):
    first, second = campaigns
    a, b = create_petition(first, "A"), create_petition(first, "B")
    other = create_petition(second, "Other")
    spain, france = country_by_code("ESP"), country_by_code("FRA")
    # Varied: countries known, unknown and not given; dates given, late in the UTC day, and missing; the
    # same person on two petitions of a campaign (counted once) and in another campaign (counted there).
    _file(
        a,
        [
            ("ana@example.org", "ES", "2018-05-01 10:00"),
            ("ben@example.org", "Spain", "2018-05-01 23:59"),
            ("cai@example.org", "FR", ""),
            ("dan@example.org", "Narnia", "2018-05-02"),
            ("eva@example.org", "", "2018-05-02"),
            ("bad-address", "ES", ""),
        ],
        "a1.csv",
    )
    _file(
        b,
        [
            ("ana@example.org", "ES", "2018-06-01"),
            ("fay@example.org", "FR", "2018-06-01"),
            ("gus@example.org", "FR", "2018-06-03"),
        ],
        "b1.csv",
    )
    _file(other, [("ana@example.org", "ES", "2018-05-01")], "o1.csv")
    assert_totals_as_before(first, france)
    assert_totals_as_before(second, spain)

    push_people(
        b,
        [
            ("hal@example.org", "ES", "2018-06-03T22:30:00-05:00"),  # 4 June in UTC
            ("fay@example.org", "FR", "2018-06-05T00:00:00Z"),  # already signed
            ("ivy@example.org", "DE", None),
            ("ivy@example.org", "DE", None),  # twice in one push
            ("jon@example.org", None, "2018-06-06T00:00:00Z"),
        ],
    )
    push_people(
        b, [("hal@example.org", "ES", "2018-06-07T00:00:00Z"), ("kim@example.org", "FR", "2018-06-07T00:00:00Z")]
    )
    push_people(a, [("kim@example.org", "FR", "2018-06-08T00:00:00Z")])  # signed on B already
    record_tally(a, spain, 40, dt.date(2018, 6, 9))
    assert_totals_as_before(first, spain)
    assert_totals_as_before(second)

    admin = make_user("admin")
    privacy.erase_person(privacy.find_person("ana@example.org"), actor=admin, reason="request")
    privacy.erase_person(privacy.find_person("hal@example.org"), actor=admin, reason="request")
    assert_totals_as_before(first, spain)
    assert_totals_as_before(second, spain)
    assert totals_for(second).total == 0

    # A rebuild from the signatures finds the same counts.
    before = (
        db.session.execute(
            sa.select(SignatureCount).order_by(
                SignatureCount.petition_id, SignatureCount.day, SignatureCount.country_id
            )
        )
        .scalars()
        .all()
    )
    snapshot = [(c.petition_id, c.country_id, c.day, c.signers) for c in before]
    db.session.expunge_all()
    counts.rebuild_counts()
    after = [
        (c.petition_id, c.country_id, c.day, c.signers)
        for c in db.session.execute(
            sa.select(SignatureCount).order_by(
                SignatureCount.petition_id, SignatureCount.day, SignatureCount.country_id
            )
        ).scalars()
    ]
    assert after == snapshot


def test_a_refused_file_counts_nothing(app, campaigns):
    first, _ = campaigns
    petition = create_petition(first, "A")
    _file(petition, [("ana@example.org", "ES", "")], "ok.csv")
    with pytest.raises(ImportRejected):
        import_file(petition, io.BytesIO(b"email,country\nben@example.org,ES\nragged\n"), filename="bad.csv")
    assert totals_for(first).total == 1
    assert_totals_as_before(first)


def test_totals_read_the_counts_in_the_same_queries_however_many_signatures(app, campaigns):
    first, _ = campaigns
    petition = create_petition(first, "A")
    _file(petition, [(f"p{i}@example.org", "ES", "2018-05-01") for i in range(3)], "few.csv")

    def measured():
        with QueryCounter(db.engine) as counter:
            totals_for(first)
            daily_totals(first)
        return counter.count

    few = measured()
    _file(
        petition,
        [(f"q{i}@example.org", c, f"2018-05-{1 + i % 28:02d}") for i in range(600) for c in ("FR",)],
        "many.csv",
    )
    assert measured() == few
    assert totals_for(first).total == 603


def test_the_rebuild_command_counts_signatures_loaded_behind_the_services_back(app, runner, campaigns):
    first, second = campaigns
    petition = create_petition(first, "A")
    _file(petition, [("ana@example.org", "ES", "2018-05-01")], "a.csv")
    # A bulk load (a restore, the benchmark's generator) writes signatures without counting them.
    db.session.execute(
        sa.insert(Signature),
        [
            {"campaign_id": first.id, "petition_id": petition.id, "email_hash": f"{i:064x}", "country_id": None}
            for i in range(5)
        ],
    )
    db.session.commit()
    assert totals_for(first).total == 1
    result = runner.invoke(args=["signatures", "rebuild-counts", "--campaign", first.slug])
    assert result.exit_code == 0, result.output
    assert totals_for(first).total == 6
    assert_totals_as_before(first)
    result = runner.invoke(args=["signatures", "rebuild-counts", "--campaign", "no-such-campaign"])
    assert result.exit_code != 0 and "no campaign" in result.output
