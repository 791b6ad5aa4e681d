"""`seed rome-statute FILE`: refreshing Rome Statute facts from a saved copy of the UN depositary's status page."""

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.countries import depositary_refresh
from crm.countries.depositary_page import DepositaryError, entry_into_force, match_participant, parse_status_page
from crm.countries.depositary_refresh import refresh_from_depositary
from crm.countries.models import Country, CountryFactChange
from crm.countries.services import correct_fact, country_by_code
from crm.countries.statute import RS_FACT_FIELDS
from crm.extensions import db
from tests.conftest import count_rows, utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGE = FIXTURES / "depositary_status.html"
# The same page saved as text (cp1252, tabs and spaces), with Argentina's signature moved by a day and an
# invented withdrawal by Mali (notified 15 January 2024, effective 15 January 2025).
MODIFIED = FIXTURES / "depositary_status_modified.txt"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
BEFORE_HUNGARY_LEAVES = dt.date(2026, 1, 1)
CHANGE_LINE = re.compile(r"^[A-Z]{3} [a-z_]+: \S+ -> \S+$")

STATE_PARTIES = set(
    """
    AFG ALB AND ATG ARG ARM AUS AUT BGD BRB BEL BLZ BEN BOL BIH BWA BRA BGR BFA CPV KHM CAN CAF TCD CHL COL COM
    COG COK CRI CIV HRV CYP CZE COD DNK DJI DMA DOM ECU SLV EST FJI FIN FRA GAB GMB GEO DEU GHA GRC GRD GTM GIN
    GUY HND HUN ISL IRL ITA JPN JOR KEN KIR LVA LSO LBR LIE LTU LUX MDG MWI MDV MLI MLT MHL MUS MEX MNG MNE NAM
    NRU NLD NZL NER NGA MKD NOR PAN PRY PER POL PRT KOR MDA ROU KNA LCA VCT WSM SMR SEN SRB SYC SLE SVK SVN ZAF
    ESP PSE SUR SWE CHE TJK TLS TTO TUN UGA UKR GBR TZA URY VUT VEN ZMB""".split()
)
SIGNATORIES = set(
    """
    DZA AGO BHS BHR CMR EGY ERI GNB HTI IRN JAM KWT KGZ MCO MAR MOZ OMN STP SLB SYR THA ARE UZB YEM ZWE""".split()
)
DECLARED_NO_INTENTION = {"USA", "ISR", "SDN", "RUS"}
WITHDRAWN = {"BDI", "PHL"}

# UN spellings, as printed on the page, with their ISO alpha-3 codes.
TRICKY_NAMES = [
    ("Bolivia (Plurinational State of)", "BOL"),
    ("Venezuela (Bolivarian Republic of)", "VEN"),
    ("Iran (Islamic Republic of)", "IRN"),
    ("Netherlands (Kingdom of the)", "NLD"),
    ("Micronesia (Federated States of)", "FSM"),
    ("State of Palestine", "PSE"),
    ("United Kingdom of Great Britain and Northern Ireland", "GBR"),
    ("United Kingdom of Great Britain and Northern Ireland 6 , 18 , 19 ,", "GBR"),
    ("United States of America", "USA"),
    ("Côte d'Ivoire", "CIV"),
    ("Côte\u00a0d’Ivoire 3", "CIV"),
    ("Cote d'Ivoire", "CIV"),
    ("Democratic Republic of the Congo", "COD"),
    ("Congo", "COG"),
    ("Republic of Korea", "KOR"),
    ("Democratic People's Republic of Korea", "PRK"),
    ("Republic of Moldova", "MDA"),
    ("North Macedonia", "MKD"),
    ("Türkiye", "TUR"),
    ("Czech Republic", "CZE"),
    ("Czechia", "CZE"),
    ("Cabo Verde", "CPV"),
    ("Lao People's Democratic Republic", "LAO"),
    ("United Republic of Tanzania", "TZA"),
    ("Saint Vincent and the Grenadines", "VCT"),
    ("Saint Kitts and Nevis", "KNA"),
    ("Sao Tome and Principe", "STP"),
    ("Syrian Arab Republic", "SYR"),
    ("Russian Federation", "RUS"),
    ("Guinea-Bissau", "GNB"),
    ("Guinea", "GIN"),
    ("Niger", "NER"),
    ("Nigeria", "NGA"),
    ("Sudan", "SDN"),
    ("South Sudan", "SSD"),
    ("Dominica", "DMA"),
    ("Dominican Republic", "DOM"),
    ("Denmark 1", "DNK"),
    ("Burundi[2]", "BDI"),
    ("Kosovo", "XKX"),
    ("Holy See", "VAT"),
]


