"""The time as the sign-in rules see it: one function, so that tests can move it (monkeypatch `now`)."""
from __future__ import annotations

import datetime as dt

from crm.database import utcnow


def now() -> dt.datetime:
    return utcnow()


def timestamp() -> float:
    return now().timestamp()
