"""CSV exports of the dashboard's matrix and of a campaign's outreach records, safe to open in a
spreadsheet, and the audit event each export leaves."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable

from crm.audit import services as audit
from crm.countries.forms import standing_text
from crm.countries.standing import standing
from crm.dashboard.forms import response_label
from crm.dashboard.services import CampaignFigures, Government
from crm.i18n import current_language
from crm.translation import gettext
from crm.vocabulary import STAGE_LABELS, STANCE_LABELS, label

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); a leading single quote makes it text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def to_csv(header: Iterable, rows: Iterable[Iterable]) -> str:
    """CSV text with every cell neutralised. Starts with a byte-order mark so that Excel reads UTF-8
    (accented names) correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


def _date(value) -> str:
    """A date as YYYY-MM-DD; a timestamp as its UTC day."""
    if value is None:
        return ""
    return value.date().isoformat() if hasattr(value, "date") and callable(value.date) else value.isoformat()


def _stance(position) -> str:
    return label(STANCE_LABELS, position.stance) if position else ""


def matrix_table(
    figures: CampaignFigures,
    governments: list[Government],
    *,
    language: str,
    record_url: Callable[[int], str],
    region_names: dict[str, str],
    day: dt.date,
):
    """Header and rows of the countries x demands matrix: the Rome Statute standing on `day` and, per
    demand, the current position, its date, its evidence and its source."""
    header = [
        gettext("Country"),
        gettext("ISO code"),
        gettext("Rome Statute"),
        gettext("Region"),
        gettext("Stage"),
        gettext("Response"),
    ]
    for demand in figures.demands:
        title = f"{demand.ordinal}. {demand.text(current_language())[0]}"
        header += [
            title,
            gettext("%(demand)s: since", demand=title),
            gettext("%(demand)s: evidence", demand=title),
            gettext("%(demand)s: source", demand=title),
        ]
    header.append(gettext("Outreach record"))
    rows = []
    for government in governments:
        country = government.country
        row = [
            country.name(language),
            country.alpha3,
            standing_text(standing(country, day)),
            region_names.get(country.region_code or "", ""),
            label(STAGE_LABELS, government.record.stage),
            response_label(government.response),
        ]
        for demand in figures.demands:
            position = government.positions.get(demand.id)
            row += [
                _stance(position),
                _date(position and position.stated_on),
                position.evidence if position else "",
                position.evidence_url if position else "",
            ]
        row.append(record_url(government.record.id))
        rows.append(row)
    return header, rows


def outreach_table(figures: CampaignFigures, *, language: str, record_url: Callable[[int], str]):
    """Header and rows of the campaign's outreach records (load the figures `with_people=True`)."""
    header = [
        gettext("Country"),
        gettext("ISO code"),
        gettext("Stage"),
        gettext("Priority"),
        gettext("Assigned to"),
        gettext("Coordinator"),
        gettext("Next follow-up"),
        gettext("Response"),
    ]
    header += [f"{demand.ordinal}. {demand.title}" for demand in figures.demands]
    header += [gettext("Created"), gettext("Updated"), gettext("Outreach record")]
    rows = []
    for government in figures.governments:
        record = government.record
        row = [
            government.country.name(language),
            government.country.alpha3,
            label(STAGE_LABELS, record.stage),
            record.priority,
            record.assignee_name or "",
            record.coordinator_name or "",
            _date(record.next_follow_up_on),
            response_label(government.response),
        ]
        row += [_stance(government.positions.get(demand.id)) for demand in figures.demands]
        row += [_date(record.created_at), _date(record.updated_at), record_url(record.id)]
        rows.append(row)
    return header, rows


def record_export(kind: str, *, actor, campaign, rows: int, filters: dict | None = None, format: str = "csv"):
    """Every export is in the audit log: who took which data, how many rows, with which filters, in which
    format."""
    return audit.record(
        f"export.{kind}", actor=actor, entity=campaign, after={"rows": rows, "filters": filters or {}, "format": format}
    )
