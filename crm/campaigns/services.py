"""Campaign rules and read models shared by pages and commands."""
from __future__ import annotations

import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.extensions import db
from crm.outreach.models import STAGES, OutreachRecord


def get_campaign_by_slug(slug: str) -> Campaign | None:
    return db.session.scalar(sa.select(Campaign).where(Campaign.slug == slug))


def campaign_overview() -> list[dict]:
    """Each campaign with its number of target governments per stage, in two queries."""
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.created_at.desc())).all()
    counts = db.session.execute(
        sa.select(OutreachRecord.campaign_id, OutreachRecord.stage, sa.func.count())
        .group_by(OutreachRecord.campaign_id, OutreachRecord.stage)
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
