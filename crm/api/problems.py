"""Errors of the JSON API as RFC 9457 problem details (`application/problem+json`).

Every error of a request under API_PREFIX goes through `problem`: crm.web's error handlers (HTTP errors,
crm.errors.DomainError, a stale record, a value the database cannot store, the unexpected) call it instead
of rendering an error page, so a domain rule's message reaches an API client as the page would show it,
in the language the client asked for (Accept-Language, through crm.i18n)."""

from __future__ import annotations

import re

from flask import current_app, request

from crm.translation import gettext

API_PREFIX = "/api/v1/"
MEDIA_TYPE = "application/problem+json"


def is_api_request() -> bool:
    """Whether this request is one of the JSON API's: authenticated by a token, never by the session."""
    return request.path.startswith(API_PREFIX)


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated when used."""
    return message


# What the request validator (marshmallow) says of a field, in the client's language: its fixed messages,
# and the patterns of those that name a limit. Anything else passes as marshmallow wrote it.
_FIELD_MESSAGES = {
    "Missing data for required field.": N_("A value is required."),
    "Field may not be null.": N_("A value is required, not null."),
    "Unknown field.": N_("Unknown field."),
    "Invalid value.": N_("Invalid value."),
    "Invalid input type.": N_("Not a value of the expected type."),
    "Not a valid string.": N_("Not a text."),
    "Not a valid integer.": N_("Not a whole number."),
    "Not a valid number.": N_("Not a number."),
    "Not a valid boolean.": N_("Not true or false."),
    "Not a valid datetime.": N_("Not a date and time (RFC 3339)."),
    "Not a valid date.": N_("Not a date (YYYY-MM-DD)."),
    "Not a valid email address.": N_("Not an e-mail address."),
    "Not a valid URL.": N_("Not a web address."),
    "Not a valid list.": N_("Not a list."),
    "Not a valid mapping type.": N_("Not an object."),
    "Number too large.": N_("The number is too large."),
}
_FIELD_PATTERNS = (
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), N_("At most %(max)s characters.")),
    (re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"), N_("At least %(min)s characters.")),
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        N_("Between %(min)s and %(max)s characters."),
    ),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), N_("One of: %(choices)s.")),
    (
        re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.$"),
        N_("From %(min)s to %(max)s."),
    ),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"), N_("At least %(min)s.")),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), N_("At most %(max)s.")),
)


def field_messages(messages):
    """The validator's messages (nested by location and field) in the client's language."""
    if isinstance(messages, dict):
        return {key: field_messages(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [field_messages(value) for value in messages]
    if not isinstance(messages, str):
        return messages
    if messages in _FIELD_MESSAGES:
        return gettext(_FIELD_MESSAGES[messages])
    for pattern, translated in _FIELD_PATTERNS:
        if found := pattern.match(messages):
            return gettext(translated, **found.groupdict())
    return messages


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
