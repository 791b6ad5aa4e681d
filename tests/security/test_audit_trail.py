"""Every sensitive action leaves its trace: performed here one after another through the pages, then
read back from the audit log with who, when, from where and the values before and after."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.contacts.models import Contact
from crm.core.submissions import new_key
from crm.database import utcnow
from crm.extensions import db
from crm.letters import letter_templates
from crm.letters import services as letters
from tests.conftest import TEST_PASSWORD, utc_today

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def test_the_audit_log_shows_each_sensitive_action(client, signed_in, make_user, campaign, make_record, make_office):
    intruder = make_user("volunteer", email="target@example.org")
    db.session.commit()
    client.post("/login", data={"email": intruder.email, "password": "not the password"})  # a failed sign-in
    manager = signed_in("manager")
    volunteer = make_user("volunteer", name="Vera")
    record, office = make_record("FRA"), make_office("FRA")
    db.session.commit()
    demand = campaign.demands[0]
    today = utc_today().isoformat()

    client.post(
        f"/outreach/{record.id}/edit",
        data={"assignee": volunteer.id, "coordinator": 0, "priority": 1, "version": record.version},
    )
    client.post(f"/outreach/{record.id}/stage", data={"stage": "contacted", "version": record.version + 1})
    client.post(
        f"/outreach/{record.id}/positions/new",
        data={
            "demand": demand.id,
            "stance": "supportive",
            "stated_on": today,
            "submission_key": "audit-trail-position-key-01",
        },
    )
    client.post(
        f"/outreach/{record.id}/meetings/new",
        data={
            "submission_key": new_key(),
            "held_at": (utcnow() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "summary": "Met",
        },
    )
    client.post(
        f"/outreach/{record.id}/follow-ups/new",
        data={"note": "Call", "due_on": today, "owner": manager.id, "submission_key": "audit-trail-key-0123456789"},
    )
    client.post(
        "/contacts/new",
        data={
            "submission_key": new_key(),
            "office": office.id,
            "name": "Claire Fictive",
            "email": "claire@example.org",
        },
    )
    contact = db.session.scalars(sa.select(Contact).where(Contact.name == "Claire Fictive")).one()
    client.post(f"/contacts/{contact.id}/edit", data={"name": "Claire F.", "version": contact.version})
    template = letter_templates.save_template(None, name="t", language="en", subject="S", body="B", actor=manager)
    letter = letters.compose_letter(
        db.session.get(type(record), record.id),
        template_name=template.name,
        actor=manager,
        contact=db.session.get(Contact, contact.id),
    )
    db.session.commit()
    client.post(f"/letters/{letter.id}/sent", data={"channel": "email", "sent_on": today, "version": letter.version})
    client.get(f"/dashboard/{campaign.slug}/matrix.csv")
    client.get(f"/dashboard/{campaign.slug}/outreach.csv")
    client.post("/logout")
    admin = signed_in("admin")
    client.post(
        "/admin/users/new",
        data={
            "submission_key": new_key(),
            "email": "new@example.org",
            "name": "New",
            "role": "volunteer",
            "language": "en",
            "password": TEST_PASSWORD,
        },
    )
    client.post(f"/admin/users/{volunteer.id}/active", data={"active": "0"})

    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = {event.action for event in events}
    expected = {
        "auth.login_failed",
        "auth.login",
        "auth.logout",
        "outreach.update",
        "assignment.change",
        "outreach.stage",
        "position.create",
        "meeting.create",
        "follow_up.create",
        "contact.create",
        "contact.update",
        "letter.compose",
        "letter.sent",
        "export.matrix",
        "export.outreach",
        "user.create",
        "user.deactivate",
    }
    assert expected <= actions, sorted(expected - actions)
    by_action = {event.action: event for event in events}
    assert by_action["auth.login_failed"].actor_label == "target@example.org"
    assert by_action["assignment.change"].after["assignee_id"] == volunteer.id
    assert by_action["outreach.stage"].before == {"stage": "not_started"}
    assert by_action["user.deactivate"].actor_id == admin.id
    for action in expected - {"letter.compose"}:  # composed here through the service, not a request
        event = by_action[action]
        assert event.ip_address == "127.0.0.1" and event.occurred_at is not None, action
