"""Migrations: an empty database goes to head, back to base and up again, and the head matches the models."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from tests.conftest import make_app, require_database, scratch_postgres_database


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
