"""Merge fields: the names a letter template may use (`{recipient_name}`, ...), filling them in, and their
values for a letter on an outreach record, written in the letter's language."""

from __future__ import annotations

import datetime as dt
import re

from babel import Locale
from babel.core import UnknownLocaleError
from babel.numbers import format_decimal

from crm import clock
from crm.campaigns.services import demands_of
from crm.contacts.models import Contact, Office
from crm.countries.models import Country
from crm.i18n import show_date
from crm.outreach.models import OutreachRecord
from crm.signatures.totals import totals_for
from crm.translation import lazy_gettext as _l

MERGE_FIELDS = {
    "recipient_name": _l("the recipient's name"),
    "recipient_title": _l("the recipient's title (their post)"),
    "office_name": _l("the office the letter goes to"),
    "country_name": _l("the recipient's country, in the letter's language"),
    "campaign_name": _l("the campaign's name"),
    "demands": _l("the campaign's demands, numbered, in the letter's language"),
    "signatures_total": _l("signatures gathered by the campaign, all countries"),
    "signatures_resident": _l("signatures of people who live in the recipient's country"),
    "date": _l("today's date, written out in the letter's language"),
    "sender_name": _l("the name of the staff member composing the letter"),
}


# `{{` and `}}` stand for literal braces; `{anything}` is a merge field. Nothing inside braces is ever
# evaluated: a field is a plain dictionary key, so `{recipient_name.__class__}` is just an unknown name.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}")


def unknown_fields(text: str | None) -> list[str]:
    """The merge fields in `text` that do not exist, in order of appearance, each once."""
    found: list[str] = []
    for match in _TOKEN.finditer(text or ""):
        name = match.group(1)
        if name is not None and name not in MERGE_FIELDS and name not in found:
            found.append(name)
    return found


def _substitute(match: re.Match, values: dict[str, str]) -> str:
    token = match.group(0)
    if token == "{{":
        return "{"
    if token == "}}":
        return "}"
    name = match.group(1)
    if name in MERGE_FIELDS:
        return str(values.get(name, ""))
    return token  # unknown: left as typed, never looked up further


def render_merge(text: str | None, values: dict[str, str]) -> str:
    """Fill merge fields with `values` by plain substitution, in one pass (a value that itself contains
    braces is not merged again). A line made only of fields that all came out empty (a contact without a
    title, say) is dropped instead of leaving a gap in the address block."""
    lines = []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        tokens = list(_TOKEN.finditer(line))
        only_fields = (
            bool(tokens) and not _TOKEN.sub("", line).strip() and all(t.group(1) in MERGE_FIELDS for t in tokens)
        )
        if only_fields and not any(str(values.get(t.group(1), "")).strip() for t in tokens):
            continue
        lines.append(_TOKEN.sub(lambda m: _substitute(m, values), line))
    return "\n".join(lines)


def country_name(country: Country, language: str) -> str:
    """The country's name in the letter's language (Babel's CLDR names), falling back to the stored names."""
    try:
        name = Locale.parse(language).territories.get(country.alpha2)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or (country.name_es if language == "es" else country.name_en)


def demands_text(campaign, language: str) -> str:
    demands = demands_of(campaign.id, active_only=True)
    lines = []
    for number, demand in enumerate(demands, start=1):
        title, description = demand.text(language)
        lines.append(f"{number}. {title}" + (f": {description.strip()}" if description and description.strip() else ""))
    return "\n".join(lines)


def merge_values(
    record: OutreachRecord,
    *,
    language: str,
    contact: Contact | None = None,
    office: Office | None = None,
    actor=None,
    today: dt.date | None = None,
) -> dict[str, str]:
    """The value of every merge field for a letter on `record`, written in `language`."""
    office = office or (contact.office if contact is not None else None)
    totals = totals_for(record.campaign, record.country)
    return {
        "recipient_name": contact.name if contact is not None else "",
        "recipient_title": (contact.title or "") if contact is not None else "",
        "office_name": office.name if office is not None else "",
        "country_name": country_name(record.country, language),
        "campaign_name": record.campaign.display_name(language),
        "demands": demands_text(record.campaign, language),
        "signatures_total": format_decimal(totals.total, locale=language),
        "signatures_resident": format_decimal(totals.resident, locale=language),
        # A letter's date is a day, written as in the letter's language (crm/i18n.py).
        "date": show_date(today or clock.today(actor), language),
        "sender_name": getattr(actor, "name", "") or "",
    }