def _parsed(path=PAGE, encoding="utf-8", today=BEFORE_HUNGARY_LEAVES):
    return parse_status_page(path.read_text(encoding=encoding), today=today)


def _by_code(entries):
    return {entry.alpha3: entry for entry in entries}


def _shown(value):
    if value is None:
        return "(none)"
    return value.isoformat() if isinstance(value, dt.date) else value


def _facts(code):
    country = country_by_code(code)
    return {name: country.rs_fact(name) for name in RS_FACT_FIELDS}


def _changes_against_database(entries):
    """The change lines a refresh with these entries must print: every fact that differs, nothing else."""
    lines = []
    for entry in sorted(entries, key=lambda e: e.alpha3):
        current = _facts(entry.alpha3)
        for name, value in entry.facts().items():
            if current[name] != value:
                lines.append(f"{entry.alpha3} {name}: {_shown(current[name])} -> {_shown(value)}")
    return lines


def _refresh(runner, *args):
    return runner.invoke(args=["seed", "rome-statute", *map(str, args)])


def _change_lines(output):
    return [line for line in output.splitlines() if CHANGE_LINE.match(line)]


def _country_csv(runner):
    result = runner.invoke(args=["countries", "list", "--csv"])
    assert result.exit_code == 0, result.output
    return result.output


def _depositary_changes():
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(CountryFactChange).where(CountryFactChange.origin == "depositary")
    )


# --- reading the page ---------------------------------------------------------------------------------


def test_the_page_lists_every_state_party_and_signatory():
    assert len(STATE_PARTIES) == 125 and len(SIGNATORIES) == 25
    entries = _parsed()
    assert len(entries) == 156
    assert [entry.name for entry in entries if entry.alpha3 is None] == []
    statuses = {entry.alpha3: entry.status for entry in entries}
    assert len(statuses) == 156
    assert {code for code, status in statuses.items() if status == "state_party"} == STATE_PARTIES
    assert {code for code, status in statuses.items() if status == "signatory"} == SIGNATORIES
    assert {code for code, status in statuses.items() if status == "non_party"} == DECLARED_NO_INTENTION
    assert {code for code, status in statuses.items() if status == "withdrawn"} == WITHDRAWN


@pytest.mark.parametrize(("printed", "code"), TRICKY_NAMES)
def test_un_names_are_matched_to_their_iso_codes(printed, code):
    assert match_participant(printed) == code


@pytest.mark.parametrize("printed", ["Korea", "Atlantis", "Guinea Equatorial Republic", "Virgin Islands", ""])
def test_a_name_that_is_not_certain_is_not_guessed(printed):
    assert match_participant(printed) is None


def test_names_on_the_page_are_matched_without_their_footnote_markers():
    by_code = _by_code(_parsed())
    assert by_code["GBR"].name == "United Kingdom of Great Britain and Northern Ireland"
    assert by_code["GBR"].footnotes == ("15", "18")
    assert by_code["BDI"].name == "Burundi" and by_code["BDI"].footnotes == ("2",)
    for printed, code in [
        ("Bolivia (Plurinational State of)", "BOL"),
        ("Côte d'Ivoire", "CIV"),
        ("Czechia", "CZE"),
        ("State of Palestine", "PSE"),
        ("Republic of Moldova", "MDA"),
        ("Venezuela (Bolivarian Republic of)", "VEN"),
        ("United Republic of Tanzania", "TZA"),
        ("Netherlands (Kingdom of the)", "NLD"),
        ("Iran (Islamic Republic of)", "IRN"),
    ]:
        assert by_code[code].name == printed


