"""Choosing a campaign's target governments: in bulk by UN M49 area or Rome Statute status, from a pasted
list of names or codes (English or Spanish), or one by one; and removing or closing a target."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.audit import services as audit
from crm.campaigns.models import Campaign
from crm.campaigns.services import CampaignError, ensure_open
from crm.countries.models import RS_STATUSES, Country, Region
from crm.countries.services import search_countries
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach import services as outreach
from crm.outreach.models import Assignment, Claim, FollowUp, OutreachRecord, Position, meeting_outreach
from crm.signatures.normalise import CountryResolver
from crm.translation import gettext


class UnknownCountries(CampaignError):
    """Names in a list that match no country (or more than one): nothing was added."""

    def __init__(self, names: list[str]):
        super().__init__(
            gettext(
                "Not added, because these names match no country: %(names)s. "
                "Correct them (a name in English or Spanish, or an ISO code) and try again.",
                names=", ".join(names),
            ),
            "names",
        )
        self.names = names


@dataclass
class TargetReport:
    added: list[Country] = field(default_factory=list)
    already: list[Country] = field(default_factory=list)


def split_names(text: str | None) -> list[str]:
    """ "Alemania, FRA; Reino Unido" or one per line -> the names, in order, without blanks."""
    return [part.strip() for part in re.split(r"[,;\n\r\t]+", text or "") if part.strip()]


def resolve_names(names) -> tuple[list[Country], list[str]]:
    """The countries the names or codes stand for, and the names that stand for none (or for two)."""
    if not names:
        return [], []
    resolver = CountryResolver()
    ids, unknown = [], []
    for name in names:
        country_id = resolver.resolve(name)
        if country_id in (None, False):
            unknown.append(name)
        elif country_id not in ids:
            ids.append(country_id)
    countries = {c.id: c for c in db.session.scalars(sa.select(Country).where(Country.id.in_(ids)))} if ids else {}
    return [countries[i] for i in ids], unknown


def countries_by(*, region: str | None = None, rome_status: str | None = None) -> list[Country]:
    """States in an M49 area and/or of a Rome Statute status (both: those that are both). Territories are
    left out: a state is a UN member, or a party or signatory to the Statute (Palestine, the Cook Islands)."""
    region = (region or "").strip() or None
    rome_status = (rome_status or "").strip() or None
    if region is not None and db.session.get(Region, region) is None:
        raise CampaignError(
            gettext("There is no UN M49 region or sub-region with the code %(code)s.", code=region), "region"
        )
    if rome_status is not None and rome_status not in RS_STATUSES:
        raise CampaignError(
            gettext(
                "Unknown Rome Statute status %(status)s; use one of %(statuses)s.",
                status=rome_status,
                statuses=", ".join(RS_STATUSES),
            ),
            "rome_status",
        )
    statement = search_countries(status=rome_status, region=region).where(
        sa.or_(Country.un_member.is_(True), Country.rs_status != "non_party")
    )
    return db.session.scalars(statement).all()


def add_targets(
    campaign: Campaign, *, actor, region: str | None = None, rome_status: str | None = None, names=(), countries=()
) -> TargetReport:
    """Add target governments; each gets an outreach record at the first stage, coordinated by the
    campaign's default coordinator. All or nothing: one unknown name and nothing is added."""
    ensure_open(campaign)
    chosen: list[Country] = list(countries)
    named, unknown = resolve_names(list(names))
    if unknown:
        raise UnknownCountries(unknown)
    if (region or "").strip() or (rome_status or "").strip():
        chosen += countries_by(region=region, rome_status=rome_status)
    chosen += named
    if not chosen:
        raise CampaignError(gettext("Choose a region, a Rome Statute status or some countries to add."))
    existing = set(
        db.session.scalars(sa.select(OutreachRecord.country_id).where(OutreachRecord.campaign_id == campaign.id))
    )
    report = TargetReport()
    for country in chosen:
        if country.id in existing:
            if country not in report.already and country not in report.added:
                report.already.append(country)
            continue
        existing.add(country.id)
        db.session.add(
            OutreachRecord(campaign=campaign, country_id=country.id, coordinator_id=campaign.default_coordinator_id)
        )
        report.added.append(country)
    db.session.flush()
    if report.added:
        audit.record(
            "campaign.targets_add", actor=actor, entity=campaign, after={"countries": [c.alpha3 for c in report.added]}
        )
    return report


def has_history(record: OutreachRecord) -> bool:
    """Whether anyone has worked on this target: anything logged on it, an owner, or a stage moved."""
    if record.stage != "not_started" or record.assignee_id is not None:
        return True
    for model, column in (
        (Position, Position.outreach_id),
        (Letter, Letter.outreach_id),
        (FollowUp, FollowUp.outreach_id),
        (Assignment, Assignment.outreach_id),
        (Claim, Claim.outreach_id),
    ):
        if db.session.scalar(sa.select(sa.func.count()).select_from(model).where(column == record.id)):
            return True
    return bool(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(meeting_outreach).where(meeting_outreach.c.outreach_id == record.id)
        )
    )


def remove_target(record: OutreachRecord, *, actor) -> str:
    """ "removed" when nobody has worked on the target; otherwise it is "closed" and its history stays."""
    ensure_open(record.campaign)
    if has_history(record):
        outreach.set_stage(record, "closed", actor=actor)
        db.session.flush()
        return "closed"
    audit.record(
        "campaign.target_remove", actor=actor, entity=record.campaign, before={"country": record.country.alpha3}
    )
    db.session.delete(record)
    db.session.flush()
    return "removed"
