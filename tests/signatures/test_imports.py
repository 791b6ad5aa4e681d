"""Importing the platforms' exports: each format, re-imports, overlapping files, malformed files.

Every expected figure below is counted by hand from the fixture files (tests/signatures/fixtures):

action_network.csv  10 rows: ana ES, Bruno CA, carla CA, "  ana " again (duplicate), dario VE, a row with no
                    address, "not-an-email", elena XX (unknown country), fabio (no country), gina CA.
                    -> 7 new, 1 duplicate, 2 invalid (rows 7 and 8); CAN 3, ESP 1, VEN 1, no country 2.
change_org.csv      UTF-16 with BOM, tab-separated, 7 rows: ANA Spain, hugo Canada, ines@bücher.example España,
                    jorge Colombia, carla Canada, kim Narnia, luis Venezuela (date "12/05/2018", not ISO).
                    -> alone: 7 new; CAN 2, ESP 2, COL 1, VEN 1, unknown 1 ("Narnia").
                    -> after action_network.csv: ana and carla are duplicates: 5 new.
openpetition.csv    semicolon-separated, UTF-8 with BOM, German headers, 4 rows: max Deutschland, eva Österreich,
                    ana Spanien (German for Spain: not understood), ole DE. -> DEU 2, AUT 1, unknown 1.
generic.csv         semicolon-separated, Spanish headers, 5 rows: pedro Estados Unidos, rosa EE. UU., sara México,
                    tomas Reino Unido, "PEDRO@example.com " again. -> 4 new, 1 duplicate; USA 2, MEX 1, GBR 1.
"""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.signatures import imports
from crm.signatures.importers import ColumnMapping
from crm.signatures.imports import ImportRejected, import_file
from crm.signatures.models import Signature, SignatureImport
from crm.signatures.reports import ImportReport, Problem, problem_message
from crm.signatures.totals import totals_for
from tests.signatures.conftest import database_state, fixture_path, hand_count, import_fixture


def test_action_network_export(app, make_petition, campaign):
    outcome = import_fixture(make_petition(platform="action_network"), "action_network.csv")
    record = outcome.record
    assert (record.format, record.rows_read, record.rows_new, record.rows_duplicate, record.rows_invalid) == (
        "action_network",
        10,
        7,
        1,
        2,
    )
    assert record.report["invalid"] == [{"row": 7, "reason": "no_email"}, {"row": 8, "reason": "bad_email"}]
    assert record.report["unknown_countries"] == [{"value": "XX", "rows": 1}]
    assert record.report["no_country"] == 1
    # What is stored reads back as the same report, and writes back as the same JSON.
    assert ImportReport.from_json(record.report).as_json() == record.report == outcome.report.as_json()
    totals = totals_for(campaign)
    assert (totals.total, totals.by_country, totals.unknown_country) == (7, {"CAN": 3, "ESP": 1, "VEN": 1}, 2)
    assert hand_count(campaign) == {"CAN": 3, "ESP": 1, "VEN": 1, None: 2}


def test_change_org_export_is_utf16_and_tab_separated(app, make_petition, campaign):
    outcome = import_fixture(make_petition(platform="change_org"), "change_org.csv")
    record = outcome.record
    assert (record.format, record.rows_read, record.rows_new, record.rows_duplicate, record.rows_invalid) == (
        "change_org",
        7,
        7,
        0,
        0,
    )
    assert record.report["encoding"] == "utf-16" and record.report["delimiter"] == "\t"
    assert record.report["unknown_countries"] == [{"value": "Narnia", "rows": 1}]
    assert record.report["dates_not_understood"] == 1
    totals = totals_for(campaign)
    assert totals.by_country == {"CAN": 2, "ESP": 2, "COL": 1, "VEN": 1}
    assert (totals.total, totals.unknown_country) == (7, 1)


def test_openpetition_export(app, make_petition, campaign):
    record = import_fixture(make_petition(platform="openpetition"), "openpetition.csv").record
    assert (record.format, record.rows_read, record.rows_new) == ("openpetition", 4, 4)
    assert record.report["unknown_countries"] == [{"value": "Spanien", "rows": 1}]
    assert totals_for(campaign).by_country == {"DEU": 2, "AUT": 1}
    signed = sorted(d.date() for d in db.session.scalars(sa.select(Signature.signed_at)))
    assert signed == [dt.date(2018, 5, 10), dt.date(2018, 5, 11), dt.date(2018, 5, 11), dt.date(2018, 5, 12)]


def test_generic_sheet_with_spanish_headers(app, make_petition, campaign):
    petition = make_petition()
    record = import_fixture(petition, "generic.csv").record
    assert (record.format, record.rows_read, record.rows_new, record.rows_duplicate) == ("generic", 5, 4, 1)
    assert totals_for(campaign).by_country == {"USA": 2, "GBR": 1, "MEX": 1}
    assert petition.column_mapping["columns"] == {
        "email": "Correo electrónico",
        "country": "País de residencia",
        "signed_at": "Fecha",
        "first_name": "Nombre",
    }


