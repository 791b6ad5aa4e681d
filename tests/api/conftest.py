"""The API's tests: a token for a user (made through the service the account page calls), and a check of
every answer against the OpenAPI document the app serves."""

from __future__ import annotations

import json

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.api import tokens
from crm.database import utcnow
from crm.extensions import db


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
