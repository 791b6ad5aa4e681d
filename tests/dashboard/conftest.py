"""Records for dashboard tests: the demo campaign (the figures are checked against it, counted by hand),
and a factory for campaigns of any size."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign, Demand
from crm.countries.models import Country
from crm.demo import DEMO_CAMPAIGN_SLUG, load_demo
from crm.extensions import db
from crm.outreach.models import OutreachRecord, Position

DEMO_URL = f"/dashboard/{DEMO_CAMPAIGN_SLUG}"


@pytest.fixture
def demo(app):
    """The demo campaign, loaded inside the test's transaction (rolled back afterwards)."""
    assert load_demo() is True
    db.session.commit()
    return db.session.scalar(sa.select(Campaign).where(Campaign.slug == DEMO_CAMPAIGN_SLUG))


def demo_record(campaign, alpha3: str) -> OutreachRecord:
    return db.session.scalar(
        sa.select(OutreachRecord)
        .join(OutreachRecord.country)
        .where(OutreachRecord.campaign_id == campaign.id, Country.alpha3 == alpha3)
    )


def demand(campaign, code: str) -> Demand:
    return db.session.scalar(sa.select(Demand).where(Demand.campaign_id == campaign.id, Demand.code == code))


@pytest.fixture
def big_campaign(app):
    """A campaign with `n` target governments, each with a position on every demand; call again to grow it."""
    campaign = Campaign(slug="big-campaign", name="Big campaign")
    db.session.add(campaign)
    demands = [Demand(campaign=campaign, ordinal=i, code=f"d{i}", title=f"Demand {i}") for i in (1, 2, 3)]
    db.session.add_all(demands)
    db.session.flush()
    countries = db.session.scalars(
        sa.select(Country).where(Country.numeric_code.is_not(None)).order_by(Country.id)
    ).all()
    stances = ("unknown", "opposed", "non_committal", "supportive", "acted")
    state = {"n": 0}

    def grow(total: int) -> Campaign:
        for index in range(state["n"], total):
            record = OutreachRecord(campaign=campaign, country=countries[index], stage="contacted")
            db.session.add(record)
            db.session.flush()
            for demand_ in demands:
                db.session.add(
                    Position(
                        campaign_id=campaign.id,
                        outreach_id=record.id,
                        demand_id=demand_.id,
                        stance=stances[(index + demand_.ordinal) % len(stances)],
                        stated_on=dt.date(2019, 1 + index % 12, 1),
                        evidence=f"Evidence {index}",
                    )
                )
        state["n"] = total
        db.session.commit()
        return campaign

    return grow
