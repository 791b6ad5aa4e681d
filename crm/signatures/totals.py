"""Signature totals: the one place that counts, for every page, command, letter and dossier. Signers of a
campaign or a petition, by country of residence and by day, from the counts kept per cell
(crm/signatures/counts.py) and the tallies.

Counting (the documented rules):
- One person, one signature per campaign: a signature is keyed by (campaign, e-mail hash); the first
  file or push that brings a person counts them, on its petition; later ones are duplicates.
- A tally is a platform's figure for one petition and one country ("1,204 from Spain as of 1 June").
  For that petition and country the count is the larger of the tally and the individual signatures
  imported for it: both count the same people, so they are never added together. A newer tally of the
  same petition and country replaces the older.
- Signers whose country is not given or not understood count in the total and in no country.
- A person who signed on two platforms of which one gave only a tally cannot be recognised, and counts
  twice. Only individual signatures are de-duplicated.
- An export without e-mail addresses (its platform gives none, or the user confirmed it for a generic
  file) is counted by name and place: its rows are de-duplicated within their petition by a keyed hash of
  the normalised full name, postal code (or city) and country, and cannot be matched with the signers
  known by their address. Where both kinds are counted in one country, that country has between N and M
  unique signers: M if nobody is in both, N = the larger of the two kinds if everyone in the smaller is
  also in the larger (tallies' excess is added to both). N is the figure used wherever one is needed
  (totals, exports, letters' merge fields); a delivered letter keeps both.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.database import utcnow
from crm.extensions import db
from crm.signatures.models import UNKNOWN_COUNTRY, Petition, SignatureCount, SignatureImport, SignatureTally
from crm.signatures.petitions import petitions_of
from crm.signatures.tallies import tallies_of


@dataclass
class CampaignTotals:
    """Signers of a campaign. `resident` is for the country asked about (0 when none was asked).

    Every figure is the lower end, N, of what is known; where signers without an e-mail address and
    signers known by their address are both counted in a country, `ranges` gives that country's (N, M),
    and `total_upper` and `resident_upper` the higher ends (equal to `total` and `resident` elsewhere)."""

    total: int = 0
    resident: int = 0
    by_country: dict[str, int] = field(default_factory=dict)  # alpha3 -> signers, largest first
    by_petition: dict[int, int] = field(default_factory=dict)  # petition id -> signers counted on it
    unknown_country: int = 0
    from_tallies: int = 0
    counted_at: dt.datetime = field(default_factory=utcnow)
    total_upper: int = 0
    resident_upper: int = 0
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # alpha3 -> (N, M) where N < M

    @property
    def is_range(self) -> bool:
        return self.total_upper > self.total

    def for_country(self, country: Country) -> CampaignTotals:
        """The same totals, with `resident` for `country`."""
        low, high = self.ranges.get(country.alpha3, (self.by_country.get(country.alpha3, 0),) * 2)
        return CampaignTotals(
            total=self.total,
            resident=low,
            by_country=self.by_country,
            by_petition=self.by_petition,
            unknown_country=self.unknown_country,
            from_tallies=self.from_tallies,
            counted_at=self.counted_at,
            total_upper=self.total_upper,
            resident_upper=high,
            ranges=self.ranges,
        )

    def as_snapshot(self) -> dict:
        return {
            "total": self.total,
            "resident": self.resident,
            "by_country": dict(self.by_country),
            "total_upper": self.total_upper,
            "resident_upper": self.resident_upper,
        }


@dataclass
class _Cell:
    """One petition's signers in one country: rows imported (of which `named` without an e-mail address)
    and the tally, if any."""

    rows: int = 0
    named: int = 0
    tally: int | None = None

    @property
    def counted(self) -> int:
        return max(self.rows, self.tally) if self.tally is not None else self.rows

    @property
    def tally_excess(self) -> int:
        return max(0, self.tally - self.rows) if self.tally is not None else 0


def _range(cells) -> tuple[int, int]:
    """(N, M) for one country's cells: signers known by address and signers known by name and place
    cannot be matched, so they are between all in both kinds (the larger kind) and nobody in both."""
    by_email = sum(cell.rows - cell.named for cell in cells)
    by_name = sum(cell.named for cell in cells)
    excess = sum(cell.tally_excess for cell in cells)
    return max(by_email, by_name) + excess, by_email + by_name + excess


def _cells(campaign_id: int, petition_id: int | None = None) -> dict[tuple[int, int | None], _Cell]:
    """Per (petition, country id or None): individual signatures and tallies. Two queries."""
    cells: dict[tuple[int, int | None], _Cell] = defaultdict(_Cell)
    counted = (
        sa.select(
            SignatureCount.petition_id,
            SignatureCount.country_id,
            sa.func.sum(SignatureCount.signers),
            sa.func.sum(SignatureCount.without_email),
        )
        .where(SignatureCount.campaign_id == campaign_id)
        .group_by(SignatureCount.petition_id, SignatureCount.country_id)
    )
    tallied = (
        sa.select(SignatureTally.petition_id, SignatureTally.country_id, SignatureTally.signers)
        .join(Petition, Petition.id == SignatureTally.petition_id)
        .where(Petition.campaign_id == campaign_id)
    )
    if petition_id is not None:
        counted = counted.where(SignatureCount.petition_id == petition_id)
        tallied = tallied.where(SignatureTally.petition_id == petition_id)
    for pid, country_id, number, named in db.session.execute(counted):
        cell = cells[(pid, None if country_id == UNKNOWN_COUNTRY else country_id)]
        cell.rows, cell.named = int(number), int(named or 0)
    for pid, country_id, signers in db.session.execute(tallied):
        cells[(pid, country_id)].tally = signers
    return cells


def _by_country(cells) -> dict[int | None, tuple[int, int]]:
    grouped: dict[int | None, list[_Cell]] = defaultdict(list)
    for (_petition_id, country_id), cell in cells.items():
        grouped[country_id].append(cell)
    return {country_id: _range(group) for country_id, group in grouped.items()}


def _alpha3(country_ids) -> dict[int, str]:
    if not any(cid is not None for cid in country_ids):
        return {}
    # Every country's code (some 250 short rows) rather than an IN list as long: a campaign signed from
    # everywhere made that list 250 parameters, which PostgreSQL took 3 to 30 ms to plan; this takes 1.
    return dict(db.session.execute(sa.select(Country.id, Country.alpha3)).all())


def totals_for(campaign: Campaign, country: Country | None = None) -> CampaignTotals:
    """Signers of a campaign: in total, residing in `country`, by country of residence (ISO alpha-3) and by
    petition, with the range where signers without an e-mail address meet the others. Three queries
    whatever the number of signatures, petitions or countries."""
    cells = _cells(campaign.id)
    totals = CampaignTotals()
    per_petition: dict[int, int] = defaultdict(int)
    for (petition_id, _country_id), cell in cells.items():
        per_petition[petition_id] += cell.counted
        totals.from_tallies += cell.tally_excess
    figures = _by_country(cells)
    codes = _alpha3(figures)
    for country_id, (low, high) in figures.items():
        totals.total += low
        totals.total_upper += high
        if country_id is None:
            totals.unknown_country = low
    known = sorted(
        ((codes[cid], low, high) for cid, (low, high) in figures.items() if cid is not None),
        key=lambda i: (-i[1], i[0]),
    )
    totals.by_country = {code: low for code, low, _high in known if low}
    totals.ranges = {code: (low, high) for code, low, high in known if high > low}
    totals.by_petition = dict(per_petition)
    if country is not None:
        low, high = figures.get(country.id, (0, 0))
        totals.resident, totals.resident_upper = low, high
    return totals


def petition_totals(petition: Petition) -> tuple[dict[str, int], int]:
    """One petition's signers by country of residence (alpha-3, largest first), and those whose country is
    not known: each cell counted as `totals_for` counts it, three queries."""
    cells = _cells(petition.campaign_id, petition.id)
    codes = _alpha3(country_id for _pid, country_id in cells)
    unknown = sum(cell.counted for (_pid, country_id), cell in cells.items() if country_id is None)
    known = sorted(
        ((codes[cid], cell.counted) for (_pid, cid), cell in cells.items() if cid is not None),
        key=lambda i: (-i[1], i[0]),
    )
    return ({code: n for code, n in known if n}, unknown)


@dataclass
class TallyRow:
    """A tally beside the signatures imported on the same petition for the same country, and which counts."""

    tally: SignatureTally
    imported: int

    @property
    def counted(self) -> str:
        """ "tally" or "imported": the larger counts (the tally when they are equal: nothing is lost)."""
        return "imported" if self.imported > self.tally.signers else "tally"


def tally_rows(petition: Petition) -> list[TallyRow]:
    """The petition's tallies, each with the signatures imported for its country on this petition."""
    cells = _cells(petition.campaign_id, petition.id)
    return [
        TallyRow(tally=tally, imported=cells.get((petition.id, tally.country_id), _Cell()).rows)
        for tally in tallies_of(petition)
    ]


