"""`flask campaigns ...`: the interfaces scripts use, exactly as documented."""

from __future__ import annotations

import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.extensions import db
from tests.conftest import count_rows


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def create(runner, slug="free-elections", *demands):
    args = ["campaigns", "create", "--name", "Free elections", "--name-es", "Elecciones libres", "--slug", slug]
    for demand in demands or ("Repudiate the election", "Refer to the ICC"):
        args += ["--demand", demand]
    return runner.invoke(args=args)


def test_create_prints_the_slug_and_list_shows_it(runner):
    result = create(runner)
    assert (result.exit_code, result.output) == (0, "free-elections\n")
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "free-elections"))
    assert [d.title for d in campaign.demands] == ["Repudiate the election", "Refer to the ICC"]
    runner.invoke(args=["campaigns", "targets", "add", "free-elections", "DEU", "Francia"])
    listed = runner.invoke(args=["campaigns", "list", "--csv"])
    assert listed.output == "slug,name,status,targets\nfree-elections,Free elections,active,2\n"


def test_a_duplicate_slug_or_an_empty_demand_changes_nothing(runner):
    create(runner)
    db.session.commit()
    before = table_counts()
    duplicate = create(runner)
    assert duplicate.exit_code != 0 and "already has the slug" in duplicate.output
    empty = create(runner, "other", "One", "  ")
    assert empty.exit_code != 0 and "Demand 2: A demand needs a short label" in empty.output
    assert table_counts() == before


def test_targets_add_by_region_status_and_names(runner, clock):
    create(runner)
    result = runner.invoke(
        args=[
            "campaigns",
            "targets",
            "add",
            "free-elections",
            "--region",
            "419",
            "--rome-status",
            "state_party",
            "Alemania, FRA",
            "Reino Unido",
        ]
    )
    expected = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Country)
            .where(Country.sub_region_code == "419", Country.rs_status == "state_party")
        )
        + 3
    )
    assert (result.exit_code, result.output) == (0, f"added: {expected}\n")


def test_an_unknown_name_is_printed_and_nothing_is_added(runner):
    create(runner)
    db.session.commit()
    before = table_counts()
    result = runner.invoke(args=["campaigns", "targets", "add", "free-elections", "Alemania", "Atlantis", "QQ"])
    assert result.exit_code == 1
    assert result.output == "added: 0\nunknown: Atlantis\nunknown: QQ\n"
    assert table_counts() == before


def test_archive(runner):
    create(runner)
    result = runner.invoke(args=["campaigns", "archive", "free-elections"])
    assert (result.exit_code, result.output) == (0, "free-elections: archived\n")
    listed = runner.invoke(args=["campaigns", "list"])
    assert listed.output == "free-elections\tFree elections\tarchived\t0\n"
    missing = runner.invoke(args=["campaigns", "archive", "nowhere"])
    assert missing.exit_code != 0 and "no campaign 'nowhere'" in missing.output
