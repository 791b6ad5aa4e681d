"""Language and time zone for each request, and the filters that show dates and numbers localised."""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Commands and scheduled jobs choose a language explicitly (flask_babel.force_locale).
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str | None:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.timezone
    return None


def current_language() -> str:
    return str(get_locale() or "en")


def register_filters(app) -> None:
    def _date(value, fmt="medium"):
        if value is None:
            return ""
        return format_date(value, fmt)

    def _datetime(value, fmt="medium"):
        if value is None:
            return ""
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return format_datetime(value, fmt)

    def _number(value):
        if value is None:
            return ""
        return format_decimal(value)

    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["number"] = _number

    from crm.vocabulary import TEMPLATE_GLOBALS

    from crm.permissions import can

    def demand_title(demand, language=None) -> str:
        """A demand's wording in the reader's language, or as first written when it has no translation."""
        return demand.text(language or current_language())[0]

    app.jinja_env.globals.update(TEMPLATE_GLOBALS, can=can, demand_title=demand_title)

    @app.context_processor
    def _language():
        return {"current_language": current_language()}
