"""Petitions: a campaign's collection of signatures on one platform, created here and found by slug. Plain
functions; they flush, the caller commits."""

from __future__ import annotations

import re

import sqlalchemy as sa

from crm.audit import services as audit
from crm.campaigns.models import Campaign
from crm.database import fold
from crm.extensions import db
from crm.i18n import _
from crm.signatures.errors import SignatureError
from crm.signatures.models import PLATFORMS, Petition


def slug_for(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:100].strip("-")
    return slug or "petition"


def create_petition(
    campaign: Campaign, name: str, *, platform: str = "generic", language: str | None = None, actor=None
) -> Petition:
    name = " ".join((name or "").split())
    if not name:
        raise SignatureError(_("This field is required."), "name")
    if len(name) > 200:
        raise SignatureError(_("At most %(max)s characters.", max=200), "name")
    if platform not in PLATFORMS:
        raise SignatureError(_("Choose a platform from the list."), "platform")
    base = slug_for(f"{campaign.slug}-{name}")
    taken = set(db.session.scalars(sa.select(Petition.slug).where(Petition.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    petition = Petition(campaign_id=campaign.id, slug=slug, name=name, platform=platform, language=(language or None))
    audit.created(
        "petition.create",
        petition,
        actor=actor,
        after={"campaign_id": campaign.id, "slug": slug, "name": name, "platform": platform},
    )
    return petition


def petition_by_slug(slug: str) -> Petition | None:
    return db.session.scalar(sa.select(Petition).where(Petition.slug == slug))


def petitions_of(campaign: Campaign) -> list[Petition]:
    return db.session.scalars(
        sa.select(Petition).where(Petition.campaign_id == campaign.id).order_by(Petition.created_at, Petition.id)
    ).all()


def petitions_by_campaign() -> list[tuple[Campaign, list[Petition]]]:
    """Every open campaign with its petitions, oldest first: the way into signatures from the menu (two
    queries, whatever the number of campaigns and petitions)."""
    campaigns = db.session.scalars(
        sa.select(Campaign).where(Campaign.archived_at.is_(None)).order_by(Campaign.created_at, Campaign.id)
    ).all()
    petitions: dict[int, list[Petition]] = {campaign.id: [] for campaign in campaigns}
    if campaigns:
        for petition in db.session.scalars(
            sa.select(Petition)
            .where(Petition.campaign_id.in_(list(petitions)))
            .order_by(Petition.created_at, Petition.id)
        ):
            petitions[petition.campaign_id].append(petition)
    return [(campaign, petitions[campaign.id]) for campaign in campaigns]
