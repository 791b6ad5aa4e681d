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
