"""`seed reference`: every country, M49 regions and the Rome Statute table, idempotent, keeping staff edits."""

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.countries.models import Country, CountryFactChange, Region
from crm.countries.services import correct_fact, country_by_code, load_reference
from crm.extensions import db
from tests.conftest import count_rows

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SHARED_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "rome_statute_status.csv"
RS_COLUMNS = (
    "status",
    "signature_date",
    "ratification_or_accession_date",
    "entry_into_force_date",
    "withdrawal_notified_date",
    "withdrawal_effective_date",
)


def _rows(text: str) -> dict[str, dict]:
    return {row["iso3"]: row for row in csv.DictReader(io.StringIO(text))}


def _counts():
    return count_rows(Country), count_rows(Region), count_rows(CountryFactChange)


def test_every_iso_country_and_kosovo_is_loaded(app):
    import pycountry

    assert count_rows(Country) == len(pycountry.countries) + 1
    kosovo = country_by_code("XKX")
    assert kosovo.alpha2 == "XK" and kosovo.numeric_code is None and not kosovo.in_iso_3166
    venezuela = country_by_code("VE")
    assert (venezuela.alpha3, venezuela.numeric_code, venezuela.name_en, venezuela.name_es) == (
        "VEN",
        "862",
        "Venezuela",
        "Venezuela",
    )
    assert country_by_code("DEU").name_es == "Alemania"
    assert (venezuela.region.name_en, venezuela.sub_region.name_en, venezuela.intermediate_region.name_en) == (
        "Americas",
        "Latin America and the Caribbean",
        "South America",
    )
    assert venezuela.sub_region.name_es == "Latinoamérica"
    assert country_by_code("ESP").sub_region.code == "039"


def test_un_membership_counts_193_members(app):
    assert db.session.scalar(sa.select(sa.func.count()).where(Country.un_member.is_(True))) == 193
    for code in ("PSE", "VAT", "COK", "NIU", "XKX", "TWN"):
        assert not country_by_code(code).un_member


def test_seed_reference_twice_changes_nothing(app, runner):
    before = _counts()
    result = runner.invoke(args=["seed", "reference"])
    assert result.exit_code == 0, result.output
    assert "countries added: 0, updated: 0" in result.output
    assert "Rome Statute facts changed: 0" in result.output
    assert _counts() == before


def test_rome_statute_columns_equal_the_shipped_csv_for_every_state(app, runner):
    result = runner.invoke(args=["countries", "list", "--csv"])
    assert result.exit_code == 0
    listed = _rows(result.output)
    assert len(listed) == count_rows(Country)
    shipped = _rows((SEEDS / "rome_statute_status.csv").read_text(encoding="utf-8"))
    assert len(shipped) == 198
    for iso3, expected in shipped.items():
        got = listed[iso3]
        assert {c: got[c] for c in RS_COLUMNS} == {c: expected[c] for c in RS_COLUMNS}, iso3
        assert got["verified"] == expected["verified"], iso3
    header = result.output.splitlines()[0].split(",")
    assert header[:2] == ["iso2", "iso3"] and all(column in header for column in RS_COLUMNS)


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="shared/ is not beside this checkout")
def test_shipped_csv_is_the_shared_research_file():
    assert (SEEDS / "rome_statute_status.csv").read_bytes() == SHARED_CSV.read_bytes()


def test_reference_seed_keeps_an_admin_correction(app, make_user):
    admin = make_user("admin")
    chile = country_by_code("CHL")
    correct_fact(
        chile,
        "signature_date",
        "1998-09-12",
        source="Depositary notification C.N.123.1998 (test)",
        verified=True,
        actor=admin,
    )
    db.session.commit()
    report = load_reference()
    assert str(chile.rs_signature_date) == "1998-09-12"
    assert report.kept_staff_edits == ["CHL.signature_date"]
    assert report.fact_changes == []


def test_each_fact_is_recorded_with_its_source(app):
    argentina = country_by_code("ARG")
    changes = db.session.scalars(sa.select(CountryFactChange).where(CountryFactChange.country_id == argentina.id)).all()
    assert {c.field for c in changes} == {
        "status",
        "signature_date",
        "ratification_or_accession_date",
        "entry_into_force_date",
    }
    assert all(c.origin == "seed" and c.verified and "Wikipedia" in c.source for c in changes)