def test_dates_and_kinds_of_instrument_are_read_from_their_columns():
    by_code = _by_code(_parsed())
    assert (by_code["ARG"].signature_date, by_code["ARG"].ratification_or_accession_date) == (
        dt.date(1999, 1, 8),
        dt.date(2001, 2, 8),
    )
    assert by_code["ARG"].action == "ratification"
    assert (by_code["AFG"].signature_date, by_code["AFG"].ratification_or_accession_date) == (
        None,
        dt.date(2003, 2, 10),
    )
    assert by_code["AFG"].action == "accession"
    assert by_code["MNE"].action == "succession" and by_code["MNE"].entry_into_force_date is None
    # Dates written with a tab or non-breaking spaces inside them on the page.
    assert by_code["AND"].signature_date == dt.date(1998, 7, 18)
    assert by_code["ATG"].ratification_or_accession_date == dt.date(2001, 6, 18)
    assert by_code["AGO"].signature_date == dt.date(1998, 10, 7)
    assert by_code["AGO"].ratification_or_accession_date is None


@pytest.mark.parametrize(
    ("deposited", "action", "in_force"),
    [
        (dt.date(2001, 2, 8), "ratification", dt.date(2002, 7, 1)),  # Argentina, before the 60th instrument
        (dt.date(2002, 4, 11), "ratification", dt.date(2002, 7, 1)),  # the ten 60th instruments
        (dt.date(2002, 7, 1), "ratification", dt.date(2002, 9, 1)),  # Australia
        (dt.date(2002, 8, 5), "ratification", dt.date(2002, 11, 1)),  # Colombia
        (dt.date(2003, 2, 10), "accession", dt.date(2003, 5, 1)),  # Afghanistan
        (dt.date(2015, 1, 2), "accession", dt.date(2015, 4, 1)),  # State of Palestine
        (dt.date(2023, 11, 14), "ratification", dt.date(2024, 2, 1)),  # Armenia
        (dt.date(2024, 10, 25), "ratification", dt.date(2025, 1, 1)),  # Ukraine: into the next year
        (dt.date(2006, 10, 23), "succession", None),  # Montenegro: from independence
    ],
)
def test_entry_into_force_follows_article_126(deposited, action, in_force):
    assert entry_into_force(deposited, action) == in_force


def test_article_126_agrees_with_every_entry_into_force_in_the_shipped_table():
    import csv

    with open(SEEDS / "rome_statute_status.csv", newline="", encoding="utf-8") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["ratification_or_accession_date"] and row["entry_into_force_date"]
        ]
    assert len(rows) > 40
    # A succession binds the new state from its independence, before the deposit: article 126 does not
    # apply. Montenegro's (deposited 23 Oct 2006, bound from 3 Jun 2006) is the only one in the table.
    successions = {row["iso3"] for row in rows if row["entry_into_force_date"] < row["ratification_or_accession_date"]}
    assert successions == {"MNE"}
    for row in rows:
        if row["iso3"] in successions:
            continue
        deposited = dt.date.fromisoformat(row["ratification_or_accession_date"])
        assert entry_into_force(deposited).isoformat() == row["entry_into_force_date"], row["iso3"]


def test_withdrawals_come_from_the_notes():
    by_code = _by_code(_parsed())
    assert (by_code["BDI"].withdrawal_notified_date, by_code["BDI"].withdrawal_effective_date) == (
        dt.date(2016, 10, 27),
        dt.date(2017, 10, 27),
    )
    assert (by_code["PHL"].withdrawal_notified_date, by_code["PHL"].withdrawal_effective_date) == (
        dt.date(2018, 3, 17),
        dt.date(2019, 3, 17),
    )
    assert by_code["PHL"].ratification_or_accession_date == dt.date(2011, 8, 30)
    assert by_code["PHL"].entry_into_force_date == dt.date(2011, 11, 1)
    # Withdrawals revoked or rescinded, and a declaration withdrawn, are not withdrawals from the Statute.
    for code in ("ZAF", "GMB", "FRA"):
        assert by_code[code].status == "state_party", code
        assert by_code[code].withdrawal_notified_date is None, code


