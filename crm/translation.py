"""The request's translations, found once: gettext, ngettext and lazy_gettext as flask_babel's, faster.

flask_babel finds the locale and the translations again for every string (several lookups of the request
context, and the locale's name built anew: about 11 µs a string, where reading them kept is 2 µs), which a
page pays for every label, every option of a select and every word of every row. The app's Python says its
words through these, the templates through the same translations (crm.i18n.register_filters). This module
imports nothing of the app's, so that any module may import it.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import g, has_request_context
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString


class _Reading(NamedTuple):
    locale: object
    language: str
    translations: object
    kept: dict  # what once_per_language made for this request and language


def reading() -> _Reading:
    """The request's locale, its language code and its translations, found once per request and locale.
    They are kept beside flask_babel's own record of the request's locale (`g._flask_babel`), so the
    common case is two attribute reads; a locale forced for part of the request (flask_babel.force_locale)
    is another locale object there, and is read anew. Were flask_babel to keep that record elsewhere, this
    would still answer rightly, finding them each time. `g` is read from the application context itself,
    not through Flask's proxy for it: a page asks a hundred times or more, and the proxy's lookups cost
    more than the rest of the answer."""
    app_context = _cv_app.get(None)
    context = getattr(g if app_context is None else app_context.g, "_flask_babel", None)
    found = getattr(context, "alcance_reading", None)
    if found is not None and found.locale is getattr(context, "babel_locale", None):
        return found
    locale = get_locale()
    found = _Reading(locale, str(locale or "en"), get_translations(), {})
    context = getattr(g, "_flask_babel", None)
    if context is not None:
        context.alcance_reading = found
    return found


def translations():
    """flask_babel's translations for the request's locale (see reading); outside a request (commands and
    jobs, which choose their language with flask_babel.force_locale), flask_babel's own."""
    return reading().translations if has_request_context() else get_translations()


def gettext(string: str, **variables) -> str:
    """flask_babel.gettext, with the request's translations found once."""
    translated = translations().ugettext(string)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """flask_babel.ngettext, with the request's translations found once."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """flask_babel.lazy_gettext (a form's label, said in the language of the request that shows it)."""
    return LazyString(gettext, string, **variables)


def once_per_language(key, make):
    """`make()`, made once per request and language and kept under `key`: the words or badges a page
    repeats on every row (a stance's badge, a Rome Statute standing, the outreach macros' words). A
    locale forced for part of the request has its own (see reading); outside a request, made each time."""
    if not has_request_context():
        return make()
    kept = reading().kept
    if key not in kept:
        kept[key] = make()
    return kept[key]
