"""What the letter rules refuse: the error every letter service raises, and the check of a letter's
language that templates, drafts and replies share."""

from __future__ import annotations

from crm.i18n import _
from crm.letters.models import LETTER_LANGUAGES
from crm.outreach.services import OutreachError


class LetterError(OutreachError):
    """A letter request that breaks a rule. `field` names the form field the message belongs beside."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def check_language(language: str | None, field_name: str = "language") -> str:
    """The language, when letters are written in it; otherwise refused beside `field_name`."""
    if language not in LETTER_LANGUAGES:
        raise LetterError(_("Choose one of the letter languages."), field_name)
    return language
