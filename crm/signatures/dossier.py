"""The delivery dossier: one outreach record's letter, the signature totals delivered with it and their
breakdown by country of residence, and the joint statements that went with it, as a print-ready PDF
(rendered by crm.core.pdf, which fetches nothing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale

from crm.core.pdf import render_pdf
from crm.countries.models import Country
from crm.database import utcnow
from crm.extensions import db
from crm.i18n import show_date, show_datetime
from crm.letters.models import Letter
from crm.outreach.models import OutreachRecord
from crm.signatures.totals import totals_for
from crm.statements.services import statements_on_letter


@dataclass
class Dossier:
    record: OutreachRecord
    letter: Letter | None
    delivered: bool
    total: int
    resident: int
    counted_at: dt.datetime
    by_country: list[tuple[str, str, int]]  # alpha3, name, signers
    language: str
    # The higher ends where signers without an e-mail address could not be matched with the others.
    total_upper: int = 0
    resident_upper: int = 0


def letter_for(record: OutreachRecord, letter_id: int | None) -> Letter | None:
    """The letter asked for (if it is one of the record's outgoing letters), else the latest delivered
    letter, else the latest outgoing one."""
    statement = sa.select(Letter).where(Letter.outreach_id == record.id, Letter.direction == "outgoing")
    if letter_id is not None:
        return db.session.scalar(statement.where(Letter.id == letter_id))
    return db.session.scalar(
        statement.order_by(Letter.signatures_snapshot_at.is_(None), Letter.delivered_on.desc(), Letter.id.desc()).limit(
            1
        )
    )


def build(record: OutreachRecord, letter: Letter | None, language: str) -> Dossier:
    """The figures delivered with the letter when it has been delivered; otherwise today's, said to be so."""
    if letter is not None and letter.signatures_snapshot_at is not None:
        total, resident = letter.signatures_total or 0, letter.signatures_resident or 0
        # A letter delivered before ranges existed has no upper figures: its totals were exact.
        total_upper = max(letter.signatures_total_upper or 0, total)
        resident_upper = max(letter.signatures_resident_upper or 0, resident)
        counts, counted_at, delivered = dict(letter.signatures_by_country or {}), letter.signatures_snapshot_at, True
    else:
        totals = totals_for(record.campaign, record.country)
        total, resident, counts = totals.total, totals.resident, totals.by_country
        total_upper, resident_upper = totals.total_upper, totals.resident_upper
        counted_at, delivered = utcnow(), False
    names = {
        alpha3: country.name(language)
        for alpha3, country in (
            (c.alpha3, c) for c in db.session.scalars(sa.select(Country).where(Country.alpha3.in_(list(counts))))
        )
    }
    rows = sorted(
        ((alpha3, names.get(alpha3, alpha3), n) for alpha3, n in counts.items()), key=lambda row: (-row[2], row[1])
    )
    return Dossier(
        record=record,
        letter=letter,
        delivered=delivered,
        total=total,
        resident=resident,
        counted_at=counted_at,
        by_country=rows,
        language=language,
        total_upper=total_upper,
        resident_upper=resident_upper,
    )


def dossier_pdf(record: OutreachRecord, letter: Letter | None, language: str) -> bytes:
    language = language if language in ("en", "es") else "en"
    dossier = build(record, letter, language)
    statements = statements_on_letter(letter) if letter is not None and letter.direction == "outgoing" else []
    with force_locale(language):
        # Dates as the dossier's reader writes them (crm/i18n.py); the moment of counting is given in UTC.
        html = render_template(
            "signatures/dossier.html",
            dossier=dossier,
            record=record,
            letter=letter,
            statements=statements,
            day=lambda value: show_date(value, language),
            moment=lambda value: show_datetime(value, language),
        )
        css = render_template("signatures/dossier.css")
    return render_pdf(html, css)
