"""The counts kept per petition and country, per day, and where a country has signers of both kinds: every
write that changes the signatures keeps them equal to a count from scratch (imports, undoing one, pushes,
tallies replaced, erasure), and a rebuild writes them again after a bulk load."""

import datetime as dt
import io
from collections import Counter

import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.privacy import services as privacy
from crm.signatures import counts
from crm.signatures.imports import import_file, undo_import
from crm.signatures.models import (
    Petition,
    Signature,
    SignatureCampaignTotal,
    SignatureDay,
    SignatureOverlap,
    SignatureTotal,
)
from crm.signatures.tallies import record_tally
from crm.signatures.totals import daily_totals, monthly_totals, total_signers, totals_for
from tests.signatures.conftest import assert_kept_as_recounted, kept_counts, push_people

pytestmark = pytest.mark.usefixtures("clock")


def _by_address(petition, lines, name):
    data = "email,country,signed_at\n" + "".join(f"{e},{c},{d}\n" for e, c, d in lines)
    return import_file(petition, io.BytesIO(data.encode()), filename=name).record


def _on_paper(petition, lines, name):
    """An export without addresses, counted by name and place."""
    data = "name,postal_code,country,signed_at\n" + "".join(f"{n},{p},{c},{d}\n" for n, p, c, d in lines)
    return import_file(petition, io.BytesIO(data.encode()), filename=name, without_email=True).record


def test_every_write_keeps_the_counts_equal_to_a_count_from_scratch(app, make_petition, campaign, make_user):
    online, paper = make_petition(), make_petition()
    spain = country_by_code("ESP")
    _by_address(
        online,
        [
            ("ana@example.org", "ES", "2018-05-01"),
            ("ben@example.org", "ES", "2018-05-03"),
            ("cai@example.org", "FR", "2018-05-03"),
            ("dan@example.org", "", "2018-06-10"),
            ("eva@example.org", "ES", "2018-07-01"),
        ],
        "online.csv",
    )
    assert_kept_as_recounted(campaign)

    # Signers on paper in Spain too: there the figure is the larger kind, so the days overlap.
    record = _on_paper(
        paper,
        [
            ("Pedro Gómez", "28001", "ES", "2018-04-20"),
            ("Rosa Pérez", "28002", "ES", "2018-05-02"),
            ("Luz Díaz", "28003", "ES", "2018-06-15"),
            ("Sara Luna", "11000", "MX", "2018-05-02"),
        ],
        "paper.csv",
    )
    assert kept_counts(campaign)["overlap"] != []
    assert_kept_as_recounted(campaign)
    assert totals_for(campaign, spain).ranges == {"ESP": (3, 6)}

    push_people(online, [("fay@example.org", "ES", "2018-06-15T10:00:00Z"), ("gus@example.org", "MX", None)])
    assert_kept_as_recounted(campaign)

    # A tally, then a newer one that replaces it.
    record_tally(paper, country_by_code("MEX"), 5, dt.date(2018, 5, 20))
    record_tally(paper, country_by_code("MEX"), 8, dt.date(2018, 8, 1))
    record_tally(online, spain, 2, dt.date(2018, 5, 1))
    assert_kept_as_recounted(campaign)

    # Undone, the paper file takes its overlaps with it: Spain has signers of one kind again.
    undo_import(record, actor=make_user("coordinator"))
    assert kept_counts(campaign)["overlap"] == []
    assert_kept_as_recounted(campaign)

    admin = make_user("admin")
    privacy.erase_person(privacy.find_person("ben@example.org"), actor=admin, reason="request")
    assert_kept_as_recounted(campaign)
    assert totals_for(campaign, spain).resident == 3


def test_the_months_are_the_days_summed(app, make_petition, campaign):
    petition = make_petition()
    _by_address(
        petition,
        [(f"p{i}@example.org", "ES", f"2018-{1 + i % 12:02d}-{1 + i % 28:02d}") for i in range(40)],
        "year.csv",
    )
    record_tally(make_petition(), country_by_code("FRA"), 30, dt.date(2018, 3, 15))
    days, months = daily_totals(campaign), monthly_totals(campaign)
    assert [m.month for m in months] == [dt.date(2018, n, 1) for n in range(1, 13)]
    assert months[2].added == sum(d.added for d in days if d.day.month == 3)
    assert months[-1].total == days[-1].total == 70
    assert_kept_as_recounted(campaign)


