"""The JSON API under /api/v1/, built with flask-smorest: the same marshmallow schemas validate what is
sent, shape what is answered and make the OpenAPI 3.1 description (/api/v1/openapi.json). The reference
page (/api/v1/docs) renders that description on the server: nothing is loaded from another origin."""

from __future__ import annotations

import http

from flask import Blueprint, current_app, render_template
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from crm.api import resources
from crm.api.conventions import authenticate_api_request, limiter, per_token_limit
from crm.api.problems import MEDIA_TYPE
from crm.api.routes import petitions_v1
from crm.api.schemas import ProblemSchema
from crm.extensions import csrf
from crm.web import RecordIdConverter

OPENAPI_SETTINGS = {
    "API_TITLE": "Alcance API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

docs_page = Blueprint("api_docs_page", __name__, url_prefix="/api/v1")


class AlcanceApi(Api):
    """flask-smorest's Api, with errors left to crm.web (one handler for pages and API alike, answering
    problem+json under /api/v1/) and documented with the problem's media type."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, MEDIA_TYPE)
            else:
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as RFC 9457 problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def init_app(app) -> None:
    """Before any other blueprint: the token check must run ahead of the session's hooks."""
    app.before_request(authenticate_api_request)
    for name, value in OPENAPI_SETTINGS.items():
        app.config.setdefault(name, value)
    api = AlcanceApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Alcance's campaign data, as the pages show it to the token's owner. "
                "Authenticate with a personal access token from your account page."
            },
            "security": [{"token": []}],
        },
    )
    api.spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    api.register_converter(RecordIdConverter, lambda _converter: {"type": "integer", "minimum": 1})
    api.spec.components.security_scheme(
        "petition_secret", {"type": "apiKey", "in": "header", "name": "X-Alcance-Secret"}
    )
    for blueprint in (*resources.BLUEPRINTS, petitions_v1):
        per_token_limit(blueprint)
        # The token authenticates each request; no browser form, no cookie, so no CSRF token either.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_page)
    limiter.init_app(app)


@docs_page.route("/docs")
def reference():
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return render_template("api/reference.html", spec=api.spec.to_dict())
