"""The managers' dashboard, computed: governments by stage, each government's response (for the map and
the matrix), responses over time, signature totals, overdue follow-ups and recent changes. Plain
functions; every figure takes a fixed number of queries, however many outreach records a campaign has."""

from __future__ import annotations

import datetime as dt
from collections import Counter, namedtuple
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from markupsafe import Markup

from crm import clock
from crm.accounts.models import User
from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, Demand, DemandTranslation
from crm.countries.models import RS_STATUSES, Country
from crm.countries.services import list_filter_choices
from crm.countries.standing import standing
from crm.dashboard.maps import CountryShape, world_map
from crm.database import fold
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import STAGES, FollowUp, OutreachRecord, Position, meeting_outreach
from crm.permissions import can, outreach_visibility, visibility_scope
from crm.signatures.totals import petition_rows, totals_for
from crm.web import Page, page_offset

# Who sees the dashboard. Coordinators are left out on purpose: "recent changes" is read from the audit
# log, which only admins and managers may view (the `view_audit` ability).
RESPONSES = ("no_answer", "responded", "supportive", "acted")
NOT_TARGET = "not_target"
MAP_CLASSES = (NOT_TARGET, *RESPONSES)
# A stance that answers the demand without supporting it.
STATED_NOT_SUPPORTIVE = {"opposed", "non_committal"}
ANSWERED_STAGES = {"responded", "committed"}
OUTREACH_ENTITY_TYPES = ("outreach_record", "position", "meeting", "letter", "follow_up")
# The dashboard shows a few of each long list, each with a link to the whole list, paged: every section
# of the page fits about one screen, on a phone too.
RECENT_CHANGES = 5
MATRIX_PREVIEW = 6
CHANGES_PAGE = 25
POSITIONS_PAGE = 25
# Responses over time: the last two years first, as the signature totals page does; every month is a link
# away. Eight years of months were a third of the page (some hundred bars and rows), and unreadable on a phone.
RECENT_MONTHS = 24


def may_view_dashboard(user) -> bool:
    return can(user, "view_dashboard")


def may_export(user) -> bool:
    return may_view_dashboard(user) and can(user, "export")


def response_of(stage: str | None, stances) -> str:
    """A government's response to the campaign, from its current positions on all the demands:

    - acted: it acted on at least one demand;
    - supportive: otherwise, it supports at least one demand;
    - responded: otherwise, it stated a position (opposed or non-committal) on some demand, or its
      record stands at the "responded" or "committed" stage;
    - no answer: nothing of the above (no position, or only "unknown").
    """
    stances = set(stances)
    if "acted" in stances:
        return "acted"
    if "supportive" in stances:
        return "supportive"
    if stances & STATED_NOT_SUPPORTIVE or stage in ANSWERED_STAGES:
        return "responded"
    return "no_answer"


# The columns of a country that the dashboard's pages and exports read: its codes, names and regions, and
# what its Rome Statute standing is found from (crm.countries.standing). Not the sources and notes of the
# facts, some 55 KB for the 250 countries, which no dashboard shows.
COUNTRY_COLUMNS = (
    "id",
    "alpha3",
    "numeric_code",
    "name_en",
    "name_es",
    "region_code",
    "sub_region_code",
    "intermediate_region_code",
    "rs_status",
    "rs_withdrawal_effective_date",
)


class CountryFacts(namedtuple("CountryFacts", COUNTRY_COLUMNS)):
    """A country as the dashboard reads it: COUNTRY_COLUMNS, and its name in a language by the model's rule.
    Every dashboard page reads the 250 countries and changes none; as records they cost three times as
    much to build, and again to let go when the request ends."""

    __slots__ = ()
    name = Country.name

    def __repr__(self) -> str:
        return f"<CountryFacts {self.alpha3}>"


class DemandWording(NamedTuple):
    language: str
    title: str
    description: str | None


class DemandFacts(NamedTuple):
    """A demand as the dashboard's pages and exports read it: its columns shown, its wording in other
    languages, and its title in a language by the model's rule (Demand.text). Read as rows of one
    statement: loading the demands as records with their translations cost the ORM more than the query."""

    id: int
    ordinal: int
    code: str
    title: str
    description: str | None
    translations: tuple[DemandWording, ...]
    text = Demand.text


@cache
def _demands_statement() -> sa.Select:
    demand, wording = Demand.__table__.c, DemandTranslation.__table__.c
    return (
        sa.select(
            demand.id,
            demand.ordinal,
            demand.code,
            demand.title,
            demand.description,
            wording.language,
            wording.title,
            wording.description,
        )
        .outerjoin(DemandTranslation.__table__, wording.demand_id == demand.id)
        .where(demand.campaign_id == sa.bindparam("campaign_id", type_=sa.Integer))
        .order_by(demand.ordinal)
    )


