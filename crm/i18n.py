"""Language and time zone for each request, and the filters that show dates and numbers localised."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal as babel_decimal
from flask import current_app, g, has_request_context, request, session
from flask_babel import format_decimal, get_locale
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from crm.api.problems import is_api_request
from crm.clock import user_zone
from crm.permissions import can
from crm.translation import gettext, once_per_language, reading, translations
from crm.vocabulary import LABEL_TABLES, STANCE_LABELS, label

# English pages are read by an international team: Babel's "English (world)" writes "2 Dec 2026", not the
# US "Dec 2, 2026" nor the ambiguous "12/2/26".
FORMAT_LOCALES = {"en": "en_001"}
UTC = ZoneInfo("UTC")


def _(message: str, **variables) -> str:
    """A message for the user from a service: in the reader's language during a request, in English for
    commands and jobs (the locale selector reads the request's session, which they do not have)."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


@lru_cache(maxsize=4096)
def _medium_date(day: dt.date, locale: str) -> str:
    # A pure function of the day and the locale: pages repeat the same few days on every row, and Babel
    # reads its pattern and its locale data again for each.
    return format_date(day, "medium", locale=locale)


@lru_cache(maxsize=4096)
def _whole_number(value: int, language: str) -> str:
    # A page of totals shows the same few hundred figures on every request; Babel builds each anew.
    return babel_decimal(value, locale=language)


@lru_cache(maxsize=4096)
def _short_time(hour: int, minute: int, locale: str) -> str:
    # The short time has no seconds and no zone ("14:05", "2:05 PM"): a function of the hour, the minute
    # and the locale, cached like the days.
    return format_time(dt.time(hour, minute), "short", locale=locale)


def show_date(value, language: str, zone: ZoneInfo = UTC) -> str:
    """The one way a date is shown, on pages, in e-mails (subjects too) and in letters: Babel's medium
    format ("2 Dec 2026", "2 dic 2026"). A moment is shown as the day it was in the reader's time zone; a
    date (a letter's, a follow-up's due day) is shown as it is. CSV and iCalendar stay ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(zone).date()
    return _medium_date(value, FORMAT_LOCALES.get(language, language))


@lru_cache(maxsize=1024)
def show_month(month: dt.date, language: str) -> str:
    """A month as its reader says it ("May 2018", "mayo de 2018"): the locale's own pattern for a month
    and year, never a pattern written for English."""
    return format_skeleton("yMMMM", month, locale=FORMAT_LOCALES.get(language, language))


def show_number(value, language: str) -> str:
    """A number as the pages show it (the `number` filter): grouped in the reader's way ("65,711",
    "65.711"); nothing for None."""
    if value is None:
        return ""
    if type(value) is int:
        if 0 <= value < 1000:
            return str(value)  # no separator to place in either language: Babel would say the same, slower
        return _whole_number(value, language)
    return format_decimal(value)


def show_datetime(value, language: str, zone: ZoneInfo = UTC) -> str:
    """A moment in the reader's time zone: the medium date and the time to the minute."""
    if value is None:
        return ""
    if value.tzinfo is None:  # stored naive by SQLite: always UTC (STYLE.md)
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(zone)
    locale = FORMAT_LOCALES.get(language, language)
    return f"{_medium_date(local.date(), locale)}, {_short_time(local.hour, local.minute, locale)}"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Commands and scheduled jobs choose a language explicitly (flask_babel.force_locale).
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if is_api_request():
        # A program says its language in Accept-Language; the session's choice is a browser's, not its.
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def visitors_language(*, remembered: bool = True) -> str:
    """A public page's language for a visitor who need not sign in: ?lang= (the page's own language
    links), else the language chosen on this site (unless the page is cached for everyone alike, then
    remembered=False), else the browser's preference."""
    languages = current_app.config["LANGUAGES"]
    for chosen in (request.args.get("lang"), session.get("language") if remembered else None):
        if chosen in languages:
            return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str | None:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return user_zone(current_user).key
    return None


def request_zone() -> ZoneInfo:
    """The signed-in reader's time zone (UTC for a visitor), found once per request and zone: a page of
    moments asked flask_login for the user on every one. Flask-Login keeps the loaded user in
    `g._login_user`; before it is loaded, or were it kept elsewhere, current_user finds it."""
    if not has_request_context():
        return UTC
    user = g.get("_login_user") or current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return UTC
    name = user.timezone
    found = g.get("_alcance_zone")
    if found is None or found[0] is not user or found[1] != name:
        found = g._alcance_zone = (user, name, user_zone(user))
    return found[2]


def current_language() -> str:
    return reading().language if has_request_context() else str(get_locale() or "en")


def readers_date(value) -> str:
    """A date in a message for whoever is reading: the request's language and time zone, or English (UTC)
    for commands and jobs, which have no reader."""
    if has_request_context():
        # A day is shown as it is: only a moment needs the reader's time zone (which asks for the user).
        return show_date(value, current_language(), request_zone() if isinstance(value, dt.datetime) else UTC)
    return show_date(value, "en")


def readers_datetime(value) -> str:
    """A moment as the pages show it (the `datetime` filter): the reader's language and time zone."""
    return show_datetime(value, current_language(), request_zone())


_STANCE_BADGE = Markup('<span class="stance stance-%s">%s</span>')


def stance_badge(value: str) -> Markup:
    """A stance as the pages show it (a badge, coloured by app.css): a function, not a macro, because a
    campaign's table shows one on each record for each demand, each made once per request."""
    return once_per_language(("stance", value), lambda: _STANCE_BADGE % (value, label(STANCE_LABELS, value)))


def demand_title(demand, language=None) -> str:
    """A demand's wording in the reader's language, or as first written when it has no translation."""
    return demand.text(language or current_language())[0]


def register_filters(app) -> None:
    # One rule for every page (show_date, show_datetime, show_month).
    def _date(value):
        # A day is shown as it is: only a moment needs the reader's time zone (which asks for the user).
        zone = request_zone() if isinstance(value, dt.datetime) else UTC
        return show_date(value, current_language(), zone)

    def _month(value):
        return show_month(value, current_language())

    def _number(value):
        return show_number(value, current_language())

    # The templates' _(), ngettext() and their context forms: flask_babel's, with the translations found
    # once per request (crm/translation.py).
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: translations().ugettext(string),
        ngettext=lambda singular, plural, n: translations().ungettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, string: translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: translations().unpgettext(context, singular, plural, n),
    )

    # The templates' _(): what Jinja's newstyle gettext does (the words as they are, marked safe where the
    # template escapes; variables escaped and put in), less its two context calls, and formatting only a
    # message that has a variable or a "%": Markup's % escapes through a helper for each call (some 5 µs
    # of a template's 7 for each of the thirty words a page says), and a message without a "%" comes out
    # of it as it went in.
    @pass_eval_context
    def _template_gettext(eval_context, string, **variables):
        words = translations().ugettext(string)
        if eval_context.autoescape:
            words = Markup(words)
        return words % variables if variables or "%" in words else words

    app.jinja_env.globals["_"] = _template_gettext
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = readers_datetime
    app.jinja_env.filters["month"] = _month
    app.jinja_env.filters["number"] = _number

    def _label_function(table):
        # A list of records says a stage or a stance on every row: the request's translations, found once.
        return lambda key: translations().ugettext(table[key]) if key in table else key

    labels = {name: _label_function(table) for name, table in LABEL_TABLES.items()}
    app.jinja_env.globals.update(labels, can=can, demand_title=demand_title, stance=stance_badge)

    @app.context_processor
    def _language():
        return {"current_language": current_language()}
