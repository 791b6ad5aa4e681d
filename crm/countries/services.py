"""Country reference data: loading ISO codes, M49 regions and Rome Statute facts, and correcting them."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pycountry
import sqlalchemy as sa
from babel import Locale

from crm import clock
from crm.accounts.models import User
from crm.audit import services as audit
from crm.campaigns.models import Campaign, CampaignTranslation, _base_language
from crm.countries.models import RS_STATUSES, Country, CountryFactChange, Region
from crm.countries.standing import status_condition
from crm.countries.statute import RS_DATE_FIELDS, RS_FACT_FIELDS, STATUTE_IN_FORCE
from crm.database import fold
from crm.errors import DomainError
from crm.extensions import db

SEEDS_DIR = Path(__file__).resolve().parent.parent.parent / "seeds"
NON_MEMBERS_IN_ROME_TABLE = {"PSE", "COK", "NIU", "VAT", "XKX"}
# Outside ISO 3166-1, but listed by the Rome Statute table: user-assigned codes, as the EU uses.
KOSOVO = {"alpha2": "XK", "alpha3": "XKX", "name_en": "Kosovo", "name_es": "Kosovo"}
CSV_COLUMNS = ("iso2", "iso3", "numeric", "name", "status", *RS_DATE_FIELDS, "verified")


class FactError(DomainError):
    """A correction to a Rome Statute fact that cannot be accepted, with the reason."""


@dataclass
class ReferenceReport:
    regions_added: int = 0
    countries_added: int = 0
    countries_updated: int = 0
    fact_changes: list[CountryFactChange] = field(default_factory=list)
    kept_staff_edits: list[str] = field(default_factory=list)
    unknown_rows: list[str] = field(default_factory=list)


def _read_csv(name: str, seeds_dir: Path) -> list[dict[str, str]]:
    with open(seeds_dir / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _set(obj, attribute: str, value) -> bool:
    if getattr(obj, attribute) != value:
        setattr(obj, attribute, value)
        return True
    return False


def parse_fact_value(field_name: str, raw) -> str | dt.date | None:
    """A fact's value from text: a status name, or an ISO date (blank for none)."""
    if field_name not in RS_FACT_FIELDS:
        raise FactError(f"unknown fact {field_name!r}")
    if isinstance(raw, dt.date) or raw is None:
        value = raw
    else:
        raw = str(raw).strip()
        if field_name == "status":
            if raw not in RS_STATUSES:
                raise FactError(f"status must be one of: {', '.join(RS_STATUSES)}")
            return raw
        if not raw:
            return None
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            raise FactError(f"{field_name}: {raw!r} is not a date (YYYY-MM-DD)") from None
    if field_name == "status" and value not in RS_STATUSES:
        raise FactError(f"status must be one of: {', '.join(RS_STATUSES)}")
    return value


def check_date_order(*, in_force: dt.date | None, notified: dt.date | None, effective: dt.date | None) -> None:
    """Dates that cannot be true together. An entry into force may come before the deposit: a successor
    state is bound from its independence (Montenegro: from 3 June 2006, deposited 23 October 2006)."""
    if in_force and in_force < STATUTE_IN_FORCE:
        raise FactError(
            "the entry into force cannot come before 1 July 2002, when the Statute itself entered into force"
        )
    if notified and effective and effective < notified:
        raise FactError("a withdrawal cannot take effect before it was notified")


def _check_date_order(country: Country) -> None:
    check_date_order(
        in_force=country.rs_entry_into_force_date,
        notified=country.rs_withdrawal_notified_date,
        effective=country.rs_withdrawal_effective_date,
    )


def _text(value) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def staff_edited_fields(country: Country) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(CountryFactChange.field).where(
                CountryFactChange.country_id == country.id, CountryFactChange.origin == "admin"
            )
        )
    )


