"""Due reminders: each owner is e-mailed once when a follow-up falls due, through a real SMTP server; a
failed send is retried later and never marked sent before the server accepted it."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.database import utcnow
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp
from crm.reminders import jobs, services
from crm.reminders.models import ReminderPreference
from tests.conftest import utc_today
from tests.reminders.conftest import text_and_html

UTC = dt.UTC
# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]


def _rows(kind="due_reminder"):
    return db.session.scalars(
        sa.select(OutboundMessage).where(OutboundMessage.kind == kind).order_by(OutboundMessage.id)
    ).all()


def _reminded_at(follow_up):
    db.session.expire_all()
    return db.session.get(FollowUp, follow_up.id).reminder_sent_at


def test_a_due_reminder_is_sent_once_and_the_follow_up_shows_when(runner, smtp, make_user, make_record, make_follow_up):
    owner = make_user("volunteer", email="vera@example.org", name="Vera Volunteer")
    record = make_record("DEU", assignee=owner)
    today = utc_today()
    due = make_follow_up(record, owner, today - dt.timedelta(days=2), note="Call the embassy in Madrid")
    later = make_follow_up(record, owner, today + dt.timedelta(days=3), note="Not yet")
    done = make_follow_up(record, owner, today - dt.timedelta(days=5), note="Already done", status="done")
    db.session.commit()

    before = utcnow()
    result = runner.invoke(args=["reminders", "send-due"])
    assert result.exit_code == 0, result.output
    assert "reminders sent: 1" in result.output

    [message] = smtp.messages
    assert message["To"] == "Vera Volunteer <vera@example.org>"
    assert "Germany" in message["Subject"] and "Call the embassy in Madrid" in message["Subject"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    text, html = text_and_html(message)
    assert "Call the embassy in Madrid" in text and "2 days ago" in text
    assert f"/outreach/{record.id}" in text
    assert "Call the embassy in Madrid" in html and "<a href=" in html
    assert "Not yet" not in text and "Already done" not in text

    [row] = _rows()
    assert row.status == "sent" and row.transport == "smtp"
    assert row.message_id == str(message["Message-ID"]).strip()
    assert row.follow_up_id == due.id and row.sent_at >= before
    assert _reminded_at(due) == row.sent_at
    assert _reminded_at(later) is None and _reminded_at(done) is None

    again = runner.invoke(args=["reminders", "send-due"])
    assert "reminders sent: 0" in again.output
    assert len(smtp.messages) == 1


def test_a_snoozed_follow_up_is_reminded_again_when_the_snooze_ends(smtp, make_user, make_record, make_follow_up):
    owner = make_user("volunteer")
    record = make_record(assignee=owner)
    today = utc_today()
    follow_up = make_follow_up(record, owner, today - dt.timedelta(days=1))
    assert jobs.send_due_reminders().delivery.sent == 1

    outreach.snooze_follow_up(follow_up, today + dt.timedelta(days=3), actor=owner)
    db.session.commit()
    assert _reminded_at(follow_up) is None
    assert jobs.send_due_reminders().delivery.sent == 0  # snoozed: not due yet

    three_days_later = utcnow() + dt.timedelta(days=3)
    assert jobs.send_due_reminders(three_days_later).delivery.sent == 1
    assert len(smtp.messages) == 2
    assert [row.for_date for row in _rows()] == [today - dt.timedelta(days=1), today + dt.timedelta(days=3)]
    assert jobs.send_due_reminders(three_days_later + dt.timedelta(minutes=1)).delivery.sent == 0


def test_due_means_due_in_the_owners_time_zone(make_user, make_record, make_follow_up):
    auckland = make_user("coordinator")
    auckland.timezone = "Pacific/Auckland"
    los_angeles = make_user("coordinator")
    los_angeles.timezone = "America/Los_Angeles"
    record = make_record()
    # 20:00 UTC on 10 March: already 11 March in Auckland, still 10 March in Los Angeles.
    now = dt.datetime(2031, 3, 10, 20, 0, tzinfo=UTC)
    first = make_follow_up(record, auckland, dt.date(2031, 3, 11))
    second = make_follow_up(record, los_angeles, dt.date(2031, 3, 11))
    due = services.due_follow_ups(now)
    assert first in due and second not in due
    assert second in services.due_follow_ups(now + dt.timedelta(hours=12))


def test_no_reminder_for_owners_who_turned_them_off_or_left(make_user, make_record, make_follow_up):
    quiet = make_user("coordinator")
    gone = make_user("coordinator")
    db.session.add(ReminderPreference(user_id=quiet.id, reminders_enabled=False))
    record = make_record()
    yesterday = utc_today() - dt.timedelta(days=1)
    make_follow_up(record, quiet, yesterday)
    make_follow_up(record, gone, yesterday)
    gone.active = False
    db.session.flush()
    assert services.queue_due_reminders() == 0


def test_a_reminder_queued_for_a_follow_up_done_since_is_not_sent(smtp, make_user, make_record, make_follow_up):
    owner = make_user("volunteer")
    follow_up = make_follow_up(make_record(assignee=owner), owner, utc_today())
    assert services.queue_due_reminders() == 1
    db.session.commit()
    outreach.complete_follow_up(follow_up, actor=owner)
    db.session.commit()
    report = mailer.deliver_pending()
    assert report.sent == 0
    assert smtp.messages == []
    [row] = _rows()
    assert row.status == "skipped" and row.sent_at is None


def test_when_the_mail_server_is_down_nothing_is_marked_sent_and_every_reminder_arrives_once_later(
    smtp, make_user, make_record, make_follow_up, monkeypatch
):
    owners = [make_user("coordinator") for _ in range(3)]
    record = make_record()
    follow_ups = [
        make_follow_up(record, owner, utc_today() - dt.timedelta(days=n), note=f"Step {n}")
        for n, owner in enumerate(owners * 2)
    ]
    db.session.commit()

    # Marking sent must come after the server accepted: check it at the moment it happens.
    marked_too_early = []
    original_mark_sent_all = mailer.mark_sent_all

    def checking_mark_sent_all(claims, token, transport):
        marked_too_early.extend(
            claimed.id for claimed in claims if claimed.message_id not in smtp.mailbox.message_ids()
        )
        return original_mark_sent_all(claims, token, transport)

    monkeypatch.setattr(mailer, "mark_sent_all", checking_mark_sent_all)

    smtp.stop()
    down = jobs.send_due_reminders()
    assert down.queued == 6 and down.delivery.sent == 0 and down.delivery.failed == 6
    rows = _rows()
    assert {row.status for row in rows} == {"pending"}
    assert all(row.sent_at is None and row.attempts == 1 and row.last_error for row in rows)
    assert all(row.next_attempt_at > utcnow() for row in rows)  # backoff, not a tight loop
    assert all(_reminded_at(f) is None for f in follow_ups)

    smtp.start()
    assert jobs.send_due_reminders().delivery.sent == 0  # too soon: the retry waits for its backoff
    assert smtp.messages == []

    after_backoff = utcnow() + dt.timedelta(minutes=3)
    assert jobs.send_due_reminders(after_backoff).delivery.sent == 6
    assert jobs.send_due_reminders(after_backoff + dt.timedelta(hours=2)).delivery.sent == 0
    assert sorted(smtp.mailbox.message_ids()) == sorted(row.message_id for row in _rows())
    assert len(set(smtp.mailbox.message_ids())) == 6
    assert marked_too_early == []
    assert all(_reminded_at(f) is not None for f in follow_ups)


def test_a_refused_recipient_fails_for_an_admin_to_retry(smtp, make_user, make_record, make_follow_up):
    owner = make_user("coordinator", email="gone@example.org")
    other = make_user("coordinator", email="here@example.org")
    record = make_record()
    make_follow_up(record, owner, utc_today())
    make_follow_up(record, other, utc_today())
    smtp.mailbox.refuse.add("gone@example.org")
    report = jobs.send_due_reminders()
    assert report.delivery.sent == 1 and report.delivery.failed == 1
    failed = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.recipient_email == "gone@example.org"))
    assert failed.status == "failed" and "550" in failed.last_error and failed.sent_at is None
    smtp.mailbox.refuse.clear()
    mailer.retry_message(failed)
    db.session.commit()
    assert mailer.deliver_pending().sent == 1
    assert len(smtp.mailbox.to("gone@example.org")) == 1


def test_backoff_grows_and_gives_up_after_the_last_attempt(make_user, make_record, make_follow_up):
    assert mailer.retry_delay(1) < mailer.retry_delay(2) < mailer.retry_delay(4)
    assert mailer.retry_delay(30) <= mailer.RETRY_MAX * 1.1
    owner = make_user("volunteer")
    make_follow_up(make_record(), owner, utc_today())
    services.queue_due_reminders()
    row = _rows()[0]
    row.attempts = mailer.MAX_ATTEMPTS - 1
    db.session.commit()
    token = "test-worker"
    [claimed] = mailer.claim(token, utcnow())
    mailer.mark_failed(claimed, token, ConnectionRefusedError("down"), utcnow())
    db.session.expire_all()
    assert db.session.get(OutboundMessage, row.id).status == "failed"


def test_a_claimed_message_is_not_claimed_again_until_its_lease_expires(make_user, make_record, make_follow_up, clock):
    record = make_record()
    for n in range(5):
        make_follow_up(record, make_user("coordinator"), utc_today(), note=f"Step {n}")
    assert services.queue_due_reminders() == 5
    db.session.commit()
    now = utcnow()
    first = mailer.claim("worker-a", now, limit=3)
    second = mailer.claim("worker-b", now, limit=3)
    assert len(first) == 3 and len(second) == 2
    assert not {c.id for c in first} & {c.id for c in second}
    assert mailer.claim("worker-c", now) == []
    # A process that died holding a claim does not lose its messages: they come back after the lease,
    # which runs on the real clock whatever moment a job is asked to send for.
    assert mailer.claim("worker-c", now + mailer.LEASE + dt.timedelta(days=1)) == []
    clock.advance(seconds=mailer.LEASE.total_seconds() + 1)
    taken_over = mailer.claim("worker-c", now)
    assert {c.id for c in taken_over} == {c.id for c in first + second}
    # ...and the old holder can no longer mark them sent.
    assert mailer.mark_sent(first[0], "worker-a", "outbox") is False


def test_a_job_asked_about_an_earlier_moment_still_sends(smtp, make_user, make_record, make_follow_up):
    """Leases run on the real clock: a job given a `now` hours behind it (a catch-up run) sends what was
    due then, instead of finding its own claims already expired and sending nothing."""
    owner = make_user("volunteer", email="vera@example.org")
    make_follow_up(make_record(assignee=owner), owner, utc_today() - dt.timedelta(days=1))
    db.session.commit()
    assert jobs.send_due_reminders(utcnow() - dt.timedelta(hours=7)).delivery.sent_by_kind == {"due_reminder": 1}
    assert len(smtp.mailbox.to("vera@example.org")) == 1


def test_the_same_reminder_queued_twice_is_one_row(make_user, make_record, make_follow_up):
    owner = make_user("volunteer")
    follow_up = make_follow_up(make_record(), owner, utc_today())
    rendered = services.render_due_reminder(follow_up, utcnow())
    key = f"due_reminder:{follow_up.id}:{follow_up.due_on.isoformat()}:{owner.id}"
    assert (
        mailer.queue(
            "due_reminder", key, owner, rendered, now=utcnow(), follow_up_id=follow_up.id, for_date=follow_up.due_on
        )
        is True
    )
    assert (
        mailer.queue(
            "due_reminder", key, owner, rendered, now=utcnow(), follow_up_id=follow_up.id, for_date=follow_up.due_on
        )
        is False
    )
    assert len(_rows()) == 1


def test_without_a_mail_server_messages_go_to_the_outbox(make_user, make_record, make_follow_up):
    owner = make_user("volunteer")
    make_follow_up(make_record(), owner, utc_today())
    report = jobs.send_due_reminders()
    assert report.delivery.sent == 1
    [row] = _rows()
    assert row.status == "sent" and row.transport == "outbox" and row.message_id.startswith("<")
    assert "Call the embassy" in row.body_text


def test_the_demo_has_reminders_to_send_at_once(app, clock):
    from crm.demo import STORY_ENDS_ON, load_demo

    if clock.today() < STORY_ENDS_ON:
        # The demo tells a story of 2018 (load_demo refuses an earlier day): the same moment of 2026.
        clock.move_to(clock.now().replace(year=2026))

    load_demo()
    db.session.commit()
    report = jobs.send_due_reminders()
    # Four demo follow-ups are overdue; the snoozed one and the future ones are not.
    assert report.delivery.sent_by_kind.get("due_reminder") == 4
    assert jobs.send_due_reminders().delivery.sent == 0