@pytest.mark.parametrize("name", ["action_network.csv", "change_org.csv", "openpetition.csv", "generic.csv"])
def test_importing_the_same_file_twice_changes_nothing(app, make_petition, name):
    petition = make_petition()
    first = import_fixture(petition, name)
    before = database_state()
    again = import_fixture(petition, name)
    assert again.already_imported and again.record.id == first.record.id
    assert database_state() == before


def test_the_same_people_in_another_file_are_duplicates(app, make_petition, campaign):
    petition = make_petition()
    import_fixture(petition, "action_network.csv")
    # Same rows, different bytes (a trailing blank line): read again, all already counted.
    data = fixture_path("action_network.csv").read_bytes() + b"\n"
    record = import_file(petition, io.BytesIO(data), filename="again.csv").record
    assert (record.rows_read, record.rows_new, record.rows_duplicate, record.rows_invalid) == (10, 0, 8, 2)
    assert totals_for(campaign).total == 7


def test_overlapping_files_from_two_platforms_count_each_person_once(app, make_petition, campaign):
    action_network, change_org = make_petition(platform="action_network"), make_petition(platform="change_org")
    import_fixture(action_network, "action_network.csv")
    record = import_fixture(change_org, "change_org.csv").record
    assert (record.rows_new, record.rows_duplicate) == (5, 2)  # ana and carla signed on both
    totals = totals_for(campaign)
    assert totals.total == 12
    assert totals.by_country == {"CAN": 4, "ESP": 2, "VEN": 2, "COL": 1}
    assert totals.unknown_country == 3
    assert totals.by_petition == {action_network.id: 7, change_org.id: 5}
    assert hand_count(campaign) == {"CAN": 4, "ESP": 2, "VEN": 2, "COL": 1, None: 3}


def test_signatures_of_another_campaign_are_not_counted(app, make_petition, campaign):
    from crm.campaigns.models import Campaign

    other = Campaign(slug="otra", name="Otra")
    db.session.add(other)
    db.session.flush()
    import_fixture(make_petition(), "action_network.csv")
    record = import_fixture(make_petition(campaign_=other), "action_network.csv").record
    assert record.rows_new == 7  # the same people, counted once per campaign
    assert totals_for(campaign).total == totals_for(other).total == 7


def test_only_a_keyed_hash_of_the_address_is_stored_and_names_only_when_configured(app, make_petition):
    import_fixture(make_petition(), "action_network.csv")
    rows = db.session.execute(sa.select(Signature)).scalars().all()
    for row in rows:
        assert len(row.email_hash) == 64 and "@" not in row.email_hash
        assert row.first_name is None and row.last_name is None
    app.config["SIGNATURE_KEEP_NAMES"] = True
    try:
        petition = make_petition()
        import_fixture(petition, "generic.csv")
    finally:
        app.config.pop("SIGNATURE_KEEP_NAMES")
    names = set(db.session.scalars(sa.select(Signature.first_name).where(Signature.petition_id == petition.id)))
    assert names == {"Pedro", "Rosa", "Sara", "Tomás"}


def test_a_changed_hash_key_refuses_the_import(app, make_petition):
    petition = make_petition()
    import_fixture(petition, "action_network.csv")
    before = database_state()
    app.config["SIGNATURE_HASH_KEY"] = "a new key"
    try:
        with pytest.raises(ImportRejected) as refused:
            import_fixture(petition, "generic.csv")
    finally:
        app.config.pop("SIGNATURE_HASH_KEY")
    assert refused.value.report.problems == [Problem("key_changed")]
    assert database_state() == before


def test_a_mapping_chosen_for_a_generic_file_is_remembered(app, make_petition, campaign):
    petition = make_petition()
    with pytest.raises(ImportRejected) as refused:
        import_fixture(petition, "unlabelled.csv")
    assert refused.value.report.problems[0].code == "no_email_column"
    mapping = ColumnMapping(columns={"email": "Columna B", "country": "Columna C"})
    record = import_fixture(petition, "unlabelled.csv", mapping=mapping).record
    assert record.rows_new == 2
    record = import_fixture(petition, "unlabelled_2.csv").record  # no mapping given: the remembered one
    assert (record.rows_new, record.rows_duplicate) == (1, 1)
    assert totals_for(campaign).by_country == {"CHL": 2, "ARG": 1}