def totals_csv_rows(campaign: Campaign) -> list[tuple[str, int]]:
    """`country,signers` rows: ISO alpha-3 codes, largest first, then TOTAL (which also counts the signers
    whose country is not known, so it can exceed the sum of the rows)."""
    totals = totals_for(campaign)
    return [*totals.by_country.items(), ("TOTAL", totals.total)]


@dataclass
class Day:
    day: dt.date
    added: int
    total: int


def _untallied_daily_changes(campaign_id: int, tallied_countries) -> dict[dt.date, int]:
    """What each day adds to the total in the countries no tally touches, worked out by the database: there a
    country's figure is max(signers by address, signers by name and place) so far (_range without tallies),
    so each day adds that figure's growth. Years of days over many countries stay in the database."""
    table = SignatureCount.__table__
    by_day = (
        sa.select(
            table.c.country_id,
            table.c.day,
            sa.func.sum(table.c.signers - table.c.without_email).label("by_email"),
            sa.func.sum(table.c.without_email).label("by_name"),
        )
        .where(table.c.campaign_id == campaign_id, table.c.country_id.not_in(list(tallied_countries)))
        .group_by(table.c.country_id, table.c.day)
        .subquery()
    )
    running = sa.select(
        by_day.c.country_id,
        by_day.c.day,
        sa.func.sum(by_day.c.by_email).over(partition_by=by_day.c.country_id, order_by=by_day.c.day).label("email"),
        sa.func.sum(by_day.c.by_name).over(partition_by=by_day.c.country_id, order_by=by_day.c.day).label("name"),
    ).subquery()
    figure = sa.case((running.c.email >= running.c.name, running.c.email), else_=running.c.name)
    growth = sa.select(
        running.c.day,
        (
            figure
            - sa.func.coalesce(sa.func.lag(figure).over(partition_by=running.c.country_id, order_by=running.c.day), 0)
        ).label("added"),
    ).subquery()
    return {
        day: int(added)
        for day, added in db.session.execute(
            sa.select(growth.c.day, sa.func.sum(growth.c.added)).group_by(growth.c.day)
        )
    }


