"""Exports from every platform, with or without e-mail addresses: each profile is recognised by the columns
public material shows, and signers without an address are counted by name and place within their petition,
so that the totals become a range where they meet signers known by their address.

Every expected figure below is counted by hand from the fixture files (tests/signatures/fixtures):

controlshift.csv           the creator's export, header exactly "id, first_name, last_name, phone_number,
                           postcode, additional_fields"; no e-mail, no country. 8 rows: Ana Pérez 28001,
                           "ana PEREZ" "28 001" (same), Bruno Silva M5V 2T6, Bruno Silva m5v2t6 (same), Carla
                           (no postcode: invalid), a row without a name (invalid), Ana Pérez 08001 (another
                           place: another person), Luis Díaz 1010. -> 4 new, 2 duplicates, 2 invalid; no country.
change_org_no_email.csv    UTF-16 LE with BOM, tab-separated, "Name, City, State, Postal Code, Country, Signed
                           On". 8 rows: Ana Pérez 28001 Spain, "ANA  PEREZ" "28 001" España (same), Hugo
                           Martin M5V Canada, Inés Ruiz Sevilla Spain (no postal code: the city), "ines ruiz"
                           "sevilla" Spain (same), Jorge Díaz Bogotá Colombia, Kim Lee (no place: invalid),
                           Luis Rojas 1010 Venezuela. -> 5 new, 2 duplicates, 1 invalid; ESP 2, CAN 1, COL 1, VEN 1.
action_network_report.csv  an Action Network report with other chosen columns (no uuid; can2_ fields): ana ES,
                           hugo CA, "ANA" ES (duplicate), olga VE. -> 3 new, 1 duplicate; ESP 1, CAN 1, VEN 1.
generic_no_email.csv       Spanish headers, no e-mail: Pedro Gómez 10001 Estados Unidos, "Pedro  GOMEZ" 10001
                           "EE. UU." (same), Rosa Pérez Ciudad de México, Sara Luna (no place: invalid).
                           -> 2 new, 1 duplicate, 1 invalid; USA 1, MEX 1.
action_network.csv         (see test_imports.py) 7 new: CAN 3, ESP 1, VEN 1, no country 2.
"""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.letters.models import Letter
from crm.signatures import dossier, importers
from crm.signatures.imports import ImportRejected, import_file
from crm.signatures.models import Signature, SignatureCount
from crm.signatures.totals import daily_totals, totals_csv_rows, totals_for
from tests.signatures.conftest import database_state, fixture_path, hand_count, import_fixture


def _counts(record):
    return (record.format, record.rows_read, record.rows_new, record.rows_duplicate, record.rows_invalid)


def _header(name: str, encoding: str = "utf-8") -> list[str]:
    with open(fixture_path(name), "rb") as handle:
        reader = importers.read(handle)
        return reader.shape.header, reader.shape.delimiter


def test_the_fixtures_carry_the_headers_public_material_shows():
    assert _header("controlshift.csv") == (
        ["id", "first_name", "last_name", "phone_number", "postcode", "additional_fields"],
        ",",
    )
    header, delimiter = _header("change_org_no_email.csv")
    assert delimiter == "\t" and {"City", "State", "Postal Code"} <= set(header)
    header, _ = _header("action_network.csv")
    assert header[:6] == ["uuid", "first_name", "last_name", "email", "zip_code", "country"]
    assert any(name.startswith("can2_") for name in header)


@pytest.mark.parametrize(
    "header, delimiter, expected",
    [
        # The exact header of the sync script's export, and reports with other chosen columns.
        ("uuid,first_name,last_name,email,zip_code,country", ",", "action_network"),
        ("first_name,last_name,email,zip_code,country,can2_user_state", ",", "action_network"),
        ("email,can2_subscription_date", ",", "action_network"),
        ("Email,Zip,Country", ",", "generic"),  # nothing of Action Network's own
        ("uuid,first_name,last_name,zip_code,country", ",", "generic"),  # no e-mail: not an activist report
        ("id,first_name,last_name,phone_number,postcode,additional_fields", ",", "controlshift"),
        ("Name\tCity\tState\tPostal Code\tCountry", "\t", "change_org"),
        ("Name,City,State,Postal Code", ",", "generic"),  # Change.org's export is tab-separated
        ("Unterschrift-ID;Vorname;Nachname;PLZ;Ort", ";", "openpetition"),
    ],
)
def test_each_platform_is_recognised_by_its_known_columns(header, delimiter, expected):
    assert importers.detect_format(header.split(delimiter), delimiter) == expected


