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
from functools import cache
from operator import itemgetter
from typing import NamedTuple

import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.database import utcnow
from crm.extensions import db
from crm.signatures.models import (
    UNKNOWN_COUNTRY,
    Petition,
    SignatureCampaignTotal,
    SignatureCount,
    SignatureDay,
    SignatureImport,
    SignatureOverlap,
    SignatureTally,
    SignatureTotal,
)
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
    tallied: bool = False  # whether any platform's tally is counted (by its excess or not)
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
            tallied=self.tallied,
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
    """(N, M) for one country's cells, by _bounds' rule."""
    by_email = by_name = excess = 0
    for cell in cells:  # one pass: a campaign has a group of cells for each of some 250 countries
        by_email += cell.rows - cell.named
        by_name += cell.named
        excess += cell.tally_excess
    return _bounds(by_email, by_name, excess)


def _bounds(by_email: int, by_name: int, excess: int) -> tuple[int, int]:
    """(N, M) for one country: signers known by address and signers known by name and place cannot be
    matched, so they are between all in both kinds (the larger kind) and nobody in both; what tallies
    exceed the signatures imported is added to both."""
    return max(by_email, by_name) + excess, by_email + by_name + excess


@cache
def _cells_statement(of_petition: bool) -> sa.CompoundSelect:
    """_cells' statement, built once for a campaign's cells and for a petition's, the campaign and the
    petition parameters: the counts kept per cell, then the tallies (their `named` NULL), in one round trip.
    Read through the tables' columns: named through the models, these short reads went through the ORM's
    machinery and cost twice as much (the dashboard reads them on every page)."""
    total, tally, petition = SignatureTotal.__table__.c, SignatureTally.__table__.c, Petition.__table__.c
    counted = sa.select(
        total.petition_id, total.country_id, total.signers, total.without_email, sa.literal(False).label("tallied")
    )
    tallied = (
        sa.select(tally.petition_id, tally.country_id, tally.signers, sa.null(), sa.literal(True))
        .join(Petition.__table__, petition.id == tally.petition_id)
        .where(petition.campaign_id == sa.bindparam("campaign_id"))
    )
    if of_petition:
        counted = counted.where(total.petition_id == sa.bindparam("petition_id"))
        tallied = tallied.where(tally.petition_id == sa.bindparam("petition_id"))
    else:
        counted = counted.where(total.campaign_id == sa.bindparam("campaign_id"))
    return sa.union_all(counted, tallied)


@cache
def _named_cells_statement(in_spanish: bool) -> sa.CompoundSelect:
    """A campaign's cells as _cells_statement gives them, each with its country's code and name in the
    reader's language (NULL for signers whose country is not known), built once for each language: the
    totals page names the countries it counts without reading every country apart."""
    total, tally, petition = SignatureTotal.__table__.c, SignatureTally.__table__.c, Petition.__table__.c
    country = Country.__table__
    name = country.c.name_es if in_spanish else country.c.name_en
    counted = (
        sa.select(
            total.petition_id,
            total.country_id,
            total.signers,
            total.without_email,
            sa.literal(False).label("tallied"),
            country.c.alpha3,
            name,
        )
        .select_from(SignatureTotal.__table__.outerjoin(country, country.c.id == total.country_id))
        .where(total.campaign_id == sa.bindparam("campaign_id"))
    )
    tallied = (
        sa.select(
            tally.petition_id, tally.country_id, tally.signers, sa.null(), sa.literal(True), country.c.alpha3, name
        )
        .join(Petition.__table__, petition.id == tally.petition_id)
        .join(country, country.c.id == tally.country_id)
        .where(petition.campaign_id == sa.bindparam("campaign_id"))
    )
    return sa.union_all(counted, tallied)