def apply_fact(
    country: Country, field_name: str, value, *, source: str, verified: bool, origin: str, actor=None
) -> CountryFactChange | None:
    """Set one fact and keep the change, with its source, in the history. No change, no row."""
    value = parse_fact_value(field_name, value)
    old = country.rs_fact(field_name)
    if old == value:
        return None
    if not source or not source.strip():
        raise FactError("a source is required for every change to a Rome Statute fact")
    country.set_rs_fact(field_name, value)
    _check_date_order(country)
    change = CountryFactChange(
        country=country,
        field=field_name,
        old_value=_text(old),
        new_value=_text(value),
        source=source.strip(),
        verified=verified,
        origin=origin,
        changed_by_id=getattr(actor, "id", None),
    )
    db.session.add(change)
    return change


def correct_fact(
    country: Country, field_name: str, raw_value, *, source: str, verified: bool, actor
) -> CountryFactChange:
    """An admin's correction of a fact, with the source that supports it. Kept in the history and the
    audit log; `seed reference` never overwrites it."""
    try:
        change = apply_fact(
            country, field_name, raw_value, source=source, verified=verified, origin="admin", actor=actor
        )
    except FactError:
        db.session.rollback()
        raise
    if change is None:
        raise FactError("that is already the recorded value")
    audit.record(
        "country.correct_fact",
        actor=actor,
        entity=country,
        before={field_name: change.old_value},
        after={field_name: change.new_value, "source": change.source, "verified": verified},
    )
    return change


def _locale_names(code: str) -> tuple[str | None, str | None]:
    return Locale("en").territories.get(code), Locale("es").territories.get(code)


def load_regions(seeds_dir: Path, report: ReferenceReport) -> None:
    existing = {region.code: region for region in db.session.scalars(sa.select(Region))}
    for row in _read_csv("m49_areas.csv", seeds_dir):
        _, babel_es = _locale_names(row["code"])
        values = {
            "name_en": row["name_en"],
            "name_es": row["name_es"] or babel_es or row["name_en"],
            "level": row["level"],
            "parent_code": row["parent_code"] or None,
        }
        region = existing.get(row["code"])
        if region is None:
            region = Region(code=row["code"], **values)
            db.session.add(region)
            existing[region.code] = region
            report.regions_added += 1
        else:
            for attribute, value in values.items():
                _set(region, attribute, value)
    db.session.flush()


def load_countries(seeds_dir: Path, report: ReferenceReport) -> dict[str, Country]:
    m49 = {row["alpha3"]: row for row in _read_csv("m49_countries.csv", seeds_dir)}
    rome = {row["iso3"] for row in _read_csv("rome_statute_status.csv", seeds_dir)}
    existing = {country.alpha3: country for country in db.session.scalars(sa.select(Country))}
    entries = []
    for iso in pycountry.countries:
        name_en, name_es = _locale_names(iso.alpha_2)
        entries.append(
            {
                "alpha2": iso.alpha_2,
                "alpha3": iso.alpha_3,
                "numeric_code": iso.numeric,
                "in_iso_3166": True,
                "name_en": name_en or getattr(iso, "common_name", None) or iso.name,
                "name_es": name_es or name_en or iso.name,
            }
        )
    entries.append({**KOSOVO, "numeric_code": None, "in_iso_3166": False})
    for values in entries:
        regions = m49.get(values["alpha3"], {})
        values.update(
            {
                "region_code": regions.get("region_code") or None,
                "sub_region_code": regions.get("sub_region_code") or None,
                "intermediate_region_code": regions.get("intermediate_region_code") or None,
                "un_member": values["alpha3"] in rome and values["alpha3"] not in NON_MEMBERS_IN_ROME_TABLE,
            }
        )
        country = existing.get(values["alpha3"])
        if country is None:
            country = Country(**values)
            db.session.add(country)
            existing[country.alpha3] = country
            report.countries_added += 1
        elif any([_set(country, attribute, value) for attribute, value in values.items()]):
            report.countries_updated += 1
    db.session.flush()
    return existing


