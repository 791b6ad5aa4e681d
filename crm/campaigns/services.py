"""Campaign rules and read models shared by pages and commands."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, selectinload

from crm.accounts.models import User
from crm.audit import services as audit
from crm.campaigns.models import (
    TRANSLATED_LANGUAGES,
    Campaign,
    CampaignTranslation,
    Demand,
    DemandTranslation,
)
from crm.contacts.models import FICTIONAL_CONTACT_NOTE, Contact
from crm.errors import DomainError
from crm.extensions import db
from crm.outreach.models import STAGES, OutreachRecord, Position
from crm.permissions import is_read_only, read_only_message, role_can
from crm.translation import gettext

# Who may coordinate a campaign's records by default.


def open_records():
    """A select of the ids of outreach records in campaigns that are not archived: what reminders,
    digests and the reply clock look at."""
    return (
        sa.select(OutreachRecord.id)
        .join(Campaign, Campaign.id == OutreachRecord.campaign_id)
        .where(Campaign.archived_at.is_(None))
    )


def campaign_overview() -> list[dict]:
    """Each open campaign with its number of target governments per stage, in two queries. Archived
    campaigns leave the start page and the dashboards (their records stay searchable)."""
    campaigns = db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.archived_at.is_(None))
        .order_by(Campaign.created_at.desc())
        .options(selectinload(Campaign.demands).selectinload(Demand.translations))
    ).all()
    counts = db.session.execute(
        sa.select(OutreachRecord.campaign_id, OutreachRecord.stage, sa.func.count()).group_by(
            OutreachRecord.campaign_id, OutreachRecord.stage
        )
    ).all()
    by_campaign: dict[int, dict[str, int]] = {}
    for campaign_id, stage, count in counts:
        by_campaign.setdefault(campaign_id, {})[stage] = count
    return [
        {
            "campaign": campaign,
            "stages": [(stage, by_campaign.get(campaign.id, {}).get(stage, 0)) for stage in STAGES],
            "targets": sum(by_campaign.get(campaign.id, {}).values()),
        }
        for campaign in campaigns
    ]


# ---------------------------------------------------------------------------------------------------
# Setting a campaign up: the rules shared by the campaign pages and `flask campaigns ...`.


class CampaignError(DomainError):
    """A refusal the user can act on; `field` names the form field it belongs beside, when there is one."""


class CampaignArchived(CampaignError):
    pass


SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words that are pages under /campaigns/, so no campaign may take them as its slug.
RESERVED_SLUGS = {"new", "manage"}
LETTER_LANGUAGES = ("en", "es")
CAMPAIGN_FIELDS = (
    "slug",
    "name",
    "description",
    "starts_on",
    "letter_language",
    "reply_days",
    "stall_days",
    "claims_need_approval",
    "default_coordinator_id",
    "archived_at",
)
DEMAND_FIELDS = ("ordinal", "code", "title", "description", "retired_at")


@dataclass
class CampaignWording:
    """A campaign's name and short description in one of TRANSLATED_LANGUAGES, as the user wrote them."""

    name: str | None = None
    description: str | None = None


def campaign_snapshot(campaign: Campaign) -> dict:
    """What the audit log keeps of a campaign: its fields and its wording in every language."""
    snapshot = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    snapshot["translations"] = {
        t.language: {"name": t.name, "description": t.description} for t in campaign.translations
    }
    return snapshot


def wordings_of(campaign: Campaign) -> dict[str, CampaignWording]:
    """The campaign's wording in each translated language (empty where there is none), for forms."""
    found = {t.language: CampaignWording(t.name, t.description) for t in campaign.translations}
    return {language: found.get(language, CampaignWording()) for language in TRANSLATED_LANGUAGES}


@dataclass
class DemandWording:
    """A demand as written by the user: a short label and the full text, in English and (optionally) Spanish."""

    label: str
    text: str | None = None
    label_es: str | None = None
    text_es: str | None = None
    # The demand's key in the API and exports, given when it is added (d1, d2, ... when not); never changed.
    code: str | None = None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def ensure_open(campaign: Campaign) -> None:
    """An archived campaign is read-only."""
    if is_read_only(campaign):
        raise CampaignArchived(read_only_message())