def demand_facts(campaign_id: int) -> list[DemandFacts]:
    """The campaign's demands in order (the retired ones too, as demands_of), with their wording in every
    language: one query of plain rows."""
    found: dict[int, tuple] = {}
    wordings: dict[int, list[DemandWording]] = {}
    for demand_id, ordinal, code, title, description, language, *wording in (
        db.session.connection().execute(_demands_statement(), {"campaign_id": campaign_id}).all()
    ):
        if demand_id not in found:
            found[demand_id], wordings[demand_id] = (demand_id, ordinal, code, title, description), []
        if language is not None:
            wordings[demand_id].append(DemandWording(language, *wording))
    return [DemandFacts(*columns, tuple(wordings[demand_id])) for demand_id, columns in found.items()]


@dataclass
class Government:
    """One target government in a campaign: its outreach record, current positions and response."""

    record: sa.Row  # the outreach record's columns (id, country_id, stage, assignee_id, ...): campaign_figures
    country: CountryFacts
    positions: dict  # demand id -> the current position (a row, as in CampaignFigures.history)
    stances: dict  # demand id -> the current position's stance
    response: str


@dataclass
class CampaignFigures:
    campaign: Campaign
    demands: list[DemandFacts]
    governments: list[Government]  # sorted by country name in the reader's language
    history: list  # every position of these governments, oldest first (rows: id, outreach_id, demand_id,
    # stance, stated_on, and unless left out evidence, evidence_url)

    def by_record(self) -> dict[int, Government]:
        return {government.record.id: government for government in self.governments}


# The figures' statements are built once per process, the campaign a parameter: built on every page, they
# cost about as much as they take to run. Visibility narrows the records' statement as before.
@cache
def _records_statement(with_people: bool) -> sa.Select:
    outreach = OutreachRecord.__table__.c
    statement = sa.select(outreach.id, outreach.country_id, outreach.stage, outreach.assignee_id)
    if with_people:
        assignee, coordinator = User.__table__.alias("assignee"), User.__table__.alias("coordinator")
        statement = (
            statement.add_columns(
                outreach.priority,
                outreach.next_follow_up_on,
                outreach.created_at,
                outreach.updated_at,
                assignee.c.name.label("assignee_name"),
                coordinator.c.name.label("coordinator_name"),
            )
            .outerjoin(assignee, assignee.c.id == outreach.assignee_id)
            .outerjoin(coordinator, coordinator.c.id == outreach.coordinator_id)
        )
    return statement.where(outreach.campaign_id == sa.bindparam("campaign_id", type_=sa.Integer))


@cache
def _positions_statement(with_evidence: bool) -> sa.Select:
    position = Position.__table__.c
    columns = [position.id, position.outreach_id, position.demand_id, position.stance, position.stated_on]
    if with_evidence:
        columns += [position.evidence, position.evidence_url]
    return (
        sa.select(*columns)
        .where(position.campaign_id == sa.bindparam("campaign_id", type_=sa.Integer))
        .order_by(position.stated_on, position.id)
    )


@cache
def _countries_statement(of_campaign: bool) -> sa.Select:
    """Every country's columns, or (`of_campaign`) those of the countries with a record in the campaign
    `campaign_id`, a parameter."""
    statement = sa.select(*(Country.__table__.c[name] for name in COUNTRY_COLUMNS))
    if of_campaign:
        outreach = OutreachRecord.__table__.c
        targets = sa.select(outreach.country_id).where(
            outreach.campaign_id == sa.bindparam("campaign_id", type_=sa.Integer)
        )
        statement = statement.where(Country.__table__.c.id.in_(targets))
    return statement


def campaign_figures(
    campaign: Campaign,
    viewer,
    language: str = "en",
    *,
    with_people: bool = False,
    with_evidence: bool = True,
    countries: dict | None = None,
) -> CampaignFigures:
    """The campaign's governments with their current positions, in four queries (three given every
    country already read, `all_countries`).

    Records and positions are read as rows of the table columns shown, not as records to change: a
    campaign's pages and exports only read them, and records, or columns named through the model, cost
    several times more to read. A record's row has its id, country_id, stage and assignee_id, and
    `with_people` what the outreach export adds (priority, next_follow_up_on, created_at, updated_at and
    the names of its assignee and coordinator, assignee_name and coordinator_name); a position's has
    its id, outreach_id, demand_id, stance and stated_on, and unless `with_evidence` is false (the
    dashboard shows none) its evidence and evidence_url."""
    demands, governments, history, _countries = _read_figures(
        campaign.id,
        lambda statement: outreach_visibility(viewer, statement),
        language,
        with_people=with_people,
        with_evidence=with_evidence,
        countries=countries,
    )
    return CampaignFigures(campaign=campaign, demands=demands, governments=governments, history=history)


