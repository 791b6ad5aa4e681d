"""`flask users ...`: create (password from stdin), list, set-role, deactivate, enroll-2fa, reset-2fa."""

from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from crm.accounts import twofactor
from crm.accounts.models import RecoveryCode
from crm.accounts.services import AccountError, create_user_without_sign_in, find_by_email
from crm.audit.models import AuditEvent
from crm.extensions import db


def test_create_reads_password_from_stdin_and_user_can_sign_in(runner, client):
    result = runner.invoke(
        args=["users", "create", "Ana@Example.org", "--name", "Ana Pérez", "--role", "coordinator"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "created ana@example.org (coordinator)" in result.output
    user = find_by_email("ana@example.org")
    assert user.role == "coordinator" and user.name == "Ana Pérez"
    assert user.password_hash.startswith("$argon2id$")
    response = client.post("/login", data={"email": "ana@example.org", "password": "a long enough passphrase"})
    assert response.status_code == 302


def test_create_rejects_bad_input_and_saves_nothing(runner):
    cases = [
        (["users", "create", "not-an-email", "--name", "X", "--role", "admin"], "invalid e-mail"),
        (["users", "create", "x@example.org", "--name", "X", "--role", "admin"], "at least 12 characters"),
        (["users", "create", "x@example.org", "--name", "X", "--role", "king"], "Invalid value for '--role'"),
        (["users", "create", "x@example.org", "--name", "  ", "--role", "admin"], "a name is required"),
    ]
    for args, message in cases:
        password = "short\n" if "at least" in message else "a long enough passphrase\n"
        result = runner.invoke(args=args, input=password)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    assert find_by_email("x@example.org") is None


def test_duplicate_email_is_refused(runner, make_user):
    make_user("volunteer", email="dup@example.org")
    result = runner.invoke(
        args=["users", "create", "DUP@example.org", "--name", "Y", "--role", "admin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_list_set_role_and_deactivate(runner, make_user, client):
    user = make_user("volunteer", email="vol@example.org", name="Vol Unteer")
    token = user.session_token
    listing = runner.invoke(args=["users", "list"])
    assert "vol@example.org\tVol Unteer\tvolunteer\ten\tactive" in listing.output
    assert runner.invoke(args=["users", "set-role", "vol@example.org", "manager"]).exit_code == 0
    assert find_by_email("vol@example.org").role == "manager"
    result = runner.invoke(args=["users", "deactivate", "vol@example.org"])
    assert result.exit_code == 0 and "deactivated" in result.output
    user = find_by_email("vol@example.org")
    assert not user.active and user.session_token != token
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))).all()
    assert {"user.set_role", "user.deactivate"} <= set(actions)
    assert runner.invoke(args=["users", "deactivate", "nobody@example.org"]).exit_code == 1


def _uri_from(result) -> str:
    lines = [line for line in result.stdout.splitlines() if line.startswith("otpauth://")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_enroll_2fa_prints_a_new_uri_replacing_the_old_factor_and_is_audited(runner, client, make_user):
    user = make_user("admin", email="boss@example.org")
    old_codes = twofactor.replace_recovery_codes(user)
    old_secret, token = user.totp_secret, user.session_token
    db.session.commit()
    result = runner.invoke(args=["users", "enroll-2fa", "Boss@Example.org"])
    assert result.exit_code == 0, result.output
    uri = _uri_from(result)
    assert uri.startswith("otpauth://totp/Alcance:boss%40example.org?")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    user = find_by_email("boss@example.org")
    assert user.totp_secret == secret != old_secret
    assert user.session_token != token  # every session ended
    assert not twofactor.use_recovery_code(user, old_codes[0])  # old recovery codes gone
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.2fa_enrol")).all()
    assert [(e.actor_label, e.entity_id, e.after["by"]) for e in events] == [("cli", str(user.id), "command")]
    # The printed URI is what the user's app needs.
    client.post("/login", data={"email": "boss@example.org", "password": "correct horse battery staple"})
    assert client.post("/login/2fa", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/").status_code == 200


def test_reset_2fa_removes_the_factor_and_is_audited(runner, client, make_user):
    user = make_user("manager", email="m@example.org")
    twofactor.replace_recovery_codes(user)
    token = user.session_token
    db.session.commit()
    result = runner.invoke(args=["users", "reset-2fa", "m@example.org"])
    assert result.exit_code == 0 and "two-step sign-in removed" in result.output
    assert "set up a new one right after their next sign-in" in result.output
    user = find_by_email("m@example.org")
    assert not user.has_two_factor and user.totp_last_step is None and user.session_token != token
    assert not db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.2fa_reset")).one()
    assert (event.actor_label, event.entity_id) == ("cli", str(user.id))
    assert (event.before, event.after) == ({"enabled": True}, {"enabled": False})
    # A manager must enrol again at the next sign-in.
    response = client.post("/login", data={"email": "m@example.org", "password": "correct horse battery staple"})
    assert response.headers["Location"] == "/account/two-factor"


def test_two_factor_commands_need_a_known_user(runner):
    for command in ("enroll-2fa", "reset-2fa"):
        result = runner.invoke(args=["users", command, "nobody@example.org"])
        assert result.exit_code == 1 and "no user with the e-mail" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_an_account_made_without_sign_in_has_no_password_and_is_audited(app, client):
    user = create_user_without_sign_in(
        "Named.Only@Example.org", "Named Only", "volunteer", language="es", timezone="America/Caracas", actor="cli"
    )
    assert (user.email, user.language, user.timezone, user.password_hash) == (
        "named.only@example.org",
        "es",
        "America/Caracas",
        None,
    )
    response = client.post("/login", data={"email": "named.only@example.org", "password": ""})
    assert response.status_code != 302
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert (event.actor_label, event.after["sign_in"]) == ("cli", False)
    for email, timezone, message in (
        ("named.only@example.org", "UTC", "already exists"),
        ("other@example.org", "Mars/Olympus", "unknown time zone"),
    ):
        with pytest.raises(AccountError, match=message):
            create_user_without_sign_in(email, "Other", "volunteer", timezone=timezone)
