"""A coordinator's reassignment reaches the new assignee by e-mail, once, in their language."""

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.outreach import assignments
from tests.reminders.conftest import text_and_html

# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]


def test_reassignment_mails_the_new_assignee_once_in_their_language(smtp, make_user, make_record):
    coordinator = make_user("coordinator", name="Coordinadora Ana")
    volunteer = make_user("volunteer", email="luis@example.org", name="Luis", language="es")
    chile, peru = make_record("CHL"), make_record("PER")
    assignments.set_assignee([chile, peru], volunteer, actor=coordinator)
    assignments.set_assignee([chile, peru], volunteer, actor=coordinator)  # no change: nothing new to say
    db.session.commit()
    assert mailer.deliver_pending().sent == 1
    assert mailer.deliver_pending().sent == 0
    [message] = smtp.messages
    assert message["To"] == "Luis <luis@example.org>" and message["Content-Language"] == "es"
    text, html = text_and_html(message)
    assert "Chile" in text and "Perú" in text and "Coordinadora Ana" in text
    assert f"/outreach/{chile.id}" in text and "/my-work" in html
    row = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "assignment")).one()
    assert row.status == "sent" and row.message_id == message["Message-ID"].strip()


def test_taking_a_record_yourself_sends_no_mail(make_user, make_record):
    volunteer = make_user("volunteer")
    assignments.claim(make_record("ESP"), volunteer)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 0