def _read_figures(campaign_id: int, visible, language: str, *, with_people: bool, with_evidence: bool, countries):
    """campaign_figures' demands, governments and positions, and the countries: `visible` narrows the
    records' statement to what the reader may see."""
    params = {"campaign_id": campaign_id}
    # Through the session's connection: plain rows, without the ORM's pass over each.
    connection = db.session.connection()
    records = connection.execute(visible(_records_statement(with_people)), params).all()
    if countries is None:
        countries = {
            row.id: row for row in map(CountryFacts._make, connection.execute(_countries_statement(True), params).all())
        }
    demands = demand_facts(campaign_id)
    visible_ids = {record[0] for record in records}
    # Rows fetched at once and read by place, each record's current positions gathered in plain dicts, then
    # their stances from those: a campaign has some thousand positions, and a pass that unpacked each row and
    # kept both in nested defaultdicts cost four times as much (0.7 -> 0.17 ms).
    history = [
        row for row in connection.execute(_positions_statement(with_evidence), params).all() if row[1] in visible_ids
    ]
    current: dict[int, dict[int, sa.Row]] = {}
    for row in history:  # oldest first: the last of each (record, demand) is its current position
        held = current.get(row[1])
        if held is None:
            held = current[row[1]] = {}
        held[row[2]] = row
    governments = []
    for record in records:
        positions = current.get(record[0]) or {}
        stances = {demand_id: position[3] for demand_id, position in positions.items()}
        governments.append(
            Government(
                record=record,
                country=countries[record[1]],
                positions=positions,
                stances=stances,
                response=response_of(record[2], stances.values()),
            )
        )
    governments.sort(key=lambda g: fold(g.country.name(language)))
    return list(demands), governments, history, countries


def stage_counts(figures: CampaignFigures | KeptFigures) -> list[tuple[str, int]]:
    """Governments by stage, every stage listed (zero included), in the campaign's order of stages."""
    counts = Counter(government.record.stage for government in figures.governments)
    return [(stage, counts.get(stage, 0)) for stage in STAGES]


def response_counts(figures: CampaignFigures | KeptFigures) -> dict[str, int]:
    counts = Counter(government.response for government in figures.governments)
    return {response: counts.get(response, 0) for response in RESPONSES}


# The map -------------------------------------------------------------------------------------------


@dataclass
class MapEntry:
    shape: CountryShape
    country: CountryFacts | None
    government: Government | None
    css_class: str  # one of MAP_CLASSES
    withdrawing: object = None  # the country's Standing, when a withdrawal from the Rome Statute is pending


@dataclass
class WorldFigures:
    entries: list[MapEntry]
    counts: dict[str, int]  # shapes per class
    off_map: set[int] = field(default_factory=set)  # record ids of targets too small for the map's scale
    withdrawing: int = 0  # shapes of states whose withdrawal from the Rome Statute is pending
    width: float = 0
    height: float = 0


def all_countries() -> dict[int, CountryFacts]:
    # Fetched at once: a row at a time cost psycopg and SQLAlchemy a third more for the 250.
    rows = db.session.connection().execute(_countries_statement(False)).all()
    return {country.id: country for country in map(CountryFacts._make, rows)}


def world_figures(
    figures: CampaignFigures, countries: dict[int, CountryFacts], day: dt.date | None = None
) -> WorldFigures:
    """Each country shape with the response of its government, keyed by ISO 3166-1 numeric code
    (or alpha-3 where ISO gives none), and a withdrawal from the Rome Statute pending on `day` (the reader's
    today). Countries with no outreach record are "not a target"."""
    day = day or clock.today()
    world = world_map()
    by_numeric = {c.numeric_code: c for c in countries.values() if c.numeric_code}
    by_alpha3 = {c.alpha3: c for c in countries.values()}
    by_country = {government.country.id: government for government in figures.governments}
    entries = []
    drawn: set[int] = set()
    for shape in world.shapes:
        country = by_numeric.get(shape.numeric_code) if shape.numeric_code else by_alpha3.get(shape.alpha3)
        government = by_country.get(country.id) if country is not None else None
        if country is not None:
            drawn.add(country.id)
        # Only a state with a withdrawal's effective date can have one pending (crm.countries.standing):
        # the others' standing is not asked for, some 250 a page.
        held = standing(country, day) if country is not None and country.rs_withdrawal_effective_date else None
        entries.append(
            MapEntry(
                shape=shape,
                country=country,
                government=government,
                css_class=government.response if government else NOT_TARGET,
                withdrawing=held if held is not None and held.withdrawing else None,
            )
        )
    counts = Counter(entry.css_class for entry in entries)
    off_map = {g.record.id for g in figures.governments if g.country.id not in drawn}
    return WorldFigures(
        entries=entries,
        counts={c: counts.get(c, 0) for c in MAP_CLASSES},
        off_map=off_map,
        withdrawing=sum(1 for entry in entries if entry.withdrawing),
        width=world.width,
        height=world.height,
    )


class GovernmentRow(NamedTuple):
    """A government as a row of the map's data table: plain values, in the reader's language."""

    record_id: int
    alpha3: str
    name: str
    off_map: bool  # too small to draw at the map's scale
    response: str
    stances: tuple  # its current stance on each demand, in the demands' order; None where it has none


def government_rows(figures: CampaignFigures, world: WorldFigures, language: str = "en") -> list[GovernmentRow]:
    """The campaign's governments as the rows of the map's data table, in the figures' order. A page
    repeats each value of a long table once per row: read here once, they are what the template writes."""
    demands = [demand.id for demand in figures.demands]
    off_map = world.off_map
    rows = []
    for government in figures.governments:
        record_id, country = government.record[0], government.country
        rows.append(
            GovernmentRow(
                record_id,
                country.alpha3,
                country.name(language),
                record_id in off_map,
                government.response,
                tuple(map(government.stances.get, demands)),
            )
        )
    return rows


