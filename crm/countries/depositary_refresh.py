"""Refreshing Rome Statute facts from a saved copy of the UN depositary's status page (UNTC chapter XVIII-10):
the facts the page gives each participant (crm.countries.depositary_page) are written to its country,
except those an admin corrected. Flushes; the caller commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from crm import clock
from crm.audit import services as audit
from crm.countries.depositary_page import DepositaryEntry, read_status_page
from crm.countries.models import Country
from crm.countries.services import (
    FactError,
    apply_fact,
    check_date_order,
    parse_fact_value,
    staff_edited_fields,
)
from crm.countries.statute import RS_FACT_FIELDS
from crm.extensions import db

SOURCE_NAME = "UN Treaty Collection, chapter XVIII-10"


@dataclass(frozen=True)
class FactUpdate:
    alpha3: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class KeptCorrection:
    alpha3: str
    field: str
    kept: str | None
    depositary: str | None


@dataclass
class DepositaryRefresh:
    """What a refresh changed, kept, could not apply and could not match, for the command to print."""

    source: str
    participants: int = 0
    changes: list[FactUpdate] = field(default_factory=list)
    kept: list[KeptCorrection] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def report_lines(self):
        order = {name: position for position, name in enumerate(RS_FACT_FIELDS)}
        for change in sorted(self.changes, key=lambda c: (c.alpha3, order[c.field])):
            yield f"{change.alpha3} {change.field}: {_shown(change.old)} -> {_shown(change.new)}"
        for kept in self.kept:
            yield (
                f"kept admin correction: {kept.alpha3} {kept.field}: {_shown(kept.kept)} "
                f"(depositary: {_shown(kept.depositary)})"
            )
        yield from self.not_applied
        for name in self.unknown:
            yield f"unknown participant: {name}"
        yield (
            f"{self.participants} participants read, {len(self.changes)} facts changed, "
            f"{len(self.kept)} kept admin corrections, {len(self.unknown)} unknown"
        )


def _shown(value) -> str:
    return "(none)" if value in (None, "") else str(value)


def _text(value) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _ordered_fields(country: Country, final: dict) -> list[str]:
    """apply_fact checks the date order after each fact, so of each pair (ratification and entry into
    force, notification and effect of a withdrawal) set first the one that keeps the pair in order."""
    order = ["status", "signature_date"]
    for earlier, later in (
        ("ratification_or_accession_date", "entry_into_force_date"),
        ("withdrawal_notified_date", "withdrawal_effective_date"),
    ):
        old_later = country.rs_fact(later)
        if final[earlier] and old_later and final[earlier] > old_later:
            order += [later, earlier]
        else:
            order += [earlier, later]
    return order


def _check_order(final: dict) -> None:
    check_date_order(
        in_force=final["entry_into_force_date"],
        notified=final["withdrawal_notified_date"],
        effective=final["withdrawal_effective_date"],
    )


def _refresh_country(country: Country, entry: DepositaryEntry, source: str, result: DepositaryRefresh) -> None:
    edited = staff_edited_fields(country)
    wanted = {name: parse_fact_value(name, value) for name, value in entry.facts().items()}
    final = {}
    for name in RS_FACT_FIELDS:
        current = country.rs_fact(name)
        if name in edited:
            final[name] = current
            if current != wanted[name]:
                result.kept.append(KeptCorrection(country.alpha3, name, _text(current), _text(wanted[name])))
        else:
            final[name] = wanted[name]
    pending = [name for name in _ordered_fields(country, final) if final[name] != country.rs_fact(name)]
    if not pending and country.rs_verified:
        return
    try:
        _check_order(final)
        # A savepoint per country: if a fact is refused, none of the country's facts is left half-set.
        with db.session.begin_nested():
            applied = [
                apply_fact(country, name, final[name], source=source, verified=True, origin="depositary")
                for name in pending
            ]
            country.rs_verified = True
            country.rs_source = source
    except FactError as error:
        result.not_applied.append(f"not applied: {country.alpha3} ({entry.name}): {error}; its facts are unchanged")
        return
    result.changes.extend(
        FactUpdate(country.alpha3, change.field, change.old_value, change.new_value)
        for change in applied
        if change is not None
    )


def refresh_from_depositary(path, *, today: dt.date | None = None) -> DepositaryRefresh:
    """Bring each listed participant's facts in line with a saved copy of the depositary's page. Facts an
    admin corrected are kept and reported; unmatched names are reported. Flushes; the caller commits."""
    path = Path(path)
    today = today or clock.today()
    page = read_status_page(path, today=today)
    source = f"{SOURCE_NAME} (saved copy {path.name}, sha256 {page.sha256[:12]}, read {today.isoformat()})"
    result = DepositaryRefresh(source=source, participants=len(page.entries))
    countries = {country.alpha3: country for country in db.session.scalars(db.select(Country))}
    seen: dict[str, str] = {}
    for entry in page.entries:
        country = countries.get(entry.alpha3 or "")
        if country is None:
            result.unknown.append(entry.name)
        elif country.alpha3 in seen:
            result.not_applied.append(
                f"not applied: {country.alpha3} ({entry.name}): listed twice, also as {seen[country.alpha3]}"
            )
        else:
            seen[country.alpha3] = entry.name
            _refresh_country(country, entry, source, result)
    db.session.flush()
    audit.record(
        "country.refresh_from_depositary",
        after={
            "file": path.name,
            "sha256": page.sha256,
            "participants": result.participants,
            "facts_changed": len(result.changes),
            "kept_admin_corrections": len(result.kept),
            "unknown": len(result.unknown),
            "not_applied": len(result.not_applied),
        },
    )
    return result
