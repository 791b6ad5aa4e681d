"""The signatories leave the system as CSV for coordinators and above: the approved ones (or every
signature with its status), each export audited, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.statements import services as statements

pytestmark = pytest.mark.usefixtures("clock")


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def decided(statement, signed_up, clock):
    approved, _ = signed_up()
    rejected, _ = signed_up(organisation='=HYPERLINK("http://evil")', email="x@evil.example", website="evil.example")
    statements.approve(approved, actor="test", now=clock.now())
    statements.reject(rejected, "Spam", actor="test", now=clock.now())
    db.session.commit()
    return approved, rejected


def test_a_coordinator_exports_the_signatories_with_their_addresses(client, signed_in, statement, decided):
    coordinator = signed_in("coordinator")
    response = client.get(f"/statements/{statement.id}/signatories.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    (row,) = _rows(response)
    assert row["organisation"] == "Acción Solidaria" and row["email"] == "ana@accionsolidaria.info"
    assert row["status"] == "approved" and row["email_matches_website"] == "yes" and row["iso3"] == "VEN"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.statement_signatories")).one()
    assert event.actor_id == coordinator.id and event.campaign_id == statement.campaign_id
    assert event.after == {"rows": 1, "filters": {"statement": statement.slug, "status": "approved"}, "format": "csv"}


def test_every_signature_with_its_status_and_formulas_kept_as_text(client, signed_in, statement, decided):
    signed_in("manager")
    rows = _rows(client.get(f"/statements/{statement.id}/signatories.csv?status=all"))
    assert [row["status"] for row in rows] == ["approved", "rejected"]
    assert rows[1]["organisation"] == '\'=HYPERLINK("http://evil")'
    assert "Spam" not in str(rows)  # the reason stays on the page, for the team


def test_volunteers_export_nothing(client, signed_in, statement, decided):
    signed_in("volunteer")
    assert client.get(f"/statements/{statement.id}/signatories.csv").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action.like("export.%"))) == 0