# The matrix ----------------------------------------------------------------------------------------


def filter_choices(language: str = "en") -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The dashboard's filters' choices: the UN M49 areas (region, sub-region, intermediate region) as
    (code, name in `language`), and the active staff, for "assigned to", as (id as text, name): those of
    the countries list's filters (one statement, built once in each language)."""
    regions, _campaigns, staff, _names = list_filter_choices(language)
    return regions, staff


def matrix(
    figures: CampaignFigures,
    *,
    status: str | None = None,
    region: str | None = None,
    response: str | None = None,
    stage: str | None = None,
    assignee: str | None = None,
    day: dt.date | None = None,
) -> list[Government]:
    """The governments of the countries x demands matrix, narrowed to a Rome Statute status (as it holds
    on `day`), a UN M49
    area (region, sub-region or intermediate region), a response, a stage and who is assigned (a user's
    id, or "none" for records nobody works on)."""
    rows = figures.governments
    if status in RS_STATUSES:
        day = day or clock.today()
        rows = [g for g in rows if standing(g.country, day).status == status]
    if region:
        rows = [
            g
            for g in rows
            if region in (g.country.region_code, g.country.sub_region_code, g.country.intermediate_region_code)
        ]
    if response in RESPONSES:
        rows = [g for g in rows if g.response == response]
    if stage:
        rows = [g for g in rows if g.record.stage == stage]
    if assignee == "none":
        rows = [g for g in rows if g.record.assignee_id is None]
    elif assignee:
        rows = [g for g in rows if str(g.record.assignee_id) == assignee]
    return rows


# Responses over time -------------------------------------------------------------------------------


def _month_end(month: dt.date) -> dt.date:
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


# What each stance counts for in a government's response (response_of's rule, stages left aside): acted,
# supportive, or a stated position that supports nothing. "unknown" counts for none.
_STANCE_KIND = {"acted": 0, "supportive": 1, **dict.fromkeys(STATED_NOT_SUPPORTIVE, 2)}


def monthly_responses(figures: CampaignFigures) -> tuple[tuple[dt.date, tuple[int, ...]], ...]:
    """Governments per response at the end of each month, each month's counts in RESPONSES' order, from the
    campaign's start (or its first position) to the month of the latest position. Only positions count
    here: stages keep no history on the record, so a government is "responded" over time from the month it
    stated a position.

    One pass over the positions, oldest first: each moves one government's stances, and so at most one
    government from one response to another, whatever the number of months and governments. A
    government's stances are kept as how many of its demands it holds of each kind (_STANCE_KIND).

    The dashboard keeps the series with the rest of a campaign's figures (kept_figures)."""
    history = figures.history  # read oldest first (stated_on, id)
    if not history:
        return ()
    return _responses_by_month(
        history, {government.record[0] for government in figures.governments}, figures.campaign.starts_on
    )


def _responses_by_month(history: list, governments: set[int], starts_on: dt.date | None) -> tuple:
    month = history[0][4].replace(day=1)  # each row: id, outreach_id, demand_id, stance, stated_on, ...
    if starts_on:
        month = min(month, starts_on.replace(day=1))
    counts = dict.fromkeys(RESPONSES, 0)
    counts["no_answer"] = len(governments)  # response_of("", ()) for every government
    latest: dict[tuple[int, int], str] = {}
    held: dict[int, list[int]] = {}  # record id -> how many demands it holds of each kind of stance
    responses: dict[int, str] = {}  # record id -> its response so far, where it is not "no_answer"
    kinds = _STANCE_KIND
    series = []
    end = _month_end(month)
    for _id, outreach_id, demand_id, stance, stated_on, *_ in history:
        while stated_on > end:
            series.append((month, tuple(counts.values())))
            month = end + dt.timedelta(days=1)
            end = _month_end(month)
        if outreach_id not in governments:
            continue
        key = (outreach_id, demand_id)
        previous = latest.get(key)
        if previous == stance:
            continue
        latest[key] = stance
        tally = held.get(outreach_id)
        if tally is None:
            tally = held[outreach_id] = [0, 0, 0]
        if (kind := kinds.get(previous)) is not None:
            tally[kind] -= 1
        if (kind := kinds.get(stance)) is not None:
            tally[kind] += 1
        before = responses.get(outreach_id, "no_answer")
        acted, supportive, stated = tally
        after = "acted" if acted else "supportive" if supportive else "responded" if stated else "no_answer"
        if after != before:
            responses[outreach_id] = after
            counts[before] -= 1
            counts[after] += 1
    series.append((month, tuple(counts.values())))  # the month of the latest position
    return tuple(series)


# Signatures ----------------------------------------------------------------------------------------


@dataclass
class SignatureSummary:
    total: int
    petitions: list[tuple[object, int]]  # (petition, signers): the petition a row (totals.PetitionRow)
    countries: list[tuple[CountryFacts, int]]  # country of residence, largest first
    unknown_country: int
    from_tallies: int


