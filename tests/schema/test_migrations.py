"""Migrations: an empty database goes to head, back to base and up again, and the head matches the models."""

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from crm.audit.models import REDACTION
from crm.database import utcnow
from crm.extensions import db
from tests.conftest import make_app, require_database, scratch_postgres_database

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A database with nothing in it, made for this test and removed after."""
    require_database(request.param)
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    with scratch_postgres_database("alcance_migrations") as url:
        yield url


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_downgrade_upgrade_and_no_drift(empty_database_url, tmp_path_factory):
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        engine = db.engine
        assert _tables(engine) == set()
        upgrade()
        assert _tables(engine) == set(db.metadata.tables)
        assert _differences(engine) == []
        downgrade(revision="base")
        assert _tables(engine) == set()
        upgrade()
        assert _tables(engine) == set(db.metadata.tables)
        assert _differences(engine) == []
        engine.dispose()


def test_a_migrated_database_keeps_the_audit_log_append_only(empty_database_url, tmp_path_factory):
    """The triggers come with the migrations too, not only with create_all; a downgrade removes them."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade()
        audit_event = db.metadata.tables["audit_event"]
        with db.engine.begin() as connection:
            connection.execute(sa.insert(audit_event).values(
                id=1, action="campaign.create", occurred_at=utcnow(), after={"name": "x"}))
        for statement in (sa.delete(audit_event), sa.update(audit_event).values(action="campaign.delete")):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with db.engine.begin() as connection:
                    connection.execute(statement)
        with db.engine.begin() as connection:
            connection.execute(sa.update(audit_event).values(after=REDACTION))
        downgrade(revision="0006_reminders")
        with db.engine.begin() as connection:
            assert connection.execute(sa.delete(audit_event)).rowcount == 1
        db.engine.dispose()


def test_the_campaign_counts_migration_files_existing_events_and_counts_existing_signatures(
        empty_database_url, tmp_path_factory):
    """0018 gives existing audit events their campaign where the record they name says it, counts the
    signatures already imported, and from then on the campaign of an event cannot be changed."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0014_meeting_client_key")
        now = utcnow()
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO campaign (id, slug, name, letter_language, reply_days, claims_need_approval, stall_days,"
                " is_demo, created_at) VALUES (7, 'old', 'Old', 'en', 14, false, 21, false, :now)"), {"now": now})
            connection.execute(sa.text(
                "INSERT INTO petition (id, campaign_id, slug, name, platform, created_at)"
                " VALUES (3, 7, 'old-petition', 'Old petition', 'generic', :now)"), {"now": now})
            for n, signed_at in enumerate([dt.datetime(2018, 5, 1, 23, 30, tzinfo=dt.timezone.utc),
                                           dt.datetime(2018, 5, 1, 8, 0, tzinfo=dt.timezone.utc), None]):
                connection.execute(sa.text(
                    "INSERT INTO signature (campaign_id, petition_id, email_hash, signed_at, created_at)"
                    " VALUES (7, 3, :hash, :signed_at, :now)"),
                    {"hash": f"{n:064x}", "signed_at": signed_at, "now": now})
            for n, (entity_type, entity_id) in enumerate([("campaign", "7"), ("campaign", "old"),
                                                          ("petition", "3"), ("petition", "99"), ("contact", "1")]):
                connection.execute(sa.text(
                    "INSERT INTO audit_event (id, occurred_at, action, entity_type, entity_id)"
                    " VALUES (:id, :now, 'x.y', :type, :entity)"),
                    {"id": n + 1, "now": now, "type": entity_type, "entity": entity_id})
        upgrade()
        with db.engine.begin() as connection:
            filed = dict(connection.execute(sa.text("SELECT id, campaign_id FROM audit_event")).all())
            counts = sorted((str(day), signers) for day, signers in connection.execute(sa.text(
                "SELECT day, signers FROM signature_count WHERE petition_id = 3")).all())
        # The campaign by its id; by its slug, a deleted petition and a contact: not derivable.
        assert filed == {1: 7, 2: None, 3: 7, 4: None, 5: None}
        assert counts == [("2018-05-01", 2), (str(now.date()), 1)]
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(sa.text("UPDATE audit_event SET campaign_id = 8 WHERE id = 1"))
        db.engine.dispose()