def _check_slug(slug: str | None, campaign: Campaign | None = None) -> str:
    slug = (slug or "").strip()
    if not slug:
        raise CampaignError(gettext("Give the campaign a short name for its address (slug)."), "slug")
    if len(slug) > 80 or not SLUG_PATTERN.match(slug):
        raise CampaignError(
            gettext("A slug has only lower-case letters, digits and single hyphens, such as justice-2025."), "slug"
        )
    if slug in RESERVED_SLUGS:
        raise CampaignError(
            gettext("“%(slug)s” is a word the application uses; choose another slug.", slug=slug), "slug"
        )
    other = Campaign.by_slug(slug)
    if other is not None and other is not campaign:
        raise CampaignError(gettext("Another campaign already has the slug “%(slug)s”.", slug=slug), "slug")
    return slug


def _check_name(name: str | None, field: str = "name") -> str | None:
    name = _clean(name)
    if name is not None and len(name) > 200:
        raise CampaignError(gettext("A name has at most 200 characters."), field)
    return name


def _check_language(language: str | None) -> str:
    if language not in LETTER_LANGUAGES:
        raise CampaignError(gettext("Choose the language letters are written in by default."), "letter_language")
    return language


def _check_translations(translations: dict[str, CampaignWording] | None) -> dict[str, CampaignWording]:
    checked = {}
    for language, wording in (translations or {}).items():
        if language not in TRANSLATED_LANGUAGES:
            raise CampaignError(gettext("A campaign is not described in “%(language)s”.", language=language))
        name = _check_name(wording.name, f"name_{language}")
        description = _clean(wording.description)
        if description is not None and name is None:
            raise CampaignError(
                gettext("Give the name in this language too, or leave its description empty."), f"name_{language}"
            )
        checked[language] = CampaignWording(name, description)
    return checked


def _set_translations(campaign: Campaign, translations: dict[str, CampaignWording]) -> None:
    """Write each given language's wording; a language given with no name loses its translation."""
    for language, wording in translations.items():
        existing = campaign.translation(language)
        if wording.name is None:
            if existing is not None:
                campaign.translations.remove(existing)
        elif existing is None:
            campaign.translations.append(
                CampaignTranslation(language=language, name=wording.name, description=wording.description)
            )
        else:
            existing.name, existing.description = wording.name, wording.description


def _apply_description(campaign: Campaign, *, name, description, translations, starts_on, letter_language) -> None:
    name = _check_name(name)
    if name is None:
        raise CampaignError(gettext("Give the campaign a name."), "name")
    translations = _check_translations(translations)
    campaign.name = name
    campaign.description = _clean(description)
    _set_translations(campaign, translations)
    campaign.starts_on = starts_on
    if campaign.ends_on is not None and starts_on is not None and campaign.ends_on < starts_on:
        raise CampaignError(gettext("The campaign cannot start after it ends."), "starts_on")
    campaign.letter_language = _check_language(letter_language)


def _check_wording(wording: DemandWording, number: int | None = None) -> DemandWording:
    label = _clean(wording.label)
    which = "" if number is None else gettext("Demand %(number)s: ", number=number)
    if label is None:
        raise CampaignError(which + gettext("A demand needs a short label in English."), "label")
    label_es = _clean(wording.label_es)
    for value, field in ((label, "label"), (label_es, "label_es")):
        if value is not None and len(value) > 300:
            raise CampaignError(
                which + gettext("A demand's label has at most 300 characters; put the rest in its full text."), field
            )
    text_es = _clean(wording.text_es)
    if text_es is not None and label_es is None:
        raise CampaignError(which + gettext("Give the Spanish label too, or leave the Spanish text empty."), "label_es")
    code = _clean(wording.code)
    if code is not None and (len(code) > 40 or not SLUG_PATTERN.match(code)):
        raise CampaignError(
            which + gettext("A demand's code has at most 40 lower-case letters, digits and single hyphens."), "code"
        )
    return DemandWording(label=label, text=_clean(wording.text), label_es=label_es, text_es=text_es, code=code)