def test_a_controlshift_export_is_counted_by_name_and_postcode(app, make_petition, campaign):
    record = import_fixture(make_petition(platform="other"), "controlshift.csv").record
    assert _counts(record) == ("controlshift", 8, 4, 2, 2)
    assert record.report["kind"] == "name"
    assert record.report["invalid"] == [{"row": 6, "reason": "no_place"}, {"row": 7, "reason": "no_name"}]
    assert record.report["no_country"] == 6
    totals = totals_for(campaign)
    assert (totals.total, totals.by_country, totals.unknown_country, totals.is_range) == (4, {}, 4, False)
    kinds = db.session.scalars(sa.select(Signature.kind).where(Signature.campaign_id == campaign.id)).all()
    assert kinds == ["name"] * 4


def test_a_change_org_export_without_addresses_is_counted_by_name_and_place(app, make_petition, campaign):
    record = import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv").record
    assert _counts(record) == ("change_org", 8, 5, 2, 1)
    assert record.report["invalid"] == [{"row": 8, "reason": "no_place"}]
    totals = totals_for(campaign)
    assert (totals.total, totals.by_country) == (5, {"ESP": 2, "CAN": 1, "COL": 1, "VEN": 1})
    assert hand_count(campaign) == {"ESP": 2, "CAN": 1, "COL": 1, "VEN": 1}


def test_an_action_network_report_with_other_columns_is_recognised(app, make_petition, campaign):
    record = import_fixture(make_petition(platform="action_network"), "action_network_report.csv").record
    assert _counts(record) == ("action_network", 4, 3, 1, 0)
    assert record.report["kind"] == "email"
    assert totals_for(campaign).by_country == {"CAN": 1, "ESP": 1, "VEN": 1}


def test_the_same_people_on_another_petition_are_not_recognised_without_an_address(app, make_petition, campaign):
    import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv")
    again = import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv").record
    # Within a petition, a person is counted once; across petitions nothing tells them apart.
    assert _counts(again) == ("change_org", 8, 5, 2, 1)
    assert totals_for(campaign).total == 10


def test_a_later_export_of_the_same_petition_counts_only_new_people(app, make_petition, campaign):
    petition = make_petition(platform="other")
    import_fixture(petition, "controlshift.csv")
    later = b"id,first_name,last_name,phone_number,postcode,additional_fields\n9,Luis,Diaz,,1010,{}\n10,Marta,Sol,,1010,{}\n"
    record = import_file(petition, io.BytesIO(later), filename="later.csv").record
    assert (record.rows_new, record.rows_duplicate) == (1, 1)
    assert totals_for(campaign).total == 5


def test_signers_with_and_without_addresses_in_one_country_give_a_range(app, make_petition, make_record, campaign):
    import_fixture(make_petition(platform="action_network"), "action_network.csv")
    import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv")
    totals = totals_for(campaign)
    # ESP: 1 by address, 2 by name -> between 2 and 3; CAN: 3 and 1 -> 3 to 4; VEN: 1 and 1 -> 1 to 2;
    # COL: by name only -> 1; not known: by address only -> 2.
    assert totals.ranges == {"CAN": (3, 4), "ESP": (2, 3), "VEN": (1, 2)}
    assert totals.by_country == {"CAN": 3, "ESP": 2, "COL": 1, "VEN": 1}
    assert (totals.total, totals.total_upper, totals.unknown_country) == (9, 12, 2)
    spain = totals_for(campaign, make_record("ESP").country)
    assert (spain.resident, spain.resident_upper) == (2, 3)
    # One figure where one is needed: the lower end.
    assert totals_csv_rows(campaign)[-1] == ("TOTAL", 9)
    assert daily_totals(campaign)[-1].total == 9
    # The counts agree with the signatures themselves.
    before = db.session.execute(sa.select(SignatureCount.petition_id, SignatureCount.without_email)).all()
    from crm.signatures import counts

    counts.rebuild_counts(campaign)
    assert sorted(db.session.execute(sa.select(SignatureCount.petition_id, SignatureCount.without_email)).all()) == (
        sorted(before)
    )


@pytest.mark.parametrize(
    "language, total, spain",
    [
        (
            "en",
            "between 9 and 12 unique signers",
            'Spain</th><td><code>ESP</code></td>\n        <td class="num">between 2 and 3',
        ),
        (
            "es",
            "entre 9 y 12 firmantes únicos",
            'España</th><td><code>ESP</code></td>\n        <td class="num">entre 2 y 3',
        ),
    ],
)
def test_the_totals_page_states_the_range_in_the_readers_language(
    app, client, signed_in, make_petition, campaign, language, total, spain
):
    import_fixture(make_petition(platform="action_network"), "action_network.csv")
    import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv")
    db.session.commit()
    signed_in("coordinator", language=language)
    page = client.get(f"/campaigns/{campaign.slug}/signatures").get_data(as_text=True)
    assert total in page and spain in page


def test_the_cli_states_the_range_and_keeps_its_csv_form(app, make_petition, campaign):
    import_fixture(make_petition(platform="action_network"), "action_network.csv")
    import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["signatures", "totals", "--campaign", campaign.slug, "--csv"])
    assert result.output.splitlines()[0] == "country,signers" and result.output.splitlines()[-1] == "TOTAL,9"
    result = app.test_cli_runner().invoke(args=["signatures", "totals", "--campaign", campaign.slug])
    assert "TOTAL  9  (between 9 and 12)" in result.output


