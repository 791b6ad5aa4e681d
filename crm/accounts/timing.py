"""Answers that take no less than a set time, whatever they found, so that their timing does not tell
whether an account exists."""

from __future__ import annotations

import time
from contextlib import contextmanager


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
