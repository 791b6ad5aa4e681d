"""Inviting staff: the invitee chooses their own password from a single-use, expiring link that reaches
them through the mail queue; resending is rate-limited, revoking stops the link."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from crm.accounts import invitations
from crm.accounts.models import Invitation, User
from crm.core.submissions import new_key
from crm.extensions import db
from crm.mail.models import OutboundMessage
from tests.conftest import count_rows

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "a passphrase of my own choosing"


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def link_in_outbox(email: str) -> str:
    messages = db.session.scalars(
        sa.select(OutboundMessage)
        .where(OutboundMessage.kind == "invitation", OutboundMessage.recipient_email == email)
        .order_by(OutboundMessage.id)
    ).all()
    return re.search(r"https?://\S+/invitation/[\w-]+", messages[-1].body_text).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_an_admin_invites_a_coordinator_who_chooses_their_own_password(client, signed_in):
    signed_in("admin")
    response = client.post(
        "/admin/users/invite",
        data={
            "submission_key": new_key(),
            "email": "Coco@Example.org",
            "name": "",
            "role": "coordinator",
            "language": "es",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "coco@example.org"))
    assert (user.role, user.language, user.password_hash) == ("coordinator", "es", None)
    link = link_in_outbox("coco@example.org")
    client.post("/logout")

    page = client.get(path_of(link))
    assert page.status_code == 200 and "coco@example.org" in page.get_data(as_text=True)
    short = client.post(path_of(link), data={"name": "Coco", "new_password": "short", "confirm": "short"})
    assert short.status_code == 400 and 'id="new_password-error"' in short.get_data(as_text=True)
    accepted = client.post(
        path_of(link), data={"name": "Coco Coordinadora", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/login")
    db.session.expire_all()
    assert user.name == "Coco Coordinadora" and user.check_password(NEW_PASSWORD)
    assert client.post("/login", data={"email": "coco@example.org", "password": NEW_PASSWORD}).status_code == 302
    # Used once: the same link is not found again.
    assert client.get(path_of(link)).status_code == 404


def test_the_link_expires(app, make_user):
    admin = make_user("admin")
    invitation = invitations.invite("late@example.org", "volunteer", actor=admin, now=NOW)
    token = link_in_outbox("late@example.org").rsplit("/", 1)[1]
    assert invitations.find_valid(token, now=NOW + dt.timedelta(days=6)) == invitation
    assert invitations.find_valid(token, now=NOW + dt.timedelta(days=7)) is None


def test_resending_is_rate_limited_and_replaces_the_link(app, make_user):
    admin = make_user("admin")
    invitation = invitations.invite("again@example.org", "volunteer", actor=admin, now=NOW)
    first = link_in_outbox("again@example.org").rsplit("/", 1)[1]
    with pytest.raises(invitations.InvitationError, match="less than 10 minutes ago"):
        invitations.resend(invitation, actor=admin, now=NOW + dt.timedelta(minutes=5))
    invitations.resend(invitation, actor=admin, now=NOW + dt.timedelta(minutes=11))
    second = link_in_outbox("again@example.org").rsplit("/", 1)[1]
    later = NOW + dt.timedelta(minutes=12)
    assert invitations.find_valid(first, now=later) is None
    assert invitations.find_valid(second, now=later) == invitation
    for minutes in (22, 33, 44):
        invitations.resend(invitation, actor=admin, now=NOW + dt.timedelta(minutes=minutes))
    with pytest.raises(invitations.InvitationError, match="sent 5 times already"):
        invitations.resend(invitation, actor=admin, now=NOW + dt.timedelta(hours=2))


def test_revoking_stops_the_link_and_the_waiting_mail(app, make_user):
    admin = make_user("admin")
    invitation = invitations.invite("oops@example.org", "manager", actor=admin, now=NOW)
    token = link_in_outbox("oops@example.org").rsplit("/", 1)[1]
    invitations.revoke(invitation, actor=admin, now=NOW + dt.timedelta(minutes=1))
    assert invitations.find_valid(token, now=NOW + dt.timedelta(minutes=2)) is None
    assert invitation.user.active is False
    message = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.kind == "invitation"))
    assert message.status == "skipped"


@pytest.mark.parametrize(
    "email, message", [("not an address", "Invalid email address."), ("taken@example.org", "already has an account")]
)
def test_a_bad_or_taken_address_is_refused_beside_the_field(client, signed_in, make_user, email, message):
    signed_in("admin")
    make_user("volunteer", email="taken@example.org")
    db.session.commit()
    before = table_counts()
    response = client.post(
        "/admin/users/invite", data={"submission_key": new_key(), "email": email, "role": "volunteer", "language": "en"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and message in page
    assert table_counts() == before


def test_users_invite_never_prints_the_link(runner):
    result = runner.invoke(args=["users", "invite", "vol@example.org", "--role", "volunteer", "--language", "es"])
    assert (result.exit_code, result.output) == (
        0,
        "invited vol@example.org (volunteer); the invitation e-mail is queued\n",
    )
    assert "/invitation/" in link_in_outbox("vol@example.org")
    assert db.session.scalar(sa.select(Invitation.send_count)) == 1
    again = runner.invoke(args=["users", "invite", "vol@example.org", "--role", "volunteer"])
    assert again.exit_code != 0 and "already has an account" in again.output