def test_a_notified_withdrawal_keeps_a_state_party_until_it_takes_effect():
    before = _by_code(_parsed(today=dt.date(2026, 6, 1)))["HUN"]
    assert before.status == "state_party"
    assert (before.withdrawal_notified_date, before.withdrawal_effective_date) == (
        dt.date(2025, 6, 2),
        dt.date(2026, 6, 2),
    )
    assert _by_code(_parsed(today=dt.date(2026, 6, 2)))["HUN"].status == "withdrawn"


def test_states_that_declared_they_will_not_become_parties_keep_their_signature():
    by_code = _by_code(_parsed())
    assert {code: (by_code[code].status, by_code[code].signature_date) for code in DECLARED_NO_INTENTION} == {
        "USA": ("non_party", dt.date(2000, 12, 31)),
        "ISR": ("non_party", dt.date(2000, 12, 31)),
        "SDN": ("non_party", dt.date(2000, 9, 8)),
        "RUS": ("non_party", dt.date(2000, 9, 13)),
    }


def test_the_page_saved_as_text_reads_like_the_html_page():
    with pytest.raises(UnicodeDecodeError):
        MODIFIED.read_bytes().decode("utf-8")
    from_html = {code: entry.facts() for code, entry in _by_code(_parsed()).items()}
    from_text = {code: entry.facts() for code, entry in _by_code(_parsed(MODIFIED, "cp1252")).items()}
    assert from_text.pop("ARG")["signature_date"] == dt.date(1999, 1, 9)
    assert from_text.pop("MLI") == {
        **from_html["MLI"],
        "status": "withdrawn",
        "withdrawal_notified_date": dt.date(2024, 1, 15),
        "withdrawal_effective_date": dt.date(2025, 1, 15),
    }
    assert from_text == {code: facts for code, facts in from_html.items() if code not in ("ARG", "MLI")}


def test_a_small_text_copy_with_spaces_and_every_kind_of_instrument():
    text = (
        "Rome Statute of the International Criminal Court\n"
        "Participant          Signature        Ratification, Acceptance(A), Approval(AA), Accession(a), Succession(d)\n"
        "Norway               28 Aug 1998      16 Feb 2000 A\n"
        "Peru 3               7 Dec 2000       10 Nov 2001 AA\n"
        "Japan                                 17 Jul 2007 a\n"
        "Monaco\u00a0\u00a018\u00a0Jul\u00a01998\n"
        "Oman 4, 5            20 Dec 2000\n"
        "Declarations\n"
        "Japan 1 Jan 2020 is not a participant row\n"
    )
    by_code = _by_code(parse_status_page(text, today=BEFORE_HUNGARY_LEAVES))
    assert sorted(by_code) == ["JPN", "MCO", "NOR", "OMN", "PER"]
    assert [by_code[code].action for code in ("NOR", "PER", "JPN")] == ["acceptance", "approval", "accession"]
    assert by_code["JPN"].signature_date is None and by_code["JPN"].status == "state_party"
    assert (by_code["MCO"].status, by_code["MCO"].signature_date) == ("signatory", dt.date(1998, 7, 18))
    assert by_code["OMN"].footnotes == ("4", "5")