def _set_spanish(demand: Demand, label_es: str | None, text_es: str | None) -> None:
    existing = next((t for t in demand.translations if t.language == "es"), None)
    if label_es is None:
        if existing is not None:
            demand.translations.remove(existing)
        return
    if existing is None:
        demand.translations.append(DemandTranslation(language="es", title=label_es, description=text_es))
    else:
        existing.title, existing.description = label_es, text_es


def _next_code(campaign: Campaign) -> str:
    taken = set(db.session.scalars(sa.select(Demand.code).where(Demand.campaign_id == campaign.id)))
    n = len(taken) + 1
    while f"d{n}" in taken:
        n += 1
    return f"d{n}"


def _append_demand(campaign: Campaign, wording: DemandWording) -> Demand:
    ordinal = (
        db.session.scalar(sa.select(sa.func.max(Demand.ordinal)).where(Demand.campaign_id == campaign.id)) or 0
    ) + 1
    code = wording.code or _next_code(campaign)
    if wording.code and db.session.scalar(
        sa.select(Demand.id).where(Demand.campaign_id == campaign.id, Demand.code == code)
    ):
        raise CampaignError(gettext("Another demand of this campaign has the code “%(code)s”.", code=code), "code")
    demand = Demand(campaign=campaign, ordinal=ordinal, code=code, title=wording.label, description=wording.text)
    _set_spanish(demand, wording.label_es, wording.text_es)
    db.session.add(demand)
    db.session.flush()
    return demand


def create_campaign(
    *,
    name: str,
    slug: str,
    actor,
    demands: list[DemandWording] = (),
    description: str | None = None,
    translations: dict[str, CampaignWording] | None = None,
    starts_on: dt.date | None = None,
    letter_language: str = "en",
    is_demo: bool = False,
) -> Campaign:
    """A new campaign with its demands in order. Everything is checked before anything is added.
    `translations` maps a language of TRANSLATED_LANGUAGES to the campaign's name and description in it.
    `is_demo` marks the demo campaign (crm/demo.py), which `demo remove` takes away."""
    slug = _check_slug(slug)
    checked = [_check_wording(wording, number) for number, wording in enumerate(demands, start=1)]
    codes = [wording.code for wording in checked if wording.code]
    if len(set(codes)) != len(codes):
        raise CampaignError(gettext("Two demands have the same code."), "code")
    campaign = Campaign(slug=slug, name="", is_demo=bool(is_demo))
    _apply_description(
        campaign,
        name=name,
        description=description,
        translations=translations,
        starts_on=starts_on,
        letter_language=letter_language,
    )
    db.session.add(campaign)
    db.session.flush()
    for wording in checked:
        _append_demand(campaign, wording)
    after = campaign_snapshot(campaign) | ({"is_demo": True} if campaign.is_demo else {})
    audit.record("campaign.create", actor=actor, entity=campaign, after=after)
    return campaign


def update_campaign(
    campaign: Campaign,
    *,
    actor,
    name: str,
    slug: str,
    description: str | None = None,
    translations: dict[str, CampaignWording] | None = None,
    starts_on: dt.date | None = None,
    letter_language: str = "en",
) -> None:
    """New wording and details; a language left out of `translations` keeps its wording."""
    ensure_open(campaign)
    before = campaign_snapshot(campaign)
    campaign.slug = _check_slug(slug, campaign)
    _apply_description(
        campaign,
        name=name,
        description=description,
        translations=translations,
        starts_on=starts_on,
        letter_language=letter_language,
    )
    db.session.flush()
    audit.record("campaign.update", actor=actor, entity=campaign, before=before, after=campaign_snapshot(campaign))