def daily_totals(campaign: Campaign) -> list[Day]:
    """The campaign's total (its lower end, N) at the end of each day something was added: signatures by
    the day they were signed (or imported, when the platform gave no date), tallies on their "as of" day,
    counted with the same rules as `totals_for`. Countries no tally touches are summed by the database;
    the few a tally touches are followed cell by cell here. Three queries."""
    tallies = db.session.execute(
        sa.select(SignatureTally.petition_id, SignatureTally.country_id, SignatureTally.as_of, SignatureTally.signers)
        .join(Petition, Petition.id == SignatureTally.petition_id)
        .where(Petition.campaign_id == campaign.id)
    ).all()
    # Countries as signature_count keys them: UNKNOWN_COUNTRY for none.
    tallied = {UNKNOWN_COUNTRY if country_id is None else country_id for _, country_id, _, _ in tallies}
    changes: dict[dt.date, int] = defaultdict(int, _untallied_daily_changes(campaign.id, tallied))
    events: dict[dt.date, list] = defaultdict(list)
    if tallied:
        for petition_id, country_id, on, number, named in db.session.execute(
            sa.select(
                SignatureCount.petition_id,
                SignatureCount.country_id,
                SignatureCount.day,
                SignatureCount.signers,
                SignatureCount.without_email,
            ).where(SignatureCount.campaign_id == campaign.id, SignatureCount.country_id.in_(list(tallied)))
        ):
            country = None if country_id == UNKNOWN_COUNTRY else country_id
            events[on].append(("rows", (petition_id, country), (number, named or 0)))
    for petition_id, country_id, as_of, signers in tallies:
        events[as_of].append(("tally", (petition_id, country_id), signers))
    # Each tallied country's three sums behind its range (_range), kept as its cells change.
    cells: dict[tuple, _Cell] = defaultdict(_Cell)
    sums: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])  # by e-mail, by name, tally excess
    figure: dict[int | None, int] = defaultdict(int)
    for on in sorted(events):
        touched = set()
        for kind, key, number in events[on]:
            cell = cells[key]
            was = (cell.rows - cell.named, cell.named, cell.tally_excess)
            if kind == "rows":
                cell.rows += number[0]
                cell.named += number[1]
            else:
                cell.tally = number
            country = sums[key[1]]
            country[0] += cell.rows - cell.named - was[0]
            country[1] += cell.named - was[1]
            country[2] += cell.tally_excess - was[2]
            touched.add(key[1])
        for country_id in touched:
            by_email, by_name, excess = sums[country_id]
            low = max(by_email, by_name) + excess
            changes[on] += low - figure[country_id]
            figure[country_id] = low
    total, series = 0, []
    for on in sorted(changes):
        total += changes[on]
        series.append(Day(day=on, added=changes[on], total=total))
    return series


