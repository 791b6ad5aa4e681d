"""The delivery dossier: the letter, the totals delivered and the breakdown, as a PDF that fetches nothing."""

import datetime as dt

import pytest

from crm.extensions import db
from crm.letters.models import Letter
from crm.signatures import dossier
from tests.signatures.conftest import import_fixture

weasyprint = pytest.importorskip("weasyprint")


@pytest.fixture
def delivered(app, make_petition, make_record, make_user):
    from crm.letters import services as letters

    record = make_record("CAN")
    import_fixture(make_petition(), "action_network.csv")
    letter = Letter(
        outreach_id=record.id,
        direction="outgoing",
        subject="Carta abierta",
        language="es",
        body='Excelencia:\n\nLe escribimos <img src="file:///etc/passwd">.',
        sent_on=dt.date(2018, 6, 1),
    )
    db.session.add(letter)
    db.session.flush()
    letters.mark_delivered(letter, dt.date(2018, 6, 2), make_user("coordinator"), expected_version=letter.version)
    db.session.commit()
    return record, letter


def test_the_dossier_carries_the_delivered_figures(app, delivered, make_petition):
    record, letter = delivered
    import_fixture(make_petition(), "change_org.csv")  # after delivery: not in the dossier
    built = dossier.build(record, dossier.letter_for(record, None), "es")
    assert built.delivered and built.letter.id == letter.id
    assert (built.total, built.resident) == (7, 3)
    assert built.by_country == [("CAN", "Canadá", 3), ("ESP", "España", 1), ("VEN", "Venezuela", 1)]


def test_before_delivery_the_dossier_says_the_figures_are_current(app, make_petition, make_record):
    record = make_record("ESP")
    import_fixture(make_petition(), "action_network.csv")
    built = dossier.build(record, None, "en")
    assert not built.delivered and (built.total, built.resident) == (7, 1)


def test_the_pdf(app, client, signed_in, delivered):
    record, letter = delivered
    signed_in("coordinator")
    response = client.get(f"/outreach/{record.id}/dossier.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert client.get(f"/outreach/{record.id}/dossier.pdf?letter={letter.id}").status_code == 200
    assert client.get(f"/outreach/{record.id}/dossier.pdf?letter=999999").status_code == 404


def test_a_volunteer_gets_the_dossier_of_their_own_records_only(app, client, signed_in, make_record, make_petition):
    volunteer = signed_in("volunteer")
    mine, theirs = make_record("CAN", assignee=volunteer), make_record("ESP")
    db.session.commit()
    assert client.get(f"/outreach/{mine.id}/dossier.pdf").status_code == 200
    assert client.get(f"/outreach/{theirs.id}/dossier.pdf").status_code == 404