def update_settings(
    campaign: Campaign, *, actor, reply_days: int, stall_days: int, claims_need_approval: bool, default_coordinator=None
) -> None:
    """The reply period, the days before a record counts as stalled, claim approval and the default coordinator."""
    ensure_open(campaign)
    for value, field in ((reply_days, "reply_days"), (stall_days, "stall_days")):
        if not isinstance(value, int) or not 1 <= value <= 3650:
            raise CampaignError(gettext("Give a number of days between 1 and 3650."), field)
    if default_coordinator is not None and (
        not default_coordinator.active or not role_can(default_coordinator.role, "coordinate")
    ):
        raise CampaignError(
            gettext("The default coordinator must be an active coordinator, manager or admin."), "default_coordinator"
        )
    before = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    campaign.reply_days = reply_days
    campaign.stall_days = stall_days
    campaign.claims_need_approval = bool(claims_need_approval)
    campaign.default_coordinator_id = None if default_coordinator is None else default_coordinator.id
    db.session.flush()
    audit.record(
        "campaign.settings",
        actor=actor,
        entity=campaign,
        before=before,
        after=audit.snapshot(campaign, CAMPAIGN_FIELDS),
    )


def archive_campaign(campaign: Campaign, *, actor, now: dt.datetime) -> bool:
    """Archive: read-only from now on. False when it already was."""
    if campaign.is_archived:
        return False
    before = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    campaign.archived_at = now
    db.session.flush()
    audit.record(
        "campaign.archive", actor=actor, entity=campaign, before=before, after=audit.snapshot(campaign, CAMPAIGN_FIELDS)
    )
    return True


def add_demand(campaign: Campaign, wording: DemandWording, *, actor) -> Demand:
    ensure_open(campaign)
    demand = _append_demand(campaign, _check_wording(wording))
    audit.record("demand.create", actor=actor, entity=demand, after=audit.snapshot(demand, DEMAND_FIELDS))
    return demand


def reword_demand(demand: Demand, wording: DemandWording, *, actor) -> None:
    """New wording for a demand. Positions already recorded keep pointing at it."""
    ensure_open(demand.campaign)
    if demand.retired_at is not None:
        raise CampaignError(gettext("A retired demand keeps the wording it had."))
    wording = _check_wording(wording)
    before = audit.snapshot(demand, DEMAND_FIELDS)
    demand.title, demand.description = wording.label, wording.text
    _set_spanish(demand, wording.label_es, wording.text_es)
    db.session.flush()
    audit.record(
        "demand.update", actor=actor, entity=demand, before=before, after=audit.snapshot(demand, DEMAND_FIELDS)
    )


def move_demand(demand: Demand, step: int, *, actor) -> bool:
    """Swap a demand with the one before (step -1) or after (+1) it. False at either end."""
    ensure_open(demand.campaign)
    siblings = db.session.scalars(
        sa.select(Demand).where(Demand.campaign_id == demand.campaign_id).order_by(Demand.ordinal)
    ).all()
    index = siblings.index(demand)
    if step not in (-1, 1) or not 0 <= index + step < len(siblings):
        return False
    other = siblings[index + step]
    mine, theirs = demand.ordinal, other.ordinal
    # The (campaign, ordinal) pair is unique: park one demand beyond the last while the other moves.
    demand.ordinal = siblings[-1].ordinal + 1
    db.session.flush()
    other.ordinal = mine
    db.session.flush()
    demand.ordinal = theirs
    db.session.flush()
    audit.record("demand.move", actor=actor, entity=demand, before={"ordinal": mine}, after={"ordinal": theirs})
    return True


def demand_has_positions(demand: Demand) -> bool:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Position).where(Position.demand_id == demand.id)) > 0
    )


def demands_of(campaign_id: int, *, active_only: bool = False) -> list[Demand]:
    """A campaign's demands in order, with their wording in every language; `active_only`: without the
    retired ones (kept for their history, never offered for a new position)."""
    return list(db.session.scalars(_demands_statement(active_only), {"campaign_id": campaign_id}).unique())