def test_the_rebuild_command_writes_the_kept_counts_again(app, runner, make_petition, campaign):
    petition = make_petition()
    _by_address(petition, [("ana@example.org", "ES", "2018-05-01")], "a.csv")
    _on_paper(petition, [("Pedro Gómez", "28001", "ES", "2018-05-02")], "b.csv")
    # A bulk load writes signatures without counting them, and kept counts are lost (a restore of old data).
    db.session.execute(
        sa.insert(Signature),
        [
            {"campaign_id": campaign.id, "petition_id": petition.id, "email_hash": f"{i:064x}", "country_id": None}
            for i in range(5)
        ],
    )
    for kept in (SignatureTotal, SignatureDay, SignatureOverlap, SignatureCampaignTotal):
        db.session.execute(sa.delete(kept))
    db.session.commit()
    assert totals_for(campaign).total == 0 == total_signers(campaign)
    result = runner.invoke(args=["signatures", "rebuild-counts", "--campaign", campaign.slug])
    assert result.exit_code == 0, result.output
    totals = totals_for(campaign)  # Spain between 1 and 2 (the same person, or two), 5 from nowhere known
    assert (totals.total, totals.total_upper, totals.unknown_country) == (1 + 5, 2 + 5, 5)
    assert kept_counts(campaign)["overlap"] == [(country_by_code("ESP").id, dt.date(2018, 5, 2), 1)]
    assert_kept_as_recounted(campaign)


def test_a_file_of_years_of_signatures_from_everywhere_is_counted_in_one_go(app, make_petition, campaign):
    """Tens of thousands of cells (petition, country, day): more than one statement's parameters."""
    petition = make_petition()
    countries = [country.id for country in db.session.scalars(sa.select(Country).limit(100))]
    days = [dt.date(2015, 1, 1) + dt.timedelta(days=n) for n in range(150)]
    cells = Counter({(campaign.id, petition.id, country, day): 2 for country in countries for day in days})
    counts.add(db.session.connection(), cells, Counter({cell: 1 for cell in cells if cell[3].day == 1}))
    assert len(cells) == 15_000
    totals = totals_for(campaign)
    assert (totals.total, totals.total_upper) == (30_000 - 100 * 5, 30_000)
    assert daily_totals(campaign)[-1].total == totals.total
    counts.add(
        db.session.connection(),
        Counter({cell: -n for cell, n in cells.items()}),
        Counter({cell: -1 for cell in cells if cell[3].day == 1}),
    )
    assert totals_for(campaign).total == 0 and kept_counts(campaign) == {
        "total": [],
        "day": [],
        "overlap": [],
        "campaign": [],
    }


def test_the_campaign_total_is_every_signer_less_the_overlaps_plus_what_tallies_exceed(app, make_petition, campaign):
    """The campaign page reads its total from one kept row: Spain between 3 and 5 counts 3, Mexico's tally
    of 4 exceeds its 1 imported signer by 3, France's tally is below what was imported and adds nothing."""
    online, paper = make_petition(), make_petition()
    _by_address(
        online,
        [
            ("ana@example.org", "ES", "2018-05-01"),
            ("ben@example.org", "ES", "2018-05-03"),
            ("cai@example.org", "FR", "2018-05-03"),
            ("dan@example.org", "FR", "2018-05-04"),
            ("eva@example.org", "MX", "2018-05-05"),
        ],
        "online.csv",
    )
    _on_paper(
        paper,
        [(n, p, "ES", "2018-05-02") for n, p in (("Pedro Gómez", "1"), ("Rosa Pérez", "2"), ("Luz Díaz", "3"))],
        "paper.csv",
    )
    record_tally(online, country_by_code("MEX"), 4, dt.date(2018, 6, 1))
    record_tally(online, country_by_code("FRA"), 1, dt.date(2018, 6, 1))
    record_tally(paper, country_by_code("ARG"), 2, dt.date(2018, 6, 1))
    totals = totals_for(campaign)
    assert (totals.total, totals.total_upper) == (3 + 2 + 4 + 2, 5 + 2 + 4 + 2)
    assert total_signers(campaign) == totals.total
    assert kept_counts(campaign)["campaign"] == [(campaign.id, 8, 2)]
    assert_kept_as_recounted(campaign)


def test_a_petition_deleted_takes_its_signers_out_of_the_campaigns_kept_counts(app, make_petition, campaign):
    online, paper = make_petition(), make_petition()
    _by_address(online, [("ana@example.org", "ES", "2018-05-01"), ("ben@example.org", "FR", "2018-05-03")], "a.csv")
    _on_paper(paper, [("Pedro Gómez", "28001", "ES", "2018-05-02"), ("Luz Díaz", "1", "ES", "2018-05-02")], "b.csv")
    assert kept_counts(campaign)["campaign"] == [(campaign.id, 4, 1)]
    db.session.delete(db.session.get(Petition, paper.id))
    db.session.flush()
    assert kept_counts(campaign)["campaign"] == [(campaign.id, 2, 0)]
    assert total_signers(campaign) == totals_for(campaign).total == 2
    assert_kept_as_recounted(campaign)
    db.session.delete(db.session.get(Petition, online.id))
    db.session.flush()
    assert kept_counts(campaign) == {"total": [], "day": [], "overlap": [], "campaign": []}


def test_a_campaign_deleted_takes_its_kept_total_with_it(app, make_petition, campaign):
    _by_address(make_petition(), [("ana@example.org", "ES", "2018-05-01")], "a.csv")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignatureCampaignTotal)) == 1
    db.session.execute(sa.delete(Campaign).where(Campaign.id == campaign.id))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignatureCampaignTotal)) == 0
