"""Signatures pushed by a platform's webhook: authenticated by the petition's secret, counted like files."""

import json

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.signatures.models import Signature, SignatureImport
from crm.signatures.push import new_webhook_secret
from crm.signatures.totals import totals_for
from tests.signatures.conftest import database_state, import_fixture


def action_network_event(email="jsmith@mail.com", country="US", created="2018-11-12T17:07:31Z"):
    """As Action Network documents a petition signature webhook (https://actionnetwork.org/docs/webhooks/)."""
    return {
        "osdi:signature": {
            "identifiers": ["action_network:d6bdf50e-c3a4-4981-a948-3d8c086066d7"],
            "created_date": created,
            "modified_date": created,
            "comments": "Stop doing the thing",
            "action_network:referrer_data": {"source": "facebook"},
            "person": {
                "created_date": created,
                "modified_date": created,
                "family_name": "Smith",
                "given_name": "John",
                "postal_addresses": [
                    {
                        "primary": True,
                        "region": "California",
                        "postal_code": "904043",
                        "country": country,
                        "location": {"latitude": 34.0335, "longitude": -118.474, "accuracy": "Approximate"},
                    }
                ],
                "email_addresses": [{"address": email, "primary": True, "status": "subscribed"}],
                "phone_numbers": [{"primary": True, "number": "12024444444", "number_type": "Mobile"}],
                "custom_fields": {"employer": "Action Squared"},
                "languages_spoken": ["en"],
            },
            "add_tags": ["volunteer", "member"],
            "_links": {"self": {"href": "https://actionnetwork.org/api/v2/petitions/9f83/signatures/d6bd"}},
        },
        "action_network:sponsor": {
            "title": "Progressive Action Now",
            "url": "https://actionnetwork.org/groups/progressive-action-now",
        },
        "idempotency_key": "1679091c5a880faf6fb5e6087eb1b2dc",
    }


@pytest.fixture
def secured(make_petition):
    petition = make_petition(platform="action_network")
    secret = new_webhook_secret(petition)
    db.session.commit()
    return petition, secret


def _push(client, petition, payload, secret=None, how="header", **kwargs):
    url = f"/api/petitions/{petition.slug}/signatures"
    headers = {"Content-Type": "application/json"}
    if how == "header" and secret:
        headers["X-Alcance-Secret"] = secret
    elif how == "bearer":
        headers["Authorization"] = f"Bearer {secret}"
    elif how == "query":
        url += f"?key={secret}"
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(url, data=body, headers=headers, **kwargs)


@pytest.mark.parametrize("how", ["header", "bearer", "query"])
def test_a_pushed_signature_is_counted(app, client, secured, campaign, how):
    petition, secret = secured
    response = _push(client, petition, [action_network_event()], secret, how)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {
        "received": 1,
        "new": 1,
        "duplicate": 0,
        "invalid": 0,
        "ignored": 0,
        "erased": 0,
        "unknown_countries": [],
    }
    assert totals_for(campaign).by_country == {"USA": 1}


def test_pushes_are_deduplicated_with_files_and_with_each_other(app, client, secured, campaign):
    petition, secret = secured
    import_fixture(petition, "action_network.csv")
    db.session.commit()
    again = [
        action_network_event("ANA@example.org", "ES"),
        action_network_event("new@example.org", "Narnia"),
        {"action_network:upload": {"identifiers": []}},
        action_network_event("not an address"),
    ]
    response = _push(client, petition, again, secret)
    assert response.json == {
        "received": 3,
        "new": 1,
        "duplicate": 1,
        "invalid": 1,
        "ignored": 1,
        "erased": 0,
        "unknown_countries": ["Narnia"],
    }
    assert _push(client, petition, again, secret).json["new"] == 0  # a retried webhook changes nothing
    assert totals_for(campaign).total == 8
    pushes = db.session.scalars(sa.select(SignatureImport).where(SignatureImport.format == "webhook")).all()
    assert [(p.rows_read, p.rows_new, p.rows_duplicate, p.rows_invalid) for p in pushes] == [(6, 1, 3, 2)]


def test_a_bare_osdi_signature_is_accepted(app, client, secured, campaign):
    petition, secret = secured
    body = {"person": {"email_addresses": [{"address": "osdi@example.org"}], "postal_addresses": [{"country": "VE"}]}}
    assert _push(client, petition, body, secret).json["new"] == 1
    assert totals_for(campaign).by_country == {"VEN": 1}


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 500])
def test_without_the_right_secret_nothing_is_taken(app, client, secured, secret):
    petition, _ = secured
    before = database_state()
    response = _push(client, petition, [action_network_event()], secret)
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert database_state() == before


def test_an_unknown_petition_and_a_petition_without_secret_look_alike(app, client, make_petition):
    bare = make_petition()
    db.session.commit()
    unknown = client.post("/api/petitions/nope/signatures", json=[], headers={"X-Alcance-Secret": "s"})
    no_secret = client.post(f"/api/petitions/{bare.slug}/signatures", json=[], headers={"X-Alcance-Secret": "s"})
    assert unknown.status_code == no_secret.status_code == 401
    assert unknown.json == no_secret.json


def test_the_body_is_size_limited_and_must_be_json(app, client, secured):
    petition, secret = secured
    big = json.dumps([action_network_event(f"p{i}@example.org") for i in range(400)])
    assert len(big) > 256 * 1024
    response = _push(client, petition, big, secret)
    assert response.status_code == 413 and response.json["error"] == "too_large"
    bad = _push(client, petition, b"{not json", secret)
    assert bad.status_code == 400 and bad.json["error"] == "bad_json"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0


def test_the_webhook_needs_no_csrf_token_but_the_pages_still_do(app, client, signed_in, secured, monkeypatch):
    petition, secret = secured
    signed_in("manager")  # a manager may rotate the secret (signed in before CSRF protection is switched on)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert _push(client, petition, [action_network_event()], secret).status_code == 200
    # Without the form's CSRF token, rotating the secret is refused all the same.
    before = petition.webhook_secret_hash
    response = client.post(f"/petitions/{petition.slug}/webhook-secret")
    assert response.status_code == 400
    db.session.refresh(petition)
    assert petition.webhook_secret_hash == before


def test_the_webhook_refuses_a_changed_hash_key(app, client, secured, monkeypatch):
    petition, secret = secured
    assert _push(client, petition, [action_network_event()], secret).status_code == 200
    monkeypatch.setitem(app.config, "SIGNATURE_HASH_KEY", "another key")
    response = _push(client, petition, [action_network_event("b@example.org")], secret)
    assert response.status_code == 422 and "hash key has changed" in response.json["message"]
