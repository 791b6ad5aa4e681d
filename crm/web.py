"""Request-side plumbing every blueprint shares: the request's one transaction, refusals, flashing, the
client's address, headers, error pages.

One commit per request, in one place (`finish_transaction`): a view calls services and returns; what the
request changed is committed after the view if the response is not an error, and rolled back otherwise. A
service's refusal (`crm.errors.DomainError`) becomes a message and a status in one way (`refusal`), which
also undoes whatever the request had changed before it. No view commits or rolls back by itself.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, g, has_request_context, jsonify, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from wtforms import HiddenField

from crm import clock
from crm.api.problems import field_messages, is_api_request, problem
from crm.database import stale_record_message, written
from crm.errors import DomainError, StaleRecord
from crm.extensions import db
from crm.translation import gettext

# The largest id either database stores (PostgreSQL's integer); a larger one names no record.
LARGEST_ID = 2**31 - 1

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def flash_message(message, category: str = "info") -> None:
    """Flash a plain string. A lazy translation comes back from the session as trusted Markup, which
    would let user data inside it through unescaped, so it is always made a str first."""
    flash(str(message), category)


def refusal(error: DomainError, form=None, *, record=None, beside: str | None = None, prefix: str | None = None) -> int:
    """Show a service's refusal and give the status to answer with; nothing the request changed is kept,
    unless it said so first with `keep_changes` (a refused sign-in attempt still counts).

    The message goes beside the form field the error names (or else the field `beside`), keeping what the
    user typed, or else at the top of the page, after `prefix` ("Stage not changed: %(reason)s") when
    given. After a conflict (StaleRecord) the form takes the `record`'s current version, so that a second
    save is a choice made knowing that someone else changed it."""
    if not g.get("keep_changes"):
        db.session.rollback()
    message = str(error) if prefix is None else prefix % {"reason": str(error)}
    name = error.field or beside
    field = getattr(form, name, None) if form is not None and name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message]
    else:
        flash_message(message, "error")
    if form is not None:
        form.refused_status = error.status
        if isinstance(error, StaleRecord):
            form.stale = True
            if record is not None and hasattr(form, "version"):
                form.version.data = record.version
    return error.status


def form_status(form) -> int:
    """The status of a page showing `form`: 200 as shown, 400 sent back with errors, or the status of the
    refusal it was sent back with (409 after a conflict)."""
    return getattr(form, "refused_status", None) or (400 if form.errors else 200)


def keep_changes() -> None:
    """What this request changed is kept although it answers with an error: a refused sign-in attempt
    counts towards the throttle and the audit log. Said before `refusal`, which then undoes nothing."""
    g.keep_changes = True


def finish_transaction(response):
    """The request's one commit: after the view, unless the response is an error (then nothing it changed
    is kept, unless it said otherwise with `keep_changes`). A failing commit becomes the error page."""
    if response.status_code < 400 or g.get("keep_changes"):
        # The request's last use of its session (which ends with the request): nothing reads its records
        # after this commit, so they are not expired (a page of records paid for expiring each of them).
        session = db.session()
        session.expire_on_commit = False
        session.commit()
    else:
        db.session.rollback()
    return response


def readers_today() -> dt.date:
    """Today where the signed-in reader lives (UTC for a visitor): what a date field starts with."""
    return clock.today(current_user)


class Page:
    """One page of a list, read with LIMIT per_page + 1: the extra row says whether there is a next page,
    so no second query counts the whole list (on a large table the count costs as much as the search).
    The total is known only on the last page; elsewhere it is None and the page says "and more"."""

    def __init__(self, items: list, page: int, per_page: int, has_next: bool):
        self.items, self.page, self.per_page, self.has_next = items, page, per_page, has_next

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first(self) -> int:
        """The position of the page's first item in the whole list, from 1."""
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1

    @property
    def total(self) -> int | None:
        if self.has_next or (not self.items and self.page > 1):
            return None
        return (self.page - 1) * self.per_page + len(self.items)

    @property
    def pages(self) -> int | None:
        return self.page if self.total is not None else None

    def __iter__(self):
        return iter(self.items)


