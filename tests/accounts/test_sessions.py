"""Sessions end: after a time idle, after a fixed time in all, and everywhere when the password or the
second factor changes or the account is deactivated."""

import pytest
import sqlalchemy as sa

from crm.accounts.services import deactivate
from crm.audit.models import AuditEvent
from crm.extensions import db
from tests.accounts.conftest import code_at, sign_in
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a brand new passphrase here"


def expiries(user) -> list:
    return db.session.scalars(
        sa.select(AuditEvent.after).where(AuditEvent.action == "auth.session_expired", AuditEvent.actor_id == user.id)
    ).all()


def test_a_session_idle_for_thirty_minutes_ends(client, make_user, clock):
    user = make_user("coordinator")
    db.session.commit()
    sign_in(client, user)
    for _ in range(3):  # active every 29 minutes: still signed in after 87
        clock.advance(minutes=29)
        assert client.get("/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = client.get("/countries/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert "Your session has ended" in client.get("/login").get_data(as_text=True)
    assert expiries(user) == [{"reason": "idle"}]


def test_an_ended_session_is_in_the_audit_log_even_when_the_page_is_an_error(client, make_user, clock):
    user = make_user("coordinator")
    db.session.commit()
    sign_in(client, user)
    clock.advance(minutes=30, seconds=1)
    assert client.get("/no-such-page").status_code == 404
    assert expiries(user) == [{"reason": "idle"}]
    assert client.get("/").status_code == 302


def test_a_session_ends_after_twelve_hours_however_active(client, make_user, clock):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    for _ in range(36):  # every 20 minutes for 12 hours
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/").status_code == 302
    assert expiries(user) == [{"reason": "absolute"}]


def test_the_time_outs_are_settings(app, client, make_user, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT_SECONDS", 120)
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    clock.advance(minutes=2, seconds=1)
    assert client.get("/").status_code == 302


def test_a_session_without_its_times_is_not_trusted(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    with client.session_transaction() as session:
        del session["auth_started"]
    assert client.get("/").status_code == 302
    assert expiries(user) == [{"reason": "unknown"}]


def test_session_ends_after_password_change(app, client, make_user):
    user = make_user("admin")
    db.session.commit()
    phone = app.test_client()
    sign_in(client, user)
    sign_in(phone, user)
    assert phone.get("/").status_code == 200
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert client.get("/").status_code == 200  # the browser that changed it stays signed in
    assert phone.get("/").status_code == 302  # every other one is signed out
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(TEST_PASSWORD)
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.password_change")) == 1


@pytest.mark.parametrize(
    "data,field,message,status",
    [
        (
            {"current_password": "not my password", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "current_password",
            "The password is wrong.",
            400,
        ),
        (
            {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": "something else"},
            "confirm",
            "The two passwords differ.",
            400,
        ),
        (
            {"current_password": TEST_PASSWORD, "new_password": "too short", "confirm": "too short"},
            "new_password",
            "at least 12 characters",
            400,
        ),
        (
            {"current_password": TEST_PASSWORD, "new_password": TEST_PASSWORD, "confirm": TEST_PASSWORD},
            "new_password",
            "must be different",
            400,
        ),
    ],
)
def test_a_refused_password_change_says_why_beside_the_field(client, make_user, data, field, message, status):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    token = user.session_token
    response = client.post("/account/password", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == status and f'id="{field}-error"' in page and message in page
    db.session.refresh(user)
    assert user.session_token == token and user.check_password(TEST_PASSWORD)


def test_sessions_end_when_the_second_factor_changes(app, client, make_user, clock):
    user = make_user("volunteer")
    db.session.commit()
    phone = app.test_client()
    sign_in(client, user)
    sign_in(phone, user)
    client.get("/account/two-factor")
    db.session.refresh(user)
    code = code_at(clock.now(), user.totp_pending_secret)
    assert client.post("/account/two-factor", data={"code": code}).status_code == 200
    assert client.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_sessions_end_when_the_account_is_deactivated(app, client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    deactivate(user, actor="test")
    db.session.commit()
    assert client.get("/").status_code == 302