def test_notes_phrased_differently_are_still_understood():
    """Invented notes: a revocation in its own paragraph, a withdrawal without its date of effect (one year
    after the notification, article 127), one with a later date of effect, a letter with a US-style date."""
    text = (
        "Rome Statute of the International Criminal Court\n"
        "Participant\tSignature\tRatification, Acceptance(A), Approval(AA), Accession(a), Succession(d)\n"
        "Albania 3\t18 Jul 1998\t31 Jan 2003\n"
        "Kenya 2\t11 Aug 1999\t15 Mar 2005\n"
        "South Africa 1\t17 Jul 1998\t27 Nov 2000\n"
        "Sudan 4\t8 Sep 2000\n"
        "Notes:\n"
        "1.\tOn 19 October 2016, the Government of South Africa notified the Secretary-General of its decision\n"
        "to withdraw from the Statute.\n"
        "1.\tOn 7 March 2017, the Government of South Africa notified the Secretary-General of the revocation\n"
        "of its notification of withdrawal of 19 October 2016.\n"
        "2.\tOn 5 May 2020, the Government of Kenya notified the Secretary-General of its decision to withdraw from "
        "the Rome Statute.\n"
        "3.\tOn 1 March 2021, the Government of Albania notified the Secretary-General that it withdraws from the "
        "Statute with effect from 1 September 2030.\n"
        "4.\tIn a letter dated August 26, 2008, the Government of the Sudan stated that it has no intention of "
        "becoming a party to the Statute.\n"
    )
    by_code = _by_code(parse_status_page(text, today=dt.date(2026, 11, 23)))
    assert (by_code["ZAF"].status, by_code["ZAF"].withdrawal_notified_date) == ("state_party", None)
    kenya, albania = by_code["KEN"], by_code["ALB"]
    assert (kenya.status, kenya.withdrawal_notified_date, kenya.withdrawal_effective_date) == (
        "withdrawn",
        dt.date(2020, 5, 5),
        dt.date(2021, 5, 5),
    )
    assert (albania.status, albania.withdrawal_notified_date, albania.withdrawal_effective_date) == (
        "state_party",
        dt.date(2021, 3, 1),
        dt.date(2030, 9, 1),
    )
    assert (by_code["SDN"].status, by_code["SDN"].signature_date) == ("non_party", dt.date(2000, 9, 8))


def test_a_text_without_a_participant_table_is_refused():
    with pytest.raises(DepositaryError, match="no participant table"):
        parse_status_page("Rome Statute of the International Criminal Court\nNothing to see here.\n")


# --- refreshing the facts -----------------------------------------------------------------------------


def test_refresh_after_seed_reference_prints_and_applies_only_the_facts_that_differ(app, runner):
    expected = _changes_against_database(parse_status_page(PAGE.read_text(encoding="utf-8")))
    audit_events = count_rows(AuditEvent)
    result = _refresh(runner, PAGE)
    assert result.exit_code == 0, result.output
    printed = _change_lines(result.output)
    assert printed == expected
    # The shared table already had Argentina and Burundi right; it had no dates for Switzerland or Spain.
    assert not [line for line in printed if line.startswith(("ARG ", "BDI "))]
    assert "CHE signature_date: (none) -> 1998-07-18" in printed
    assert "CHE ratification_or_accession_date: (none) -> 2001-10-12" in printed
    assert "ESP signature_date: (none) -> 1998-07-18" in printed
    assert "USA status" not in result.output
    assert (
        result.output.splitlines()[-1] == f"156 participants read, {len(expected)} facts changed, "
        "0 kept admin corrections, 0 unknown"
    )
    assert _depositary_changes() == len(expected)
    for entry in _parsed(today=utc_today()):
        assert _facts(entry.alpha3) == entry.facts(), entry.alpha3
    switzerland = country_by_code("CHE")
    assert switzerland.rs_verified and switzerland.rs_source.startswith(
        "UN Treaty Collection, chapter XVIII-10 (saved copy depositary_status.html, sha256 "
    )
    assert count_rows(AuditEvent) == audit_events + 1
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "country.refresh_from_depositary"
    assert event.after["participants"] == 156 and event.after["facts_changed"] == len(expected)


def test_a_modified_copy_prints_exactly_its_changes_and_applies_them(app, runner):
    refresh_from_depositary(PAGE)
    db.session.commit()
    before = _depositary_changes()
    result = _refresh(runner, MODIFIED)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ARG signature_date: 1999-01-08 -> 1999-01-09",
        "MLI status: state_party -> withdrawn",
        "MLI withdrawal_notified_date: (none) -> 2024-01-15",
        "MLI withdrawal_effective_date: (none) -> 2025-01-15",
        "156 participants read, 4 facts changed, 0 kept admin corrections, 0 unknown",
    ]
    assert country_by_code("ARG").rs_signature_date == dt.date(1999, 1, 9)
    mali = country_by_code("MLI")
    assert (mali.rs_status, mali.rs_withdrawal_notified_date, mali.rs_withdrawal_effective_date) == (
        "withdrawn",
        dt.date(2024, 1, 15),
        dt.date(2025, 1, 15),
    )
    new_rows = db.session.scalars(sa.select(CountryFactChange).order_by(CountryFactChange.id.desc()).limit(4)).all()
    assert _depositary_changes() == before + 4
    assert {(row.country.alpha3, row.field, row.old_value, row.new_value) for row in new_rows} == {
        ("ARG", "signature_date", "1999-01-08", "1999-01-09"),
        ("MLI", "status", "state_party", "withdrawn"),
        ("MLI", "withdrawal_notified_date", None, "2024-01-15"),
        ("MLI", "withdrawal_effective_date", None, "2025-01-15"),
    }
    for row in new_rows:
        assert row.origin == "depositary" and row.verified and row.changed_by_id is None
        assert re.fullmatch(
            r"UN Treaty Collection, chapter XVIII-10 \(saved copy depositary_status_modified\.txt, "
            r"sha256 [0-9a-f]{12}, read \d{4}-\d{2}-\d{2}\)",
            row.source,
        )