def _protected_facts() -> set[tuple[int, str]]:
    """(country, fact) pairs whose latest change came from an admin or the UN depositary page: the
    shared research table must not undo them."""
    latest = (
        sa.select(
            CountryFactChange.country_id, CountryFactChange.field, sa.func.max(CountryFactChange.id).label("last_id")
        )
        .group_by(CountryFactChange.country_id, CountryFactChange.field)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(CountryFactChange.country_id, CountryFactChange.field)
        .join(latest, CountryFactChange.id == latest.c.last_id)
        .where(CountryFactChange.origin.in_(("admin", "depositary")))
    )
    return {(country_id, field_name) for country_id, field_name in rows}


def load_rome_statute(seeds_dir: Path, countries: dict[str, Country], report: ReferenceReport) -> None:
    """Apply the shared research table. A fact last set by an admin or by a refresh from the UN
    depositary page is kept, and reported as kept when the table says otherwise."""
    protected = _protected_facts()
    refreshed = {
        country_id
        for (country_id,) in db.session.execute(
            sa.select(CountryFactChange.country_id).where(CountryFactChange.origin == "depositary").distinct()
        )
    }
    for row in _read_csv("rome_statute_status.csv", seeds_dir):
        country = countries.get(row["iso3"])
        if country is None:
            report.unknown_rows.append(row["iso3"])
            continue
        verified = row["verified"].strip().lower() == "yes"
        source = row["source"].strip() or "rome_statute_status.csv (no source given)"
        for field_name in RS_FACT_FIELDS:
            if (country.id, field_name) in protected:
                if country.rs_fact(field_name) != parse_fact_value(field_name, row[field_name]):
                    report.kept_staff_edits.append(f"{country.alpha3}.{field_name}")
                continue
            change = apply_fact(country, field_name, row[field_name], source=source, verified=verified, origin="seed")
            if change is not None:
                report.fact_changes.append(change)
        if country.id not in refreshed:
            # The row's own provenance, unless the depositary page has since been read for this state.
            _set(country, "rs_verified", verified)
            _set(country, "rs_source", row["source"].strip() or None)
        _set(country, "rs_note", row["note"].strip() or None)
    db.session.flush()


def load_reference(seeds_dir: Path = SEEDS_DIR) -> ReferenceReport:
    """Idempotent: a second run changes nothing, and it never overwrites what staff edited."""
    report = ReferenceReport()
    load_regions(seeds_dir, report)
    countries = load_countries(seeds_dir, report)
    load_rome_statute(seeds_dir, countries, report)
    return report


def rome_statute_csv_rows():
    """Every country with its codes, name, Rome Statute status and dates (columns as in the shared CSV)."""
    for country in db.session.scalars(sa.select(Country).order_by(Country.alpha3)):
        yield {
            "iso2": country.alpha2,
            "iso3": country.alpha3,
            "numeric": country.numeric_code or "",
            "name": country.name_en,
            "status": country.rs_status,
            **{name: _text(country.rs_fact(name)) or "" for name in RS_DATE_FIELDS},
            "verified": "yes" if country.rs_verified else "no",
        }


def fact_sources(history: list[FactChange]) -> dict[str, FactChange | None]:
    """From a country's history (newest first): the latest change of each fact, that is its source,
    whether it is verified, who and when."""
    latest: dict[str, FactChange | None] = {name: None for name in RS_FACT_FIELDS}
    for change in reversed(history):
        latest[change.field] = change
    return latest


@cache
def _country_statement(alpha2: bool) -> sa.Select:
    # Built once for each kind of code, the code a parameter: building it and finding its compiled SQL
    # again by walking it cost more than running it.
    column = Country.alpha2 if alpha2 else Country.alpha3
    return sa.select(Country).where(column == sa.bindparam("code"))


def country_by_code(code: str) -> Country | None:
    """The country with this alpha-2 or alpha-3 code."""
    code = (code or "").strip().upper()
    return db.session.scalar(_country_statement(len(code) == 2), {"code": code})


