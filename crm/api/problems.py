"""Errors of the JSON API as RFC 9457 problem details (`application/problem+json`).

Every error of a request under API_PREFIX goes through `problem`: crm.web's error handlers (HTTP errors,
crm.errors.DomainError, a stale record, a value the database cannot store, the unexpected) call it instead
of rendering an error page, so a domain rule's message reaches an API client as the page would show it,
in the language the client asked for (Accept-Language, through crm.i18n)."""

from __future__ import annotations

from flask import current_app, request

API_PREFIX = "/api/v1/"
MEDIA_TYPE = "application/problem+json"


def is_api_request() -> bool:
    """Whether this request is one of the JSON API's: authenticated by a token, never by the session."""
    return request.path.startswith(API_PREFIX)


def problem(status: int, title: str, detail: str | None = None, *, errors: dict | None = None, headers=None):
    """The answer to a failed API request. `errors` maps a field (or "_schema") to its messages."""
    body: dict = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = current_app.response_class(current_app.json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
