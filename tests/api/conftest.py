"""The API's tests: a token for a user (made through the service the account page calls), a check of
every answer against the OpenAPI document the app serves, and a campaign with something of each kind."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.api import tokens
from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach import services as outreach
from crm.outreach.models import OutreachRecord
from crm.signatures.imports import import_file
from crm.signatures.petitions import create_petition
from tests.conftest import utc_today


def make_token(user, scope: str = "read", days: int = 30) -> str:
    _token, secret = tokens.create(user, name=f"{scope} token", scope=scope, days=days, now=utcnow())
    db.session.commit()
    return secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def document(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.fixture
def api(client, document):
    """A client whose every answer is checked against the OpenAPI document (status, media type, body)."""
    # Problem details are JSON too: openapi-core reads only application/json unless told.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    openapi = OpenAPI.from_dict(document, config=config)

    class Checked:
        def open(self, method: str, path: str, secret: str | None = None, **kwargs):
            headers = {**(bearer(secret) if secret else {}), **kwargs.pop("headers", {})}
            response = client.open(path, method=method, headers=headers, **kwargs)
            # The request again (the one sent has had its body read), for openapi-core to find the operation.
            request = Request(EnvironBuilder(path=path, method=method, headers=headers, **kwargs).get_environ())
            openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
            return response

        def get(self, path, secret=None, **kwargs):
            return self.open("GET", path, secret, **kwargs)

        def patch(self, path, secret=None, **kwargs):
            return self.open("PATCH", path, secret, **kwargs)

    return Checked()


@pytest.fixture
def campaign_world(app, make_user):
    mine, theirs = make_user("volunteer"), make_user("volunteer")
    campaign = Campaign(slug="api", name="API campaign")
    demand = Demand(campaign=campaign, ordinal=1, code="d1", title="Repudiate")
    own = OutreachRecord(campaign=campaign, country_id=country_by_code("FRA").id, assignee_id=mine.id)
    other = OutreachRecord(campaign=campaign, country_id=country_by_code("DEU").id, assignee_id=theirs.id)
    db.session.add_all([campaign, demand, own, other])
    db.session.flush()
    outreach.record_position(own, demand, "supportive", stated_on=utc_today(), actor=mine)
    follow_up = outreach.add_follow_up(own, owner=mine, due_on=utc_today(), note="Call", actor=mine)
    office = Office(
        country_id=own.country_id,
        host_country_id=country_by_code("ESP").id,
        kind="embassy",
        city="Madrid",
        name="Ambassade",
    )
    contact = Contact(office=office, name="Claire Fictive")
    db.session.add_all([office, contact])
    db.session.flush()
    meeting = outreach.log_meeting([own], actor=mine, held_at=utcnow() - dt.timedelta(days=1), summary="Met")
    letter = Letter(outreach_id=own.id, subject="Our demands", sent_on=utc_today(), channel="email")
    db.session.add(letter)
    petition = create_petition(campaign, "API petition", actor=mine)
    import_file(
        petition, io.BytesIO(b"email,country\na@example.org,ES\nb@example.org,FR\n"), filename="s.csv", actor=mine
    )
    db.session.commit()
    return {
        "volunteer": mine,
        "own": own,
        "other": other,
        "follow_up": follow_up,
        "demand": demand,
        "office": office,
        "contact": contact,
        "meeting": meeting,
        "letter": letter,
    }
