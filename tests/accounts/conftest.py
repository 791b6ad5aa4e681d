"""Helpers for the account tests: codes at a given moment, and a clock the tests can move. Signing in
through both steps (`sign_in`, `totp_code`, TEST_TOTP_SECRET) lives in tests/conftest.py, for everyone."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from crm.accounts import clock
from crm.database import utcnow
from tests.conftest import TEST_TOTP_SECRET, sign_in, totp_code  # noqa: F401  (re-exported for these tests)


def code_at(moment: dt.datetime, secret: str = TEST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


class FrozenClock:
    """The time the sign-in rules see, standing still until moved."""

    def __init__(self, start: dt.datetime):
        self.moment = start

    def now(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta) -> dt.datetime:
        self.moment += dt.timedelta(**delta)
        return self.moment


@pytest.fixture
def frozen_clock(monkeypatch):
    # At the start of a 30-second step, so that moving a few seconds stays within it.
    now = utcnow().replace(microsecond=0)
    start = now - dt.timedelta(seconds=now.timestamp() % 30)
    frozen = FrozenClock(start)
    monkeypatch.setattr(clock, "now", frozen.now)
    return frozen


def other_client(app):
    """A second browser on the same app (another device of the same person)."""
    return app.test_client()
