"""A state's Rome Statute standing as of the reader's day: a notified withdrawal is shown beside
"State Party" until it takes effect, and afterwards the state counts as withdrawn, in lists, filters,
the country page, the dashboard and exports alike."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from crm.countries.models import RS_STATUSES, Country
from crm.countries.services import country_by_code, search_countries
from crm.countries.standing import standing, status_condition
from crm.extensions import db

UTC = dt.UTC
# The shipped table (checked on 2 December 2026) records six notified withdrawals; Venezuela's was
# notified on 24 July 2026 and takes effect a year later (article 127(1)).
PENDING = {
    "NER": "2027-06-18",
    "BFA": "2027-06-24",
    "MLI": "2027-06-24",
    "VEN": "2027-07-24",
    "TCD": "2027-07-27",
    "NRU": "2027-09-23",
}
BEFORE = dt.datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
AFTER_VENEZUELA = dt.datetime(2027, 8, 1, 12, 0, tzinfo=UTC)  # before Nauru's takes effect


def test_a_notified_withdrawal_is_pending_until_its_effective_date(app):
    venezuela = country_by_code("VEN")
    assert standing(venezuela, dt.date(2027, 7, 23)) == standing(venezuela, dt.date(2026, 12, 2))
    assert standing(venezuela, dt.date(2027, 7, 23)).status == "state_party"
    assert standing(venezuela, dt.date(2027, 7, 23)).withdrawal_takes_effect == dt.date(2027, 7, 24)
    on_the_day = standing(venezuela, dt.date(2027, 7, 24))
    assert (on_the_day.status, on_the_day.withdrawing, on_the_day.withdrawal_took_effect) == (
        "withdrawn",
        False,
        dt.date(2027, 7, 24),
    )
    assert on_the_day.court_keeps_jurisdiction
    germany = standing(country_by_code("DEU"), dt.date(2026, 12, 2))
    assert (germany.status, germany.withdrawing, germany.court_keeps_jurisdiction) == ("state_party", False, False)
    burundi = standing(country_by_code("BDI"), dt.date(2026, 12, 2))
    assert (burundi.status, burundi.withdrawal_took_effect) == ("withdrawn", dt.date(2017, 10, 27))


@pytest.mark.parametrize("day", [dt.date(2026, 12, 2), dt.date(2027, 6, 24), dt.date(2027, 8, 1), dt.date(2028, 1, 1)])
def test_the_database_filter_agrees_with_the_standing_for_every_state(app, day):
    countries = db.session.scalars(sa.select(Country)).all()
    for status in RS_STATUSES:
        expected = {c.alpha3 for c in countries if standing(c, day).status == status}
        found = set(db.session.scalars(sa.select(Country.alpha3).where(status_condition(status, day))))
        assert found == expected, status
    parties = set(db.session.scalars(sa.select(Country.alpha3).where(status_condition("state_party", day))))
    assert len(parties) == 125 - sum(1 for effective in PENDING.values() if dt.date.fromisoformat(effective) <= day)


@pytest.mark.parametrize(
    "language, shown",
    [
        ("en", "State Party — withdrawal takes effect 24 Jul 2027"),
        ("es", "Estado Parte — el retiro surte efecto el 24 jul 2027"),
    ],
)
def test_the_countries_list_shows_pending_withdrawals_in_both_languages(client, signed_in, clock, language, shown):
    clock.move_to(BEFORE)
    signed_in("volunteer", language=language)
    page = client.get("/countries/?status=state_party&q=venezuela").get_data(as_text=True)
    assert shown in page
    for code in PENDING:
        page = client.get(f"/countries/?q={code}").get_data(as_text=True)
        assert page.count("withdrawal takes effect" if language == "en" else "el retiro surte efecto") == 1, code
    assert "takes effect" not in client.get("/countries/?q=DEU").get_data(as_text=True)


def test_once_the_withdrawal_has_taken_effect_the_state_is_listed_as_withdrawn(client, signed_in, clock):
    clock.move_to(AFTER_VENEZUELA)
    signed_in("volunteer")
    withdrawn = client.get("/countries/?status=withdrawn").get_data(as_text=True)
    assert "Venezuela" in withdrawn and "Withdrawn since 24 Jul 2027" in withdrawn and "Burundi" in withdrawn
    assert "Nauru" not in withdrawn
    assert "0 countries" in client.get("/countries/?status=state_party&q=venezuela").get_data(as_text=True)
    # The list says its total on its last page.
    last_page = -(-120 // client.application.config["ITEMS_PER_PAGE"])
    assert "120 countries" in client.get(f"/countries/?status=state_party&page={last_page}").get_data(as_text=True)
    assert "State Party — withdrawal takes effect 23 Sept 2027" in client.get("/countries/NRU").get_data(as_text=True)
    assert "VEN" in {
        c.alpha3 for c in db.session.scalars(search_countries(status="withdrawn", day=dt.date(2027, 8, 1)))
    }


@pytest.mark.parametrize(
    "language, shown, article",
    [
        (
            "en",
            "State Party — withdrawal takes effect 24 Jul 2027",
            "the Court keeps jurisdiction over crimes committed",
        ),
        (
            "es",
            "Estado Parte — el retiro surte efecto el 24 jul 2027",
            "la Corte conserva su competencia sobre los crímenes",
        ),
    ],
)
def test_venezuelas_page_says_the_court_keeps_jurisdiction(client, signed_in, clock, language, shown, article):
    clock.move_to(BEFORE)
    signed_in("volunteer", language=language)
    page = client.get("/countries/VEN").get_data(as_text=True)
    assert shown in page and article in page
    assert article not in client.get("/countries/DEU").get_data(as_text=True)


def _fact_rows(page: str) -> dict[str, list[str]]:
    """The Rome Statute facts table of a country page: fact label -> the text of its cells."""
    table = page.split('<table class="rome-facts">', 1)[1].split("</table>", 1)[0]
    root = ET.fromstring("<table>" + table.replace("&nbsp;", " ") + "</table>")
    rows = {}
    for row in root.iter("tr"):
        cells = ["".join(cell.itertext()).strip() for cell in row]
        if row.find("th") is not None and cells and row.find("td") is not None:
            rows[cells[0]] = cells[1:]
    return rows


def test_verified_belongs_to_each_fact_and_a_blank_date_is_not_recorded(client, signed_in, clock):
    clock.move_to(BEFORE)
    signed_in("volunteer")
    # Hungary's row is verified, but the table records none of its dates.
    rows = _fact_rows(client.get("/countries/HUN").get_data(as_text=True))
    assert rows["Status"][0] == "State Party" and rows["Status"][2] == "verified"
    for fact in (
        "Signature",
        "Ratification or accession",
        "Entry into force",
        "Withdrawal notified",
        "Withdrawal effective",
    ):
        assert rows[fact] == ["not recorded", "—", "—"], fact
    rows = _fact_rows(client.get("/countries/VEN").get_data(as_text=True))
    assert rows["Withdrawal effective"][0] == "24 Jul 2027" and rows["Withdrawal effective"][2] == "not verified"


def test_the_history_shows_values_in_words(client, signed_in, clock):
    clock.move_to(BEFORE)
    signed_in("admin")
    assert (
        client.post(
            "/countries/CHL/facts", data={"field": "status", "status": "signatory", "source": "test source"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/countries/CHL/facts", data={"field": "signature_date", "date": "", "source": "test source"}
        ).status_code
        == 302
    )
    page = client.get("/countries/CHL").get_data(as_text=True)
    history = page.split("History of these facts", 1)[1]
    assert "<td>State Party</td>\n        <td>Signatory</td>" in history
    assert "<td>11 Sept 1998</td>\n        <td>not recorded</td>" in history
    assert "state_party" not in history and "1998-09-11" not in history


def test_the_countries_csv_carries_the_withdrawal_and_verified_columns(app):
    result = app.test_cli_runner().invoke(args=["countries", "list", "--csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "iso2,iso3,numeric,name,status,signature_date,ratification_or_accession_date,"
        "entry_into_force_date,withdrawal_notified_date,withdrawal_effective_date,verified"
    )
    venezuela = next(line for line in lines if line.startswith("VE,VEN,"))
    assert venezuela.endswith(",state_party,,,,2026-07-24,2027-07-24,no")


def test_the_dashboard_matrix_and_its_export_show_the_standing_on_the_readers_day(
    client, signed_in, clock, campaign, make_record
):
    clock.move_to(BEFORE)
    make_record("VEN")
    make_record("DEU")
    signed_in("manager")
    url = f"/dashboard/{campaign.slug}"
    page = client.get(url + "/positions").get_data(as_text=True)  # the matrix in full
    assert "State Party — withdrawal takes effect 24 Jul 2027" in page.split('class="matrix"', 1)[1]
    export = client.get(url + "/matrix.csv?status=state_party").get_data(as_text=True).splitlines()
    assert [line.split(",")[:3] for line in export[1:]] == [
        ["Germany", "DEU", "State Party"],
        ["Venezuela", "VEN", "State Party — withdrawal takes effect 24 Jul 2027"],
    ]
    clock.move_to(AFTER_VENEZUELA)
    signed_in("manager")  # eight months on, the earlier session has long expired
    export = client.get(url + "/matrix.csv?status=withdrawn").get_data(as_text=True).splitlines()
    assert [line.split(",")[:3] for line in export[1:]] == [["Venezuela", "VEN", "Withdrawn since 24 Jul 2027"]]
