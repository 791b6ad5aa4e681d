"""Migrations: an empty database goes to head, back to base and up again, and the head matches the models."""

import datetime as dt
import warnings

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


def _on_expressions(index: sa.Index) -> bool:
    """An index on an expression, or with a column in descending order (written as text)."""
    return any(not isinstance(part, sa.Column) for part in index.expressions)


def _is_compared(object_, name, type_, reflected, compare_to) -> bool:
    # Neither database's reflection gives back an index on an expression (SQLAlchemy skips them with a
    # warning): those are compared by name and definition in _expression_indexes instead.
    return not (type_ == "index" and isinstance(object_, sa.Index) and _on_expressions(object_))


def _differences(engine) -> list:
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _is_compared})
        return compare_metadata(context, db.metadata)


def _expression_indexes(engine) -> dict[str, str]:
    """The indexes on expressions (or with a column in descending order) the database has, by name, each
    with its definition in one spacing."""
    if engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND (sql LIKE '%(%(%' OR sql LIKE '% DESC%')"
    else:
        query = (
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indexprs IS NOT NULL OR pg_get_indexdef(i.indexrelid) LIKE '% DESC%'"
        )
    with engine.connect() as connection:
        return {name: " ".join(sql.split()) for name, sql in connection.execute(sa.text(query))}


def _expected_expression_indexes() -> set[str]:
    return {index.name for table in db.metadata.tables.values() for index in table.indexes if _on_expressions(index)}


def _add_campaigns(connection, *numbers: int) -> None:
    """Campaigns 1, 2, ... as a revision's raw rows (no model: the columns are those of every revision since
    0012)."""
    for number in numbers:
        connection.execute(
            sa.text(
                "INSERT INTO campaign (id, slug, name, letter_language, reply_days, claims_need_approval, "
                "stall_days, is_demo, created_at) VALUES (:id, :slug, 'Campaign', 'en', 14, false, 21, false, :now)"
            ),
            {"id": number, "slug": f"campaign-{number}", "now": utcnow()},
        )


def _numbers(word: str, answer: tuple[str, ...]) -> dict[int, int]:
    """Each campaign's `word`_version as a reader gets it: on PostgreSQL through campaign_versions(), whose
    answer has the columns `answer` at the revision tested; on SQLite from its column."""
    column = f"{word}_version"
    campaign = sa.table("campaign", sa.column("id"), sa.column(column))
    if db.engine.dialect.name == "postgresql":
        versions = sa.func.campaign_versions(campaign.c.id).table_valued(*answer)
        read = sa.select(campaign.c.id, versions.c[word]).select_from(campaign).join(versions, sa.true())
    else:
        read = sa.select(campaign.c.id, campaign.c[column])
    with db.engine.connect() as connection:
        return dict(connection.execute(read.order_by(campaign.c.id)).all())


def test_upgrade_downgrade_upgrade_and_no_drift(empty_database_url, tmp_path_factory):
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        engine = db.engine
        assert _tables(engine) == set()
        upgrade()
        assert _tables(engine) == set(db.metadata.tables)
        assert _differences(engine) == []
        assert (
            set(_expression_indexes(engine))
            == _expected_expression_indexes()
            == {
                "ix_follow_up_to_do_due",
                "ix_follow_up_campaign_to_do_due",
                "ix_letter_outreach_day",
                "ix_office_government_order",
            }
        )
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
            connection.execute(
                sa.insert(audit_event).values(id=1, action="campaign.create", occurred_at=utcnow(), after={"name": "x"})
            )
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


