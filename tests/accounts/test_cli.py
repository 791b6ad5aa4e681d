"""`flask users ...`: create (password from stdin), list, set-role, deactivate."""
from crm.accounts.models import User
from crm.accounts.services import find_by_email
from crm.audit.models import AuditEvent
from crm.extensions import db
import sqlalchemy as sa


def test_create_reads_password_from_stdin_and_user_can_sign_in(runner, client):
    result = runner.invoke(args=["users", "create", "Ana@Example.org", "--name", "Ana Pérez", "--role", "coordinator"],
                           input="a long enough passphrase\n")
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
    result = runner.invoke(args=["users", "create", "DUP@example.org", "--name", "Y", "--role", "admin"],
                           input="a long enough passphrase\n")
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