def _cells(campaign_id: int, petition_id: int | None = None) -> dict[tuple[int, int | None], _Cell]:
    """Per (petition, country id or None): individual signatures and tallies. One query, of a row per
    petition and country (the counts kept per petition and country, crm/signatures/counts.py) and per tally."""
    cells: dict[tuple[int, int | None], _Cell] = defaultdict(_Cell)
    params = {"campaign_id": campaign_id, "petition_id": petition_id}
    for pid, country_id, number, named, tallied in db.session.execute(
        _cells_statement(petition_id is not None), params
    ).all():
        if tallied:
            cells[(pid, country_id)].tally = number
        else:
            cell = cells[(pid, None if country_id == UNKNOWN_COUNTRY else country_id)]
            cell.rows, cell.named = int(number), int(named or 0)
    return cells


def _flushed_connection():
    """The session's connection, for plain rows without the ORM's pass, once the signatures and counts it
    holds pending are written, as the session's own execute would (its autoflush; nothing to do when none)."""
    if db.session.autoflush:
        db.session.flush()
    return db.session.connection()


def _alpha3(country_ids) -> dict[int, str]:
    if not any(cid is not None for cid in country_ids):
        return {}
    # Every country's code (some 250 short rows) rather than an IN list as long: a campaign signed from
    # everywhere made that list 250 parameters, which PostgreSQL took 3 to 30 ms to plan; this takes 1.
    country = Country.__table__.c
    return dict(db.session.execute(sa.select(country.id, country.alpha3)).all())


@cache
def _total_signers_statement() -> sa.Select:
    """total_signers' statement, built once, the campaign a parameter: the campaign's kept row (its signers
    less the overlaps' sum) and what each of its tallies exceeds the signatures imported for its petition and
    country (their row of signature_total, reached by its key)."""
    kept, tally = SignatureCampaignTotal.__table__.c, SignatureTally.__table__.c
    total, petition = SignatureTotal.__table__.c, Petition.__table__.c
    campaign_id = sa.bindparam("campaign_id")
    imported = sa.func.coalesce(total.signers, 0)
    excess = (
        sa.select(sa.func.sum(sa.case((tally.signers > imported, tally.signers - imported), else_=0)))
        .select_from(
            SignatureTally.__table__.join(Petition.__table__, petition.id == tally.petition_id).outerjoin(
                SignatureTotal.__table__,
                sa.and_(total.petition_id == tally.petition_id, total.country_id == tally.country_id),
            )
        )
        .where(petition.campaign_id == campaign_id)
        .scalar_subquery()
    )
    counted = sa.select(kept.signers - kept.overlap).where(kept.campaign_id == campaign_id).scalar_subquery()
    return sa.select(sa.func.coalesce(counted, 0) + sa.func.coalesce(excess, 0))


def total_signers(campaign: Campaign) -> int:
    """The campaign's signers in total, as `totals_for` counts them (the lower end, N, where there is a
    range): a country's figure is the larger kind of its signers plus what its tallies exceed, so the total
    is every signer less the smaller kinds (the overlaps, summed) plus the tallies' excess. One row read,
    whatever the number of petitions, countries and days."""
    return int(_flushed_connection().execute(_total_signers_statement(), {"campaign_id": campaign.id}).scalar())


# A cell's first five columns, as _cells_statement gives them (_named_cells_statement adds the country's).
_CELL_COLUMNS = itemgetter(0, 1, 2, 3, 4)


