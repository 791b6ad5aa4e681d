"""Migrations: an empty database goes to head, back to base and up again, and the head matches the models."""

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


def test_a_meeting_form_key_given_before_the_upgrade_still_finds_its_meeting(empty_database_url, tmp_path_factory):
    """The meeting form's own key column became a submission like every creating form's: a form (or a
    phone's draft) sent again after the upgrade is sent to the meeting it logged, not logged twice."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0014_meeting_client_key")
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO \"user\" (id, email, name, role, language, timezone, active, session_token, created_at) "
                "VALUES (7, 'v@example.org', 'Vera', 'volunteer', 'en', 'UTC', :yes, 'token', :now)"),
                {"yes": True, "now": utcnow()})
            connection.execute(sa.text(
                "INSERT INTO meeting (id, held_at, summary, created_by_id, created_at, version, client_key) "
                "VALUES (3, :now, 'Met', 7, :now, 1, :key)"), {"now": utcnow(), "key": "f" * 32})
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT key, user_id, location FROM form_submission")).all()
        assert [tuple(row) for row in rows] == [("f" * 32, 7, "/meetings/3")]
        downgrade(revision="0014_meeting_client_key")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT client_key FROM meeting WHERE id = 3")).scalar() == "f" * 32
        downgrade(revision="base")
        db.engine.dispose()