def signature_totals(campaign: Campaign, countries: dict[int, CountryFacts] | None = None) -> SignatureSummary:
    """The campaign's signers in total, per petition and per country of residence, counted by the
    signature service (the one place that counts: individual signatures de-duplicated per campaign; for a
    petition and country with a platform's tally, the larger of the tally and the signatures imported)."""
    countries = countries or all_countries()
    totals = totals_for(campaign, codes={country_id: country.alpha3 for country_id, country in countries.items()})
    by_alpha3 = {country.alpha3: country for country in countries.values()}
    return SignatureSummary(
        total=totals.total,
        petitions=[(petition, petition.signers) for petition in petition_rows(campaign, totals)],
        countries=[(by_alpha3[code], count) for code, count in totals.by_country.items() if code in by_alpha3],
        unknown_country=totals.unknown_country,
        from_tallies=totals.from_tallies,
    )


# Overdue follow-ups --------------------------------------------------------------------------------

# Follow-ups listed per owner on the dashboard (the most overdue), for the owners with the most overdue;
# the counts are of all of them, and the follow-ups page lists everyone's.
OVERDUE_LISTED = 10
OVERDUE_OWNERS = 10


class OverdueOwner(NamedTuple):
    id: int
    name: str
    email: str


@dataclass
class OwnerOverdue:
    owner: OverdueOwner
    follow_ups: list  # the most overdue, at most OVERDUE_LISTED (rows: id, outreach_id, note, due, country)
    count: int = 0  # all of this owner's overdue follow-ups
    oldest: dt.date | None = None


@dataclass
class Overdue:
    owners: list[OwnerOverdue]  # the owners with the most overdue, at most OVERDUE_OWNERS
    total: int  # overdue follow-ups of everyone
    more_owners: int  # owners with overdue follow-ups not listed

    def __iter__(self):
        return iter(self.owners)

    def __len__(self) -> int:
        return len(self.owners)

    def __getitem__(self, index):
        return self.owners[index]


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _overdue():
    """Conditions of the follow-ups overdue on a campaign's records: `campaign_id` and `today` are
    parameters of each execution. The follow-ups are one range of their campaign's index; the records are
    named by their campaign too, so that only the campaign's are read to be joined (not every campaign's)."""
    campaign_id = sa.bindparam("campaign_id", type_=sa.Integer)
    return (
        FollowUp.campaign_id == campaign_id,
        OutreachRecord.campaign_id == campaign_id,
        FollowUp.still_to_do,
        FollowUp.due < sa.bindparam("today", type_=sa.Date),
    )


@lru_cache(maxsize=2)
def _overdue_statement(spanish: bool):
    """The overdue follow-ups, at most OVERDUE_LISTED of each owner (the most overdue first), of the owners
    placed within the first `owners` (a parameter) by count then oldest day; each row with its owner's
    name, address, count and oldest day, and everyone's total and number of owners. One statement, built
    once per process in each language (the country's name). Owners tied on count and day share a place,
    so all that might be among the first are read; overdue_by_owner places them by name."""
    due = FollowUp.due
    name = Country.name_es if spanish else Country.name_en
    overdue = (
        sa.select(
            FollowUp.id,
            FollowUp.owner_id,
            FollowUp.outreach_id,
            FollowUp.note,
            due.label("due"),
            Country.alpha3,
            name.label("country"),
            sa.func.row_number().over(partition_by=FollowUp.owner_id, order_by=(due, FollowUp.id)).label("rank"),
        )
        .join(OutreachRecord, FollowUp.outreach_id == OutreachRecord.id)
        .join(Country, Country.id == OutreachRecord.country_id)
        .where(*_overdue())
        .cte("overdue")
    )
    count, oldest = sa.func.count(), sa.func.min(overdue.c.due)
    owners = (
        sa.select(
            overdue.c.owner_id,
            count.label("owner_count"),
            oldest.label("oldest"),
            sa.func.rank().over(order_by=(count.desc(), oldest)).label("place"),
            sa.cast(sa.func.sum(count).over(), sa.Integer).label("total"),  # PostgreSQL's sum of counts: numeric
            sa.func.count().over().label("owners"),
        )
        .group_by(overdue.c.owner_id)
        .subquery("owners")
    )
    user = User.__table__.c
    return (
        sa.select(
            overdue,
            owners.c.owner_count,
            owners.c.oldest,
            owners.c.total,
            owners.c.owners,
            user.name.label("owner_name"),
            user.email.label("owner_email"),
        )
        .join(owners, owners.c.owner_id == overdue.c.owner_id)
        .join(User.__table__, user.id == overdue.c.owner_id)
        .where(overdue.c.rank <= OVERDUE_LISTED, owners.c.place <= sa.bindparam("owners", type_=sa.Integer))
        .order_by(overdue.c.due, overdue.c.id)
    )