def test_a_campaigns_spanish_wording_moves_into_its_translation_and_back(empty_database_url, tmp_path_factory):
    """0015 carries the Spanish name and description from campaign's own columns into campaign_translation
    (a Spanish description alone keeps the English name beside it), and its downgrade brings them back."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0014_meeting_client_key")
        campaign = sa.table(
            "campaign",
            *(
                sa.column(name)
                for name in (
                    "id",
                    "slug",
                    "name",
                    "description",
                    "name_es",
                    "description_es",
                    "letter_language",
                    "reply_days",
                    "stall_days",
                    "claims_need_approval",
                    "is_demo",
                    "created_at",
                )
            ),
        )
        common = {
            "letter_language": "en",
            "reply_days": 14,
            "stall_days": 21,
            "claims_need_approval": False,
            "is_demo": False,
            "created_at": utcnow(),
            "description": "In English.",
        }
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(campaign),
                [
                    {
                        **common,
                        "id": 1,
                        "slug": "both",
                        "name": "Free elections",
                        "name_es": "Elecciones libres",
                        "description_es": "En español.",
                    },
                    {
                        **common,
                        "id": 2,
                        "slug": "name-only",
                        "name": "Justice",
                        "name_es": "Justicia",
                        "description_es": None,
                    },
                    {
                        **common,
                        "id": 3,
                        "slug": "description-only",
                        "name": "Truth",
                        "name_es": None,
                        "description_es": "Verdad y memoria.",
                    },
                    {
                        **common,
                        "id": 4,
                        "slug": "english-only",
                        "name": "Only English",
                        "name_es": None,
                        "description_es": None,
                    },
                ],
            )
            connection.execute(
                sa.text(
                    "INSERT INTO demand (campaign_id, ordinal, code, title) "
                    "VALUES (1, 1, 'd1', 'Repudiate the election')"
                )
            )
        upgrade(revision="0015_campaign_translation")
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT campaign_id, language, name, description FROM campaign_translation ORDER BY campaign_id"
                )
            ).all()
            columns = {c["name"] for c in sa.inspect(connection).get_columns("campaign")}
        assert [tuple(row) for row in rows] == [
            (1, "es", "Elecciones libres", "En español."),
            (2, "es", "Justicia", None),
            (3, "es", "Truth", "Verdad y memoria."),
        ]
        assert not columns & {"name_es", "description_es"}
        # Nothing that points at a campaign goes with the columns (a rebuilt table would cascade on SQLite).
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM demand")).scalar() == 1
        downgrade(revision="0014_meeting_client_key")
        with db.engine.connect() as connection:
            back = connection.execute(sa.text("SELECT id, name_es, description_es FROM campaign ORDER BY id")).all()
            tables = set(sa.inspect(connection).get_table_names())
        assert [tuple(row) for row in back] == [
            (1, "Elecciones libres", "En español."),
            (2, "Justicia", None),
            (3, "Truth", "Verdad y memoria."),
            (4, None, None),
        ]
        assert "campaign_translation" not in tables
        db.engine.dispose()


def test_upgrading_a_database_with_a_campaign_keeps_everything_that_points_at_it(empty_database_url, tmp_path_factory):
    """On SQLite a batch migration rebuilds a table (copy, drop, rename); with foreign keys on, the drop
    would delete every row that cascades from it. 0012 rebuilds the campaign table: its demands stay."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0011_form_submission")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO campaign (id, slug, name, reply_days, stall_days, claims_need_approval, is_demo, "
                    "created_at) VALUES (1, 'justice', 'Justice', 14, 21, false, false, :now)"
                ),
                {"now": utcnow()},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO demand (id, campaign_id, ordinal, code, title) "
                    "VALUES (1, 1, 1, 'd1', 'Repudiate the election')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO demand_translation (demand_id, language, title) "
                    "VALUES (1, 'es', 'Desconocer la elección')"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(
                sa.text(
                    "SELECT d.title, t.title FROM demand d JOIN demand_translation t ON t.demand_id = d.id "
                    "JOIN campaign c ON c.id = d.campaign_id"
                )
            ).all() == [("Repudiate the election", "Desconocer la elección")]
            if db.engine.dialect.name == "sqlite":  # the keys are checked again once the migrations are done
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()


