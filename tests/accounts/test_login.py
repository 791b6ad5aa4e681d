"""Signing in and out."""

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.extensions import db
from tests.accounts.conftest import sign_in, totp_code
from tests.conftest import TEST_PASSWORD


def test_pages_require_sign_in(client):
    response = client.get("/countries/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


@pytest.mark.parametrize(
    "email,password", [("admin1@example.org", "wrong password!"), ("nobody@example.org", TEST_PASSWORD)]
)
def test_unknown_account_and_wrong_password_get_the_same_answer(client, make_user, email, password):
    make_user("admin")
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 401
    assert "E-mail or password is wrong." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.login_failed")) == 1


def test_deactivated_user_cannot_sign_in(client, make_user):
    user = make_user("volunteer", active=False)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/countries/", "/countries/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_parameter_only_goes_to_this_app(client, make_user, target, expected):
    user = make_user("admin")
    db.session.commit()
    response = client.post("/login?next=" + target, data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login/2fa"
    response = client.post("/login/2fa", data={"code": totp_code(user)})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


@pytest.mark.parametrize("target,expected", [("/countries/", "/countries/"), ("https://evil.example/", "/")])
def test_next_parameter_without_a_second_factor(client, make_user, target, expected):
    user = make_user("volunteer")
    response = client.post("/login?next=" + target, data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == expected


def test_sign_out_ends_the_session(client, make_user):
    user = make_user("admin")
    db.session.commit()
    sign_in(client, user)
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == user.id)).all()
    assert actions == ["auth.login", "auth.logout"]


def test_a_copy_of_the_cookie_taken_before_sign_out_no_longer_opens_anything(app, client, make_user):
    """Sign-out revokes the session on the server: a stolen copy of the cookie is worth nothing after it."""
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    assert thief.get("/account").status_code == 200
    assert client.post("/logout").status_code == 302
    response = thief.get("/account")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    sign_in(client, user)  # signing in again works, with a new session
    assert client.get("/account").status_code == 200


def test_a_new_session_at_sign_in(client, make_user):
    """Nothing written into the session before sign-in survives it (no session fixation) but the language."""
    user = make_user("volunteer")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["language"] = "es"
    sign_in(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session and session["language"] == "es"


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_language_follows_the_browser_then_the_choice(client):
    assert "Iniciar sesión" in client.get("/login", headers={"Accept-Language": "es-VE,es;q=0.9"}).get_data(
        as_text=True
    )
    client.post("/language", data={"language": "en", "next": "/login"})
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)


def test_an_account_without_a_password_costs_the_same_check_as_an_unknown_one(client, make_user, monkeypatch):
    """Unknown, wrong password and no password yet: each answer spends one Argon2 verification (about
    50 ms), so a fast "no" does not tell which addresses have accounts."""
    from crm.accounts import models

    verifications = []

    class CountingHasher:
        """The real hasher, counting its verifications."""

        def __init__(self, real):
            self.real = real

        def verify(self, hash_, password):
            verifications.append(hash_)
            return self.real.verify(hash_, password)

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(models, "_hasher", CountingHasher(models._hasher))
    invited = make_user("volunteer", email="invited@example.org")
    invited.password_hash = None
    make_user("volunteer", email="member@example.org")
    db.session.commit()
    for email in ("nobody@example.org", "invited@example.org", "member@example.org"):
        verifications.clear()
        response = client.post("/login", data={"email": email, "password": "a wrong password"})
        assert response.status_code == 401 and len(verifications) == 1, (email, response.status_code)
