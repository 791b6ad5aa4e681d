"""A petition platform pushes signatures to /api/v1/petitions/<slug>/signatures with the petition's secret;
the first address keeps working and says it is deprecated."""

import json

import pytest

from crm.campaigns.models import Campaign
from crm.extensions import db
from crm.signatures.petitions import create_petition
from crm.signatures.push import new_webhook_secret
from crm.signatures.totals import totals_for
from tests.signatures.test_webhook import action_network_event

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def secured(app):
    campaign = Campaign(slug="pushes", name="Pushes")
    db.session.add(campaign)
    db.session.flush()
    petition = create_petition(campaign, "Pushed petition", actor=None)
    secret = new_webhook_secret(petition)
    db.session.commit()
    return campaign, petition, secret


def test_a_push_to_the_v1_address_is_counted_and_answers_as_documented(api, secured):
    campaign, petition, secret = secured
    response = api.open(
        "POST",
        f"/api/v1/petitions/{petition.slug}/signatures",
        data=json.dumps([action_network_event()]),
        headers={"X-Alcance-Secret": secret, "Content-Type": "application/json"},
    )
    assert response.status_code == 200 and response.get_json()["new"] == 1
    assert totals_for(campaign).total == 1


def test_a_wrong_secret_at_the_v1_address_is_a_401_problem(api, secured):
    _campaign, petition, _secret = secured
    response = api.open(
        "POST",
        f"/api/v1/petitions/{petition.slug}/signatures",
        json=[],
        headers={"X-Alcance-Secret": "wrong"},
    )
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_the_first_address_still_works_and_says_it_is_deprecated(client, secured):
    campaign, petition, secret = secured
    response = client.post(
        f"/api/petitions/{petition.slug}/signatures",
        json=[action_network_event()],
        headers={"X-Alcance-Secret": secret},
    )
    assert response.status_code == 200 and response.headers["Deprecation"] == "true"
    assert f"/api/v1/petitions/{petition.slug}/signatures" in response.headers["Link"]
    assert totals_for(campaign).total == 1