def test_a_meeting_form_key_given_before_the_upgrade_still_finds_its_meeting(empty_database_url, tmp_path_factory):
    """The meeting form's own key column became a submission like every creating form's: a form (or a
    phone's draft) sent again after the upgrade is sent to the meeting it logged, not logged twice."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0014_meeting_client_key")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (id, email, name, role, language, timezone, active, session_token, created_at) '
                    "VALUES (7, 'v@example.org', 'Vera', 'volunteer', 'en', 'UTC', :yes, 'token', :now)"
                ),
                {"yes": True, "now": utcnow()},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO meeting (id, held_at, summary, created_by_id, created_at, version, client_key) "
                    "VALUES (3, :now, 'Met', 7, :now, 1, :key)"
                ),
                {"now": utcnow(), "key": "f" * 32},
            )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT key, user_id, location FROM form_submission")).all()
        assert [tuple(row) for row in rows] == [("f" * 32, 7, "/meetings/3")]
        downgrade(revision="0014_meeting_client_key")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT client_key FROM meeting WHERE id = 3")).scalar() == "f" * 32
        downgrade(revision="base")
        db.engine.dispose()


def test_the_campaign_counts_migration_files_existing_events_and_counts_existing_signatures(
    empty_database_url, tmp_path_factory
):
    """0018 gives existing audit events their campaign where the record they name says it, counts the
    signatures already imported, and from then on the campaign of an event cannot be changed."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0014_meeting_client_key")
        now = utcnow()
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO campaign (id, slug, name, letter_language, reply_days, claims_need_approval, stall_days,"
                    " is_demo, created_at) VALUES (7, 'old', 'Old', 'en', 14, false, 21, false, :now)"
                ),
                {"now": now},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO petition (id, campaign_id, slug, name, platform, created_at)"
                    " VALUES (3, 7, 'old-petition', 'Old petition', 'generic', :now)"
                ),
                {"now": now},
            )
            for n, signed_at in enumerate(
                [dt.datetime(2018, 5, 1, 23, 30, tzinfo=dt.UTC), dt.datetime(2018, 5, 1, 8, 0, tzinfo=dt.UTC), None]
            ):
                connection.execute(
                    sa.text(
                        "INSERT INTO signature (campaign_id, petition_id, email_hash, signed_at, created_at)"
                        " VALUES (7, 3, :hash, :signed_at, :now)"
                    ),
                    {"hash": f"{n:064x}", "signed_at": signed_at, "now": now},
                )
            for n, (entity_type, entity_id) in enumerate(
                [("campaign", "7"), ("campaign", "old"), ("petition", "3"), ("petition", "99"), ("contact", "1")]
            ):
                connection.execute(
                    sa.text(
                        "INSERT INTO audit_event (id, occurred_at, action, entity_type, entity_id)"
                        " VALUES (:id, :now, 'x.y', :type, :entity)"
                    ),
                    {"id": n + 1, "now": now, "type": entity_type, "entity": entity_id},
                )
        upgrade()
        with db.engine.begin() as connection:
            filed = dict(connection.execute(sa.text("SELECT id, campaign_id FROM audit_event")).all())
            counts = sorted(
                (str(day), signers)
                for day, signers in connection.execute(
                    sa.text("SELECT day, signers FROM signature_count WHERE petition_id = 3")
                ).all()
            )
        # The campaign by its id; by its slug, a deleted petition and a contact: not derivable.
        assert filed == {1: 7, 2: None, 3: 7, 4: None, 5: None}
        assert counts == [("2018-05-01", 2), (str(now.date()), 1)]
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(sa.text("UPDATE audit_event SET campaign_id = 8 WHERE id = 1"))
        db.engine.dispose()


