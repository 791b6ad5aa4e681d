"""The benchmark's data (bench/scale.py) at a small scale: built on an empty database through the
migrations and bulk inserts, on SQLite and PostgreSQL, with users who sign in and contacts the search finds."""

import importlib.util
import json
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.contacts.models import Contact
from crm.extensions import db
from crm.signatures.models import Signature
from crm.signatures.totals import daily_totals, totals_for
from tests.conftest import make_app, require_database, scratch_postgres_database

SCALE = Path(__file__).resolve().parents[2] / "bench" / "scale.py"


def load_scale():
    spec = importlib.util.spec_from_file_location("bench_scale", SCALE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    require_database(request.param)
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "bench.db")
        return
    with scratch_postgres_database("alcance_bench") as url:
        yield url


def test_the_benchmark_data_is_built_and_usable(empty_database_url, tmp_path_factory):
    scale = load_scale()
    facts = scale.build(empty_database_url, 0.002)
    rows = facts["rows"]
    assert rows["campaign"] == 21 and rows["outreach_record"] == 21 and rows["contact"] == 40
    assert rows["signature"] == 2000 and rows["audit_event"] == 852 and rows["follow_up"] == 132
    json.dumps(facts)

    app = make_app(empty_database_url, tmp_path_factory, DATA_ENCRYPTION_KEYS=[facts["data_key"]])
    with app.app_context():
        # The signatures were bulk-inserted; the counts the totals read were built from them.
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == facts["campaign"]))
        assert totals_for(campaign).total == db.session.scalar(
            sa.select(sa.func.count()).select_from(Signature).where(Signature.campaign_id == campaign.id)
        )
        assert daily_totals(campaign)[-1].total == totals_for(campaign).total
        stored = db.session.execute(sa.select(Contact.name, Contact.email, Contact.title, Contact.search_text)).all()
        assert all(row.search_text == scale_text(row) for row in stored)
        client = app.test_client()
        response = client.post("/login", data={"email": facts["users"]["manager"], "password": facts["password"]})
        assert response.headers["Location"].endswith("/login/2fa")
        response = client.post("/login/2fa", data={"code": pyotp.TOTP(facts["totp_secret"]).now()})
        assert response.status_code == 302
        for path in (
            f"/countries/{facts['busiest_country']}",
            f"/letters/{facts['letter_id']}",
            f"/contacts/{facts['contact_id']}",
            "/contacts?q=" + facts["search"],
        ):
            assert client.get(path).status_code == 200, path
        db.session.remove()
        db.engine.dispose()


def scale_text(row) -> str:
    from crm.contacts.models import contact_search_text

    return contact_search_text(row.name, row.email, row.title)
