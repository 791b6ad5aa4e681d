"""Mail to an address outside ASCII (which the e-mail validator accepts): sent with SMTPUTF8 when the
server offers it; otherwise failed with a reason an admin can read, without holding back the rest."""

import datetime as dt

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from crm.database import utcnow
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from tests.reminders.conftest import SMTPServer, point_mail_at, point_mail_at_loopback

ACCENTED = "maría.pérez@example.org"
IDN_DOMAIN = "ana@bücher.example"


class Server(SMTPServer):
    """The loopback server, offering SMTPUTF8 (RFC 6531) or not."""

    def __init__(self, smtputf8: bool):
        super().__init__()
        self.smtputf8 = smtputf8

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8)
        self.controller.start()


@pytest.fixture
def server(app, request):
    server = Server(smtputf8=request.param)
    server.start()
    previous = point_mail_at_loopback(app, server.port)
    yield server
    point_mail_at(app, **previous)
    server.stop()


def _queue(make_user, *emails):
    for email in emails:
        user = make_user("volunteer", email=email, name="María Pérez")
        mailer.queue(
            "due_reminder",
            f"test:{email}",
            user,
            mailer.Rendered(subject="Seguimiento", text="Llamar a la embajada", html="<p>Llamar</p>", language="es"),
            now=utcnow() - dt.timedelta(minutes=1),
        )
    db.session.commit()


def _row(email) -> OutboundMessage:
    return db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.recipient_email == email))


@pytest.mark.parametrize("server", [True], indirect=True, ids=["smtputf8"])
def test_a_server_with_smtputf8_gets_the_address_as_it_is(server, make_user):
    _queue(make_user, ACCENTED, "plain@example.org")
    report = mailer.deliver_pending()
    assert (report.sent, report.failed) == (2, 0)
    [message] = server.mailbox.to(ACCENTED)
    assert "María Pérez" in str(message["To"]) and message["Subject"] == "Seguimiento"
    assert message.get_body(("plain",)).get_content().strip() == "Llamar a la embajada"
    assert _row(ACCENTED).status == "sent"


@pytest.mark.parametrize("server", [False], indirect=True, ids=["ascii-only"])
def test_a_server_without_smtputf8_fails_that_message_with_a_reason_and_sends_the_rest(server, make_user):
    _queue(make_user, ACCENTED, "plain@example.org", IDN_DOMAIN)
    report = mailer.deliver_pending()
    assert (report.sent, report.failed) == (2, 1)
    failed = _row(ACCENTED)
    assert failed.status == "failed" and "SMTPUTF8" in failed.last_error and failed.sent_at is None
    assert len(server.mailbox.to("plain@example.org")) == 1
    # A domain outside ASCII needs no SMTPUTF8: it travels in its IDNA form.
    assert _row(IDN_DOMAIN).status == "sent"
    assert len(server.mailbox.to("xn--bcher-kva.example")) == 1