def test_a_delivered_letter_keeps_both_ends_of_the_range(app, client, signed_in, make_petition, make_record, make_user):
    from crm.letters import services as letters

    record = make_record("ESP")
    import_fixture(make_petition(platform="action_network"), "action_network.csv")
    import_fixture(make_petition(platform="change_org"), "change_org_no_email.csv")
    letter = Letter(outreach_id=record.id, direction="outgoing", subject="Carta", sent_on=dt.date(2018, 6, 1))
    db.session.add(letter)
    db.session.flush()
    letters.mark_delivered(letter, dt.date(2018, 6, 2), make_user("coordinator"), expected_version=letter.version)
    assert (letter.signatures_total, letter.signatures_total_upper) == (9, 12)
    assert (letter.signatures_resident, letter.signatures_resident_upper) == (2, 3)
    import_fixture(make_petition(), "generic.csv")  # after delivery: in neither end
    built = dossier.build(record, letter, "en")
    assert (built.total, built.total_upper, built.resident, built.resident_upper) == (9, 12, 2, 3)
    db.session.commit()
    signed_in("coordinator")
    page = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert "between 9 and 12" in page and "between 2 and 3" in page


def test_a_generic_file_without_addresses_needs_the_rule_confirmed(app, make_petition, campaign):
    petition = make_petition()
    before = database_state()
    with pytest.raises(ImportRejected) as refused:
        import_fixture(petition, "generic_no_email.csv")
    assert refused.value.report.problems[0].code == "no_email_column"
    assert "Count these signers by name and place" in str(refused.value)
    assert database_state() == before
    record = import_fixture(petition, "generic_no_email.csv", without_email=True).record
    assert _counts(record) == ("generic", 4, 2, 1, 1)
    assert totals_for(campaign).by_country == {"MEX": 1, "USA": 1}


def test_without_a_name_or_a_place_a_file_without_addresses_is_refused(app, make_petition):
    petition = make_petition()
    before = database_state()
    with pytest.raises(ImportRejected) as refused:
        import_fixture(petition, "no_email.csv", without_email=True)  # a name and a country, no place
    assert refused.value.report.problems[0].code == "no_name_columns"
    assert database_state() == before


def _upload(client, petition, name):
    data = {"file": (io.BytesIO(fixture_path(name).read_bytes()), name)}
    response = client.post(f"/petitions/{petition.slug}/uploads", data=data, content_type="multipart/form-data")
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_the_preview_asks_to_confirm_the_rule_for_a_generic_file(app, client, signed_in, make_petition, campaign):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    token = _upload(client, petition, "generic_no_email.csv")
    url = f"/petitions/{petition.slug}/uploads/{token}"
    page = client.get(url).get_data(as_text=True)
    assert "Count these signers by name and place" in page
    assert '<option selected value="Código postal">' in page  # guessed from the header
    columns = {"full_name": "Nombre completo", "postal_code": "Código postal", "city": "Ciudad", "country": "País"}
    before = database_state()
    refused = client.post(url, data={**columns, "email": "", "date_order": "ymd"})
    assert refused.status_code == 400
    assert "tick “Count these signers by name and place”" in refused.get_data(as_text=True)
    assert database_state() == before
    done = client.post(url, data={**columns, "email": "", "date_order": "ymd", "without_email": "y"})
    assert done.status_code == 302
    report = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "name, postal code (or city) and country, within this petition" in report
    assert totals_for(campaign).total == 2


def test_a_platform_without_addresses_needs_no_confirmation(app, client, signed_in, make_petition, campaign):
    petition = make_petition(platform="change_org")
    db.session.commit()
    signed_in("coordinator")
    token = _upload(client, petition, "change_org_no_email.csv")
    url = f"/petitions/{petition.slug}/uploads/{token}"
    page = client.get(url).get_data(as_text=True)
    assert "This platform gives no e-mail addresses" in page and 'name="without_email"' not in page
    done = client.post(
        url,
        data={
            "full_name": "Name",
            "postal_code": "Postal Code",
            "city": "City",
            "country": "Country",
            "date_order": "ymd",
        },
    )
    assert done.status_code == 302
    assert totals_for(campaign).total == 5


def test_the_command_line_confirms_with_a_flag(app, make_petition, campaign):
    petition = make_petition()
    db.session.commit()
    runner = app.test_cli_runner()
    path = str(fixture_path("generic_no_email.csv"))
    refused = runner.invoke(args=["signatures", "import", "--petition", petition.slug, path])
    assert refused.exit_code == 1 and "Count these signers by name and place" in refused.output
    done = runner.invoke(args=["signatures", "import", "--petition", petition.slug, "--without-email", path])
    assert done.exit_code == 0, done.output
    assert "rows new: 2" in done.output