def _figures(rows, totals: CampaignTotals, per_petition: dict[int, int]) -> dict:
    """Per country id (None where not known): (N, M), by `_bounds`' rule, of a
    campaign's cells (the rows of _cells_statement, or of _named_cells_statement); with each petition's
    signers added to `per_petition` and the tallies' part to `totals`. The rows summed as they are read,
    each country's kinds in two sums, not a _Cell per petition and country grouped in lists (a campaign
    signed from everywhere has some 250 of them): that cost a sixth of the totals page."""
    by_email: dict[int | None, int] = defaultdict(int)
    by_name: dict[int | None, int] = {}
    tallies = []
    for petition_id, country_id, number, named, tallied in map(_CELL_COLUMNS, rows):
        if tallied:
            tallies.append((petition_id, country_id, number))
            continue
        if country_id == UNKNOWN_COUNTRY:
            country_id = None
        number, named = int(number), int(named or 0)
        per_petition[petition_id] += number
        by_email[country_id] += number - named
        if named:
            by_name[country_id] = by_name.get(country_id, 0) + named
    excess: dict[int | None, int] = {}
    if tallies:
        # For its petition and country, a tally counts by what it exceeds the signatures imported there.
        imported = {
            (petition_id, None if country_id == UNKNOWN_COUNTRY else country_id): int(number)
            for petition_id, country_id, number, _named, tallied, *_country in rows
            if not tallied
        }
        for petition_id, country_id, number in tallies:
            more = max(0, number - imported.get((petition_id, country_id), 0))
            per_petition[petition_id] += more
            excess[country_id] = excess.get(country_id, 0) + more
        totals.from_tallies, totals.tallied = sum(excess.values()), True
    if not by_name and not excess:  # signers known by their address only, no tally: most campaigns
        return {country_id: (number, number) for country_id, number in by_email.items()}
    return {
        country_id: _bounds(by_email.get(country_id, 0), by_name.get(country_id, 0), excess.get(country_id, 0))
        for country_id in {**by_email, **excess}
    }


def totals_for(
    campaign: Campaign, country: Country | None = None, *, codes: dict[int, str] | None = None
) -> CampaignTotals:
    """Signers of a campaign: in total, residing in `country`, by country of residence (ISO alpha-3) and by
    petition, with the range where signers without an e-mail address meet the others. Two queries
    whatever the number of signatures, petitions or countries (one given every country's `codes` by id)."""
    rows = _flushed_connection().execute(_cells_statement(False), {"campaign_id": campaign.id}).all()
    return _totals(rows, country, codes)


def totals_and_names(campaign: Campaign, language: str) -> tuple[CampaignTotals, dict[str, str]]:
    """The campaign's totals (`totals_for`'s), and the name in `language` (Country.name's rule) of each
    country they count, by its code: one query for both."""
    statement = _named_cells_statement(str(language).startswith("es"))
    rows = _flushed_connection().execute(statement, {"campaign_id": campaign.id}).all()
    codes, names = {}, {}
    for _petition_id, country_id, _number, _named, _tallied, code, name in rows:
        if code is not None:
            codes[country_id], names[code] = code, name
    return _totals(rows, None, codes), names


def _totals(rows, country: Country | None, codes: dict[int, str] | None) -> CampaignTotals:
    totals = CampaignTotals()
    per_petition: dict[int, int] = defaultdict(int)
    figures = _figures(rows, totals, per_petition)
    if codes is None:
        codes = _alpha3(figures)
    for country_id, (low, high) in figures.items():
        totals.total += low
        totals.total_upper += high
        if country_id is None:
            totals.unknown_country = low
    # Largest first, then by code: sorted as plain tuples, without a key function called for each country.
    known = sorted((-low, codes[cid], high) for cid, (low, high) in figures.items() if cid is not None)
    totals.by_country = {code: -less for less, code, _high in known if less}
    totals.ranges = {code: (-less, high) for less, code, high in known if high > -less}
    totals.by_petition = dict(per_petition)
    if country is not None:
        low, high = figures.get(country.id, (0, 0))
        totals.resident, totals.resident_upper = low, high
    return totals


def petition_totals(petition: Petition) -> tuple[dict[str, int], int]:
    """One petition's signers by country of residence (alpha-3, largest first), and those whose country is
    not known: each cell counted as `totals_for` counts it, two queries."""
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


@cache
def _tally_excess_statement() -> sa.Select:
    # Built once, the campaign a parameter.
    tally, count, petition = SignatureTally.__table__.c, SignatureCount.__table__.c, Petition.__table__.c
    return (
        sa.select(tally.petition_id, tally.country_id, tally.as_of, tally.signers, count.day, count.signers)
        .join(Petition.__table__, petition.id == tally.petition_id)
        .outerjoin(
            SignatureCount.__table__,
            sa.and_(count.petition_id == tally.petition_id, count.country_id == tally.country_id),
        )
        .where(petition.campaign_id == sa.bindparam("campaign_id"))
    )


