"""A developer reads campaigns, countries, outreach records, positions and follow-ups with a token, and
closes a follow-up; every answer is checked against the OpenAPI document, and each token sees what its
owner's pages show."""

import datetime as dt

import pytest

from crm.campaigns.models import Campaign
from crm.database import utcnow
from crm.extensions import db
from crm.outreach.models import Position
from tests.api.conftest import make_token
from tests.conftest import count_rows, utc_today

pytestmark = pytest.mark.usefixtures("clock")


def test_every_read_route_answers_as_documented(api, make_user, campaign_world):
    secret = make_token(make_user("coordinator"))
    own, follow_up = campaign_world["own"], campaign_world["follow_up"]
    for path in (
        f"/api/v1/meetings/{campaign_world['meeting'].id}",
        "/api/v1/meetings/",
        f"/api/v1/letters/{campaign_world['letter'].id}",
        f"/api/v1/letters/?outreach={own.id}",
        f"/api/v1/offices/{campaign_world['office'].id}",
        "/api/v1/offices/?country=FRA",
        f"/api/v1/contacts/{campaign_world['contact'].id}",
        f"/api/v1/contacts/?office={campaign_world['office'].id}",
        "/api/v1/campaigns/api/petitions",
        "/api/v1/campaigns/api/signatures/by-country",
        "/api/v1/campaigns/api/signatures/by-day",
        "/api/v1/campaigns/",
        "/api/v1/campaigns/api",
        "/api/v1/countries/",
        "/api/v1/countries/?status=state_party",
        "/api/v1/countries/FRA",
        "/api/v1/outreach/",
        "/api/v1/outreach/?campaign=api&stage=not_started&country=fra",
        f"/api/v1/outreach/{own.id}",
        f"/api/v1/outreach/{own.id}/positions",
        "/api/v1/follow-ups/",
        "/api/v1/follow-ups/?status=open",
        f"/api/v1/follow-ups/{follow_up.id}",
    ):
        assert api.get(path, secret).status_code == 200, path


def test_a_campaign_comes_with_its_demands_and_rfc3339_times(api, make_user, campaign_world):
    body = api.get("/api/v1/campaigns/api", make_token(make_user("volunteer"))).get_json()
    assert [demand["code"] for demand in body["demands"]] == ["d1"]
    assert body["created_at"].endswith("Z")


def test_countries_are_named_by_alpha3_with_their_rome_statute_facts(api, make_user):
    body = api.get("/api/v1/countries/FRA", make_token(make_user("volunteer"))).get_json()
    assert body["alpha3"] == "FRA" and body["rome_statute_status"] == "state_party"
    assert api.get("/api/v1/countries/XXX", make_token(make_user("volunteer"))).status_code == 404


def test_a_volunteers_token_sees_only_their_own_records(api, campaign_world):
    secret = make_token(campaign_world["volunteer"])
    listed = api.get("/api/v1/outreach/", secret).get_json()["items"]
    assert [record["id"] for record in listed] == [campaign_world["own"].id]
    assert api.get(f"/api/v1/outreach/{campaign_world['other'].id}", secret).status_code == 404
    record = api.get(f"/api/v1/outreach/{campaign_world['own'].id}", secret).get_json()
    assert record["country"] == "FRA" and [p["demand_code"] for p in record["positions"]] == ["d1"]
    assert [f["id"] for f in api.get("/api/v1/follow-ups/", secret).get_json()["items"]] == [
        campaign_world["follow_up"].id
    ]


