"""A refused password or code is kept although the page answers with an error: it counts towards the
throttle, and the audit log says it happened. Nothing else the refused request did is kept."""

import sqlalchemy as sa

from crm.accounts.models import User
from crm.audit.models import AuditEvent
from crm.extensions import db
from tests.accounts.conftest import code_at, sign_in
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a fresh passphrase for me"


def logged(action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_wrong_current_passwords_on_the_account_page_count_until_it_holds(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(5):
        response = client.post("/account/password", data=wrong)
        assert response.status_code == 400 and "The password is wrong." in response.get_data(as_text=True)
    assert logged("auth.reauthenticate_failed") == 5
    right = {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    held = client.post("/account/password", data=right)
    assert held.status_code == 429 and "Too many attempts." in held.get_data(as_text=True)
    assert logged("auth.login_throttled") == 1
    db.session.refresh(user)
    assert user.check_password(TEST_PASSWORD)


def test_a_wrong_password_to_confirm_is_logged(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    response = client.post("/account/confirm", data={"password": "not my password"})
    assert response.status_code == 400 and "The password is wrong." in response.get_data(as_text=True)
    assert logged("auth.reauthenticate_failed") == 1


def test_a_password_change_refused_by_the_policy_keeps_nothing(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    token = user.session_token
    short = {"current_password": TEST_PASSWORD, "new_password": "too short", "confirm": "too short"}
    assert client.post("/account/password", data=short).status_code == 400
    assert logged("auth.password_change") == 0 and logged("auth.reauthenticate_failed") == 0
    db.session.refresh(user)
    assert user.session_token == token and user.check_password(TEST_PASSWORD)


def test_the_key_shown_with_a_refused_code_is_the_one_the_next_code_is_checked_against(client, make_user, clock):
    """A code sent before the set-up page made a key is refused ("start again"), and the page then shows a
    new key: that key is kept although the answer is an error, so that a code from it is accepted."""
    user = make_user("volunteer", two_factor=False)
    db.session.commit()
    sign_in(client, user)
    refused = client.post("/account/two-factor", data={"code": "123456"})
    assert refused.status_code == 400 and "Start again" in refused.get_data(as_text=True)
    secret = db.session.scalar(sa.select(User.totp_pending_secret).where(User.id == user.id))
    assert secret and " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in refused.get_data(as_text=True)
    accepted = client.post("/account/two-factor", data={"code": code_at(clock.now(), secret)})
    assert accepted.status_code == 200 and "recovery" in accepted.get_data(as_text=True).lower()
    db.session.refresh(user)
    assert user.has_two_factor