class RegionNames(NamedTuple):
    name_en: str
    name_es: str


class FactChange(NamedTuple):
    """One recorded change of a Rome Statute fact, as the country page shows it."""

    id: int
    field: str
    old_value: str | None
    new_value: str | None
    source: str
    verified: bool
    origin: str
    changed_at: dt.datetime
    changed_by_name: str | None  # none for a change that came from a file or the UN's page


class CountryFacts(NamedTuple):
    """A country as its page shows it, read as rows: its codes, names and UN M49 areas (each named in
    both languages, or None), its Rome Statute facts and every recorded change of them, newest first;
    named, and asked for a name or a fact, as a Country is."""

    id: int
    alpha2: str
    alpha3: str
    numeric_code: str | None
    in_iso_3166: bool
    name_en: str
    name_es: str
    un_member: bool
    rs_status: str
    rs_signature_date: dt.date | None
    rs_ratification_date: dt.date | None
    rs_entry_into_force_date: dt.date | None
    rs_withdrawal_notified_date: dt.date | None
    rs_withdrawal_effective_date: dt.date | None
    rs_verified: bool
    rs_source: str | None
    rs_note: str | None
    region: RegionNames | None
    sub_region: RegionNames | None
    intermediate_region: RegionNames | None
    history: list[FactChange]

    name = Country.name
    rs_fact = Country.rs_fact


_FACTS_COLUMNS = CountryFacts._fields[: CountryFacts._fields.index("region")]
_AREAS = ("region", "sub_region", "intermediate_region")


@cache
def _country_facts_statement(alpha2: bool) -> sa.Select:
    # Built once for each kind of code, the code a parameter (see _country_statement), and read through the
    # session's connection: the country and its three areas as records cost the ORM more than the query, and
    # its history, read apart, a round trip more. A row for each change (the country's columns repeated; a
    # few changes a country), or one with none.
    country, change, user = Country.__table__, CountryFactChange.__table__, User.__table__
    areas = [Region.__table__.alias(area) for area in _AREAS]
    statement = sa.select(*(country.c[name] for name in _FACTS_COLUMNS))
    source = country
    for area, table in zip(_AREAS, areas, strict=True):
        statement = statement.add_columns(table.c.name_en, table.c.name_es)
        source = source.outerjoin(table, table.c.code == country.c[f"{area}_code"])
    statement = statement.add_columns(*(change.c[name] for name in FactChange._fields[:-1]), user.c.name)
    source = source.outerjoin(change, change.c.country_id == country.c.id).outerjoin(
        user, user.c.id == change.c.changed_by_id
    )
    column = country.c.alpha2 if alpha2 else country.c.alpha3
    return statement.select_from(source).where(column == sa.bindparam("code")).order_by(change.c.id.desc())


def country_facts(code: str) -> CountryFacts | None:
    """The country with this alpha-2 or alpha-3 code as its page shows it, with the history of its facts,
    or None; one query. Plain rows, read through the session's connection: nothing is flushed first (a
    correction that was refused was rolled back; one accepted is shown by the next request)."""
    code = (code or "").strip().upper()
    rows = db.session.connection().execute(_country_facts_statement(len(code) == 2), {"code": code}).all()
    if not rows:
        return None
    row, facts = rows[0], len(_FACTS_COLUMNS)
    # Each area's names, or None where the country has none (a name is never null).
    areas = [RegionNames(row[at], row[at + 1]) if row[at] is not None else None for at in range(facts, facts + 6, 2)]
    changes = facts + 6
    history = [FactChange(*row[changes:]) for row in rows if row[changes] is not None]
    return CountryFacts(*row[:facts], *areas, history)


def _folded_name(text: str) -> str:
    """A name as a search compares it: "japon" finds Japón and "cote d'ivoire" Côte d’Ivoire."""
    return fold(text.replace("’", "'")).strip()