def requested_page() -> int:
    """The ?page= of the request: a whole number from 1; anything else is the first page."""
    try:
        return max(1, int(request.args.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def page_offset(page: int, per_page: int) -> int:
    """How many rows come before `page`; more than either database can skip is the error handler's clear
    refusal (OverflowError), not a database error."""
    offset = (page - 1) * per_page
    if offset >= 2**63:
        raise OverflowError("page number too large")
    return offset


def page_of(
    statement, *, per_page: int | None = None, page: int | None = None, rows: bool = False, params: dict | None = None
) -> Page:
    """The requested page of `statement` (ORM entities, or with rows=True the selected columns as rows),
    in one query of per_page + 1 rows. A statement built once with crm.database.pageable is given its
    parameters (`params`, and the page's limit and offset); any other is limited here."""
    per_page = per_page or current_app.config["ITEMS_PER_PAGE"]
    page = page or requested_page()
    limit, offset = per_page + 1, page_offset(page, per_page)
    if statement.get_execution_options().get("alcance_pageable"):
        result = db.session.execute(statement, {**(params or {}), "page_limit": limit, "page_offset": offset})
    else:
        result = db.session.execute(statement.limit(written(limit)).offset(written(offset)), params)
    items = result.all() if rows else result.scalars().unique().all()
    return Page(items[:per_page], page, per_page, len(items) > per_page)


# A number no record's id reaches: where it lands in a URL is where each record's id goes.
_ANY_ID = LARGEST_ID


def id_url(endpoint: str, name: str, **values):
    """A function of a record's id giving `endpoint`'s URL for it (`name` is the id's argument), built with
    url_for once per app and mount point (path_for: `values` name no record and no reader): a long list links
    each row without asking the router for each one, and a macro repeated on a page asks for its own."""
    prefix, suffix = id_url_parts(endpoint, name, **values)

    def url(record_id: int) -> str:
        return f"{prefix}{int(record_id)}{suffix}"

    return url


def id_url_parts(endpoint: str, name: str, **values) -> tuple[str, str]:
    """What comes before and after a record's id in `endpoint`'s URL for it (as id_url): a list of some
    hundreds of links writes each id between the two itself, rather than through a call for each."""
    prefix, _, suffix = path_for(endpoint, **{name: _ANY_ID}, **values).partition(str(_ANY_ID))
    return prefix, suffix


def path_for(endpoint: str, **values) -> str:
    """url_for for a URL that is the same on every page (the menu's links, the stylesheet's), made once per
    app and mount point: the layout asked the router for twenty of them on every request. Only for
    endpoints and values that name no record and no reader."""
    paths = current_app.extensions["alcance_paths"]
    key = (request.script_root, endpoint, *sorted(values.items()))
    found = paths.get(key)
    if found is None:
        found = paths[key] = url_for(endpoint, **values)
    return found


def id_parts(render, *args, **kwargs) -> tuple[str, ...] | None:
    """What `render(id, *args, **kwargs)` writes around a record's id: its text split where the id stands,
    rendered once for one id and checked with a second, or None where it is not that (were the number also
    in the rest, a URL the reader typed, say, the two would not match). Put a record's id between the parts,
    and that record's rendering is written without rendering it again."""
    parts = str(render(_ANY_ID, *args, **kwargs)).split(str(_ANY_ID))
    if str(_ANY_ID - 1).join(parts) != str(render(_ANY_ID - 1, *args, **kwargs)):
        return None
    return tuple(parts)


def id_markup(render, *args, **kwargs):
    """A function of a record's id giving `render(id, *args, **kwargs)` (a macro: a row's forms and links)
    without rendering it again for each row of a long list: rendered once, each row's id put where the id
    was (id_parts); where that cannot be found, each row is rendered after all."""
    parts = id_parts(render, *args, **kwargs)
    if parts is None:
        return lambda record_id: render(int(record_id), *args, **kwargs)

    def with_id(record_id: int) -> Markup:
        return Markup(str(int(record_id)).join(parts))

    return with_id


class Keyed:
    """A value told apart from others by `key` alone: what a drawing kept by lru_cache is made from, passed
    to it with the plain values that drawing shows as its key (the value itself may be anything, hashable or
    not; the drawing made from the first value with a key stands for every other with that key)."""

    __slots__ = ("key", "value")

    def __init__(self, key, value):
        self.key, self.value = key, value

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, Keyed) and self.key == other.key


_ANY_CODE = "__code__"


def code_url(endpoint: str, name: str, **values):
    """A function of a record's code (a country's alpha-3) giving `endpoint`'s URL for it, built with
    url_for once, as id_url does for ids."""
    prefix, _, suffix = url_for(endpoint, **{name: _ANY_CODE}, **values).partition(_ANY_CODE)

    def url(code: str) -> str:
        return f"{prefix}{quote(str(code), safe='')}{suffix}"

    return url


def safe_next(target: str | None) -> str:
    """Where to go after a form: only a relative path of this app, never another host, scheme or a
    protocol-relative //host (the open redirect through ?next=)."""
    if not target:
        return url_for("core.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("core.home")
    # A control character (CR, LF, ...) cannot go into a Location header: it would fail, or split it.
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return url_for("core.home")
    return target


class VersionField(HiddenField):
    """The version of the record a form showed, for optimistic locking (crm.database.check_version).
    A submitted form without it reads as "" (refused as out of date), never as the record's current
    version (a form built with obj=record) nor as None (which callers that track no versions pass)."""

    def process_formdata(self, valuelist):
        self.data = valuelist[0] if valuelist else ""


class RecordIdConverter(IntegerConverter):
    """`<int:id>` in every route: an id no database can hold is simply not found (a 404), instead of
    an overflow in the query."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def refuse_unstorable_input():
    """A NUL character in a form or the query string: PostgreSQL cannot store it in text, SQLite would
    cut strings at it. Refused up front, the same on both databases. (The webhook reads JSON itself.)"""
    if request.blueprint in ("api", "api_petitions"):
        return None
    values = [*request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400, gettext("A field contains a NUL character, which cannot be stored. Nothing was saved."))
    return None


def client_address() -> str | None:
    """The client's address. Behind a proxy, ProxyFix (configured with the number of trusted proxies)
    has already replaced remote_addr; a raw X-Forwarded-For is never read here."""
    return request.remote_addr


def _ip(address: str | None):
    """The address as an ip_address (an IPv6 zone dropped, an IPv4-mapped one read as IPv4), or None."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    return parsed.ipv4_mapped if parsed.version == 6 and parsed.ipv4_mapped is not None else parsed


def client_key(address: str | None) -> str | None:
    """A client as throttles and rate limits count it: an IPv4 address, or an IPv6 client's /64 (which one
    client usually holds all of); None for what is no address."""
    parsed = _ip(address)
    if parsed is None:
        return None
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)


def network_key(address: str | None) -> str | None:
    """The client's network: its IPv4 /24 or IPv6 /48."""
    parsed = _ip(address)
    if parsed is None:
        return None
    return str(ipaddress.ip_network(f"{parsed}/{48 if parsed.version == 6 else 24}", strict=False))


def set_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    # A page that lists the sites allowed to frame it (a hosted petition's form) says so in its own policy;
    # every other page may be framed by no site.
    if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    # Only over HTTPS (a browser ignores it over HTTP) and never in development, where pinning HTTPS on
    # localhost would break every other local site. Behind a proxy, TRUSTED_PROXIES makes is_secure true.
    max_age = current_app.config.get("HSTS_MAX_AGE_SECONDS", 0)
    if request.is_secure and max_age and current_app.config.get("ALCANCE_ENV") == "production":
        response.headers.setdefault("Strict-Transport-Security", f"max-age={int(max_age)}")
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


@sa.event.listens_for(Session, "after_commit")
def _remember_commit(_session) -> None:
    # An error page may say "Nothing was saved" only if this request committed nothing before it failed
    # (an import commits as it goes; a view may fail after its commit).
    if has_request_context():
        g.committed = True


def _nothing_saved_unless_committed(nothing_saved: str) -> str:
    if g.get("committed"):
        return gettext("Part of what you sent may have been saved before the error: check before sending it again.")
    return nothing_saved


def _error_title(status: int, default: str) -> str:
    """The error page's title for a status, in the reader's language."""
    return {
        400: gettext("Bad request"),
        401: gettext("Not authenticated"),
        403: gettext("Not allowed"),
        404: gettext("Not found"),
        405: gettext("Not allowed"),
        409: gettext("Not saved"),
        412: gettext("Changed since you read it"),
        413: gettext("File too large"),
        422: gettext("Not valid"),
        428: gettext("Version required"),
        429: gettext("Too many attempts"),
    }.get(status, default)


def register_error_pages(app) -> None:
    def render_error(status: int, title: str, message: str, *, errors: dict | None = None, headers=None):
        if is_api_request():
            return problem(status, title, message, errors=errors, headers=headers)
        if _wants_json():
            return jsonify(error=title, status=status), status
        return render_template("errors/error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(
            400,
            gettext("Form expired"),
            gettext("The form was open too long or came from elsewhere. Go back, reload and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        messages = {
            404: gettext("There is nothing here, or you may not see it."),
            413: gettext("The file is larger than this installation accepts."),
            429: gettext("Too many attempts. Wait a few minutes and try again."),
        }
        code = error.code or 500
        # abort(400, "why") explains itself; Werkzeug's own descriptions are not translated.
        explained = error.description if error.description != type(error).description else None
        # The API's validation (webargs, through flask-smorest) says which fields were wrong.
        data = getattr(error, "data", None) or {}
        invalid = data.get("messages") if isinstance(data, dict) else None
        if invalid:
            explained = gettext("Some values in the request are not valid.")
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        headers.update((data.get("headers") or {}) if isinstance(data, dict) else {})
        return render_error(
            code,
            _error_title(code, gettext("Error")),
            explained or messages.get(code, gettext("The request could not be completed.")),
            errors=field_messages(invalid) if invalid else None,
            headers=headers,
        )

    @app.errorhandler(StaleDataError)
    def _stale(error):
        # Two saves of the same record at once: the second finds the version it read already gone. To the
        # API, a write made on a version that is no longer current is a failed precondition (If-Match).
        db.session.rollback()
        status = 412 if is_api_request() else 409
        return render_error(status, _error_title(status, gettext("Not saved")), stale_record_message())

    @app.errorhandler(DomainError)
    def _refused(error: DomainError):
        # A refusal no view turned into a message beside its form: the error page says it.
        db.session.rollback()
        status = 412 if is_api_request() and isinstance(error, StaleRecord) else error.status
        errors = {error.field: [str(error)]} if error.field else None
        return render_error(status, _error_title(status, gettext("Not saved")), str(error), errors=errors)

    @app.errorhandler(sa.exc.DataError)
    @app.errorhandler(OverflowError)
    def _unstorable(error):
        # A number beyond what the database stores (a page, an id, a count), wherever it came in.
        db.session.rollback()
        return render_error(
            400,
            gettext("Bad request"),
            _nothing_saved_unless_committed(
                gettext("A value in the request is too large or cannot be stored. Nothing was saved.")
            ),
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            pass  # the connection is gone; the pool replaces it
        if isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
            # The connection failed, perhaps while committing: whether the database kept the change
            # cannot be known here, so the page does not claim either.
            return render_error(
                500,
                gettext("Something went wrong"),
                gettext(
                    "The connection to the database failed. What you sent may or may not have "
                    "been saved: check before sending it again."
                ),
            )
        return render_error(
            500,
            gettext("Something went wrong"),
            _nothing_saved_unless_committed(
                gettext("Nothing was saved. The error has been logged; try again, or tell an administrator.")
            ),
        )
