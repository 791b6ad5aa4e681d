"""The scheduler refreshes every day the statistics SQLite plans by: with them, the follow-ups still to do
are read in the order of their index instead of all read and sorted (PostgreSQL keeps its own)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.outreach.models import FollowUp
from crm.reminders import jobs
from crm.reminders.cli import statistics_command

pytestmark = pytest.mark.usefixtures("clock")


def _plan() -> str:
    statement = sa.select(FollowUp.id).where(FollowUp.still_to_do).order_by(FollowUp.due, FollowUp.id).limit(51)
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    return " ".join(row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_the_daily_statistics_let_sqlite_read_the_follow_ups_to_do_in_their_order(app, make_record, make_user):
    owner = make_user("volunteer")
    record = make_record("FRA")
    day = dt.date(2026, 1, 1)
    # An organisation's follow-ups: most of them done, a few still to do.
    db.session.execute(
        sa.insert(FollowUp),
        [
            {
                "campaign_id": record.campaign_id,
                "outreach_id": record.id,
                "owner_id": owner.id,
                "due_on": day + dt.timedelta(days=n % 300),
                "note": "Call the embassy",
                "status": "open" if n % 10 == 0 else "done",
                "completed_at": None if n % 10 == 0 else dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
            }
            for n in range(3000)
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        assert "TEMP B-TREE" in _plan()  # without statistics: every open follow-up read, then sorted
    result = jobs.refresh_database_statistics()

    if db.engine.dialect.name == "sqlite":
        assert result.line("database-statistics") == "database-statistics: refreshed"
        plan = _plan()
        assert "ix_follow_up_to_do_due" in plan and "TEMP B-TREE" not in plan
    else:
        assert result.line("database-statistics") == "database-statistics: kept by PostgreSQL itself"


def test_the_statistics_are_also_a_command(app, runner):
    result = runner.invoke(statistics_command)
    assert result.exit_code == 0
    expected = "refreshed" if db.engine.dialect.name == "sqlite" else "kept by PostgreSQL itself"
    assert result.output == f"database statistics: {expected}\n"
