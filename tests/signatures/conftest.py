"""Records and files for signature tests: a campaign, petitions, the platforms' export fixtures, and a way to
check that the database is exactly as it was."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.outreach.models import OutreachRecord
from crm.signatures.imports import import_file
from crm.signatures.models import Petition, Signature, SignatureImport, SignatureTally
from crm.signatures.petitions import create_petition
from crm.signatures.push import push_signatures

FIXTURES = Path(__file__).parent / "fixtures"
_serial = itertools.count(1)


def fixture_path(name: str) -> Path:
    return FIXTURES / name


@pytest.fixture(autouse=True)
def _uploads_in_tmp(request, tmp_path):
    """Staged uploads go to the test's own folder, never to the instance folder."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        previous = app.config.get("SIGNATURE_UPLOAD_DIR")
        app.config["SIGNATURE_UPLOAD_DIR"] = str(tmp_path / "uploads")
        yield
        app.config["SIGNATURE_UPLOAD_DIR"] = previous
    else:
        yield


@pytest.fixture
def campaign(app):
    campaign = Campaign(slug=f"justicia-{next(_serial)}", name="Justicia para Venezuela")
    db.session.add(campaign)
    db.session.flush()
    return campaign


@pytest.fixture
def make_petition(campaign):
    def factory(name: str | None = None, platform: str = "generic", campaign_=None) -> Petition:
        return create_petition(campaign_ or campaign, name or f"Petition {next(_serial)}", platform=platform)

    return factory


@pytest.fixture
def make_record(campaign):
    def factory(alpha3: str = "CAN", assignee=None, campaign_=None) -> OutreachRecord:
        record = OutreachRecord(
            campaign=campaign_ or campaign,
            country_id=country_by_code(alpha3).id,
            assignee_id=getattr(assignee, "id", None),
        )
        db.session.add(record)
        db.session.flush()
        return record

    return factory


def import_fixture(petition, name: str, **options):
    with open(fixture_path(name), "rb") as handle:
        return import_file(petition, handle, filename=name, **options)


def database_state() -> dict:
    """What an import may change: row counts, the newest ids, and the petitions' remembered mappings."""
    state = {}
    for model in (Signature, SignatureImport, SignatureTally, AuditEvent):
        state[model.__tablename__] = (
            db.session.scalar(sa.select(sa.func.count()).select_from(model)),
            db.session.scalar(sa.select(sa.func.max(model.id))),
        )
    state["mappings"] = dict(db.session.execute(sa.select(Petition.id, Petition.column_mapping)).all())
    return state


def hand_count(campaign) -> dict:
    """Signers per country (alpha-3, None for unknown) counted straight from the rows, for cross-checks."""
    from crm.countries.models import Country

    rows = db.session.execute(
        sa.select(Country.alpha3, sa.func.count())
        .select_from(Signature)
        .outerjoin(Country, Country.id == Signature.country_id)
        .where(Signature.campaign_id == campaign.id)
        .group_by(Country.alpha3)
    ).all()
    return dict(rows)


def kept_counts(campaign) -> dict:
    """The counts kept beside signature_count for a campaign: per petition and country, per day, and the
    overlaps of the two kinds of signers, as sorted rows."""
    from crm.signatures.models import SignatureCampaignTotal, SignatureDay, SignatureOverlap, SignatureTotal

    def rows(*columns):
        return sorted(
            tuple(row)
            for row in db.session.execute(sa.select(*columns).where(columns[0].table.c.campaign_id == campaign.id))
        )

    return {
        "total": rows(
            SignatureTotal.petition_id, SignatureTotal.country_id, SignatureTotal.signers, SignatureTotal.without_email
        ),
        "day": rows(SignatureDay.day, SignatureDay.signers),
        "overlap": rows(SignatureOverlap.country_id, SignatureOverlap.day, SignatureOverlap.signers),
        "campaign": rows(
            SignatureCampaignTotal.campaign_id, SignatureCampaignTotal.signers, SignatureCampaignTotal.overlap
        ),
    }