def _tally_excess_changes(campaign_id: int) -> dict[dt.date, int]:
    """What the tallies add to the total each day: from its "as of" day, a tally counts what it exceeds the
    signatures imported for its petition and country, which shrinks as they grow. One query, of the
    tallies and their cells' counts only (reached by the counts' key, not through the campaign's)."""
    cells: dict[tuple, list[tuple[dt.date, int]]] = defaultdict(list)
    for petition_id, country_id, as_of, signers, on, number in db.session.execute(
        _tally_excess_statement(), {"campaign_id": campaign_id}
    ).all():
        rows = cells[(petition_id, country_id, as_of, signers)]
        if on is not None:
            rows.append((on, number))
    changes: dict[dt.date, int] = defaultdict(int)
    for (_petition_id, _country_id, as_of, signers), rows in cells.items():
        imported = sum(number for on, number in rows if on <= as_of)
        excess = max(0, signers - imported)
        changes[as_of] += excess
        for on, number in sorted(rows):
            if on > as_of and excess:
                imported += number
                changes[on] += max(0, signers - imported) - excess
                excess = max(0, signers - imported)
    return changes


def _month_of(column, dialect: str):
    """The first day of a date column's month, in SQL."""
    if dialect == "sqlite":
        return sa.func.date(column, "start of month")
    return sa.cast(sa.func.date_trunc("month", column), sa.Date)


@cache
def _kept_changes_statement(dialect: str, by_month: bool, recent: bool = False) -> sa.Select:
    """The campaign's signers per day (or month), less the overlaps' growth, in one statement built once
    for each dialect and period, the campaign (and for the `recent` days only, the first of them, `since`)
    parameters."""
    day, overlap = SignatureDay.__table__.c, SignatureOverlap.__table__.c
    days = sa.select(day.day, day.signers).where(day.campaign_id == sa.bindparam("campaign_id"))
    overlaps = sa.select(overlap.day, -overlap.signers).where(overlap.campaign_id == sa.bindparam("campaign_id"))
    if recent:
        days = days.where(day.day >= sa.bindparam("since", type_=sa.Date))
        overlaps = overlaps.where(overlap.day >= sa.bindparam("since", type_=sa.Date))
    kept = sa.union_all(days, overlaps).subquery()
    on = _month_of(kept.c.day, dialect) if by_month else kept.c.day
    return sa.select(on, sa.func.sum(kept.c.signers)).group_by(on)


def _changes(
    campaign_id: int, by_month: bool, tallied: bool = True, since: dt.date | None = None
) -> dict[dt.date, int]:
    """What each day (or month, by its first day) adds to the campaign's total. A country's figure is the
    larger of its two kinds of signers (by address, by name and place): their sum less the smaller. So a
    day adds the campaign's signers that day (kept per day), less the growth of the smaller kinds (the
    overlaps, kept per country and day where there are both), plus the change in what tallies exceed.
    Two queries: the days' (or months') rows of both, and the tallies with their cells' counts (unless the
    caller knows the campaign has none: not `tallied`). From `since` on only, when given."""
    changes: dict[dt.date, int] = defaultdict(int)
    connection = _flushed_connection()  # plain rows, as totals_for reads them
    statement = _kept_changes_statement(connection.dialect.name, by_month, since is not None)
    params = {"campaign_id": campaign_id, "since": since}
    for first, signers in connection.execute(statement, params).all():
        changes[dt.date.fromisoformat(first) if isinstance(first, str) else first] += int(signers)
    for on, excess in _tally_excess_changes(campaign_id).items() if tallied else ():
        if since is None or on >= since:
            changes[on.replace(day=1) if by_month else on] += excess
    return changes


def daily_totals(campaign: Campaign) -> list[Day]:
    """The campaign's total (its lower end, N) at the end of each day something was added: signatures by
    the day they were signed (or imported, when the platform gave no date), tallies on their "as of" day,
    counted with the same rules as `totals_for` (see `_changes`)."""
    return _running(_changes(campaign.id, by_month=False), Day)


@dataclass
class Month:
    month: dt.date  # its first day
    added: int
    total: int