def test_a_campaigns_kept_total_is_summed_from_its_petitions_countries_and_overlaps(
    empty_database_url, tmp_path_factory
):
    """0035 gives each campaign with signers its row of signature_campaign_total: signature_total's rows
    summed, and the sum of its overlaps; a campaign nobody signed has none."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0034_office_government_order")
        now = utcnow()
        with db.engine.begin() as connection:
            for campaign_id, slug in ((7, "signed"), (8, "unsigned")):
                connection.execute(
                    sa.text(
                        "INSERT INTO campaign (id, slug, name, letter_language, reply_days, claims_need_approval,"
                        " stall_days, is_demo, created_at) VALUES (:id, :slug, 'C', 'en', 14, false, 21, false, :now)"
                    ),
                    {"id": campaign_id, "slug": slug, "now": now},
                )
            for petition_id in (3, 4):
                connection.execute(
                    sa.text(
                        "INSERT INTO petition (id, campaign_id, slug, name, platform, created_at)"
                        " VALUES (:id, 7, :slug, 'P', 'generic', :now)"
                    ),
                    {"id": petition_id, "slug": f"p{petition_id}", "now": now},
                )
            connection.execute(
                sa.text(
                    "INSERT INTO signature_total (campaign_id, petition_id, country_id, signers, without_email)"
                    " VALUES (7, 3, 0, 5, 0), (7, 3, 1, 4, 0), (7, 4, 1, 3, 3)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO signature_overlap (campaign_id, country_id, day, signers)"
                    " VALUES (7, 1, '2018-05-01', 2), (7, 1, '2018-05-02', 1)"
                )
            )
        upgrade(revision="0035_signature_campaign_total")
        with db.engine.begin() as connection:
            rows = connection.execute(sa.text("SELECT campaign_id, signers, overlap FROM signature_campaign_total"))
            assert [tuple(row) for row in rows] == [(7, 12, 3)]
        downgrade(revision="0034_office_government_order")
        downgrade(revision="base")
        db.engine.dispose()


def test_the_follow_ups_still_to_do_are_listed_in_the_order_of_their_index(empty_database_url, tmp_path_factory):
    """The follow-ups list, the reminders and the dashboard ask for what is still to do, soonest first, with
    FollowUp.due and FollowUp.still_to_do; the migrated index is on the same expressions, so the database
    reads the first page in the index's order instead of sorting every open follow-up."""
    from crm.outreach.models import FollowUp

    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade()
        statement = sa.select(FollowUp.id).where(FollowUp.still_to_do).order_by(FollowUp.due, FollowUp.id).limit(50)
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "postgresql":
                # An empty table, where any plan is cheap: the question is whether the index can give the
                # order (its expressions match the query's), so a sort is made the dearest plan.
                for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                    connection.execute(sa.text(f"SET {setting} = off"))
                plan = connection.execute(sa.text(f"EXPLAIN {compiled}")).scalars().all()
            else:
                # SQLite plans by its statistics: those of an organisation's follow-ups (66,000, of which
                # 12,000 still to do), written as ANALYZE would write them.
                connection.execute(sa.text("ANALYZE"))
                connection.execute(
                    sa.text(
                        "INSERT INTO sqlite_stat1 VALUES ('follow_up', 'ix_follow_up_due_reminder', '66000 22000 2 1'),"
                        " ('follow_up', 'ix_follow_up_to_do_due', '12000 2 1')"
                    )
                )
                connection.execute(sa.text("ANALYZE sqlite_schema"))
                plan = [row[-1] for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))]
        text = " ".join(plan)
        assert "ix_follow_up_to_do_due" in text
        assert "Sort" not in text and "TEMP B-TREE" not in text
        db.engine.dispose()


def test_a_migrated_database_renews_a_campaigns_figures_number_and_a_downgrade_removes_the_triggers(
    empty_database_url, tmp_path_factory
):
    """0037 brings what create_all brings (crm.campaigns.models): every existing campaign gets a number of its
    own, a write its figures are made from renews it (read through campaign_figures_version on PostgreSQL),
    other writes do not; its downgrade leaves writes as they were."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0036_signature_day_signers")
        postgresql = db.engine.dialect.name == "postgresql"
        campaign = sa.table("campaign", *(sa.column(name) for name in ("id", "slug", "name", "figures_version")))
        demand = sa.table("demand", *(sa.column(name) for name in ("id", "campaign_id", "ordinal", "code", "title")))
        with db.engine.begin() as connection:
            _add_campaigns(connection, 1, 2)
        upgrade(revision="0037_campaign_figures_version")

        def numbers() -> dict[int, int]:
            read = (
                sa.select(campaign.c.id, sa.func.campaign_figures_version(campaign.c.id))
                if postgresql
                else sa.select(campaign.c.id, campaign.c.figures_version)
            )
            with db.engine.connect() as connection:
                return dict(connection.execute(read.order_by(campaign.c.id)).all())

        before = numbers()
        assert len(set(before.values())) == 2 and 0 not in before.values()
        with db.engine.begin() as connection:
            connection.execute(sa.insert(demand).values(id=1, campaign_id=1, ordinal=1, code="d1", title="Refer"))
        after = numbers()
        assert after[1] != before[1] and after[2] == before[2]
        with db.engine.begin() as connection:
            connection.execute(sa.update(campaign).where(campaign.c.id == 2).values(name="Renamed"))
        assert numbers() == after

        downgrade(revision="0036_signature_day_signers")
        with db.engine.begin() as connection:
            connection.execute(sa.insert(demand).values(id=2, campaign_id=1, ordinal=2, code="d2", title="Open"))
            assert "figures_version" not in {c["name"] for c in sa.inspect(connection).get_columns("campaign")}
        db.engine.dispose()


def test_a_migrated_database_renews_a_campaigns_signatures_number_and_a_downgrade_gives_back_0037s_reader(
    empty_database_url, tmp_path_factory
):
    """0038 brings what create_all brings (crm.campaigns.models): every existing campaign gets a second number
    of its own, a write its signature totals are made from renews it, and on PostgreSQL campaign_versions()
    reads both numbers; its downgrade removes the triggers and gives back 0037's campaign_figures_version()."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0037_campaign_figures_version")
        postgresql = db.engine.dialect.name == "postgresql"
        campaign = sa.table("campaign", *(sa.column(name) for name in ("id", "name", "signatures_version")))
        petition = sa.table(
            "petition", *(sa.column(name) for name in ("id", "campaign_id", "slug", "name", "platform", "created_at"))
        )
        with db.engine.begin() as connection:
            _add_campaigns(connection, 1, 2)
        upgrade(revision="0038_campaign_signatures_version")

        def numbers() -> dict[int, int]:
            return _numbers("signatures", ("figures", "signatures"))

        before = numbers()
        assert len(set(before.values())) == 2 and 0 not in before.values()
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(petition).values(
                    id=1, campaign_id=1, slug="p1", name="Petition", platform="generic", created_at=utcnow()
                )
            )
        after = numbers()
        assert after[1] != before[1] and after[2] == before[2]
        with db.engine.begin() as connection:
            connection.execute(sa.update(campaign).where(campaign.c.id == 2).values(name="Renamed"))
        assert numbers() == after

        downgrade(revision="0037_campaign_figures_version")
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(petition).values(
                    id=2, campaign_id=1, slug="p2", name="Other", platform="generic", created_at=utcnow()
                )
            )
            assert "signatures_version" not in {c["name"] for c in sa.inspect(connection).get_columns("campaign")}
            if postgresql:
                held = connection.execute(sa.text("SELECT figures_version FROM campaign WHERE id = 1")).scalar()
                assert connection.execute(sa.select(sa.func.campaign_figures_version(1))).scalar() == held
        db.engine.dispose()


