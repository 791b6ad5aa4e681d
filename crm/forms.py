"""The base of every form of the app's."""

from __future__ import annotations

from functools import cache, lru_cache

from babel import support
from flask import current_app, has_request_context
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectField
from wtforms.i18n import messages_path
from wtforms.widgets import Select, html_params

from crm.translation import reading


class AppForm(FlaskForm):
    """FlaskForm, whose own WTForms messages ("Not a valid date value.", "Not a valid choice.") come in the
    request's language from WTForms' catalogue read once per language: Flask-WTF reads that catalogue from
    disk again on every request that builds a form (about 0.4 ms a page)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not (has_request_context() and current_app.config.get("WTF_I18N_ENABLED", True)):
                return super().get_translations(form)
            return _wtforms_catalogue(reading().language)


@cache
def _wtforms_catalogue(language: str):
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class FilterSelect(Select):
    """WTForms' select, its options written directly: the same HTML, without building each option's
    attributes through html_params (the dashboard's and the countries list's filters have some hundred
    options, on every page)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        flags = field.flags
        for flag in self.validation_attrs:
            if flag not in kwargs and getattr(flags, flag, False):
                kwargs[flag] = getattr(flags, flag)
        # The choices as plain text (a label said in the reader's language, not a lazy string that says
        # it in whichever language reads it), and the chosen one: what the options are a function of.
        choices = tuple((value, label if isinstance(label, str) else str(label)) for value, label, *_ in field.choices)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{_options(choices, field.data)}</select>")


@lru_cache(maxsize=256)
def _options(choices: tuple[tuple[str, str], ...], chosen) -> str:
    """A select's options, written once for each set of choices and chosen value: a list's filters show the
    same hundred-odd areas, campaigns and staff on every visit, each escaped (a choice renamed, added or
    removed is another set, so nothing written can be stale)."""
    return "".join(
        f'<option{" selected" if value == chosen else ""} value="{escape(value)}">{escape(label)}</option>'
        for value, label in choices
    )


class FilterField(SelectField):
    """A list's filter (the matrix's, the countries list's). One not given is no choice at all, not a
    wrong one: WTForms would check it against the choices and word an error (loading its own translations
    anew, on every page that shows the filters) for Optional to clear at once. Its choices' values are strings, as is what
    the query string gives (the field's coercion, str, leaves both as they are)."""

    widget = FilterSelect()

    def pre_validate(self, form):
        if self.data is not None:
            super().pre_validate(form)
