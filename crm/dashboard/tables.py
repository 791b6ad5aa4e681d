"""The dashboard's long tables and lists, joined in Python: the month-by-month table of responses and the
overdue follow-ups by owner. A template pays for every value it writes and every filter or macro it
calls (some hundred months of five cells, a hundred follow-ups with their days and notes); here each
value is escaped and joined once."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from flask import current_app
from jinja2.filters import do_truncate
from markupsafe import Markup, escape

from crm.dashboard.maps import bar_chart, escaped_urls, stacked_bars
from crm.i18n import show_date, show_month, show_number
from crm.translation import translations
from crm.web import Keyed, id_parts

# Notes are cut as the page's template cut them, with Jinja's own `truncate` filter (at a word, "..."
# after, a note a few characters longer than this shown whole).
NOTE_LENGTH = 120


def truncate(text: str, length: int = NOTE_LENGTH) -> str:
    return do_truncate(current_app.jinja_env, text, length)


def month_rows(months, responses, language: str) -> Markup:
    """The body of the responses-over-time table: a row per month (its key, its name and its counts, as
    the route lists them) with its count of governments for each of `responses`, in the reader's way of
    writing numbers."""
    numbers: dict[int, str] = {}
    lines = []
    for key, name, counts in months:
        cells = []
        for response in responses:
            count = counts.get(response, 0)
            cell = numbers.get(count)
            if cell is None:
                cell = numbers[count] = f'<td class="num">{escape(show_number(count, language))}</td>'
            cells.append(cell)
        lines.append(f'\n<tr data-month="{escape(key)}"><th scope="row">{escape(name)}</th>{"".join(cells)}</tr>')
    return Markup("".join(lines))


class OverTime(NamedTuple):
    """The responses-over-time section as drawn: the chart's bars, the table's rows and the chart's top."""

    bars: Markup
    rows: Markup
    top: int


def over_time(series, responses: tuple[str, ...], language: str, labels: dict[str, str]) -> OverTime:
    """The chart and table of governments by response month by month (services.monthly_responses' series:
    each month with its counts in `responses`' order), in `language` and `labels`' words. Drawn once for each
    series and reader's words: the drawing is a function of those alone (some hundred months of a few bars
    and cells), and a campaign's series stays the same from one visit to the next until a position is
    recorded, which makes another series."""
    return _over_time(tuple(series), responses, language, tuple(labels.items()))


@lru_cache(maxsize=64)
def _over_time(series, responses, language: str, labels) -> OverTime:
    months = [
        (month.strftime("%Y-%m"), show_month(month, language), dict(zip(responses, counts, strict=True)))
        for month, counts in series
    ]
    bars, top = stacked_bars([(name, counts) for _key, name, counts in months], responses)
    return OverTime(bar_chart(bars, dict(labels)), month_rows(months, responses, language), top)


def overdue_owners(overdue, language: str, record_url) -> Markup:
    """The owners with overdue follow-ups (services.Overdue), each a folded item: their name, how many are
    overdue and since when, and their most overdue follow-ups, each with its government linking to the
    record, its note (cut at NOTE_LENGTH) and its day.

    Written once for each list, language and links: the list is a function of those alone (plain values
    read for it), and it stays the same from one visit to the next until a follow-up changes or the day
    does (both make another list)."""
    pattern = id_parts(record_url)
    if pattern is None:
        return _overdue_owners(overdue, language, record_url)
    owners = tuple((owner.owner, owner.count, owner.oldest, tuple(map(tuple, owner.follow_ups))) for owner in overdue)
    return _kept_overdue_owners(Keyed(owners, overdue), language, pattern)


@lru_cache(maxsize=32)
def _kept_overdue_owners(overdue: Keyed, language: str, pattern: tuple[str, ...]) -> Markup:
    return _overdue_owners(overdue.value, language, lambda record_id: str(record_id).join(pattern))


def _overdue_owners(overdue, language: str, record_url) -> Markup:
    summary = translations().ungettext
    url = escaped_urls(record_url)
    days: dict = {}
    places: dict = {}  # (record, country) -> its link: an owner's follow-ups are often on the same record

    def place(follow_up) -> str:
        key = (follow_up.outreach_id, follow_up.country)
        link = places.get(key)
        if link is None:
            link = places[key] = f'<a href="{url(follow_up.outreach_id)}">{escape(follow_up.country)}</a>'
        return link

    def day(value) -> str:
        shown = days.get(value)
        if shown is None:
            shown = days[value] = escape(show_date(value, language))
        return shown

    items = []
    for owner in overdue:
        # Trusted as markup, its values escaped, as the templates' ngettext does.
        said = Markup(summary("%(num)s overdue, due %(date)s", "%(num)s overdue, the oldest due %(date)s", owner.count))
        lines = "".join(
            f"\n<li>{place(follow_up)}: {escape(truncate(follow_up.note))} ({day(follow_up.due)})</li>"
            for follow_up in owner.follow_ups
        )
        items.append(
            f'\n<li data-owner="{escape(owner.owner.email)}"><details><summary><strong>{escape(owner.owner.name)}'
            f"</strong>: {said % {'num': owner.count, 'date': day(owner.oldest)}}</summary>"
            f'\n<ul class="plain">{lines}\n</ul></details></li>'
        )
    return Markup("".join(items))
