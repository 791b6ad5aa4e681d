"""Forms and form pieces every feature uses."""

from __future__ import annotations

import unicodedata

from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from crm.campaigns.models import CAMPAIGN_LANGUAGES
from crm.forms import AppForm
from crm.translation import lazy_gettext as _l

LANGUAGE_NAMES = {"en": _l("English"), "es": _l("Spanish")}

# Characters that change how text reads without being text: bidirectional overrides and isolates (a name
# that shows reversed on the list), other invisible format characters, and control characters. Joiners
# (U+200C, U+200D) stay: some scripts and emoji need them.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


class ConfirmForm(AppForm):
    """A button that changes something, or the button behind a link from an e-mail (opening a link, which
    mail scanners do, changes nothing): the CSRF token and nothing else."""


def strip(value):
    return value.strip() if isinstance(value, str) else value


def plain_text(form, field) -> None:
    """One line of visible text: no control or invisible formatting characters."""
    for char in field.data or "":
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or (category == "Cf" and char not in _ALLOWED_FORMAT):
            raise ValidationError(_l("Use visible characters only, on one line."))


def with_wording(rows: int):
    """A class decorator: a title and a text per campaign language (English first), all optional on the
    form (the service says which pairs are missing), named title_<language> and body_<language>."""

    def decorate(cls):
        for language in CAMPAIGN_LANGUAGES:
            name = LANGUAGE_NAMES.get(language, language)
            setattr(
                cls,
                f"title_{language}",
                StringField(
                    _l("Title (%(language)s)", language=name),
                    filters=[strip],
                    validators=[Optional(), Length(max=300)],
                ),
            )
            setattr(
                cls,
                f"body_{language}",
                TextAreaField(
                    _l("Text (%(language)s)", language=name),
                    filters=[strip],
                    validators=[Optional(), Length(max=20000)],
                    render_kw={"rows": rows},
                ),
            )
        return cls

    return decorate
