"""Reminder fixtures: a real SMTP server on loopback (aiosmtpd) that keeps what it receives, the app's
mail pointed at it. (Follow-ups, letters and meetings come from tests/factories.py.)"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from crm.extensions import mail

UTC = dt.UTC


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


def point_mail_at_loopback(app, port: int, **settings) -> dict:
    """The app's mail goes to a server on loopback at `port`, in the clear, really sent (MAIL_SUPPRESS_SEND
    off); `settings` add to or change these. Returns the previous settings, to restore."""
    return point_mail_at(
        app,
        **{
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_SUPPRESS_SEND": False,
            "MAIL_DEFAULT_SENDER": "alcance@campaign.example.org",
            "MAIL_TIMEOUT": 5,
            **settings,
        },
    )


@pytest.fixture
def smtp(app, smtp_server):
    """The app's mail goes to the loopback SMTP server (MAIL_SUPPRESS_SEND off for this test only)."""
    previous = point_mail_at_loopback(app, smtp_server.port)
    yield smtp_server
    point_mail_at(app, **previous)


def text_and_html(message) -> tuple[str, str]:
    """The plain-text and HTML parts of a received multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html