@cache
def _demands_statement(active_only: bool) -> sa.Select:
    # Built once, the campaign a parameter, the translations read with the demands: most pages of a
    # campaign start here, and building the select cost more than running it.
    statement = (
        sa.select(Demand)
        .where(Demand.campaign_id == sa.bindparam("campaign_id"))
        .order_by(Demand.ordinal)
        .options(joinedload(Demand.translations))
    )
    return statement.where(Demand.retired_at.is_(None)) if active_only else statement


class DemandHeading(NamedTuple):
    """A demand as a page's list or a table's column shows it: its number and its title in one language."""

    id: int
    ordinal: int
    title: str


@cache
def _demand_headings_statement() -> sa.Select:
    # Built once, the campaign and the language parameters: the alias alone costs the ORM more than the query.
    translated = aliased(DemandTranslation)
    return (
        sa.select(Demand.id, Demand.ordinal, sa.func.coalesce(translated.title, Demand.title))
        .outerjoin(
            translated, sa.and_(translated.demand_id == Demand.id, translated.language == sa.bindparam("language"))
        )
        .where(Demand.campaign_id == sa.bindparam("campaign_id"))
        .order_by(Demand.ordinal)
    )


def demand_headings(campaign_id: int, language: str) -> list[DemandHeading]:
    """A campaign's demands in order (the retired ones too, as demands_of), each titled in `language` or as
    first written where it has no translation (Demand.text's rule): one query of plain rows."""
    params = {"campaign_id": campaign_id, "language": language}
    rows = db.session.connection().execute(_demand_headings_statement(), params)
    return [DemandHeading(*row) for row in rows.all()]


def demands_with_positions(campaign: Campaign) -> set[int]:
    """The ids of the campaign's demands on which a position was recorded, in one query."""
    return set(db.session.scalars(sa.select(Position.demand_id).where(Position.campaign_id == campaign.id).distinct()))


def retire_demand(demand: Demand, *, actor, now: dt.datetime) -> str:
    """ "retired" when positions were recorded on it (history stays true), else "deleted"."""
    ensure_open(demand.campaign)
    before = audit.snapshot(demand, DEMAND_FIELDS)
    if demand_has_positions(demand):
        if demand.retired_at is None:
            demand.retired_at = now
            db.session.flush()
            audit.record(
                "demand.retire", actor=actor, entity=demand, before=before, after=audit.snapshot(demand, DEMAND_FIELDS)
            )
        return "retired"
    audit.record("demand.delete", actor=actor, entity=demand, before=before)
    db.session.delete(demand)
    db.session.flush()
    return "deleted"


def campaigns_for_listing(*, include_archived: bool = False) -> list[Campaign]:
    statement = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if not include_archived:
        statement = statement.where(Campaign.archived_at.is_(None))
    return db.session.scalars(statement).all()


def target_counts() -> dict[int, int]:
    return dict(
        db.session.execute(
            sa.select(OutreachRecord.campaign_id, sa.func.count()).group_by(OutreachRecord.campaign_id)
        ).all()
    )


@dataclass
class FirstStep:
    key: str
    done: bool


def first_steps() -> list[FirstStep] | None:
    """The start page's walk through a new install: None once a campaign of the organisation's own (not
    the demo) has target governments."""
    own = sa.select(Campaign.id).where(Campaign.is_demo.is_(False))
    own_targets = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutreachRecord).where(OutreachRecord.campaign_id.in_(own))
    )
    if own_targets:
        return None

    has_campaign = db.session.scalar(sa.select(sa.func.count()).select_from(own.subquery())) > 0
    # The demo's staff have no password: they are not people who were invited.
    staff = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.password_hash.is_not(None)))
    contacts = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Contact)
        .where(sa.or_(Contact.notes.is_(None), Contact.notes != FICTIONAL_CONTACT_NOTE))
    )
    return [
        FirstStep("create_campaign", has_campaign),
        FirstStep("add_targets", False),
        FirstStep("invite_staff", staff > 1),
        FirstStep("import_contacts", contacts > 0),
    ]
