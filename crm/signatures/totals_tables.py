"""The signature totals page's two long tables, their bodies joined in Python: a campaign signed from
everywhere has a row per country (some 250) and one per month of signing (a hundred for eight years),
and a template pays for every value it writes and every filter it calls (they were half the page's time)."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from crm.i18n import show_month, show_number
from crm.translation import gettext


def country_rows(
    by_country: dict[str, int], ranges: dict[str, tuple[int, int]], names: dict[str, str], language: str
) -> Markup:
    """A row per country of residence (CampaignTotals.by_country's alpha-3 codes, largest first): its name
    (`names`: alpha-3 to the name in `language`; the code where it has none), its code, and its signers, or
    "between N and M" where `ranges` has its range."""
    lines = []
    for alpha3, count in by_country.items():
        span = ranges.get(alpha3)
        if span:
            figure = escape(
                gettext(
                    "between %(low)s and %(high)s",
                    low=show_number(span[0], language),
                    high=show_number(span[1], language),
                )
            )
        else:
            figure = show_number(count, language)  # digits and the reader's separators: nothing to escape
        lines.append(f'{_country_cells(alpha3, names.get(alpha3, alpha3))}\n        <td class="num">{figure}</td></tr>')
    return Markup("".join(lines))


@lru_cache(maxsize=1024)
def _country_cells(alpha3: str, name: str) -> str:
    """A country's row up to its figure: its name and its code, escaped once for each code and name (some
    250 countries, each named in two languages) rather than on every visit, two escapes for each row."""
    return f'\n      <tr><th scope="row">{escape(name)}</th><td><code>{escape(alpha3)}</code></td>'


def month_rows(months, language: str) -> Markup:
    """A row per month (totals.Month, oldest first), the latest first: the month as its reader says it, what
    it added and the total at its end (numbers: digits and the reader's separators, nothing to escape)."""
    return Markup(
        "".join(
            f"\n      <tr><td>{escape(show_month(month.month, language))}</td>"
            f'<td class="num">{show_number(month.added, language)}</td>'
            f'<td class="num">{show_number(month.total, language)}</td></tr>'
            for month in reversed(months)
        )
    )