def overdue_by_owner(campaign: Campaign, today: dt.date, language: str = "en", *, owners: int | None = None) -> Overdue:
    """Open follow-ups due before today, and snoozed ones whose snooze ended before today, grouped by
    owner: the `owners` with the most overdue first (then the oldest, then by name), each with their most
    overdue listed; counted and dated in SQL for everyone. One query, reading the columns shown (a
    follow-up's row: id, outreach_id, note, due, alpha3, country)."""
    owners = owners or OVERDUE_OWNERS
    params = {"campaign_id": campaign.id, "today": today, "owners": owners}
    statement = _overdue_statement(str(language).startswith("es"))
    rows = db.session.connection().execute(statement, params).all()  # plain rows, without the ORM's pass
    if not rows:
        return Overdue([], 0, 0)
    placed: dict[int, OwnerOverdue] = {}
    for row in rows:
        found = placed.get(row.owner_id)
        if found is None:
            owner = OverdueOwner(row.owner_id, row.owner_name, row.owner_email)
            found = placed[row.owner_id] = OwnerOverdue(owner, [], row.owner_count, _day(row.oldest))
        found.follow_ups.append(row)
    # Folded in Python, for the few owners read: folding every owner's name in SQL cost more than the query.
    ranked = sorted(placed.values(), key=lambda o: (-o.count, o.oldest, fold(o.owner.name)))[:owners]
    return Overdue(ranked, rows[0].total, max(0, rows[0].owners - owners))


# Recent changes ------------------------------------------------------------------------------------


class ChangeEvent(NamedTuple):
    """The audit event of a change, as the lists show it: when, what, its values after, and who (as the
    log labelled them)."""

    id: int
    occurred_at: dt.datetime
    action: str
    after: dict | None
    actor_label: str | None


@dataclass
class Change:
    event: ChangeEvent
    actor_name: str | None
    outreach_id: int


def _outreach_of_event(campaign_id):
    """The outreach record an event's entity (record, position, follow-up, letter, meeting) sits on in
    the campaign `campaign_id` (a parameter), as a correlated subquery; NULL when the entity is gone. A
    joint meeting counts under its first record in the campaign."""
    entity_id = sa.cast(AuditEvent.entity_id, sa.Integer)
    in_campaign = OutreachRecord.campaign_id == campaign_id

    def on(select):
        return select.scalar_subquery()

    return sa.case(
        (
            AuditEvent.entity_type == "outreach_record",
            on(sa.select(OutreachRecord.id).where(OutreachRecord.id == entity_id, in_campaign)),
        ),
        (
            AuditEvent.entity_type == "position",
            on(sa.select(Position.outreach_id).where(Position.id == entity_id, Position.campaign_id == campaign_id)),
        ),
        (
            AuditEvent.entity_type == "follow_up",
            on(
                sa.select(FollowUp.outreach_id)
                .join(OutreachRecord, FollowUp.outreach_id == OutreachRecord.id)
                .where(FollowUp.id == entity_id, in_campaign)
            ),
        ),
        (
            AuditEvent.entity_type == "letter",
            on(
                sa.select(Letter.outreach_id)
                .join(OutreachRecord, Letter.outreach_id == OutreachRecord.id)
                .where(Letter.id == entity_id, in_campaign)
            ),
        ),
        (
            AuditEvent.entity_type == "meeting",
            on(
                sa.select(sa.func.min(meeting_outreach.c.outreach_id))
                .join(OutreachRecord, meeting_outreach.c.outreach_id == OutreachRecord.id)
                .where(meeting_outreach.c.meeting_id == entity_id, in_campaign)
            ),
        ),
    )


def _changes_where(campaign_id, outreach_id):
    """Events of this campaign (they carry it, indexed with the time) on its outreach rows that still exist."""
    return (
        AuditEvent.campaign_id == campaign_id,
        AuditEvent.entity_type.in_(OUTREACH_ENTITY_TYPES),
        outreach_id.is_not(None),
    )


@lru_cache(maxsize=1)
def _changes_statement():
    """The recent changes' query, built once per process: its five subqueries took as long to build on
    every page as the query takes to run. The campaign, the limit and the offset are parameters of each
    execution (the limit and offset written in, as `written` does)."""
    campaign_id = sa.bindparam("campaign_id", type_=sa.Integer)
    outreach_id = _outreach_of_event(campaign_id)
    return (
        sa.select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.action,
            AuditEvent.after,
            AuditEvent.actor_label,
            User.name,
            outreach_id,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*_changes_where(campaign_id, outreach_id))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer, literal_execute=True))
        .offset(sa.bindparam("offset", type_=sa.Integer, literal_execute=True))
    )


def recent_changes(campaign: Campaign, limit: int = RECENT_CHANGES, offset: int = 0) -> list[Change]:
    """The latest audit events on this campaign's records, positions, meetings, letters and
    follow-ups that still exist, newest first, with who made them (one query, reading this campaign's
    latest events only)."""
    # The columns shown, as plain rows through the session's connection: loading each event as a record
    # cost more than the query.
    rows = db.session.connection().execute(
        _changes_statement(), {"campaign_id": campaign.id, "limit": int(limit), "offset": int(offset)}
    )
    return [
        Change(event=ChangeEvent(*event), actor_name=name, outreach_id=outreach_id)
        for *event, name, outreach_id in rows
    ]


def changes_page(campaign: Campaign, page: int, per_page: int = CHANGES_PAGE) -> Page:
    """One page of the campaign's changes, newest first, read as the lists are (per_page + 1 rows: no
    count of a campaign's whole history)."""
    changes = recent_changes(campaign, per_page + 1, page_offset(page, per_page))
    return Page(changes[:per_page], page, per_page, len(changes) > per_page)


