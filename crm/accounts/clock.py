"""The time as the sign-in rules see it: one function, so that tests can move it (monkeypatch `now`);
and answers that take no less than a set time, whatever they found."""
from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

from crm.database import utcnow


def now() -> dt.datetime:
    return utcnow()


def timestamp() -> float:
    return now().timestamp()


@contextmanager
def no_sooner_than(seconds: float):
    """Let the block take at least `seconds` (wall time): an answer that does more work for a known
    account than for an unknown one then takes the same time for both."""
    started = time.monotonic()
    try:
        yield
    finally:
        remaining = seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