def monthly_totals(
    campaign: Campaign, totals: CampaignTotals | None = None, *, since: dt.date | None = None
) -> list[Month]:
    """`daily_totals` by month: what was added in each month something was, and the total at its end (years
    of signing read as a hundred lines, not thousands, and summed so by the database). Given the campaign's
    `totals`, read already, its tallies are not looked for when it has none.

    With `since` (a month's first day) and the campaign's `totals`, the months from `since` on only, read
    from their own days: each month's total at its end is counted back from the campaign's total, which is
    what every month added (this series and totals_for count alike, and the kept counts are checked to)."""
    changes = _changes(campaign.id, by_month=True, tallied=totals is None or totals.tallied, since=since)
    if since is None:
        return _running(changes, Month)
    if totals is None:
        raise ValueError("the months since a day are counted back from the campaign's totals")
    return _running(changes, Month, before=totals.total - sum(changes.values()))


# The totals page's series: the last two years, month by month; every month is a link away.
RECENT_MONTHS = 24


def recent_monthly_totals(campaign: Campaign, totals: CampaignTotals, today: dt.date) -> tuple[list[Month], bool]:
    """The months the totals page shows first: the last RECENT_MONTHS to `today`'s, and whether anything was
    added before them (then every month is a link away). A campaign that nobody signed in those months
    shows all its months, as before: its series is what there is to see."""
    back = today.year * 12 + today.month - RECENT_MONTHS
    months = monthly_totals(campaign, totals, since=dt.date(back // 12, back % 12 + 1, 1))
    if not months:
        return monthly_totals(campaign, totals), False
    return months, months[0].total != months[0].added


def _running(changes: dict, line, before: int = 0):
    """`line(when, added, total)` for each day or month of `changes`, oldest first, the total running from
    `before` (the total before the first)."""
    total, series = before, []
    for when in sorted(changes):
        total += changes[when]
        series.append(line(when, changes[when], total))
    return series


class PetitionRow(NamedTuple):
    """A petition as the list of a campaign's petitions shows it."""

    id: int
    slug: str
    name: str
    platform: str
    signers: int
    imports: int


@cache
def _petitions_statement() -> sa.Select:
    # Built once, the campaign a parameter; the petitions' columns and their imports' count, no records.
    petition, imports = Petition.__table__, SignatureImport.__table__
    count = sa.select(sa.func.count()).select_from(imports).where(imports.c.petition_id == petition.c.id)
    return (
        sa.select(petition.c.id, petition.c.slug, petition.c.name, petition.c.platform, count.scalar_subquery())
        .where(petition.c.campaign_id == sa.bindparam("campaign_id"))
        .order_by(petition.c.created_at, petition.c.id)
    )


def petition_rows(campaign: Campaign, totals: CampaignTotals | None = None) -> list[PetitionRow]:
    """Each petition, oldest first (as petitions_of), with its signers and its imports' count, in one query
    whatever their number (and the campaign's `totals`, read unless given)."""
    totals = totals or totals_for(campaign)
    found = db.session.connection().execute(_petitions_statement(), {"campaign_id": campaign.id}).all()
    return [
        PetitionRow(petition_id, slug, name, platform, totals.by_petition.get(petition_id, 0), imports)
        for petition_id, slug, name, platform, imports in found
    ]


@dataclass(frozen=True)
class CountryName:
    """A country's code and names: all that a table of signers by country shows of it."""

    alpha3: str
    name_en: str
    name_es: str

    name = Country.name  # the name in a language, by Country's own rule


def country_names(alpha3_codes) -> dict[str, CountryName]:
    """The names of the countries of these alpha-3 codes: three short columns, no records loaded."""
    codes = set(alpha3_codes)
    if not codes:
        return {}
    statement = sa.select(Country.alpha3, Country.name_en, Country.name_es)
    if len(codes) <= 20:
        statement = statement.where(Country.alpha3.in_(codes))
    # Else every country (some 250 short rows) rather than an IN list as long, slow to plan (see _alpha3).
    return {row.alpha3: CountryName(*row) for row in db.session.execute(statement) if row.alpha3 in codes}
