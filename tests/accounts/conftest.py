"""Helpers for the account tests: users with a second factor, signing in through both steps, and a
clock the tests can move.

`make_user`, `signed_in`, `sign_in` and `totp_code` here are what tests/conftest.py should become (see
the accounts hand-over): admins and managers get a second factor (TEST_TOTP_SECRET) and signing in
completes the second step. Until then they override the shared ones for these tests only."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from crm.accounts import clock
from crm.accounts.models import TWO_FACTOR_ROLES, User
from crm.database import utcnow
from crm.extensions import db
from tests.conftest import TEST_PASSWORD, _password_hash_cache

# A fixed TOTP key for tests only (base32).
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(user: User, at: dt.datetime | None = None) -> str:
    """A code the app will accept for `user` (whose key is TEST_TOTP_SECRET). Forgets the last used step
    first, so that a test may sign the same user in more than once within one 30-second step."""
    db.session.execute(sa.update(User).where(User.id == user.id).values(totp_last_step=None))
    db.session.commit()
    return code_at(at or clock.now())


def code_at(moment: dt.datetime, secret: str = TEST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


def sign_in(client, user: User, password: str = TEST_PASSWORD):
    """Sign in through the password page and, when the account has a second factor, the code page."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/login/2fa"):
        response = client.post("/login/2fa", data={"code": totp_code(user)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def make_user(app):
    """Create a user of a role; the password is TEST_PASSWORD. Admins and managers (the roles that
    must) get a second factor with TEST_TOTP_SECRET unless two_factor=False."""
    counter = {"n": 0}

    def factory(role: str = "volunteer", *, email: str | None = None, name: str | None = None,
                language: str = "en", active: bool = True, two_factor: bool | None = None) -> User:
        counter["n"] += 1
        if TEST_PASSWORD not in _password_hash_cache:
            probe = User(email="x@example.org", name="x")
            probe.set_password(TEST_PASSWORD)
            _password_hash_cache[TEST_PASSWORD] = probe.password_hash
        user = User(
            email=email or f"{role}{counter['n']}@example.org",
            name=name or f"{role.title()} {counter['n']}",
            role=role,
            language=language,
            active=active,
            password_hash=_password_hash_cache[TEST_PASSWORD],
        )
        if two_factor is None:
            two_factor = role in TWO_FACTOR_ROLES
        if two_factor:
            user.totp_secret = TEST_TOTP_SECRET
            user.totp_enabled_at = utcnow()
        db.session.add(user)
        db.session.flush()
        return user

    return factory


@pytest.fixture
def signed_in(client, make_user):
    """A client signed in with a new user of the given role: `signed_in("admin")`."""

    def factory(role: str = "volunteer", **kwargs):
        user = make_user(role, **kwargs)
        db.session.commit()
        sign_in(client, user)
        return user

    return factory


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
