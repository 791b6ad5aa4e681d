"""Two-step sign-in: TOTP codes (each accepted once), recovery codes (each used once), enrolment, and
the roles that must have it."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from crm.accounts import twofactor
from crm.accounts.models import RecoveryCode, User
from crm.audit.models import AuditEvent
from crm.database import utcnow
from crm.extensions import db
from tests.accounts.conftest import TEST_TOTP_SECRET, code_at, sign_in, totp_code
from tests.conftest import TEST_PASSWORD


def actions_for(user) -> list[str]:
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.entity_id == str(user.id), AuditEvent.entity_type == "user")
        .order_by(AuditEvent.id)
    ).all()


def password_step(client, user, password=TEST_PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password})


def enrol_through_the_page(client, user) -> list[str]:
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    db.session.refresh(user)
    secret = user.totp_pending_secret
    assert secret and " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page.get_data(as_text=True)
    response = client.post("/account/two-factor", data={"code": code_at(utcnow(), secret)})
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return re.findall(r"<code>([0-9a-z-]{19})</code>", response.get_data(as_text=True))


# --- Who must have it -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_2fa_enforced_for_the_roles_that_need_it(client, make_user, role):
    user = make_user(role, two_factor=False)
    db.session.commit()
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    # Nothing else until enrolled: pages, forms, the account page.
    for method, url in [
        ("GET", "/"),
        ("GET", "/countries/"),
        ("GET", "/account"),
        ("POST", "/offices/new"),
        ("POST", "/account/password"),
        ("GET", "/admin/users"),
    ]:
        answer = client.open(url, method=method, data={})
        assert answer.status_code == 302 and answer.headers["Location"] == "/account/two-factor", (method, url)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "must use two-step sign-in" in page and "otpauth://totp/" in page
    codes = enrol_through_the_page(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/countries/").status_code == 200
    assert "auth.2fa_enrol" in actions_for(user)


@pytest.mark.parametrize("role", ["coordinator", "volunteer"])
def test_2fa_is_optional_for_the_other_roles(client, make_user, role):
    user = make_user(role)
    db.session.commit()
    response = password_step(client, user)
    assert response.headers["Location"] == "/"
    assert client.get("/countries/").status_code == 200
    assert "Set up two-step sign-in" in client.get("/account").get_data(as_text=True)


def test_a_setting_requires_it_for_everyone(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_2FA_FOR_ALL", True)
    user = make_user("volunteer")
    db.session.commit()
    assert password_step(client, user).headers["Location"] == "/account/two-factor"
    assert client.get("/countries/").headers["Location"] == "/account/two-factor"


def test_the_logout_and_language_still_work_before_enrolment(client, make_user):
    user = make_user("admin", two_factor=False)
    db.session.commit()
    password_step(client, user)
    assert client.post("/language", data={"language": "es", "next": "/"}).status_code == 302
    assert client.post("/logout").headers["Location"] == "/login"


# --- Signing in with a code -------------------------------------------------------------------------


def test_the_password_alone_does_not_sign_in(client, make_user):
    user = make_user("admin")
    db.session.commit()
    assert password_step(client, user).headers["Location"] == "/login/2fa"
    assert client.get("/").status_code == 302 and "/login" in client.get("/").headers["Location"]
    wrong = client.post("/login/2fa", data={"code": "000000"})
    assert wrong.status_code == 401 and "The code is wrong or was already used" in wrong.get_data(as_text=True)
    right = client.post("/login/2fa", data={"code": totp_code(user)})
    assert right.status_code == 302 and client.get("/").status_code == 200
    assert actions_for(user)[-2:] == ["auth.2fa_failed", "auth.login"]


def test_the_second_step_needs_the_first_and_does_not_wait_forever(client, make_user, clock):
    assert client.get("/login/2fa").headers["Location"] == "/login"
    user = make_user("admin")
    db.session.commit()
    password_step(client, user)
    clock.advance(minutes=5, seconds=1)
    response = client.post("/login/2fa", data={"code": code_at(clock.now())})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_totp_codes_are_single_use(client, make_user, clock):
    user = make_user("manager")
    db.session.commit()
    code = code_at(clock.now())
    password_step(client, user)
    assert client.post("/login/2fa", data={"code": code}).status_code == 302
    client.post("/logout")
    # The same code again, a moment later: refused.
    clock.advance(seconds=5)
    password_step(client, user)
    reused = client.post("/login/2fa", data={"code": code})
    assert reused.status_code == 401
    # An older one too; the next step's code (the phone may be a little ahead) is accepted.
    step = dt.timedelta(seconds=30)
    assert client.post("/login/2fa", data={"code": code_at(clock.now() - step)}).status_code == 401
    assert client.post("/login/2fa", data={"code": code_at(clock.now() + step)}).status_code == 302


def test_a_code_is_accepted_once_even_when_two_requests_race(app, make_user, clock):
    user = make_user("admin")
    db.session.commit()
    code = code_at(clock.now())
    assert twofactor.verify_totp(user, code)
    # Another worker that loaded the user before the first accepted the code.
    stale = db.session.get(User, user.id)
    set_committed_value(stale, "totp_last_step", None)  # what it read; the database knows better
    assert not twofactor.verify_totp(stale, code)


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "", "12 34 5"])
def test_malformed_codes_are_refused(make_user, code):
    user = make_user("admin")
    assert not twofactor.verify_totp(user, code)


def test_spaces_in_a_code_are_ignored(make_user, clock):
    user = make_user("admin")
    code = code_at(clock.now())
    assert twofactor.verify_totp(user, f"{code[:3]} {code[3:]}")


# --- Recovery codes ----------------------------------------------------------------------------------


def test_recovery_codes_are_single_use(client, make_user):
    user = make_user("admin")
    codes = twofactor.replace_recovery_codes(user)
    db.session.commit()
    assert len(codes) == 10
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    password_step(client, user)
    response = client.post("/login/recovery", data={"code": codes[0]})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert any("9 recovery codes left" in message for _, message in session["_flashes"])
    client.post("/logout")
    password_step(client, user)
    again = client.post("/login/recovery", data={"code": codes[0]})
    assert again.status_code == 401 and "wrong or was already used" in again.get_data(as_text=True)
    # Another, typed in capitals without dashes: accepted.
    assert client.post("/login/recovery", data={"code": codes[1].replace("-", "").upper()}).status_code == 302
    assert twofactor.recovery_codes_left(user) == 8
    assert actions_for(user).count("auth.recovery_code_used") == 2


def test_new_recovery_codes_replace_the_old_ones(client, make_user):
    user = make_user("admin")
    old = twofactor.replace_recovery_codes(user)
    db.session.commit()
    sign_in(client, user)
    response = client.post("/account/recovery-codes")
    assert response.status_code == 200
    new = re.findall(r"<code>([0-9a-z-]{19})</code>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert not twofactor.use_recovery_code(user, old[0])
    assert twofactor.use_recovery_code(user, new[0])
    assert "auth.2fa_recovery_codes" in actions_for(user)


# --- Enrolment, replacement, turning it off --------------------------------------------------------


def test_a_volunteer_enrols_and_then_signs_in_with_codes(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    page = client.get("/account/two-factor").get_data(as_text=True)
    # The QR code is drawn here, as an inline image: nothing leaves the server.
    assert 'src="data:image/svg+xml' in page
    uri = re.search(r'value="(otpauth://totp/[^"]+)"', page).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(uri).query)
    assert query["issuer"] == ["Alcance"]
    secret = query["secret"][0]
    assert client.post("/account/two-factor", data={"code": "123456"}).status_code == 400
    codes = enrol_through_the_page(client, user)
    assert len(codes) == 10
    db.session.refresh(user)
    assert user.has_two_factor and user.totp_secret == secret and user.totp_pending_secret is None
    # The key is not shown again: the account page has no trace of it; the set-up page offers a new one.
    assert secret not in client.get("/account").get_data(as_text=True)
    assert secret not in client.get("/account/two-factor").get_data(as_text=True)
    client.post("/logout")
    assert password_step(client, user).headers["Location"] == "/login/2fa"


def test_the_key_is_encrypted_in_the_database(make_user):
    user = make_user("admin")
    db.session.commit()
    stored = db.session.execute(sa.text('SELECT totp_secret FROM "user" WHERE id = :id'), {"id": user.id}).scalar()
    assert stored.startswith("fernet:") and TEST_TOTP_SECRET not in stored


def test_admins_may_replace_their_factor_but_not_turn_it_off(client, make_user):
    user = make_user("admin")
    db.session.commit()
    sign_in(client, user)
    assert "Turn two-step sign-in off" not in client.get("/account").get_data(as_text=True)
    response = client.post("/account/two-factor/disable", follow_redirects=True)
    assert "must use two-step sign-in" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.totp_secret == TEST_TOTP_SECRET
    # Replacing: the old key works until the new one is confirmed.
    enrol_through_the_page(client, user)
    db.session.refresh(user)
    assert user.totp_secret != TEST_TOTP_SECRET


def test_a_volunteer_may_turn_it_off(client, make_user):
    user = make_user("volunteer", two_factor=True)
    db.session.commit()
    sign_in(client, user)
    response = client.post("/account/two-factor/disable")
    assert response.status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor
    assert not db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert "auth.2fa_disable" in actions_for(user)
    assert client.get("/account").status_code == 200  # this session goes on


def test_changes_to_the_second_factor_ask_for_the_password_again_after_five_minutes(client, make_user, clock):
    user = make_user("volunteer", two_factor=True)
    db.session.commit()
    sign_in(client, user)
    assert client.get("/account/two-factor").status_code == 200
    clock.advance(minutes=5, seconds=1)
    response = client.get("/account/two-factor")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/confirm?next=/account/two-factor"
    for url in ("/account/two-factor/disable", "/account/recovery-codes"):
        answer = client.post(url)
        assert answer.headers["Location"].startswith("/account/confirm?next=/account"), url
    db.session.refresh(user)
    assert user.has_two_factor
    wrong = client.post("/account/confirm?next=/account/two-factor", data={"password": "not my password"})
    assert wrong.status_code == 400 and "The password is wrong." in wrong.get_data(as_text=True)
    right = client.post("/account/confirm?next=/account/two-factor", data={"password": TEST_PASSWORD})
    assert right.headers["Location"] == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200
    # The page to confirm never sends anyone to another site.
    client.get("/account")  # nothing pending
    clock.advance(minutes=6)
    evil = client.post("/account/confirm?next=https://evil.example/", data={"password": TEST_PASSWORD})
    assert evil.headers["Location"] == "/"


def test_a_signed_in_request_never_reads_or_decrypts_the_second_factor_secret(client, signed_in, monkeypatch):
    """Every request loads its user; only signing in and enrolling need the TOTP secret, which is deferred."""
    import crm.encryption
    from tests.factories import QueryCounter

    signed_in("manager")
    decrypted = []
    original = crm.encryption.decrypt
    monkeypatch.setattr(crm.encryption, "decrypt", lambda stored: decrypted.append(1) or original(stored))
    with QueryCounter(db.engine) as counter:
        assert client.get("/").status_code == 200
        assert client.get("/healthz").status_code == 200
    assert decrypted == []
    assert not [statement for statement in counter.statements if "totp_secret" in statement]
