"""The PDF of a statement's signatories used for delivery: its text in one of its languages and the
approved signatories as the public page lists them (organisation, country, website; a withheld name stays
withheld; a signer's name only for a person who signed in their own name and asked to be listed), with
their number and the day of the list. For a letter the statement went with, the list frozen on it at
delivery, as the delivery dossier shows it. Rendered by crm.core.pdf, which fetches nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale

from crm.core.pdf import render_pdf
from crm.countries.models import Country
from crm.i18n import show_date
from crm.letters.models import Letter
from crm.statements.models import LetterStatement, Statement, StatementText
from crm.statements.services import countries_named, delivered_list


@dataclass
class SignatoriesDocument:
    statement: Statement
    text: StatementText
    language: str  # the text's: the document is written in it throughout
    signatories: dict  # as crm.statements.services.delivered_list gives it (or as frozen on the letter)
    countries: dict[str, Country]
    as_of: dt.datetime  # when the list was taken: now, or when it was frozen on the letter
    letter: Letter | None = None
    government: Country | None = None  # the letter's
    frozen: bool = False

    @property
    def listed(self) -> int:
        return len(self.signatories["organisations"]) + len(self.signatories["individuals"])


def language_for(statement: Statement, *wanted: str | None) -> str:
    """The first of the languages wanted that the statement is written in, else the one its text falls
    back to (crm.statements.models.Statement.text)."""
    for language in wanted:
        if language and language in statement.languages:
            return language
    text = statement.text()
    return text.language if text is not None else "en"


def build(
    statement: Statement, *, language: str, now: dt.datetime, attached: LetterStatement | None = None
) -> SignatoriesDocument:
    """The list frozen on the letter if it was delivered; otherwise the list as it stands now."""
    text = statement.text(language)
    language = text.language
    if attached is not None and attached.frozen_at is not None:
        signatories, as_of, frozen = attached.signatories, attached.frozen_at, True
    else:
        signatories, as_of, frozen = delivered_list(statement, language), now, False
    letter = attached.letter if attached is not None else None
    return SignatoriesDocument(
        statement=statement,
        text=text,
        language=language,
        signatories=signatories,
        countries=countries_named([signatories]),
        as_of=as_of,
        letter=letter,
        government=letter.outreach.country if letter is not None else None,
        frozen=frozen,
    )


def signatories_html(document: SignatoriesDocument) -> str:
    with force_locale(document.language):
        return render_template(
            "statements/signatories_pdf.html",
            document=document,
            statement=document.statement,
            lang=document.language,
            day=lambda value: show_date(value, document.language),
            country_of=lambda code: _country_name(document, code),
        )


def _country_name(document: SignatoriesDocument, code):
    """A signatory's country in the document's language, or as written where it is not a known country."""
    country = document.countries.get(code)
    return country.name(document.language) if country else code


def signatories_pdf(document: SignatoriesDocument) -> bytes:
    return render_pdf(signatories_html(document), render_template("statements/signatories_pdf.css"))
