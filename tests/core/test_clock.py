"""The day it is: in the zone of the person it is for, in UTC for nobody in particular, and never the
server's local date."""

import ast
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from crm import clock as calendar

UTC = dt.UTC
CRM = Path(__file__).resolve().parents[2] / "crm"


def person(zone):
    return SimpleNamespace(timezone=zone)


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        # New Year's Eve at 23:30 UTC: Madrid is already in 2027, Caracas still has the evening ahead.
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Europe/Madrid", dt.date(2027, 1, 1)),
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "America/Caracas", dt.date(2026, 12, 31)),
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "UTC", dt.date(2026, 12, 31)),
        # 00:30 UTC on 1 March: Caracas (UTC-4) is still on 28 February.
        (dt.datetime(2027, 3, 1, 0, 30, tzinfo=UTC), "America/Caracas", dt.date(2027, 2, 28)),
        # Caracas before and after its 2016 change from UTC-04:30 to UTC-04:00.
        (dt.datetime(2016, 5, 1, 4, 29, tzinfo=UTC), "America/Caracas", dt.date(2016, 4, 30)),
        (dt.datetime(2016, 5, 1, 4, 31, tzinfo=UTC), "America/Caracas", dt.date(2016, 5, 1)),
        # Madrid on the night its clocks go forward: 22:30 UTC on Saturday is 23:30, then 23:30 UTC is 00:30.
        (dt.datetime(2027, 3, 27, 22, 30, tzinfo=UTC), "Europe/Madrid", dt.date(2027, 3, 27)),
        (dt.datetime(2027, 3, 27, 23, 30, tzinfo=UTC), "Europe/Madrid", dt.date(2027, 3, 28)),
    ],
)
def test_today_is_the_day_where_the_user_is(moment, zone, day):
    assert calendar.today(person(zone), moment) == day


def test_today_for_nobody_is_the_utc_day_and_an_unknown_zone_counts_as_utc():
    moment = dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert calendar.today(now=moment) == calendar.today(person("Nowhere/Atlantis"), moment) == dt.date(2026, 12, 31)
    assert calendar.today(person(None), moment.astimezone(dt.timezone(dt.timedelta(hours=-4)))) == dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("moment", "latest"),
    [
        # At 09:59 UTC it is 23:59 at UTC+14: nobody has reached tomorrow yet.
        (dt.datetime(2027, 5, 19, 9, 59, tzinfo=UTC), dt.date(2027, 5, 19)),
        # From 10:00 UTC, Kiritimati is on the next day: a meeting held there "tomorrow" in UTC is not future.
        (dt.datetime(2027, 5, 19, 10, 0, tzinfo=UTC), dt.date(2027, 5, 20)),
        (dt.datetime(2027, 5, 19, 23, 59, tzinfo=UTC), dt.date(2027, 5, 20)),
    ],
)
def test_a_date_is_future_only_once_no_one_anywhere_has_reached_it(moment, latest):
    assert not calendar.not_begun_anywhere(latest, moment)
    assert calendar.not_begun_anywhere(latest + dt.timedelta(days=1), moment)


def test_today_reads_the_clock_when_no_moment_is_given(clock):
    assert calendar.today() == clock.today()
    assert calendar.today(person("Pacific/Kiritimati")) == (clock.now() + dt.timedelta(hours=14)).date()


SERVER_DATE = {("date", "today"), ("datetime", "today"), ("datetime", "utcnow")}


def _owner(node: ast.Attribute) -> str | None:
    value = node.value
    return value.attr if isinstance(value, ast.Attribute) else value.id if isinstance(value, ast.Name) else None


def _server_date_readings(tree: ast.AST):
    """date.today, datetime.today and datetime.utcnow, called or handed over as a default (they depend on
    how the server's clock and zone are set, not on the user's day or on UTC), and datetime.now() without
    a zone."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (_owner(node), node.attr) in SERVER_DATE:
            yield node
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "now"
            and _owner(node.func) == "datetime"
            and not node.args
            and not node.keywords
        ):
            yield node


def test_no_code_reads_the_servers_local_date():
    offenders = [
        f"{path.relative_to(CRM.parent)}:{node.lineno}"
        for path in sorted(CRM.rglob("*.py"))
        for node in _server_date_readings(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == []


def test_the_check_finds_each_way_of_reading_the_servers_date():
    source = (
        "import datetime as dt\nfrom datetime import date\n"
        "a = dt.date.today()\nb = DateField(default=dt.date.today)\nc = date.today()\n"
        "d = dt.datetime.now()\ne = dt.datetime.utcnow()\n"
        "ok = dt.datetime.now(dt.timezone.utc)\nalso_ok = clock.today(user)\n"
    )
    assert sorted(node.lineno for node in _server_date_readings(ast.parse(source))) == [3, 4, 5, 6, 7]