def assert_kept_as_recounted(campaign) -> None:
    """The counts kept by the writes, and the totals and series read from them, are what counting the
    campaign's signatures and tallies from scratch gives, with the documented rules applied afresh to
    everything up to each day."""
    import datetime as dt
    from collections import defaultdict

    from crm.signatures.counts import day_of
    from crm.signatures.models import UNKNOWN_COUNTRY
    from crm.signatures.totals import _Cell, _range, daily_totals, monthly_totals, total_signers, totals_for

    signatures = [
        (petition_id, country_id or UNKNOWN_COUNTRY, kind == "name", day_of(signed_at, created_at))
        for petition_id, country_id, kind, signed_at, created_at in db.session.execute(
            sa.select(
                Signature.petition_id, Signature.country_id, Signature.kind, Signature.signed_at, Signature.created_at
            ).where(Signature.campaign_id == campaign.id)
        )
    ]
    tallies = db.session.execute(
        sa.select(SignatureTally.petition_id, SignatureTally.country_id, SignatureTally.signers, SignatureTally.as_of)
        .join(Petition, Petition.id == SignatureTally.petition_id)
        .where(Petition.campaign_id == campaign.id)
    ).all()
    per_cell, per_day = defaultdict(lambda: [0, 0]), defaultdict(int)
    by_country_day = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for petition_id, country_id, named, day in signatures:
        per_cell[(petition_id, country_id)][0] += 1
        per_cell[(petition_id, country_id)][1] += named
        per_day[day] += 1
        by_country_day[country_id][day][1 if named else 0] += 1
    overlaps = []
    for country_id, days in by_country_day.items():
        email = name = common = 0
        for day in sorted(days):
            email, name = email + days[day][0], name + days[day][1]
            if min(email, name) > common:
                overlaps.append((country_id, day, min(email, name) - common))
                common = min(email, name)
    assert kept_counts(campaign) == {
        "total": sorted((p, k, n, w) for (p, k), (n, w) in per_cell.items()),
        "day": sorted(per_day.items()),
        "overlap": sorted(overlaps),
        "campaign": [(campaign.id, len(signatures), sum(n for *_, n in overlaps))] if signatures else [],
    }

    def total_on(end: dt.date) -> int:
        cells = defaultdict(_Cell)
        for petition_id, country_id, named, day in signatures:
            if day <= end:
                cell = cells[(petition_id, None if country_id == UNKNOWN_COUNTRY else country_id)]
                cell.rows, cell.named = cell.rows + 1, cell.named + named
        for petition_id, country_id, signers, as_of in tallies:
            if as_of <= end:
                cells[(petition_id, country_id)].tally = signers
        by_country = defaultdict(list)
        for (_petition_id, country_id), cell in cells.items():
            by_country[country_id].append(cell)
        return sum(_range(group)[0] for group in by_country.values())

    series = daily_totals(campaign)
    days = sorted({day for *_, day in signatures} | {as_of for *_, as_of in tallies})
    assert [(day.day, day.total) for day in series] == [(day, total_on(day)) for day in days]
    assert [day.added for day in series] == [
        day.total - (series[n - 1].total if n else 0) for n, day in enumerate(series)
    ]
    months: dict = {}
    for day in series:
        added, _total = months.get(day.day.replace(day=1), (0, 0))
        months[day.day.replace(day=1)] = (added + day.added, day.total)
    assert [(m.month, m.added, m.total) for m in monthly_totals(campaign)] == [(m, *months[m]) for m in sorted(months)]
    assert totals_for(campaign).total == (series[-1].total if series else 0) == total_signers(campaign)
    # Given the totals (as the totals page does), the months are the same: tallies looked for where counted.
    totals, every_month = totals_for(campaign), monthly_totals(campaign)
    assert monthly_totals(campaign, totals) == every_month
    # The months from one on, read from their own days and counted back from the total, end the same series.
    for n, month in enumerate(every_month):
        assert monthly_totals(campaign, totals, since=month.month) == every_month[n:]


def push_people(petition, people):
    """Signatures pushed as Action Network's webhook sends them: (e-mail, country, created_date) each."""
    return push_signatures(
        petition,
        [
            {
                "osdi:signature": {
                    "created_date": when,
                    "person": {"email_addresses": [{"address": email}], "postal_addresses": [{"country": country}]},
                }
            }
            for email, country, when in people
        ],
    )
