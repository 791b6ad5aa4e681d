"""The reminder sweep works in batches: a batch is claimed, sent over one SMTP connection and recorded in
one transaction, and the sweep goes on until nothing is left to send, each message still sent once."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.database import utcnow
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp
from crm.reminders import services
from tests.conftest import utc_today

pytestmark = pytest.mark.usefixtures("clock")


def _queue(make_user, make_record, make_follow_up, count, owners=3, country="FRA"):
    # Coordinators: reminders go only to owners who may open the record, and they see every record.
    people = [make_user("coordinator") for _ in range(owners)]
    record = make_record(country)
    follow_ups = [
        make_follow_up(record, people[n % owners], utc_today() - dt.timedelta(days=1), note=f"Step {n}")
        for n in range(count)
    ]
    assert services.queue_due_reminders() == count
    db.session.commit()
    return follow_ups


@pytest.fixture
def connections(monkeypatch):
    """How many SMTP connections the sweep opened."""
    opened = []
    original = mailer._Connection.configure_host

    def counting(self):
        opened.append(1)
        return original(self)

    monkeypatch.setattr(mailer._Connection, "configure_host", counting)
    return opened


@pytest.fixture
def statements(app):
    """The SQL statements run while `statements.counting` is on."""
    seen = {"on": False, "n": 0}

    def count(*_args):
        if seen["on"]:
            seen["n"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", count)


def test_the_sweep_goes_on_until_the_queue_is_empty(smtp, make_user, make_record, make_follow_up, connections):
    """More batches than the old limit of 200 batches: every message goes out in one run, once."""
    _queue(make_user, make_record, make_follow_up, 203)
    report = mailer.deliver_pending(batch_size=1)
    assert report.sent == 203 and report.failed == 0
    assert len(set(smtp.mailbox.message_ids())) == 203 == len(smtp.messages)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboundMessage).where(OutboundMessage.status == "sent")
        )
        == 203
    )
    assert len(connections) == 203  # one connection per batch
    assert mailer.deliver_pending().sent == 0


def test_one_connection_and_a_constant_number_of_statements_per_batch(
    smtp, make_user, make_record, make_follow_up, connections, statements
):
    """Ten messages in a batch cost the database what two do: the statements are per batch, not per message."""
    costs = []
    for count, country in ((2, "FRA"), (10, "DEU")):
        follow_ups = _queue(make_user, make_record, make_follow_up, count, country=country)
        statements["on"], statements["n"] = True, 0
        assert mailer.deliver_pending(batch_size=50).sent == count
        statements["on"] = False
        costs.append(statements["n"])
        db.session.expire_all()
        assert all(db.session.get(FollowUp, f.id).reminder_sent_at is not None for f in follow_ups)
    assert costs[0] == costs[1]
    assert len(connections) == 2


def test_a_batch_of_reminders_no_longer_due_does_not_stop_the_sweep(smtp, make_user, make_record, make_follow_up):
    follow_ups = _queue(make_user, make_record, make_follow_up, 6)
    for follow_up in follow_ups[:4]:  # the first two batches: done since their reminders were queued
        outreach.complete_follow_up(follow_up, actor=follow_up.owner)
    db.session.commit()
    report = mailer.deliver_pending(batch_size=2)
    assert report.sent == 2 and len(smtp.messages) == 2
    statuses = db.session.scalars(sa.select(OutboundMessage.status).order_by(OutboundMessage.id)).all()
    assert statuses == ["skipped"] * 4 + ["sent"] * 2


def test_a_refused_message_in_a_batch_is_recorded_and_the_rest_of_the_batch_is_sent(
    smtp, make_user, make_record, make_follow_up
):
    gone = make_user("coordinator", email="gone@example.org")
    others = [make_user("coordinator") for _ in range(4)]
    record = make_record()
    for owner in [others[0], others[1], gone, others[2], others[3]]:
        make_follow_up(record, owner, utc_today())
    assert services.queue_due_reminders() == 5
    db.session.commit()
    smtp.mailbox.refuse.add("gone@example.org")
    report = mailer.deliver_pending(batch_size=10)
    assert report.sent == 4 and report.failed == 1
    failed = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.recipient_email == "gone@example.org"))
    assert failed.status == "failed" and failed.attempts == 1 and "550" in failed.last_error
    assert failed.claimed_by is None and failed.sent_at is None


def test_a_follow_up_snoozed_while_its_reminder_went_out_does_not_show_it_as_reminded(
    make_user, make_record, make_follow_up
):
    """The batch's follow-ups are marked in one statement, each only if still due on its reminder's day."""
    snoozed, still_due = _queue(make_user, make_record, make_follow_up, 2)
    claims = mailer.claim("worker-a", utcnow())
    assert len(claims) == 2
    outreach.snooze_follow_up(snoozed, utc_today() + dt.timedelta(days=3), actor=snoozed.owner)
    db.session.commit()
    assert mailer.mark_sent_all(claims, "worker-a", "smtp") == {c.id for c in claims}
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(FollowUp, snoozed.id).reminder_sent_at is None
    assert db.session.get(FollowUp, still_due.id).reminder_sent_at is not None
