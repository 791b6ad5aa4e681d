"""API routes: the webhook through which petition platforms push signatures.

POST /api/v1/petitions/<slug>/signatures (in the OpenAPI document), or at its first address
/api/petitions/<slug>/signatures, which keeps working but is deprecated (its answers say so in a
Deprecation header and link to the new address). With the petition's secret in the X-Alcance-Secret header, as
"Authorization: Bearer <secret>", or (for Action Network, which cannot set headers) as ?key=<secret>.
The body is JSON: Action Network's array of {"osdi:signature": {...}} events, or any OSDI-style signature
with an inline "person". No session, no CSRF token (the secret authenticates); answers are JSON."""

from __future__ import annotations

import json

import marshmallow as ma
from flask import Blueprint, jsonify, make_response, request, url_for
from flask_smorest import Blueprint as ApiBlueprint

from crm.api.problems import is_api_request, problem
from crm.errors import DomainError
from crm.extensions import csrf
from crm.permissions import is_read_only, read_only_message
from crm.signatures import push
from crm.signatures.petitions import petition_by_slug
from crm.translation import gettext

bp = Blueprint("api", __name__, url_prefix="/api")
petitions_v1 = ApiBlueprint(
    "api_petitions",
    __name__,
    url_prefix="/api/v1/petitions",
    description="The webhook through which petition platforms push signatures",
)

PUSH_MAX_BYTES = 256 * 1024


def _error(status: int, code: str, message: str):
    if is_api_request():
        return problem(status, code.replace("_", " "), message)
    return jsonify(error=code, message=message, status=status), status


def _offered_secret() -> str | None:
    header = request.headers.get("X-Alcance-Secret")
    if header:
        return header.strip()
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return request.args.get("key")


def _body() -> bytes | None:
    """At most PUSH_MAX_BYTES of body, whether or not the sender announced its length."""
    if request.content_length is not None and request.content_length > PUSH_MAX_BYTES:
        return None
    data = request.stream.read(PUSH_MAX_BYTES + 1)
    return None if len(data) > PUSH_MAX_BYTES else data


class PushResultSchema(ma.Schema):
    received = ma.fields.Integer(required=True)
    new = ma.fields.Integer(required=True)
    duplicate = ma.fields.Integer(required=True)
    invalid = ma.fields.Integer(required=True)
    ignored = ma.fields.Integer(required=True)
    erased = ma.fields.Integer(
        required=True, metadata={"description": "Left out: signers the privacy tools erased at their request."}
    )
    unknown_countries = ma.fields.List(ma.fields.String(), required=True)


@bp.route("/petitions/<slug>/signatures", methods=["POST"])
@csrf.exempt
def push_signatures(slug):
    """The first address, deprecated: the same answer, saying where the webhook lives now."""
    response = make_response(_push(slug))
    response.headers["Deprecation"] = "true"
    response.headers["Link"] = f'<{url_for("api_petitions.push_signatures_v1", slug=slug)}>; rel="successor-version"'
    return response


@petitions_v1.route("/<slug>/signatures", methods=["POST"])
@petitions_v1.doc(
    security=[{"petition_secret": []}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"description": "Action Network events or OSDI signatures"}}},
    },
)
@petitions_v1.alt_response(200, schema=PushResultSchema, success=True, description="What was counted")
def push_signatures_v1(slug):
    """Push signatures of a petition: its webhook secret in X-Alcance-Secret (or as a bearer token)."""
    return _push(slug)


def _push(slug):
    petition = petition_by_slug(slug)
    # An unknown petition and a wrong secret get the same answer: the API does not confirm what exists.
    if not push.webhook_secret_matches(petition, _offered_secret()):
        return _error(401, "unauthorized", gettext("Unknown petition or wrong secret."))
    if is_read_only(petition.campaign):
        return _error(409, "archived", read_only_message())
    body = _body()
    if body is None:
        return _error(413, "too_large", gettext("The body is larger than %(size)s KB.", size=PUSH_MAX_BYTES // 1024))
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, "bad_json", gettext("The body is not JSON (UTF-8)."))
    try:
        result = push.push_signatures(petition, payload)
    except DomainError as error:
        # Nothing of the push is kept: the error answer rolls the request back (crm.web.finish_transaction).
        return _error(error.status, "rejected", str(error))
    return jsonify(result.as_json()), 200
