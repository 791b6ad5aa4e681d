"""Undoing an import: every signature it brought goes, the totals are exactly what they were before it,
the audit log keeps it; refused once a letter delivered after it froze the totals, or when a later import
may have counted its people as duplicates. On the page: a confirm step, for those who may import."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.letters.models import Letter
from crm.signatures.errors import SignatureError
from crm.signatures.imports import ImportFrozen, undo_import
from crm.signatures.models import Signature, SignatureCount, SignatureImport
from crm.signatures.push import push_signatures
from crm.signatures.tallies import record_tally
from crm.signatures.totals import daily_totals, petition_totals, totals_csv_rows, totals_for
from tests.signatures.conftest import hand_count, import_fixture

UTC = dt.UTC


def _everything(campaign, petitions) -> dict:
    """Every figure a page, export or letter reads, and the counts table itself."""
    totals = totals_for(campaign, country_by_code("ESP"))
    return {
        "totals": totals.as_snapshot(),
        "ranges": totals.ranges,
        "unknown": totals.unknown_country,
        "by_petition": {pid: n for pid, n in totals.by_petition.items() if n},
        "days": [(day.day, day.added, day.total) for day in daily_totals(campaign)],
        "petitions": [petition_totals(p) for p in petitions],
        "csv": totals_csv_rows(campaign),
        "counts": sorted(
            db.session.execute(
                sa.select(
                    SignatureCount.petition_id,
                    SignatureCount.country_id,
                    SignatureCount.day,
                    SignatureCount.signers,
                    SignatureCount.without_email,
                ).where(SignatureCount.campaign_id == campaign.id)
            ).all()
        ),
        "rows": hand_count(campaign),
    }


@pytest.mark.parametrize("name", ["change_org.csv", "change_org_no_email.csv", "controlshift.csv"])
def test_undo_restores_the_totals_exactly(app, make_petition, campaign, make_user, name):
    first, second = make_petition(platform="action_network"), make_petition(platform="change_org")
    import_fixture(first, "action_network.csv")
    record_tally(first, country_by_code("COL"), 40, dt.date(2018, 5, 1))
    before = _everything(campaign, [first, second])
    record = import_fixture(second, name).record
    assert _everything(campaign, [first, second]) != before
    record_id, rows_new = record.id, record.rows_new
    assert undo_import(record, actor=make_user("coordinator")) == rows_new
    assert _everything(campaign, [first, second]) == before
    assert db.session.get(SignatureImport, record_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).where(Signature.import_id == record_id)) == 0
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "signature.import_undo")).one()
    assert event.before["filename"] == name and event.before["rows_new"] == rows_new
    assert event.after == {"signatures_deleted": rows_new}
    # The same file can be imported again, and counts as it did the first time.
    assert import_fixture(second, name).record.rows_new == rows_new


def _deliver(record, user, on=dt.date(2018, 6, 2)):
    from crm.letters import services as letters

    letter = Letter(outreach_id=record.id, direction="outgoing", subject="Carta", sent_on=dt.date(2018, 6, 1))
    db.session.add(letter)
    db.session.flush()
    letters.mark_delivered(letter, on, user, expected_version=letter.version)
    return letter


def test_a_letter_delivered_after_the_import_freezes_it(app, clock, make_petition, make_record, campaign, make_user):
    coordinator = make_user("coordinator")
    clock.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    earlier = import_fixture(make_petition(), "action_network.csv").record
    clock.move_to(dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    _deliver(make_record("ESP"), coordinator)
    clock.move_to(dt.datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    later = import_fixture(make_petition(), "change_org_no_email.csv").record
    before = totals_for(campaign).as_snapshot()
    with pytest.raises(ImportFrozen) as refused:
        undo_import(earlier, actor=coordinator)
    assert refused.value.status == 409
    assert str(refused.value) == (
        "This import can no longer be undone: its signatures are in the totals delivered with the letter to "
        "Spain on 2 Jun 2018, which stay as they were handed over."
    )
    assert totals_for(campaign).as_snapshot() == before
    # An import after the delivery is in no delivered totals: it can still be undone.
    assert undo_import(later, actor=coordinator) == 5


def test_a_later_import_that_met_people_already_counted_must_be_undone_first(app, make_petition, campaign, make_user):
    coordinator = make_user("coordinator")
    first = import_fixture(make_petition(), "action_network.csv").record
    later = import_fixture(make_petition(platform="change_org"), "change_org.csv").record  # ana and carla again
    assert later.rows_duplicate == 2
    with pytest.raises(ImportFrozen, match=r"A later import \(change_org.csv, .*\) found people already"):
        undo_import(first, actor=coordinator)
    undo_import(later, actor=coordinator)
    undo_import(first, actor=coordinator)
    assert totals_for(campaign).total == 0


def test_pushed_signatures_are_not_an_import_to_undo(app, make_petition):
    petition = make_petition(platform="action_network")
    push_signatures(
        petition,
        {"person": {"email_addresses": [{"address": "ana@example.org"}], "postal_addresses": [{"country": "ES"}]}},
    )
    record = db.session.scalars(sa.select(SignatureImport).where(SignatureImport.petition_id == petition.id)).one()
    with pytest.raises(SignatureError, match="cannot be undone"):
        undo_import(record)


def test_the_undo_page_confirms_first_and_is_for_those_who_may_import(app, client, signed_in, make_petition, campaign):
    petition = make_petition()
    record = import_fixture(petition, "action_network.csv").record
    db.session.commit()
    url = f"/imports/{record.id}/undo"
    signed_in("coordinator")
    assert f'href="{url}"' in client.get(f"/imports/{record.id}").get_data(as_text=True)
    page = client.get(url)
    assert page.status_code == 200 and "The 7 signatures this file brought will be removed" in page.get_data(
        as_text=True
    )
    assert totals_for(campaign).total == 7  # the page alone changes nothing
    done = client.post(url)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/petitions/{petition.slug}")
    assert "Import undone: 7 signatures removed." in client.get(done.headers["Location"]).get_data(as_text=True)
    assert totals_for(campaign).total == 0
    assert client.get(url).status_code == 404


def test_a_volunteer_cannot_undo_an_import(app, client, signed_in, make_petition, campaign):
    record = import_fixture(make_petition(), "action_network.csv").record
    db.session.commit()
    signed_in("volunteer")
    url = f"/imports/{record.id}/undo"
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    assert totals_for(campaign).total == 7


def test_the_undo_page_says_why_a_frozen_import_cannot_be_undone(
    app, client, signed_in, clock, make_petition, make_record, campaign, make_user
):
    clock.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    record = import_fixture(make_petition(), "action_network.csv").record
    clock.move_to(dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    _deliver(make_record("CAN"), make_user("coordinator"))
    db.session.commit()
    signed_in("coordinator", language="es")
    url = f"/imports/{record.id}/undo"
    page = client.get(url).get_data(as_text=True)
    assert "Esta importación ya no se puede deshacer" in page and "Canadá" in page
    assert 'type="submit" class="danger"' not in page
    refused = client.post(url)
    assert refused.status_code == 409 and "ya no se puede deshacer" in refused.get_data(as_text=True)
    assert totals_for(campaign).total == 7
