"""A script logs a meeting (a position, a follow-up, a contact), loses the answer on a bad connection and
sends the same request again with the same Idempotency-Key: one record is made, and the repeat answers
what the first request made. Every answer is checked against the OpenAPI document."""

import datetime as dt

import pytest

from crm.contacts.models import Contact
from crm.database import utcnow
from crm.outreach.models import FollowUp, Meeting, Position
from tests.api.conftest import make_token
from tests.conftest import count_rows, utc_today

pytestmark = pytest.mark.usefixtures("clock")

KEY = "retry-after-a-lost-answer-0001"


def _creates(world):
    own = world["own"]
    return {
        "meeting": (
            "/api/v1/meetings/",
            {"outreach_ids": [own.id], "held_at": (utcnow() - dt.timedelta(hours=2)).isoformat(), "summary": "Met"},
            Meeting,
        ),
        "position": (
            f"/api/v1/outreach/{own.id}/positions",
            {"demand_code": "d1", "stance": "acted", "stated_on": utc_today().isoformat()},
            Position,
        ),
        "follow-up": (
            f"/api/v1/outreach/{own.id}/follow-ups",
            {"due_on": utc_today().isoformat(), "note": "Write to the consul"},
            FollowUp,
        ),
        "contact": ("/api/v1/contacts/", {"office_id": world["office"].id, "name": "Ana Nueva"}, Contact),
    }


def _post(api, path, secret, body, key=KEY, **headers):
    return api.open("POST", path, secret, json=body, headers={"Idempotency-Key": key, **headers})


@pytest.mark.parametrize("what", ["meeting", "position", "follow-up", "contact"])
def test_the_same_request_sent_again_with_its_key_creates_once_and_answers_what_it_made(
    api, make_user, campaign_world, what
):
    path, body, model = _creates(campaign_world)[what]
    user = campaign_world["volunteer"] if what != "contact" else make_user("coordinator")
    secret = make_token(user, scope="write")
    before = count_rows(model)
    first = _post(api, path, secret, body)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    again = _post(api, path, secret, body)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count_rows(model) == before + 1


def test_without_a_key_each_request_is_a_new_one(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    path, body, _ = _creates(campaign_world)["follow-up"]
    before = count_rows(FollowUp)
    assert [api.open("POST", path, secret, json=body).status_code for _ in range(2)] == [201, 201]
    assert count_rows(FollowUp) == before + 2


def test_the_same_key_with_another_request_is_refused_and_makes_nothing(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    path, body, _ = _creates(campaign_world)["follow-up"]
    assert _post(api, path, secret, body).status_code == 201
    before = count_rows(FollowUp)
    other = _post(api, path, secret, {**body, "note": "Something else"}, **{"Accept-Language": "es"})
    assert other.status_code == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.get_json()["detail"] == (
        "Esta Idempotency-Key se envió con otra petición: use una clave nueva para cada petición."
    )
    assert count_rows(FollowUp) == before


def test_another_users_key_is_not_theirs_to_replay(api, make_user, campaign_world):
    path, body, _ = _creates(campaign_world)["contact"]
    first, second = (
        make_token(make_user("coordinator"), scope="write"),
        make_token(make_user("coordinator"), scope="write"),
    )
    assert _post(api, path, first, body).status_code == 201
    before = count_rows(Contact)
    refused = _post(api, path, second, body)
    assert refused.status_code == 422
    assert "id" not in refused.get_json()
    assert count_rows(Contact) == before


def test_a_key_of_the_wrong_shape_is_a_400(api, campaign_world):
    secret = make_token(campaign_world["volunteer"], scope="write")
    path, body, _ = _creates(campaign_world)["follow-up"]
    before = count_rows(FollowUp)
    refused = _post(api, path, secret, body, key="short")
    assert refused.status_code == 400
    assert refused.get_json()["detail"] == (
        "The Idempotency-Key must be 20 to 64 letters, digits, hyphens or underscores."
    )
    assert count_rows(FollowUp) == before
