"""Reminder fixtures: a real SMTP server on loopback (aiosmtpd) that keeps what it receives, the app's
mail pointed at it, and factories for follow-ups, letters and meetings."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from crm.extensions import db, mail
from crm.outreach.models import FollowUp, Letter, Meeting
# The outreach factories: a campaign with demands and outreach records.

UTC = dt.timezone.utc


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What the SMTP server accepted: one entry per message, parsed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()
        self.on_message = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if self.on_message is not None:
            self.on_message(message)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]).strip() for m in self.messages]


class SMTPServer:
    """aiosmtpd on 127.0.0.1 and a free port; can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.mailbox.messages


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def point_mail_at(app, **settings) -> dict:
    """Re-initialise Flask-Mail with these settings; returns the previous ones, to restore."""
    previous = {name: app.config.get(name) for name in settings}
    app.config.update(settings)
    mail.init_app(app)
    return previous


@pytest.fixture
def smtp(app, smtp_server):
    """The app's mail goes to the loopback SMTP server (MAIL_SUPPRESS_SEND off for this test only)."""
    previous = point_mail_at(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False,
                             MAIL_USE_SSL=False, MAIL_SUPPRESS_SEND=False,
                             MAIL_DEFAULT_SENDER="alcance@campaign.example.org", MAIL_TIMEOUT=5)
    yield smtp_server
    point_mail_at(app, **previous)


@pytest.fixture
def make_follow_up():
    def factory(record, owner, due_on: dt.date, note="Call the embassy about the letter", status="open",
                snoozed_until=None):
        # Whoever owns a follow-up on a record nobody works yet is given the record, as a coordinator
        # would: reminders and digests only tell a volunteer about records they may open.
        if record.assignee_id is None:
            record.assignee_id = owner.id
        follow_up = FollowUp(outreach_id=record.id, owner_id=owner.id, due_on=due_on, note=note, status=status,
                             snoozed_until=snoozed_until,
                             completed_at=dt.datetime.now(UTC) if status == "done" else None)
        db.session.add(follow_up)
        db.session.flush()
        return follow_up

    return factory


@pytest.fixture
def make_letter():
    def factory(record, *, direction="outgoing", subject="Three demands", sent_on=None, delivered_on=None,
                received_on=None, in_reply_to=None):
        letter = Letter(outreach_id=record.id, direction=direction, subject=subject, sent_on=sent_on,
                        delivered_on=delivered_on, received_on=received_on,
                        in_reply_to_id=getattr(in_reply_to, "id", None))
        db.session.add(letter)
        db.session.flush()
        return letter

    return factory


@pytest.fixture
def make_meeting():
    def factory(records, held_at: dt.datetime, *, staff=(), office=None, summary="Met the political counsellor",
                confidential_notes=None, location=None):
        meeting = Meeting(held_at=held_at, summary=summary, office_id=getattr(office, "id", None),
                          confidential_notes=confidential_notes, location=location)
        meeting.outreach_records = list(records)
        meeting.staff = list(staff)
        db.session.add(meeting)
        db.session.flush()
        return meeting

    return factory


def text_and_html(message) -> tuple[str, str]:
    """The plain-text and HTML parts of a received multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html
