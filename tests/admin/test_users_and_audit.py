"""Admins manage accounts; admins and managers read the audit log, which nobody can edit."""

import pytest
import sqlalchemy as sa

from crm.accounts.models import User
from crm.accounts.services import find_by_email
from crm.audit.models import AuditEvent, AuditLogIsAppendOnly
from crm.core.submissions import new_key
from crm.extensions import db


def test_admin_creates_edits_and_deactivates_a_user(client, signed_in):
    signed_in("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "submission_key": new_key(),
            "email": "Nueva@Example.org",
            "name": "Nueva Persona",
            "role": "volunteer",
            "language": "es",
            "password": "a long first passphrase",
        },
    )
    assert response.status_code == 302
    user = find_by_email("nueva@example.org")
    assert (user.role, user.language) == ("volunteer", "es")
    client.post(f"/admin/users/{user.id}", data={"name": "Nueva P.", "role": "coordinator", "language": "en"})
    user = db.session.get(User, user.id)
    assert (user.name, user.role, user.language) == ("Nueva P.", "coordinator", "en")
    token = user.session_token
    client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    user = db.session.get(User, user.id)
    assert not user.active and user.session_token != token
    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert db.session.get(User, user.id).active
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))))
    assert {"user.create", "user.update", "user.set_role", "user.deactivate", "user.reactivate"} <= actions


@pytest.mark.parametrize(
    "data,message",
    [
        (
            {
                "email": "not-an-email",
                "name": "X",
                "role": "volunteer",
                "language": "en",
                "password": "long enough pass",
            },
            "Invalid email address",
        ),
        (
            {"email": "x@example.org", "name": "X", "role": "volunteer", "language": "en", "password": "short"},
            "at least 12 characters",
        ),
        (
            {
                "email": "x@example.org",
                "name": "X",
                "role": "emperor",
                "language": "en",
                "password": "long enough pass",
            },
            "Not a valid choice",
        ),
        (
            {
                "email": "x@example.org",
                "name": "",
                "role": "volunteer",
                "language": "xx",
                "password": "long enough pass",
            },
            "This field is required",
        ),
    ],
)
def test_bad_new_user_input_is_refused(client, signed_in, data, message):
    signed_in("admin")
    response = client.post("/admin/users/new", data={**data, "submission_key": new_key()})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert find_by_email("x@example.org") is None


def test_admins_cannot_lock_themselves_or_the_last_admin_out(client, signed_in):
    me = signed_in("admin")
    response = client.post(f"/admin/users/{me.id}", data={"name": me.name, "role": "volunteer", "language": "en"})
    assert response.status_code == 400 and "your own role" in response.get_data(as_text=True)
    client.post(f"/admin/users/{me.id}/active", data={"active": "0"})
    assert db.session.get(User, me.id).active


def test_audit_log_filters_and_shows_sign_ins(client, signed_in, make_user):
    other = make_user("volunteer", email="target@example.org")
    db.session.commit()
    client.post("/login", data={"email": other.email, "password": "wrong password"})
    signed_in("manager")
    page = client.get("/admin/audit?action=auth.login_failed").get_data(as_text=True)
    assert "target@example.org" in page and "auth.login_failed" in page
    page = client.get("/admin/audit?action=user.&since=2999-01-01").get_data(as_text=True)
    assert "No event matches." in page
    assert client.get("/admin/audit?since=notadate&action=%25").status_code == 200


def test_the_audit_log_cannot_be_edited(app):
    event = AuditEvent(action="test.event")
    db.session.add(event)
    db.session.flush()
    event.action = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("role", ["manager", "coordinator", "volunteer"])
def test_only_admins_manage_users(client, signed_in, role):
    signed_in(role)
    assert client.get("/admin/users").status_code == 404
    assert client.post("/admin/users/new", data={}).status_code == 404


@pytest.mark.parametrize("role,status", [("coordinator", 404), ("volunteer", 404), ("admin", 200)])
def test_audit_log_is_for_admins_and_managers(client, signed_in, role, status):
    signed_in(role)
    assert client.get("/admin/audit").status_code == status
