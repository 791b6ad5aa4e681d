"""The campaign page's table of governments, its body joined in Python: a campaign has a row per target
government with a cell per demand, and a template pays for every value it writes and every call it makes
(the body was two thirds of the page's time)."""

from __future__ import annotations

from markupsafe import Markup, escape

from crm.i18n import show_date, stance_badge
from crm.vocabulary import STAGE_LABELS, label

_NONE = "<td>—</td>"


def campaign_table_rows(rows, language: str, record_url) -> Markup:
    """The body of a campaign's table (services.CampaignRow): each government's name linking to its record,
    its stage, who it is assigned to, its next follow-up's day, and its stance on each demand as a badge;
    "—" for what it has none of. Each stage's, stance's, day's and assignee's cell is made once per page."""
    stages: dict[str, str] = {}
    people: dict[str | None, str] = {None: _NONE}
    stances: dict[str | None, str] = {None: _NONE, "": _NONE}
    days: dict = {}
    lines = []
    for row in rows:
        stage = stages.get(row.stage)
        if stage is None:
            stage = stages[row.stage] = f"<td>{escape(label(STAGE_LABELS, row.stage))}</td>"
        person = people.get(row.assignee_name)
        if person is None:
            person = people[row.assignee_name] = f"<td>{escape(row.assignee_name or '—')}</td>"
        due = row.next_follow_up_on
        if due is None:
            day = _NONE
        elif (day := days.get(due)) is None:
            day = days[due] = f"<td>{escape(show_date(due, language))}</td>"
        cells = []
        for value in row.stances:
            cell = stances.get(value)
            if cell is None:
                cell = stances[value] = f"<td>{stance_badge(value)}</td>"
            cells.append(cell)
        lines.append(
            f'\n    <tr><td><a href="{escape(record_url(row.id))}">{escape(row.country)}</a></td>{stage}'
            f"{person}{day}{''.join(cells)}</tr>"
        )
    return Markup("".join(lines))