def test_a_migrated_follow_up_carries_its_records_campaign_and_keeps_what_points_at_it(
    empty_database_url, tmp_path_factory
):
    """0039 gives each existing follow-up its record's campaign; on SQLite the table is copied to change
    its key, and the rows that point at a follow-up (a reply clock) stay; the downgrade gives back 0032's
    index and the follow-ups as they were."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0038_campaign_signatures_version")
        now = utcnow()
        with db.engine.begin() as connection:
            country_ids = connection.execute(sa.text("SELECT id FROM country ORDER BY id LIMIT 2")).scalars().all()
            if len(country_ids) < 2:  # an empty database: two countries of its own
                for number in (1, 2):
                    connection.execute(
                        sa.text(
                            "INSERT INTO country (id, alpha2, alpha3, in_iso_3166, name_en, name_es, un_member, "
                            "rs_status, rs_verified) VALUES (:id, :a2, :a3, true, :name, :name, true, 'non_party', "
                            "false)"
                        ),
                        {
                            "id": number,
                            "a2": "QM"[number - 1] + "Z",
                            "a3": "QM"[number - 1] + "ZZ",
                            "name": f"Country {number}",
                        },
                    )
                country_ids = [1, 2]
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (id, email, name, role, language, timezone, active, session_token, '
                    "created_at) VALUES (1, 'a@example.org', 'A', 'admin', 'en', 'UTC', true, 'token', :now)"
                ),
                {"now": now},
            )
            _add_campaigns(connection, 1, 2)
            for number in (1, 2):
                connection.execute(
                    sa.text(
                        "INSERT INTO outreach_record (id, campaign_id, country_id, stage, priority, created_at, "
                        "updated_at, version) VALUES (:id, :id, :country, 'not_started', 3, :now, :now, 1)"
                    ),
                    {"id": number, "country": country_ids[number - 1], "now": now},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO follow_up (id, outreach_id, owner_id, due_on, note, status, created_at, version) "
                        "VALUES (:id, :id, 1, :day, 'Call', 'open', :now, 1)"
                    ),
                    {"id": number, "day": dt.date(2026, 1, number), "now": now},
                )
            connection.execute(
                sa.text(
                    "INSERT INTO meeting (id, held_at, summary, created_at, version) VALUES (1, :now, 'Met', :now, 1)"
                ),
                {"now": now},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO reply_clock (outreach_id, meeting_id, follow_up_id, started_on, created_at) "
                    "VALUES (2, 1, 2, :day, :now)"
                ),
                {"day": dt.date(2026, 1, 1), "now": now},
            )
        upgrade(revision="0039_follow_up_campaign")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT id, campaign_id FROM follow_up ORDER BY id")).all() == [
                (1, 1),
                (2, 2),
            ]
            assert connection.execute(sa.text("SELECT follow_up_id FROM reply_clock")).scalars().all() == [2]
        downgrade(revision="0038_campaign_signatures_version")
        with db.engine.connect() as connection:
            assert "campaign_id" not in {c["name"] for c in sa.inspect(connection).get_columns("follow_up")}
            assert connection.execute(sa.text("SELECT id, outreach_id FROM follow_up ORDER BY id")).all() == [
                (1, 1),
                (2, 2),
            ]
            assert connection.execute(sa.text("SELECT follow_up_id FROM reply_clock")).scalars().all() == [2]
        assert "ix_follow_up_outreach_to_do_due" in _expression_indexes(db.engine)
        db.engine.dispose()


def test_a_migrated_database_renews_a_campaigns_follow_ups_number_and_a_downgrade_gives_back_0038s_reader(
    empty_database_url, tmp_path_factory
):
    """0040 brings what create_all brings: every existing campaign gets a third number of its own, renamed
    people renew every campaign's, and on PostgreSQL campaign_versions() reads the three numbers; its downgrade
    removes the triggers and gives back 0038's reader of two."""
    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade(revision="0039_follow_up_campaign")
        postgresql = db.engine.dialect.name == "postgresql"
        user = sa.table("user", sa.column("id"), sa.column("name"), sa.column("language"))
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (id, email, name, role, language, timezone, active, session_token, '
                    "created_at) VALUES (1, 'a@example.org', 'A', 'admin', 'en', 'UTC', true, 'token', :now)"
                ),
                {"now": utcnow()},
            )
            _add_campaigns(connection, 1, 2)
        upgrade(revision="0040_campaign_follow_ups_version")

        def numbers() -> dict[int, int]:
            return _numbers("follow_ups", ("figures", "signatures", "follow_ups"))

        before = numbers()
        assert len(set(before.values())) == 2 and 0 not in before.values()
        with db.engine.begin() as connection:
            connection.execute(sa.update(user).values(language="es"))
        assert numbers() == before
        with db.engine.begin() as connection:
            connection.execute(sa.update(user).values(name="Renamed"))
        after = numbers()
        assert after[1] != before[1] and after[2] != before[2]

        downgrade(revision="0039_follow_up_campaign")
        with db.engine.begin() as connection:
            connection.execute(sa.update(user).values(name="Again"))
            assert "follow_ups_version" not in {c["name"] for c in sa.inspect(connection).get_columns("campaign")}
            if postgresql:
                answer = connection.execute(sa.text("SELECT * FROM campaign_versions(1)"))
                assert list(answer.keys()) == ["figures", "signatures"]
        db.engine.dispose()


