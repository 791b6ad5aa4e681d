"""Password reset by e-mail: a single-use link that expires, is kept hashed, stops working when the
password changes, and does not get around the second factor."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from crm.accounts import password_reset, twofactor
from crm.accounts.models import PasswordResetToken
from crm.accounts.services import change_password
from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.mail.models import OutboundMessage
from tests.accounts.conftest import code_at, sign_in
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a fresh passphrase for me"
SENT = "If an account uses that address, we have sent it a link"


class Sent:
    """A reset message as delivered through the outbox (no MAIL_SERVER in tests: the outbox is where
    it is read)."""

    def __init__(self, row: OutboundMessage):
        assert row.kind == "password_reset" and row.status == "sent" and row.transport == "outbox", row
        self.body, self.html, self.recipients = row.body_text, row.body_html, [row.recipient_email]
        self.extra_headers = {"Content-Language": row.language}


def _reset_rows() -> list[OutboundMessage]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(OutboundMessage).where(OutboundMessage.kind == "password_reset").order_by(OutboundMessage.id)
    ).all()


def ask_for_a_link(client, email, **kwargs) -> list:
    """Ask for a reset link; the messages delivered (after the response went out)."""
    before = {row.id for row in _reset_rows()}
    response = client.post("/password/forgot", data={"email": email}, **kwargs)
    response.close()  # the server closes the response once sent; the e-mail goes then
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    if "headers" not in kwargs:  # another Host gets its own cookie
        assert SENT in client.get("/login").get_data(as_text=True)
    return [Sent(row) for row in _reset_rows() if row.id not in before]


def link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/password/reset/[A-Za-z0-9_-]+)", message.body).group(1)


def test_the_link_is_e_mailed_and_unknown_addresses_get_the_same_answer(client, make_user):
    user = make_user("volunteer", email="vol@example.org", language="es")
    db.session.commit()
    assert ask_for_a_link(client, "nobody@example.org") == []
    outbox = ask_for_a_link(client, "Vol@Example.org")
    assert len(outbox) == 1
    message = outbox[0]
    assert message.recipients == ["vol@example.org"]
    assert message.extra_headers["Content-Language"] == "es"  # written in the reader's language
    assert link_path(message) in message.html
    token = link_path(message).rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_hash
    assert (stored.expires_at - stored.created_at).total_seconds() == 3600
    sent = db.session.scalars(
        sa.select(AuditEvent.after).order_by(AuditEvent.id).where(AuditEvent.action == "auth.password_reset_requested")
    ).all()
    assert sent == [{"sent": False}, {"sent": True}]


def test_the_link_is_built_on_the_configured_address_not_the_host_header(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "ALCANCE_BASE_URL", "https://alcance.example.org/")
    make_user("volunteer", email="vol@example.org")
    db.session.commit()
    outbox = ask_for_a_link(client, "vol@example.org", headers={"Host": "evil.example"})
    assert "https://alcance.example.org/password/reset/" in outbox[0].body
    assert "evil.example" not in outbox[0].body


def test_a_reset_link_works_once_and_ends_every_session(app, client, make_user):
    user = make_user("volunteer", email="vol@example.org")
    db.session.commit()
    laptop = app.test_client()
    sign_in(laptop, user)
    path = link_path(ask_for_a_link(client, "vol@example.org")[0])
    assert client.get(path).status_code == 200
    response = client.post(path, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)
    assert laptop.get("/").status_code == 302
    again = client.get(path)
    assert again.status_code == 404 and "This link does not work" in again.get_data(as_text=True)
    other = "another passphrase entirely"
    assert client.post(path, data={"new_password": other, "confirm": other}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.password_reset")) == 1


def test_a_reset_link_expires_after_an_hour(client, make_user, clock):
    make_user("volunteer", email="vol@example.org")
    db.session.commit()
    path = link_path(ask_for_a_link(client, "vol@example.org")[0])
    clock.advance(minutes=59)
    assert client.get(path).status_code == 200
    clock.advance(minutes=1)
    assert client.get(path).status_code == 404


def test_a_password_change_invalidates_the_link(client, make_user):
    user = make_user("volunteer", email="vol@example.org")
    db.session.commit()
    path = link_path(ask_for_a_link(client, "vol@example.org")[0])
    change_password(user, TEST_PASSWORD, NEW_PASSWORD, None)
    db.session.commit()
    assert client.get(path).status_code == 404


def test_a_new_link_does_not_invalidate_an_older_one_but_the_reset_does(client, make_user):
    make_user("volunteer", email="vol@example.org")
    db.session.commit()
    first = link_path(ask_for_a_link(client, "vol@example.org")[0])
    second = link_path(ask_for_a_link(client, "vol@example.org")[0])
    assert client.post(second, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert client.get(first).status_code == 404


def test_inactive_accounts_get_no_link(client, make_user):
    make_user("volunteer", email="gone@example.org", active=False)
    db.session.commit()
    assert ask_for_a_link(client, "gone@example.org") == []


def test_reset_does_not_bypass_2fa(client, make_user, clock):
    user = make_user("admin", email="boss@example.org")
    db.session.commit()
    path = link_path(ask_for_a_link(client, "boss@example.org")[0])
    assert "authenticator" in client.get(path).get_data(as_text=True)
    data = {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    missing = client.post(path, data=data)
    assert missing.status_code == 400 and 'id="code-error"' in missing.get_data(as_text=True)
    wrong = client.post(path, data={**data, "code": "000000"})
    assert wrong.status_code == 400 and "The code is wrong" in wrong.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(TEST_PASSWORD)
    right = client.post(path, data={**data, "code": code_at(clock.now())})
    assert right.status_code == 302
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD) and user.has_two_factor
    # Signing in with the new password still asks for a code.
    clock.advance(seconds=30)
    response = client.post("/login", data={"email": "boss@example.org", "password": NEW_PASSWORD})
    assert response.headers["Location"] == "/login/2fa"


def test_a_recovery_code_also_works_on_the_reset_form_once(client, make_user):
    user = make_user("manager", email="m@example.org")
    codes = twofactor.replace_recovery_codes(user)
    db.session.commit()
    path = link_path(ask_for_a_link(client, "m@example.org")[0])
    data = {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "code": codes[0]}
    assert client.post(path, data=data).status_code == 302
    assert twofactor.recovery_codes_left(user) == 9


def test_wrong_codes_on_the_reset_form_are_throttled(client, make_user):
    make_user("admin", email="boss@example.org")
    db.session.commit()
    path = link_path(ask_for_a_link(client, "boss@example.org")[0])
    data = {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "code": "000000"}
    for _ in range(5):
        assert client.post(path, data=data).status_code == 400
    assert client.post(path, data=data).status_code == 429


def test_a_policy_refusal_does_not_spend_the_code(client, make_user, clock):
    user = make_user("admin", email="boss@example.org")
    db.session.commit()
    path = link_path(ask_for_a_link(client, "boss@example.org")[0])
    code = code_at(clock.now())
    refused = client.post(path, data={"new_password": "qwertyqwerty", "confirm": "qwertyqwerty", "code": code})
    assert refused.status_code == 400 and 'id="new_password-error"' in refused.get_data(as_text=True)
    accepted = client.post(path, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "code": code})
    assert accepted.status_code == 302
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("exists", [True, False])
def test_reset_requests_are_throttled_with_the_same_answer(client, make_user, exists):
    if exists:
        make_user("volunteer", email="vol@example.org")
        db.session.commit()
    for _ in range(3):
        ask_for_a_link(client, "vol@example.org")
    response = client.post("/password/forgot", data={"email": "vol@example.org"})
    assert response.status_code == 429
    assert "Too many attempts. Wait a few minutes and try again." in response.get_data(as_text=True)


def test_unknown_and_malformed_links_are_not_found(client):
    for path in ("/password/reset/nonsense", "/password/reset/" + "x" * 300):
        assert client.get(path).status_code == 404


def test_a_mail_server_failure_keeps_the_message_queued_not_lost(app, client, make_user):
    """Through the outbox like all mail: a server that is down leaves the message waiting for the next
    delivery run, and once delivered by a real server, the outbox forgets the link."""
    from crm.mail import services as mailer
    from tests.reminders.conftest import SMTPServer, point_mail_at, point_mail_at_loopback

    server = SMTPServer()  # not started yet: nothing listens on its port
    previous = point_mail_at_loopback(app, server.port, MAIL_TIMEOUT=2)
    try:
        make_user("volunteer", email="vol@example.org")
        db.session.commit()
        response = client.post("/password/forgot", data={"email": "vol@example.org"})
        response.close()
        assert response.status_code == 302
        [row] = _reset_rows()
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        server.start()
        assert mailer.deliver_pending(now=row.next_attempt_at).sent == 1
        [message] = server.mailbox.to("vol@example.org")
        assert "/password/reset/" in message.get_body(("plain",)).get_content()
        # The next delivery after a request forgets links a mail server has accepted.
        response = client.post("/password/forgot", data={"email": "vol@example.org"})
        response.close()
        assert [r.body_text for r in _reset_rows()] == [password_reset.SENT_BODY] * 2
        assert len(server.mailbox.to("vol@example.org")) == 2
    finally:
        server.stop()
        point_mail_at(app, **previous)


def test_the_reset_message_names_its_link_and_warns_about_phishing(app, make_user):
    user = make_user("volunteer")
    message = password_reset.reset_message(user, "TOKEN")
    assert "/password/reset/TOKEN" in message.text and "never asks for your password" in message.text


def test_known_and_unknown_addresses_are_answered_after_the_same_time(app, client, make_user, monkeypatch):
    """A known address costs a token, a message and more writes; the answer waits for a set time, so
    that how long it took does not say whether the address has an account."""
    import time

    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0.3)
    make_user("volunteer", email="known@example.org")
    db.session.commit()
    for email in ("known@example.org", "unknown@example.org"):
        started = time.monotonic()
        response = client.post("/password/forgot", data={"email": email})
        took = time.monotonic() - started
        assert response.status_code == 302 and response.headers["Location"] == "/login"
        assert took >= 0.3, (email, took)
    assert app.config["PASSWORD_RESET_ANSWER_SECONDS"] == 0.3
    from crm.config import from_environment

    assert from_environment(app.instance_path, skip_secret=True)["PASSWORD_RESET_ANSWER_SECONDS"] == 0.4