# Kept figures --------------------------------------------------------------------------------------

# The figures of the campaigns last looked at, kept in each process (each worker) under the campaign's
# figures_version (crm.campaigns.models), which the database renews whenever a row they are made from
# changes: a dashboard reads one number instead of the countries, records, demands and positions, and
# makes nothing again, until something changes. The figures are the campaign's public standing (each
# government's stage, responses and positions, who is assigned by id). Kept with them, each under its own
# number (KeptFigures.keep): the signature totals (counts, the petitions' names) and the overdue follow-ups,
# which do hold the follow-ups' notes and their owners' names and addresses, as the dashboard shows them
# to any manager; both go with the figures, or when their number changes.
KEPT_CAMPAIGNS = 32
# Parts of the dashboard drawn from one campaign's kept figures (KeptFigures.piece): one for each day, set of
# filters and such, the last ones asked for.
KEPT_PIECES = 8


@dataclass
class KeptFigures:
    """A campaign's figures for managers (who see every record), in one language, what is made from them
    once asked for, and what else their dashboard keeps with them (`keep`)."""

    language: str
    countries: dict[int, CountryFacts]
    demands: list[DemandFacts]
    governments: list[Government]  # sorted by country name in the language
    history: list  # positions, oldest first, without evidence
    series: dict = field(default_factory=dict)  # the campaign's start -> monthly_responses
    pieces: dict = field(default_factory=dict)  # key -> a part of a page drawn from these figures alone
    made: dict = field(default_factory=dict)  # what is kept with them, by name: (its key, the value) (`keep`)

    def figures(self, campaign: Campaign) -> CampaignFigures:
        return CampaignFigures(
            campaign=campaign, demands=self.demands, governments=self.governments, history=self.history
        )

    @cached_property
    def stages(self) -> list[tuple[str, int]]:
        return stage_counts(self)

    @cached_property
    def responses(self) -> dict[str, int]:
        return response_counts(self)

    @cached_property
    def by_record(self) -> dict[int, Government]:
        return {government.record.id: government for government in self.governments}

    @cached_property
    def stances(self) -> dict[int, dict[int, str]]:
        """Record id -> demand id -> its current stance."""
        return {government.record[0]: government.stances for government in self.governments}

    def monthly(self, campaign: Campaign) -> tuple:
        series = self.series.get(campaign.starts_on)
        if series is None:
            series = self.series[campaign.starts_on] = monthly_responses(self.figures(campaign))
        return series

    def world(self, campaign: Campaign, day: dt.date) -> tuple[WorldFigures, list[GovernmentRow]]:
        """The map's figures on `day` (a withdrawal from the Rome Statute may take effect any day) and the
        rows of its table."""
        return self.keep("world", day, lambda: self._world(campaign, day))

    def _world(self, campaign: Campaign, day: dt.date) -> tuple[WorldFigures, list[GovernmentRow]]:
        figures = self.figures(campaign)
        world = world_figures(figures, self.countries, day)
        return world, government_rows(figures, world, self.language)

    def keep(self, name: str, key, make):
        """What `make()` gives, kept under `name` while `key` (the day, a campaign's other numbers) stays the
        same: made again when it changes, and each time without one (None)."""
        if key is None:
            return make()
        found = self.made.get(name)
        if found is None or found[0] != key:
            found = self.made[name] = (key, make())
        return found[1]

    def piece(self, key: tuple, make) -> Markup:
        """A part of a page drawn from these figures and from `key` alone, made (`make()`) the first time it
        is asked for. `key` holds everything else the part shows: the day, the filters, the campaign's name
        and address. The first of KEPT_PIECES goes when one more is made."""
        found = self.pieces.get(key)
        if found is None:
            if len(self.pieces) >= KEPT_PIECES:
                del self.pieces[next(iter(self.pieces))]
            found = self.pieces[key] = Markup(make())
        return found


class Versions(NamedTuple):
    """A campaign's figures_version, signatures_version and follow_ups_version (crm.campaigns.models)."""

    figures: int
    signatures: int
    follow_ups: int


@cache
def _versions_statement(dialect: str) -> sa.Select:
    campaign_id = sa.bindparam("campaign_id", type_=sa.Integer)
    if dialect == "postgresql":
        # Renewed first for this transaction's own changes, if it has made any (crm.campaigns.models): the
        # campaign's triggers fire at the commit there, and what is made from rows not yet committed must
        # not be kept under a number everyone else still reads.
        versions = sa.func.campaign_versions(campaign_id).table_valued(
            *(sa.column(name, sa.BigInteger) for name in Versions._fields), name="versions"
        )
        return sa.select(*versions.c)
    # SQLite's triggers renew them at each write.
    table = Campaign.__table__
    return sa.select(*(table.c[f"{name}_version"] for name in Versions._fields)).where(table.c.id == campaign_id)


def campaign_versions(campaign: Campaign) -> Versions:
    """The campaign's numbers as they stand now, read afresh (the session may hold its record from before a
    change): one query."""
    connection = db.session.connection()
    return Versions(
        *connection.execute(_versions_statement(connection.dialect.name), {"campaign_id": campaign.id}).one()
    )