def test_an_offices_first_people_are_read_in_the_order_of_the_migrated_index(empty_database_url, tmp_path_factory):
    """A country's page lists each office's first active people by name, with their titles
    (crm/contacts/offices.py): the migrated index is partial on the same condition as the query, written as
    each database writes it, and gives their order; on PostgreSQL it holds every column read."""
    from crm.contacts.models import Contact

    app = make_app(empty_database_url, tmp_path_factory)
    with app.app_context():
        upgrade()
        statement = (
            sa.select(Contact.office_id, Contact.name, Contact.id, Contact.title)
            .where(Contact.office_id == 7, Contact.active.is_(True), Contact.merged_into_id.is_(None))
            .order_by(Contact.name, Contact.id)
        )
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "postgresql":
                # An empty table, where any plan is cheap: the question is whether the index can answer alone.
                for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                    connection.execute(sa.text(f"SET {setting} = off"))
                plan = connection.execute(sa.text(f"EXPLAIN {compiled}")).scalars().all()
                expected = "Index Only Scan using ix_contact_office_people"
            else:
                # SQLite reads the rows to check the condition's columns, which the index does not hold, but in
                # the index's order.
                plan = [row[-1] for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))]
                expected = "USING INDEX ix_contact_office_people (office_id=?)"
        text = " ".join(plan)
        assert expected in text
        assert "Sort" not in text and "TEMP B-TREE" not in text
        db.engine.dispose()
