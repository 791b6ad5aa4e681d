"""Helpers for the account tests: codes at a given moment (the `clock` fixture moves time). Signing in
through both steps (`sign_in`, `totp_code`, TEST_TOTP_SECRET) lives in tests/conftest.py, for everyone."""

from __future__ import annotations

import datetime as dt

import pyotp

from tests.conftest import TEST_TOTP_SECRET, sign_in, totp_code  # noqa: F401  (re-exported for these tests)


def code_at(moment: dt.datetime, secret: str = TEST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


def other_client(app):
    """A second browser on the same app (another device of the same person)."""
    return app.test_client()
