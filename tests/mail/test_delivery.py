"""The sweep hands each message to the mail server as Flask-Mail is configured: a server that takes only
7-bit mail still gets Spanish mail it can carry, MAIL_MAX_EMAILS still starts a new connection after so
many messages, and Flask-Mail's email_dispatched signal still tells who listens what went out (a
listener's failure does not send a message again)."""

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_mail import email_dispatched

from crm.database import utcnow
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from tests.reminders.conftest import Mailbox, SMTPServer, point_mail_at, point_mail_at_loopback

TEXT = "Hola, María:\n\nLlamar a la embajada de España.\n"
HTML = "<p>Hola, María:</p>\n<p>Llamar a la embajada de España.</p>\n"


class SevenBitMailbox(Mailbox):
    """A server that does not offer 8BITMIME: it keeps the raw bytes to check every one is 7-bit."""

    def __init__(self):
        super().__init__()
        self.raw: list[bytes] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [line for line in responses if "8BITMIME" not in line]

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def server(app, request):
    settings = getattr(request, "param", {})
    server = SMTPServer()
    if settings.get("seven_bit"):
        server.mailbox = SevenBitMailbox()
    server.start()
    previous = point_mail_at_loopback(app, server.port, MAIL_MAX_EMAILS=settings.get("max_emails"))
    yield server
    point_mail_at(app, **previous)
    server.stop()


def _queue(make_user, count=1):
    for n in range(count):
        user = make_user("volunteer", email=f"maria{n}@example.org", name="María Pérez", language="es")
        mailer.queue(
            "due_reminder",
            f"test:{n}",
            user,
            mailer.Rendered(subject="Seguimiento: España", text=TEXT, html=HTML, language="es"),
            now=utcnow() - dt.timedelta(minutes=1),
        )
    db.session.commit()


@pytest.mark.parametrize("server", [{"seven_bit": True}], indirect=True, ids=["7bit"])
def test_a_server_without_8bitmime_gets_spanish_mail_in_7_bits_that_reads_the_same(server, make_user):
    _queue(make_user)
    assert mailer.deliver_pending().sent == 1
    [raw] = server.mailbox.raw
    assert raw.isascii()
    [message] = server.mailbox.to("maria0@example.org")
    assert message["Subject"] == "Seguimiento: España" and str(message["To"]) == "María Pérez <maria0@example.org>"
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == HTML


@pytest.mark.parametrize("server", [{"max_emails": 2}], indirect=True, ids=["max-2"])
def test_mail_max_emails_starts_a_new_connection_after_so_many_messages(server, make_user, monkeypatch):
    opened = []
    original = mailer._Connection.configure_host
    monkeypatch.setattr(mailer._Connection, "configure_host", lambda self: opened.append(1) or original(self))
    _queue(make_user, count=5)
    assert mailer.deliver_pending().sent == 5
    assert len(server.messages) == 5 and len(opened) == 3


def test_flask_mails_signal_hears_of_every_message_sent(app, server, make_user):
    _queue(make_user, count=2)
    heard = []

    def listen(sender, message):
        heard.append((message.recipients[0][1], message.subject, message.msgId))

    with email_dispatched.connected_to(listen):
        assert mailer.deliver_pending().sent == 2
    rows = db.session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert heard == [(row.recipient_email, "Seguimiento: España", row.message_id) for row in rows]


def test_a_listener_that_fails_does_not_make_an_accepted_message_go_again(app, server, make_user):
    _queue(make_user)

    def broken(sender, message):
        raise RuntimeError("listener bug")

    with email_dispatched.connected_to(broken):
        report = mailer.deliver_pending()
    assert (report.sent, report.failed) == (1, 0) and len(server.messages) == 1
    row = db.session.scalar(sa.select(OutboundMessage))
    assert row.status == "sent" and row.attempts == 0