def test_an_admin_correction_is_kept_and_reported(app, runner, make_user):
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
    result = _refresh(runner, PAGE)
    assert result.exit_code == 0, result.output
    assert "kept admin correction: CHL signature_date: 1998-09-12 (depositary: 1998-09-11)" in result.output
    assert not [line for line in _change_lines(result.output) if line.startswith("CHL signature_date")]
    assert result.output.splitlines()[-1].endswith("1 kept admin corrections, 0 unknown")
    assert country_by_code("CHL").rs_signature_date == dt.date(1998, 9, 12)


def test_a_second_refresh_with_the_same_file_changes_nothing(app, runner):
    first = _refresh(runner, PAGE)
    assert first.exit_code == 0 and _change_lines(first.output)
    rows, listing = count_rows(CountryFactChange), _country_csv(runner)
    second = _refresh(runner, PAGE)
    assert second.exit_code == 0, second.output
    assert second.output.splitlines() == ["156 participants read, 0 facts changed, 0 kept admin corrections, 0 unknown"]
    assert count_rows(CountryFactChange) == rows
    assert _country_csv(runner) == listing


def test_an_unknown_participant_is_reported_not_guessed(app, runner, tmp_path):
    page = tmp_path / "with_atlantis.html"
    page.write_text(
        PAGE.read_text(encoding="utf-8").replace(
            '<tr><td><div style="text-align:left">Austria</div>',
            '<tr><td><div style="text-align:left">Atlantis<sup>3</sup></div></td><td>1 Apr 1999</td>'
            '<td>2 Apr 2001</td></tr><tr><td><div style="text-align:left">Austria</div>',
        ),
        encoding="utf-8",
    )
    result = _refresh(runner, page)
    assert result.exit_code == 0, result.output
    assert "unknown participant: Atlantis" in result.output.splitlines()
    assert result.output.splitlines()[-1].startswith("157 participants read, ")
    assert result.output.splitlines()[-1].endswith(", 1 unknown")


def test_impossible_dates_for_one_country_are_reported_and_leave_it_unchanged(app, tmp_path):
    page = tmp_path / "hungary_backwards.html"
    page.write_text(
        PAGE.read_text(encoding="utf-8").replace("will take effect on 2 June 2026", "will take effect on 2 June 2024"),
        encoding="utf-8",
    )
    hungary_before = _facts("HUN")
    result = refresh_from_depositary(page)
    lines = list(result.report_lines())
    assert (
        "not applied: HUN (Hungary): a withdrawal cannot take effect before it was notified; its facts are unchanged"
    ) in lines
    assert _facts("HUN") == hungary_before
    assert not [line for line in lines if line.startswith("HUN ")]
    assert "BDI status: state_party -> withdrawn" not in lines  # the seed already has Burundi withdrawn
    assert "CHE signature_date: (none) -> 1998-07-18" in lines


