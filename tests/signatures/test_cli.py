"""`flask petitions ...` and `flask signatures ...`: the same services, and exit codes automation can trust."""

import datetime as dt

import sqlalchemy as sa

from crm.countries.services import country_by_code
from crm.extensions import db
from crm.signatures.models import Petition, Signature
from crm.signatures.petitions import petition_by_slug
from crm.signatures.push import webhook_secret_matches
from crm.signatures.totals import totals_for
from tests.signatures.conftest import database_state, fixture_path


def _create(runner, campaign, name="Action Network, español", platform="action_network"):
    result = runner.invoke(
        args=["petitions", "create", "--campaign", campaign.slug, "--name", name, "--platform", platform]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_create_a_petition_prints_its_slug(app, runner, campaign):
    slug = _create(runner, campaign)
    assert slug == f"{campaign.slug}-action-network-espanol"
    assert db.session.scalar(sa.select(Petition).where(Petition.slug == slug)).platform == "action_network"
    assert _create(runner, campaign) == f"{slug}-2"  # the same name again: a new slug
    result = runner.invoke(args=["petitions", "create", "--campaign", "nope", "--name", "x"])
    assert result.exit_code == 2 and "no campaign 'nope'" in result.output


def test_import_prints_the_report(app, runner, campaign):
    slug = _create(runner, campaign)
    result = runner.invoke(args=["signatures", "import", "--petition", slug, str(fixture_path("action_network.csv"))])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "rows read: 10" in lines and "rows new: 7" in lines and "rows duplicate: 1" in lines
    assert "rows invalid: 2" in lines and "unknown country: 'XX' (1 rows)" in lines
    assert "invalid row 7: no e-mail address" in lines and "invalid row 8: not an e-mail address" in lines
    again = runner.invoke(args=["signatures", "import", "--petition", slug, str(fixture_path("action_network.csv"))])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 7


def test_a_refused_file_exits_non_zero_and_changes_nothing(app, runner, campaign):
    slug = _create(runner, campaign)
    before = database_state()
    for name in ("ragged.csv", "latin1.csv", "no_email.csv"):
        result = runner.invoke(args=["signatures", "import", "--petition", slug, str(fixture_path(name))])
        assert result.exit_code == 1, (name, result.output)
        assert "rejected: nothing was imported" in result.output
    assert (
        "Row 14 has 4 values"
        in runner.invoke(args=["signatures", "import", "--petition", slug, str(fixture_path("ragged.csv"))]).output
    )
    assert database_state() == before


def test_format_mapping_and_dry_run_options(app, runner, campaign):
    slug = _create(runner, campaign, name="Hoja", platform="generic")
    unlabelled = str(fixture_path("unlabelled.csv"))
    dry = runner.invoke(
        args=[
            "signatures",
            "import",
            "--petition",
            slug,
            unlabelled,
            "--map",
            "email=Columna B",
            "--map",
            "country=Columna C",
            "--dry-run",
        ]
    )
    assert dry.exit_code == 0 and "dry run" in dry.output and "rows new: 2" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    real = runner.invoke(
        args=[
            "signatures",
            "import",
            "--petition",
            slug,
            unlabelled,
            "--map",
            "email=Columna B",
            "--map",
            "country=Columna C",
            "--format",
            "generic",
        ]
    )
    assert real.exit_code == 0 and "rows new: 2" in real.output
    bad = runner.invoke(args=["signatures", "import", "--petition", slug, unlabelled, "--map", "mail"])
    assert bad.exit_code == 2


def test_totals_csv_shows_the_figures_the_pages_show(app, runner, campaign, client, signed_in):
    an = _create(runner, campaign)
    co = _create(runner, campaign, name="Change.org", platform="change_org")
    runner.invoke(args=["signatures", "import", "--petition", an, str(fixture_path("action_network.csv"))])
    runner.invoke(args=["signatures", "import", "--petition", co, str(fixture_path("change_org.csv"))])
    result = runner.invoke(
        args=["signatures", "tally", "--petition", co, "--country", "MX", "--signers", "40", "--as-of", "2018-06-01"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["signatures", "totals", "--campaign", campaign.slug, "--csv"])
    assert result.exit_code == 0
    assert (
        result.output == "country,signers\nMEX,40\nCAN,4\nESP,2\nVEN,2\nCOL,1\nTOTAL,52\n"
    )  # 49 in countries, 3 unknown
    # The page's export: the same figures, countries named in the reader's language beside their codes.
    signed_in("manager", language="es")
    page = client.get(f"/campaigns/{campaign.slug}/signatures.csv")
    assert page.status_code == 200 and page.get_data(as_text=True) == (
        "country,iso3,signers\nMéxico,MEX,40\nCanadá,CAN,4\nEspaña,ESP,2\nVenezuela,VEN,2\nColombia,COL,1\nTotal,,52\n"
    )


def test_tallies_from_the_command_line(app, runner, campaign, tmp_path):
    slug = _create(runner, campaign)
    path = tmp_path / "tallies.csv"
    path.write_text("country,signers,as_of\nESP,1204,2018-06-01\nCAN,2310,2018-06-01\n")
    result = runner.invoke(args=["signatures", "tallies", "--petition", slug, str(path)])
    assert result.exit_code == 0 and "2 tallies saved" in result.output
    assert totals_for(campaign, country_by_code("CAN")).resident == 2310
    late = runner.invoke(
        args=[
            "signatures",
            "tally",
            "--petition",
            slug,
            "--country",
            "ESP",
            "--signers",
            "1",
            "--as-of",
            (dt.date(2018, 5, 1)).isoformat(),
        ]
    )
    assert late.exit_code == 1 and "newer tally" in late.output


def test_the_webhook_secret_is_printed_once(app, runner, campaign):
    slug = _create(runner, campaign)
    result = runner.invoke(args=["petitions", "secret", "--petition", slug])
    secret = result.output.strip()
    assert result.exit_code == 0 and len(secret) >= 40
    petition = petition_by_slug(slug)
    assert secret not in (petition.webhook_secret_hash or "")
    assert webhook_secret_matches(petition, secret)