def test_pages_follow_the_cursor_to_the_end(api, make_user):
    secret = make_token(make_user("coordinator"))
    seen, cursor = [], None
    while True:
        page = api.get("/api/v1/countries/?limit=100" + (f"&cursor={cursor}" if cursor else ""), secret).get_json()
        seen += [country["alpha3"] for country in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 200 and seen == sorted(seen)


def test_a_cursor_the_api_did_not_give_is_a_clear_400(api, make_user):
    response = api.get("/api/v1/countries/?cursor=nonsense", make_token(make_user("coordinator")))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_invalid_query_values_are_a_422_problem_naming_the_field(api, make_user):
    response = api.get("/api/v1/outreach/?stage=flying&limit=0", make_token(make_user("coordinator")))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {"stage", "limit"}


def test_problems_are_in_the_clients_language(api, make_user):
    response = api.get("/api/v1/campaigns/", headers={"Accept-Language": "es"})
    assert response.status_code == 401
    assert response.get_json()["title"] == "Sin autenticar"


def test_what_is_wrong_with_each_field_is_in_the_clients_language(api, make_user):
    secret = make_token(make_user("coordinator"))
    english = api.get("/api/v1/outreach/?stage=flying&limit=0", secret).get_json()["errors"]["query"]
    spanish = api.get("/api/v1/outreach/?stage=flying&limit=0", secret, headers={"Accept-Language": "es"}).get_json()[
        "errors"
    ]["query"]
    assert english["limit"] == ["From 1 to 200."] and spanish["limit"] == ["De 1 a 200."]
    assert spanish["stage"][0].startswith("Uno de: not_started, ")


def test_closing_a_follow_up_needs_the_version_read(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    path = f"/api/v1/follow-ups/{campaign_world['follow_up'].id}"
    etag = api.get(path, secret).headers["ETag"]
    assert api.patch(path, secret, json={"status": "done"}).status_code == 428
    stale = etag.replace("-v1", "-v0")
    assert api.patch(path, secret, json={"status": "done"}, headers={"If-Match": stale}).status_code == 412
    assert campaign_world["follow_up"].status == "open"
    response = api.patch(path, secret, json={"status": "done"}, headers={"If-Match": etag})
    assert response.status_code == 200 and response.get_json()["status"] == "done"
    assert response.headers["ETag"] != etag


def test_signature_totals_count_each_person_by_country_and_day(api, make_user, campaign_world):
    secret = make_token(make_user("coordinator"))
    totals = api.get("/api/v1/campaigns/api/signatures/by-country", secret).get_json()
    assert totals["total"] == 2
    assert {row["country"]: row["signers"] for row in totals["by_country"]} == {"ESP": 1, "FRA": 1}
    days = api.get("/api/v1/campaigns/api/signatures/by-day", secret).get_json()["days"]
    assert days[-1]["total"] == 2


def test_a_volunteers_token_sees_the_offices_meetings_and_letters_of_their_records_only(api, campaign_world):
    secret = make_token(campaign_world["volunteer"])
    assert [m["id"] for m in api.get("/api/v1/meetings/", secret).get_json()["items"]] == [campaign_world["meeting"].id]
    assert [o["id"] for o in api.get("/api/v1/offices/", secret).get_json()["items"]] == [campaign_world["office"].id]
    letter = api.get(f"/api/v1/letters/{campaign_world['letter'].id}", secret).get_json()
    assert letter["status"] == "sent"
    # Signature totals are for staff who see all, as on the pages.
    assert api.get("/api/v1/campaigns/api/signatures/by-country", secret).status_code == 404


def _post(api, path, secret, body):
    return api.open("POST", path, secret, json=body)


def test_a_volunteer_records_a_position_on_their_record(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    own = campaign_world["own"]
    body = {"demand_code": "d1", "stance": "acted", "stated_on": utc_today().isoformat(), "evidence": "Said so"}
    response = _post(api, f"/api/v1/outreach/{own.id}/positions", secret, body)
    assert response.status_code == 201 and response.get_json()["stance"] == "acted"
    history = api.get(f"/api/v1/outreach/{own.id}/positions", secret).get_json()["items"]
    assert [p["stance"] for p in history] == ["supportive", "acted"]
    other = campaign_world["other"]
    assert _post(api, f"/api/v1/outreach/{other.id}/positions", secret, body).status_code == 404


def test_a_position_on_a_demand_the_campaign_lacks_is_refused_and_nothing_is_saved(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    before = count_rows(Position)
    body = {"demand_code": "d9", "stance": "acted", "stated_on": utc_today().isoformat()}
    response = _post(api, f"/api/v1/outreach/{campaign_world['own'].id}/positions", secret, body)
    assert response.status_code == 422 and "demand_code" in response.get_json()["errors"]
    assert count_rows(Position) == before


def test_a_follow_up_and_a_meeting_are_logged_through_the_api(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    own = campaign_world["own"]
    follow_up = _post(
        api, f"/api/v1/outreach/{own.id}/follow-ups", secret, {"due_on": utc_today().isoformat(), "note": "Write"}
    )
    assert follow_up.status_code == 201 and follow_up.get_json()["owner_id"] == campaign_world["volunteer"].id
    held_at = (utcnow() - dt.timedelta(hours=3)).isoformat()
    meeting = _post(
        api,
        "/api/v1/meetings/",
        secret,
        {
            "outreach_ids": [own.id],
            "held_at": held_at,
            "summary": "Spoke",
            "contact_ids": [campaign_world["contact"].id],
        },
    )
    assert meeting.status_code == 201
    assert meeting.get_json()["outreach_ids"] == [own.id]
    assert api.get(f"/api/v1/meetings/{meeting.get_json()['id']}", secret).status_code == 200


def test_a_meeting_without_an_offset_is_a_422(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    body = {"outreach_ids": [campaign_world["own"].id], "held_at": "2025-01-01T10:00:00", "summary": "Spoke"}
    assert _post(api, "/api/v1/meetings/", secret, body).status_code == 422


def test_a_contact_is_created_and_corrected_with_its_version(api, make_user, campaign_world):
    secret = make_token(make_user("coordinator"), scope="write")
    created = _post(api, "/api/v1/contacts/", secret, {"office_id": campaign_world["office"].id, "name": "Ana Nueva"})
    assert created.status_code == 201
    path = f"/api/v1/contacts/{created.get_json()['id']}"
    etag = api.get(path, secret).headers["ETag"]
    changed = api.patch(path, secret, json={"title": "Consul"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["title"] == "Consul"
    stale = api.patch(path, secret, json={"title": "Ambassador"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert api.get(path, secret).get_json()["title"] == "Consul"


def test_a_letter_is_marked_sent_then_delivered(api, make_user, campaign_world):
    secret = make_token(make_user("coordinator"), scope="write")
    path = f"/api/v1/letters/{campaign_world['letter'].id}"
    etag = api.get(path, secret).headers["ETag"]
    both = api.patch(
        path, secret, json={"sent_on": "2025-01-01", "delivered_on": "2025-01-02"}, headers={"If-Match": etag}
    )
    assert both.status_code == 422
    delivered = api.patch(path, secret, json={"delivered_on": utc_today().isoformat()}, headers={"If-Match": etag})
    assert delivered.status_code == 200 and delivered.get_json()["status"] == "delivered"
    assert delivered.get_json()["signatures_total"] == 2


def test_a_statements_signatories_are_read_by_those_who_moderate(api, make_user, campaign_world):
    from tests.test_permission_matrix import build_statement

    statement, waiting = build_statement(db.session.get(Campaign, campaign_world["own"].campaign_id))
    db.session.commit()
    path = f"/api/v1/statements/{statement.id}/signatories"
    listed = api.get(path, make_token(make_user("coordinator"))).get_json()["items"]
    assert {s["status"] for s in listed} == {"confirmed", "approved"} and listed[0]["country"] == "VEN"
    approved = api.get(path + "?status=approved", make_token(make_user("coordinator"))).get_json()["items"]
    assert waiting.id not in [s["id"] for s in approved]
    assert api.get(path, make_token(campaign_world["volunteer"])).status_code == 404