def countries_named(query: str) -> list[int]:
    """Ids of the countries whose English or Spanish name contains `query` (accents and case ignored),
    or whose code it is. The table is small (250 rows), so the folding happens here, identically on
    SQLite and PostgreSQL, instead of in database-specific collations."""
    wanted = _folded_name(query)
    if not wanted:
        return []
    code = query.strip().upper()
    return [
        country_id
        for country_id, alpha2, alpha3, name_en, name_es in db.session.execute(
            sa.select(Country.id, Country.alpha2, Country.alpha3, Country.name_en, Country.name_es)
        )
        if code in (alpha2, alpha3) or wanted in _folded_name(name_en) or wanted in _folded_name(name_es)
    ]


def search_countries(
    *, query: str | None = None, status: str | None = None, region: str | None = None, day: dt.date | None = None
):
    """A select of countries matching a name (English or Spanish) or code, a status as it holds on `day`
    (default: today in UTC; a withdrawal counts once it has taken effect) and an M49 area."""
    statement = sa.select(Country)
    if query and query.strip():
        statement = statement.where(Country.id.in_(countries_named(query)))
    if status in RS_STATUSES:
        statement = statement.where(status_condition(status, day or clock.today()))
    if region:
        statement = statement.where(
            sa.or_(
                Country.region_code == region,
                Country.sub_region_code == region,
                Country.intermediate_region_code == region,
            )
        )
    return statement.order_by(Country.name_en)


@cache
def _list_choices_statement(in_spanish: bool) -> sa.CompoundSelect:
    # Built once in each language (the areas' names), the campaigns' language a parameter, and read through
    # the tables' columns and the session's connection: three short reads cost the list a round trip and
    # the ORM's pass each.
    region, user = Region.__table__.c, User.__table__.c
    campaign, translated = Campaign.__table__.c, CampaignTranslation.__table__.alias("translated")
    # Each row: which list (0 the areas, 1 the campaigns, 2 the staff), its value and its words, then its
    # place in its list: areas by level and English name, campaigns by id, staff by name then id.
    regions = sa.select(
        sa.literal(0).label("list"),
        region.code.label("value"),
        (region.name_es if in_spanish else region.name_en).label("words"),
        region.level.label("first"),
        region.name_en.label("then"),
        sa.literal(0).label("last"),
    )
    campaigns = sa.select(
        sa.literal(1),
        campaign.slug,
        sa.func.coalesce(translated.c.name, campaign.name),
        sa.literal(""),
        sa.literal(""),
        campaign.id,
    ).outerjoin(
        translated,
        sa.and_(translated.c.campaign_id == campaign.id, translated.c.language == sa.bindparam("language")),
    )
    staff = sa.select(sa.literal(2), sa.cast(user.id, sa.String), user.name, sa.literal(""), user.name, user.id).where(
        user.active.is_(True)
    )
    return sa.union_all(regions, campaigns, staff).order_by("list", "first", "then", "last")


def list_filter_choices(language: str = "en") -> tuple[list[tuple[str, str]], list, list, dict[int, str]]:
    """The countries list's filters' choices, in one query: the UN M49 areas as (code, name in
    `language`), by level and English name; the campaigns as (slug, name in `language`, else its own), by
    name; the active staff as (id as text, name), by name then id (namesakes keep their order); and every
    campaign's name as in its choice, by its id (the list names its records' campaigns with them)."""
    lists: tuple[list, list, list] = ([], [], [])
    names: dict[int, str] = {}
    statement = _list_choices_statement(language == "es")
    for listed, value, words, _first, _then, last in (
        db.session.connection().execute(statement, {"language": _base_language(language)}).all()
    ):
        lists[listed].append((value, words))
        if listed == 1:
            names[last] = words
    regions, campaigns, staff = lists
    campaigns.sort(key=lambda choice: choice[1])
    return regions, campaigns, staff, names
