"""The one reading of the calendar. The database keeps UTC (crm.database.utcnow); a date is a day
somewhere: where the person it is for lives, or in UTC when it is for nobody in particular. Never the
server's local date, which depends on how the machine happens to be set up."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from crm.database import utcnow

# The zone whose day begins first (Kiribati's Line Islands): no one anywhere has reached a later date.
EARLIEST_ZONE = dt.timezone(dt.timedelta(hours=14))


def user_zone(user) -> ZoneInfo:
    """The user's time zone; UTC for nobody, for an anonymous visitor or for a zone the system lacks."""
    try:
        return ZoneInfo(getattr(user, "timezone", None) or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def today(user=None, now: dt.datetime | None = None) -> dt.date:
    """The date at `now` (default: this moment) in `user`'s time zone, or in UTC without a user."""
    return (now or utcnow()).astimezone(user_zone(user)).date()


def not_begun_anywhere(day: dt.date, now: dt.datetime | None = None) -> bool:
    """True for a day that has not begun in any time zone. A date someone typed for something that has
    happened (a meeting, a reply, a position) is refused as future only then, wherever they are."""
    return day > (now or utcnow()).astimezone(EARLIEST_ZONE).date()
