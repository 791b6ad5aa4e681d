"""The JSON API's conventions, in one place: who the request acts as (a personal token in
`Authorization: Bearer`, never the session cookie), what a token's scope allows, the rate limit per token,
cursor pagination, RFC 3339 timestamps in UTC, and ETag / If-Match on the records' version columns.

Errors are crm/api/problems.py's, reached through crm.web's error handlers."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import re

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, request
from flask_limiter import Limiter
from flask_login import current_user
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnprocessableEntity,
)

from crm.api import tokens
from crm.api.problems import is_api_request
from crm.core import submissions
from crm.database import utcnow, written
from crm.extensions import db
from crm.translation import gettext

# Endpoints of the API that answer without a token: the description of the API and its reference page, and
# the petition webhook (the petition's own secret authenticates a push: crm/api/routes.py).
OPEN_ENDPOINTS = frozenset({"api-docs.openapi_json", "api_docs_page.reference", "api_petitions.push_signatures_v1"})
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


# --- Who the request acts as -----------------------------------------------------------------------------


def _bearer() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def _unauthorised(message: str) -> Unauthorized:
    return Unauthorized(description=message, www_authenticate=WWWAuthenticate("bearer", {"realm": "alcance"}))


def authenticate_api_request():
    """Before every request of the app, ahead of the session's hooks: an API request acts as its token's
    owner (Flask-Login's current user for this request only), whatever session cookie came with it."""
    if not is_api_request():
        return None
    # Never the browser's session: a page's cookie sent to the API is ignored, and no cookie is set.
    g._login_user = current_app.login_manager.anonymous_user()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    secret = _bearer()
    if secret is None:
        raise _unauthorised(gettext("Send a personal access token: Authorization: Bearer <token>."))
    token = tokens.authenticate(secret, utcnow())
    if token is None:
        raise _unauthorised(gettext("This token is not valid: it may be mistyped, expired or revoked."))
    g._login_user = token.user
    g.api_token = token
    if request.method not in READING_METHODS and not token.may_write:
        raise Forbidden(gettext("This token may only read. Make a token that may read and write."))
    return None


def token_key() -> str:
    token = g.get("api_token")
    return f"api-token:{token.id}" if token is not None else f"api-address:{request.remote_addr}"


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]  # crm/config.py


def _exempt_from_limit() -> bool:
    return g.get("api_token") is None


# Counts live in RATELIMIT_STORAGE_URI (memory by default: per process; a shared store for several workers).
limiter = Limiter(key_func=token_key, default_limits=[], headers_enabled=True)
per_token_limit = limiter.shared_limit(_rate_limit, scope="api-token", exempt_when=_exempt_from_limit)


# --- Timestamps and countries ------------------------------------------------------------------------------


class Timestamp(ma.fields.DateTime):
    """An instant, in RFC 3339 and UTC: 2026-01-31T09:30:00Z."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:  # the database's naive UTC (crm.database.UTCDateTime makes them aware)
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Cursor pagination ---------------------------------------------------------------------------------------


class PageArguments(ma.Schema):
    cursor = ma.fields.String(
        load_default=None, metadata={"description": "The `next_cursor` of the page before; none for the first."}
    )
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=ma.validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"How many items a page holds (at most {MAX_LIMIT})."},
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The envelope of a list: `items`, and `next_cursor` (null on the last page)."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(required=True, allow_none=True),
        },
        name=name,
    )


def _decode_cursor(cursor: str) -> list:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"==="))
    except (ValueError, UnicodeError, binascii.Error):
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(part, (int, str)) for part in value):
        raise BadRequest(gettext("This cursor is not one the API gave."))
    return value


def _encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def paginate(statement, key_columns, arguments: dict, *, key_of=None) -> dict:
    """One page of `statement`, ordered by `key_columns` (ascending, unique together: the id last), after
    the cursor in `arguments`. Keyset pagination: a page is the same whatever was added before it."""
    limit = arguments.get("limit") or DEFAULT_LIMIT
    if arguments.get("cursor"):
        after = _decode_cursor(arguments["cursor"])
        if len(after) != len(key_columns):
            _decode_cursor("")
        statement = statement.where(sa.tuple_(*key_columns) > sa.tuple_(*after))
    items = list(db.session.scalars(statement.order_by(*key_columns).limit(written(limit + 1))))
    more = len(items) > limit
    items = items[:limit]
    key_of = key_of or (lambda item: [getattr(item, column.key) for column in key_columns])
    return {"items": items, "next_cursor": _encode_cursor(key_of(items[-1])) if more and items else None}


# --- ETag and If-Match -----------------------------------------------------------------------------------


def etag_of(record) -> str:
    return f'"{record.__tablename__}-{record.id}-v{record.version}"'


def tagged(record):
    """A versioned record as an answer: the record, 200 and its ETag (what a later If-Match sends back)."""
    return record, 200, {"ETag": etag_of(record)}


def check_if_match(record) -> None:
    """A change to a versioned record must say which version it read (If-Match: its ETag): none said is
    428, another version is 412 and nothing is changed."""
    offered = request.headers.get("If-Match")
    if not offered:
        raise PreconditionRequired(
            gettext("Send If-Match with the ETag of the record you read, so that no one else's change is lost.")
        )
    candidates = {part.strip().removeprefix("W/") for part in offered.split(",")}
    if "*" not in candidates and etag_of(record) not in candidates:
        raise PreconditionFailed(
            gettext("Someone changed this record since you read it. Read it again before changing it.")
        )


# --- Idempotency-Key ------------------------------------------------------------------------------------

IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_KEY,
    "required": False,
    "schema": {"type": "string", "pattern": submissions.KEY_SHAPE},
    "description": "A random key of your choosing (20 to 64 letters, digits, - or _), sent again with the same "
    "request after a lost answer: the first request creates, a repeat answers what it created (with "
    "`Idempotent-Replayed: true`) and creates nothing. The same key with another request is a 422.",
}


def _fingerprint() -> str:
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.get_data()).hexdigest()


def idempotent(load):
    """A create a client may send again after a lost answer (the pages' submission keys, for programs): with
    an Idempotency-Key header, the key is kept with what the first request created, in its transaction; a
    repeat by the same owner with the same method, path and body answers `load(id)` (that record read again,
    as its owner may see it now) and creates nothing. Without the header, the view runs as it is."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(IDEMPOTENCY_KEY)
            if key is None:
                return view(*args, **kwargs)
            if not re.match(submissions.KEY_SHAPE, key):
                raise BadRequest(
                    gettext("The Idempotency-Key must be 20 to 64 letters, digits, hyphens or underscores.")
                )
            request_seen = f"api:{_fingerprint()}"
            if submissions.first_time(key, current_user, request_seen):
                created = view(*args, **kwargs)
                submissions.set_location(key, f"{request_seen}:{created.id}")
                return created
            # Nothing was written for the repeat (first_time's insert ran in a savepoint): the token's use
            # is still recorded when the request commits.
            earlier = submissions.where_it_went(key, current_user) or ""
            seen, _, created_id = earlier.rpartition(":")
            if seen != request_seen or not created_id.isdigit():
                raise UnprocessableEntity(
                    gettext("This Idempotency-Key was sent with another request: use a new key for each request.")
                )
            return load(int(created_id)), 201, {"Idempotent-Replayed": "true"}

        return wrapper

    return decorate