def kept_figures(campaign: Campaign, viewer, language: str = "en", versions: Versions | None = None) -> KeptFigures:
    """The campaign's figures as `viewer` may see them: kept for those who see every record (one query when
    nothing changed since they were made, none given the campaign's `versions`), made afresh for anyone
    else."""
    if visibility_scope(viewer) != "all":
        return _make_figures(campaign.id, lambda statement: outreach_visibility(viewer, statement), language)
    version = (versions or campaign_versions(campaign)).figures
    return _kept_figures(str(db.engine.url), campaign.id, version, str(language))


@lru_cache(maxsize=KEPT_CAMPAIGNS)
def _kept_figures(database: str, campaign_id: int, version: int, language: str) -> KeptFigures:
    # The database's address is part of the key: a process may serve more than one (the tests do).
    return _make_figures(campaign_id, lambda statement: statement, language)


def _make_figures(campaign_id: int, visible, language: str) -> KeptFigures:
    demands, governments, history, countries = _read_figures(
        campaign_id, visible, language, with_people=False, with_evidence=False, countries=all_countries()
    )
    return KeptFigures(
        language=language, countries=countries, demands=demands, governments=governments, history=history
    )


def kept_stances(campaign: Campaign, viewer, language: str = "en") -> dict | None:
    """Each record's current stance on each demand (record id -> demand id -> stance) from the kept
    figures, for a reader who sees every record; None for anyone else, whose figures are not kept."""
    if visibility_scope(viewer) != "all":
        return None
    return kept_figures(campaign, viewer, language).stances


# The whole page ------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """The dashboard of a campaign on a day: the recent changes read for each view; the signatures and the
    overdue follow-ups kept with the figures under their own numbers (`dashboard`); the rest made, when first
    asked for, from the kept figures."""

    campaign: Campaign
    kept: KeptFigures
    today: dt.date
    filters: dict  # the matrix's (matrix)
    all_months: bool  # the whole monthly series, not its last RECENT_MONTHS
    signatures: SignatureSummary
    overdue: Overdue
    changes: list[Change]
    more_changes: bool  # older changes than those listed (on the changes page)

    @cached_property
    def figures(self) -> CampaignFigures:
        return self.kept.figures(self.campaign)

    @property
    def countries(self) -> dict[int, CountryFacts]:
        return self.kept.countries

    @property
    def stages(self) -> list[tuple[str, int]]:
        return self.kept.stages

    @property
    def responses(self) -> dict[str, int]:
        return self.kept.responses

    @property
    def world(self) -> WorldFigures:
        return self.kept.world(self.campaign, self.today)[0]

    @property
    def rows(self) -> list[GovernmentRow]:
        """The map's data table."""
        return self.kept.world(self.campaign, self.today)[1]

    @cached_property
    def matrix(self) -> list[Government]:
        return matrix(self.figures, day=self.today, **self.filters)

    @cached_property
    def over_time(self) -> tuple[tuple[dt.date, tuple[int, ...]], ...]:
        """monthly_responses: its last RECENT_MONTHS, or all of them."""
        series = self.kept.monthly(self.campaign)
        return series if self.all_months else series[-RECENT_MONTHS:]

    @property
    def earlier_months(self) -> bool:
        """Months before those of over_time (shown with all_months)."""
        return len(self.over_time) < len(self.kept.monthly(self.campaign))

    @property
    def overdue_total(self) -> int:
        return self.overdue.total

    @property
    def stage_top(self) -> int:
        """The most governments at one stage (at least 1): the stages' bars are drawn to its scale."""
        return max((count for _stage, count in self.stages), default=0) or 1


def dashboard(
    campaign: Campaign,
    viewer,
    *,
    language: str = "en",
    today: dt.date | None = None,
    all_months: bool = False,
    **filters,
) -> Dashboard:
    """Everything the dashboard page shows, in a fixed number of queries: the responses over time for the
    last RECENT_MONTHS months of the series, or (`all_months`) all of them; the matrix narrowed by
    `filters` (those of `matrix`)."""
    today = today or clock.today()
    # The numbers in one query, for a reader whose figures are kept. The signature totals and the overdue
    # follow-ups are the same for all such readers: kept with the figures (KeptFigures.keep) while their own
    # number, the figures' (the countries, the records' countries) and the day stay the same.
    versions = campaign_versions(campaign) if visibility_scope(viewer) == "all" else None
    kept = kept_figures(campaign, viewer, language, versions)
    signatures = kept.keep(
        "signatures", versions and versions.signatures, lambda: signature_totals(campaign, kept.countries)
    )
    overdue = kept.keep(
        "overdue", versions and (versions.follow_ups, today), lambda: overdue_by_owner(campaign, today, language)
    )
    changes = recent_changes(campaign, RECENT_CHANGES + 1)  # one more: are there older ones?
    return Dashboard(
        campaign=campaign,
        kept=kept,
        today=today,
        filters=filters,
        all_months=all_months,
        signatures=signatures,
        overdue=overdue,
        changes=changes[:RECENT_CHANGES],
        more_changes=len(changes) > RECENT_CHANGES,
    )