@dataclass
class Month:
    month: dt.date  # its first day
    added: int
    total: int


def monthly_totals(days: list[Day]) -> list[Month]:
    """The daily series by month: what was added in each, and the total at its end (years of signing read
    as a hundred lines, not thousands)."""
    months: list[Month] = []
    for day in days:
        first = day.day.replace(day=1)
        if months and months[-1].month == first:
            months[-1].added += day.added
            months[-1].total = day.total
        else:
            months.append(Month(month=first, added=day.added, total=day.total))
    return months


def petition_rows(campaign: Campaign, totals: CampaignTotals | None = None) -> list[dict]:
    """Each petition with its signers and its imports' counts, in three queries whatever their number
    (one fewer given the campaign's `totals`, already read)."""
    petitions = petitions_of(campaign)
    totals = totals or totals_for(campaign)
    imports = dict(
        db.session.execute(
            sa.select(SignatureImport.petition_id, sa.func.count())
            .join(Petition, Petition.id == SignatureImport.petition_id)
            .where(Petition.campaign_id == campaign.id)
            .group_by(SignatureImport.petition_id)
        ).all()
    )
    return [
        {"petition": p, "signers": totals.by_petition.get(p.id, 0), "imports": imports.get(p.id, 0)} for p in petitions
    ]


def country_names(alpha3_codes) -> dict[str, Country]:
    codes = list(alpha3_codes)
    if not codes:
        return {}
    return {c.alpha3: c for c in db.session.scalars(sa.select(Country).where(Country.alpha3.in_(codes)))}