def test_a_mapping_naming_a_missing_column_is_refused(app, make_petition):
    petition = make_petition()
    mapping = ColumnMapping(columns={"email": "Correo"})
    with pytest.raises(ImportRejected) as refused:
        import_fixture(petition, "generic.csv", mapping=mapping)
    assert refused.value.report.problems == [Problem("mapping_column", name="Correo")]


# --- malformed files: a clear report, and the database exactly as it was -----------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """Write every two rows, so that a file refused late has had rows written (and rolled back)."""
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)


def _refused(petition, data: bytes, **options) -> ImportReport:
    before = database_state()
    with pytest.raises(ImportRejected) as refused:
        import_file(petition, io.BytesIO(data), filename="bad.csv", **options)
    assert database_state() == before
    return refused.value.report


def test_wrong_encoding(app, make_petition, small_chunks):
    petition = make_petition()
    report = _refused(petition, fixture_path("latin1_late.csv").read_bytes())
    assert report.problems == [Problem("encoding", line=14, encoding="utf-8")]
    assert "Line 14 is not valid utf-8 text" in problem_message(report.problems[0])
    report = _refused(petition, fixture_path("latin1.csv").read_bytes())
    assert report.problems[0].line == 1
    # Told the encoding, the same file imports.
    record = import_fixture(petition, "latin1_late.csv", encoding="windows-1252").record
    assert record.rows_new == 13


def test_missing_email_column(app, make_petition):
    report = _refused(make_petition(), fixture_path("no_email.csv").read_bytes())
    assert report.problems[0].code == "no_email_column"
    assert "No column holds e-mail addresses" in problem_message(report.problems[0])


def test_ragged_rows(app, make_petition, small_chunks):
    report = _refused(make_petition(), fixture_path("ragged.csv").read_bytes())
    assert report.problems == [
        Problem("ragged", row=14, found=4, expected=3),
        Problem("ragged", row=15, found=2, expected=3),
    ]
    assert (
        problem_message(report.problems[0])
        == "Row 14 has 4 values but the header has 3 columns: the columns cannot be trusted."
    )


def test_ten_megabytes_of_one_line(app, make_petition):
    report = _refused(make_petition(), b"email,country," + b"x" * (10 * 1024 * 1024))
    assert report.problems[0].code == "line_too_long"
    assert report.problems[0].line == 1


def test_ten_megabytes_of_one_line_after_good_rows(app, make_petition, small_chunks):
    data = b"email,country\n" + b"".join(b"p%d@example.org,ES\n" % i for i in range(10)) + b"y" * (10 * 1024 * 1024)
    report = _refused(make_petition(), data)
    assert report.problems == [Problem("line_too_long", line=12, limit=1024 * 1024)]


def test_an_unclosed_quote_swallowing_the_file(app, make_petition, small_chunks):
    data = (
        b"email,country\n"
        + b"".join(b"p%d@example.org,ES\n" % i for i in range(10))
        + b'"open,'
        + b"z" * 200
        + b"\n"
        + (b"more text\n" * 20_000)
    )
    report = _refused(make_petition(), data)
    assert report.problems[0].code == "field_too_long"


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"email,country\n", "no_rows"),
        (b"email,country\nnobody,ES\n,FR\n", "no_valid_rows"),
        (b"email\x00,country\nx@y.org,ES\n", "nul_byte"),
    ],
)
def test_files_with_nothing_to_count(app, make_petition, data, code):
    report = _refused(make_petition(), data)
    assert report.problems[0].code == code


def test_a_refused_file_can_be_imported_once_fixed(app, make_petition, small_chunks, campaign):
    petition = make_petition()
    _refused(petition, fixture_path("ragged.csv").read_bytes())
    fixed = b"\n".join(fixture_path("ragged.csv").read_bytes().splitlines()[:13]) + b"\n"
    record = import_file(petition, io.BytesIO(fixed), filename="fixed.csv").record
    assert record.rows_new == 12
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignatureImport)) == 1


def test_streaming_reads_rows_without_holding_the_file(app, make_petition, campaign):
    """A file of 30,000 rows is imported through chunks; each person is counted once."""
    lines = [b"email,country"] + [b"s%d@example.org,%s" % (i, b"ES" if i % 3 else b"CA") for i in range(30_000)]
    data = b"\n".join(lines + lines[1:1001]) + b"\n"  # the first thousand again at the end
    record = import_file(make_petition(), io.BytesIO(data), filename="big.csv").record
    assert (record.rows_read, record.rows_new, record.rows_duplicate) == (31_000, 30_000, 1_000)
    assert totals_for(campaign).by_country == {"ESP": 20_000, "CAN": 10_000}


def test_the_import_is_audited_without_personal_data(app, make_petition):
    from crm.audit.models import AuditEvent

    import_fixture(make_petition(), "action_network.csv")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "signature.import")).one()
    assert event.after["rows_new"] == 7
    assert "@" not in str(event.after)