def test_a_fact_refused_half_way_leaves_the_country_as_it_was(app, tmp_path, monkeypatch):
    """If apply_fact refuses a fact after others of the same country were set, none of them stays."""
    page = tmp_path / "hungary_backwards.html"
    page.write_text(
        PAGE.read_text(encoding="utf-8").replace("will take effect on 2 June 2026", "will take effect on 2 June 2024"),
        encoding="utf-8",
    )
    monkeypatch.setattr(depositary_refresh, "_check_order", lambda final: None)
    hungary_before = _facts("HUN")
    rows_before = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CountryFactChange)
        .where(CountryFactChange.country_id == country_by_code("HUN").id)
    )
    result = refresh_from_depositary(page, today=dt.date(2026, 11, 23))
    assert any(line.startswith("not applied: HUN") for line in result.report_lines())
    db.session.flush()
    assert _facts("HUN") == hungary_before
    assert hungary_before["status"] == "state_party"
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CountryFactChange)
            .where(CountryFactChange.country_id == country_by_code("HUN").id)
        )
        == rows_before
    )
    assert country_by_code("BDI").rs_signature_date == dt.date(1999, 1, 13)


def _tiny_page() -> bytes:
    rows = "".join(
        f"<tr><td>{name}</td><td>18 Jul 1998</td><td>1 Feb 2002</td></tr>"
        for name in ("Albania", "Andorra", "Argentina")
    )
    return (
        "<html><body><h3>10. Rome Statute of the International Criminal Court</h3><table>"
        "<tr><th>Participant</th><th>Signature</th><th>Ratification</th></tr>" + rows + "</table></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \r\n\t\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4, "binary file"),
        (b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\x13\x14\x15" * 64, "binary file"),
        (b"lorem ipsum dolor sit amet; qwfp arst zxcv 12 34\n" * 50, "does not look like"),
        (b"Rome Statute of the International Criminal Court\nasdf\tqwer\n1 2 3\n", "no participant table"),
        (_tiny_page(), "only 3 participants found"),
    ],
)
def test_an_unreadable_file_fails_clearly_and_changes_nothing(app, runner, tmp_path, content, message):
    page = tmp_path / "status.html"
    page.write_bytes(content)
    listing = _country_csv(runner)
    counts = count_rows(CountryFactChange), count_rows(AuditEvent), count_rows(Country)
    result = _refresh(runner, page)
    assert result.exit_code != 0
    assert message in result.output and "status.html" in result.output
    assert "Traceback" not in result.output
    assert _country_csv(runner) == listing
    assert (count_rows(CountryFactChange), count_rows(AuditEvent), count_rows(Country)) == counts


def test_refresh_function_raises_depositary_error_for_a_garbage_file(app, tmp_path):
    page = tmp_path / "garbage.txt"
    page.write_bytes(b"\xde\xad\xbe\xef" * 100)
    with pytest.raises(DepositaryError, match="garbage.txt"):
        refresh_from_depositary(page)


def test_dry_run_prints_the_changes_but_saves_nothing(app, runner):
    listing = _country_csv(runner)
    counts = count_rows(CountryFactChange), count_rows(AuditEvent)
    expected = _changes_against_database(parse_status_page(PAGE.read_text(encoding="utf-8")))
    result = _refresh(runner, "--dry-run", PAGE)
    assert result.exit_code == 0, result.output
    assert _change_lines(result.output) == expected and expected
    assert result.output.splitlines()[-1] == "dry run: nothing saved"
    assert _country_csv(runner) == listing
    assert (count_rows(CountryFactChange), count_rows(AuditEvent)) == counts
    assert country_by_code("CHE").rs_signature_date is None


def test_a_page_saved_as_utf16_text_is_read(app, tmp_path):
    page = tmp_path / "status_utf16.txt"
    page.write_bytes(MODIFIED.read_bytes().decode("cp1252").encode("utf-16"))
    result = refresh_from_depositary(page)
    assert result.participants == 156 and result.unknown == []
    assert country_by_code("MLI").rs_status == "withdrawn"


def test_seed_reference_does_not_undo_a_depositary_refresh(app, runner):
    """`make run` seeds reference data on every start: it must keep what the depositary page said."""
    from crm.countries.services import load_reference

    refresh_from_depositary(FIXTURES / "depositary_status.html")
    db.session.commit()
    before = runner.invoke(args=["countries", "list", "--csv"]).output
    report = load_reference()
    assert report.fact_changes == []
    assert runner.invoke(args=["countries", "list", "--csv"]).output == before
