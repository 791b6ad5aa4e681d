"""Assignment board, claims, workload, stalled records and each person's work list."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.core.submissions import new_key
from crm.database import utcnow
from crm.extensions import db
from crm.outreach import assignments
from crm.outreach import services as outreach
from crm.outreach.models import Assignment, Claim, OutreachRecord
from tests.conftest import utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def test_bulk_assign_keeps_history_and_queues_a_notice(client, signed_in, make_user, make_record):
    coordinator = signed_in("coordinator")
    vera, otto = make_user("volunteer", name="Vera"), make_user("volunteer", name="Otto")
    fra, deu, esp = make_record("FRA"), make_record("DEU", assignee=otto), make_record("ESP")
    db.session.commit()
    response = client.post(
        "/board/assign", data={"assignee": vera.id, "record": [fra.id, deu.id], "campaign": "test-campaign"}
    )
    assert response.status_code == 302
    assert [db.session.get(OutreachRecord, r.id).assignee_id for r in (fra, deu, esp)] == [vera.id, vera.id, None]
    moved = db.session.scalars(sa.select(Assignment).where(Assignment.outreach_id == deu.id)).one()
    assert (moved.assignee_id, moved.previous_assignee_id, moved.changed_by_id) == (vera.id, otto.id, coordinator.id)
    notice = next(
        e
        for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notification.queued"))
        if e.after["kind"] == "assignment"
    )
    assert notice.after["to"] == vera.email and sorted(notice.after["outreach_ids"]) == sorted([fra.id, deu.id])
    client.post(
        "/board/assign",
        data={"assignee": "unassign", "confirm_unassign": "y", "record": [deu.id], "campaign": "test-campaign"},
    )
    assert db.session.get(OutreachRecord, deu.id).assignee_id is None
    page = client.get(f"/outreach/{deu.id}").get_data(as_text=True)
    assert "Who has worked on this record" in page and "before: Vera" in page


@pytest.mark.parametrize("data", [{"assignee": "abc", "record": ["1"]}, {"record": ["1"]}, {"assignee": 0}])
def test_bulk_assign_refuses_bad_input(client, signed_in, make_record, data):
    signed_in("coordinator")
    make_record()
    db.session.commit()
    response = client.post("/board/assign", data=data, follow_redirects=True)
    assert response.status_code == 200 and "Nothing changed" in response.get_data(as_text=True)
    assert client.post("/board/assign", data={"assignee": 0, "record": ["x"]}).status_code == 400
    assert (
        client.post(
            "/board/assign", data={"assignee": "unassign", "confirm_unassign": "y", "record": ["999999"]}
        ).status_code
        == 404
    )


def test_reassigning_moves_open_follow_ups_and_tells_the_previous_assignee(client, signed_in, make_user, make_record):
    signed_in("coordinator")
    vera, otto = make_user("volunteer", name="Vera"), make_user("volunteer", name="Otto")
    deu = make_record("DEU", assignee=otto)
    due = dt.date(2026, 3, 10)
    open_, done = (outreach.add_follow_up(deu, owner=otto, due_on=due, note=note, actor=otto) for note in ("a", "b"))
    outreach.complete_follow_up(done, actor=otto)
    db.session.commit()
    response = client.post("/board/assign", data={"assignee": str(vera.id), "record": [deu.id]}, follow_redirects=True)
    assert "1 record changed. 1 open follow-up moved to the new assignee." in response.get_data(as_text=True)
    db.session.expire_all()
    assert (open_.owner_id, done.owner_id) == (vera.id, otto.id)
    told = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notification.queued")).all()
    assert sorted((event.after["kind"], event.after["to"]) for event in told) == [
        ("assignment", vera.email),
        ("reassignment", otto.email),
    ]


def test_the_bulk_control_starts_empty_and_unassigning_asks_for_confirmation(client, signed_in, make_user, make_record):
    signed_in("coordinator")
    otto = make_user("volunteer", name="Otto")
    deu = make_record("DEU", assignee=otto)
    db.session.commit()
    page = client.get("/board").get_data(as_text=True)
    assert '<option selected value="">' in page and 'value="unassign">Nobody: unassign them' in page
    refused = client.post("/board/assign", data={"assignee": "unassign", "record": [deu.id]}, follow_redirects=True)
    assert "tick the box that confirms it" in refused.get_data(as_text=True)
    assert db.session.get(OutreachRecord, deu.id).assignee_id == otto.id


@pytest.mark.clocks
def test_board_shows_workload_and_stalled_records(client, signed_in, make_user, make_record, campaign):
    coordinator = signed_in("coordinator")
    vera = make_user("volunteer", name="Vera")
    busy, idle = make_record("FRA", assignee=vera), make_record("DEU", assignee=vera)
    outreach.add_follow_up(busy, owner=vera, due_on=utc_today() - dt.timedelta(days=2), note="late", actor=coordinator)
    outreach.add_follow_up(busy, owner=vera, due_on=utc_today() + dt.timedelta(days=2), note="soon", actor=coordinator)
    idle.created_at = utcnow() - dt.timedelta(days=campaign.stall_days + 1)
    db.session.commit()
    assert assignments.stalled([busy, idle]) == {idle.id}
    load = {w.user.name: w for w in assignments.workload(campaign)}
    assert (load["Vera"].records, load["Vera"].open_follow_ups, load["Vera"].overdue_follow_ups) == (2, 2, 1)
    page = client.get("/board").get_data(as_text=True)
    assert "stalled" in page and "Vera" in page


def test_volunteer_claims_at_once_or_with_approval(client, signed_in, make_user, make_record, campaign):
    volunteer = signed_in("volunteer")
    free, taken = make_record("FRA"), make_record("DEU", assignee=make_user("volunteer"))
    db.session.commit()
    page = client.get("/claims").get_data(as_text=True)
    assert "France" in page and "Germany" not in page
    assert client.post(f"/claims/new/{taken.id}").status_code == 404
    assert client.post(f"/claims/new/{free.id}", data={"submission_key": new_key()}).status_code == 302
    assert db.session.get(OutreachRecord, free.id).assignee_id == volunteer.id
    assert db.session.scalars(sa.select(Assignment.reason)).all() == ["claimed"]

    campaign.claims_need_approval = True
    other = make_record("ESP")
    db.session.commit()
    client.post(f"/claims/new/{other.id}", data={"submission_key": new_key()})
    claim = db.session.scalars(sa.select(Claim).where(Claim.outreach_id == other.id)).one()
    assert claim.status == "pending" and db.session.get(OutreachRecord, other.id).assignee_id is None
    client.post(f"/claims/new/{other.id}", data={"submission_key": new_key()})  # asking twice changes nothing
    assert db.session.scalar(sa.select(sa.func.count()).where(Claim.outreach_id == other.id)) == 1
    assert client.post(f"/claims/{claim.id}/decide", data={"decision": "approve"}).status_code == 404


def test_coordinator_approves_a_claim_and_rivals_are_rejected(client, signed_in, make_user, make_record, campaign):
    campaign.claims_need_approval = True
    record = make_record("ESP")
    first, second = make_user("volunteer"), make_user("volunteer")
    claim_a, claim_b = assignments.claim(record, first), assignments.claim(record, second)
    signed_in("coordinator")
    db.session.commit()
    assert "Requests waiting for approval" in client.get("/board").get_data(as_text=True)
    client.post(f"/claims/{claim_a.id}/decide", data={"decision": "approve"})
    assert db.session.get(OutreachRecord, record.id).assignee_id == first.id
    assert db.session.get(Claim, claim_b.id).status == "rejected"
    response = client.post(f"/claims/{claim_a.id}/decide", data={"decision": "reject"}, follow_redirects=True)
    assert "already decided" in response.get_data(as_text=True)


def test_my_work_lists_my_records_overdue_first(client, signed_in, make_user, make_record):
    me = signed_in("volunteer")
    later, overdue = make_record("FRA", assignee=me), make_record("DEU", assignee=me)
    make_record("ESP", assignee=me)  # no follow-up at all: listed last
    make_record("ITA", assignee=make_user("volunteer"))
    outreach.add_follow_up(later, owner=me, due_on=utc_today() + dt.timedelta(days=9), note="a", actor=me)
    outreach.add_follow_up(overdue, owner=me, due_on=utc_today() - dt.timedelta(days=1), note="b", actor=me)
    db.session.commit()
    page = client.get("/my-work").get_data(as_text=True)
    assert page.index("Germany") < page.index("France") < page.index("Spain")
    assert "Italy" not in page and "overdue" in page and "Log meeting" in page


def test_my_work_is_paged_and_its_queries_do_not_grow_with_records(
    app, client, signed_in, make_record, count_queries, monkeypatch
):
    """A volunteer with hundreds of records gets them a page at a time, overdue first across pages, and a
    page costs the same statements whether it shows 3 records or 30."""
    me = signed_in("volunteer")
    codes = db.session.scalars(sa.select(sa.text("alpha3 FROM country ORDER BY alpha3")).limit(33)).all()
    records = [make_record(code, assignee=me) for code in codes]
    db.session.commit()
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 30)
    counts = []
    for page in (2, 1):  # 3 records on the last page, 30 on the first
        queries, response = count_queries(lambda page=page: client.get(f"/my-work?page={page}"))
        assert response.status_code == 200
        counts.append(queries)
    assert counts[0] == counts[1], counts
    last_code = codes[-1]
    outreach.add_follow_up(records[-1], owner=me, due_on=utc_today() - dt.timedelta(days=1), note="late", actor=me)
    db.session.commit()
    first = client.get("/my-work").get_data(as_text=True)
    overdue_name = db.session.scalar(sa.text("SELECT name_en FROM country WHERE alpha3 = :code"), {"code": last_code})
    assert overdue_name in first and "overdue" in first and "page=2" in first and "30–30" not in first
    assert "Page 2 of 2" in client.get("/my-work?page=2").get_data(as_text=True)


@pytest.mark.parametrize("role", ["volunteer"])
def test_volunteers_do_not_see_the_board(client, signed_in, role):
    signed_in(role)
    assert client.get("/board").status_code == 404
    assert client.post("/board/assign", data={"assignee": 0}).status_code == 404
    assert "Assignments" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["manager", "coordinator", "admin"])
def test_claims_are_for_volunteers(client, signed_in, role):
    signed_in(role)
    assert client.get("/claims").status_code == 404
