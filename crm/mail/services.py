"""The outgoing mail queue: messages written in each reader's language, queued once under a unique key,
claimed atomically by one process at a time, sent through Flask-Mail outside any database transaction,
and marked sent only after the mail server accepted them.

The sweep works in batches: one statement claims a batch, one SMTP connection sends it, and one
transaction records what happened to each message (sent, failed, released), so a message costs the
mail server's time and little else. It goes on until nothing is left to send for now."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import smtplib
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr

import flask_mail
import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from crm import clock, i18n
from crm.accounts.models import User
from crm.database import upsert_insert, utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.mail.mime import MessageWriter, envelope_address
from crm.mail.models import OutboundMessage
from crm.outreach.models import FollowUp
from crm.translation import gettext

log = logging.getLogger(__name__)

# A claim lasts this long. A batch stops sending well before its lease ends, so a row is never sent
# by two processes: another may take it over only after the lease expired. Leases are kept on the real
# clock (`lease_clock`), never on the `now` a job is given: `now` says which messages are due, while a
# lease measures how long a process has actually held its rows, and every process must agree on it.
LEASE = dt.timedelta(minutes=5)
LEASE_MARGIN = dt.timedelta(minutes=2)
BATCH_SIZE = 200
# Retries: 1, 2, 4, ... minutes, at most an hour apart; after MAX_ATTEMPTS an admin decides.
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=1)
MAX_ATTEMPTS = 20
SMTP_TIMEOUT_SECONDS = 30


# --- The reader's language, time zone and links ------------------------------------------------------


def user_language(user) -> str:
    languages = current_app.config.get("LANGUAGES", ["en"])
    return user.language if getattr(user, "language", None) in languages else "en"


def base_url() -> str:
    """Links in e-mail are built on the configured address, never on a request's Host header (which a
    forged request could set to the attacker's site)."""
    return str(current_app.config["ALCANCE_BASE_URL"]).rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mail and calendars, built without a request (the scheduler has none)."""
    adapter = current_app.url_map.bind("localhost")
    return base_url() + adapter.build(endpoint, values)


def mail_domain() -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    if isinstance(sender, (tuple, list)):
        sender = sender[-1]
    address = parseaddr(sender)[1]
    if "@" in address:
        return address.rsplit("@", 1)[1]
    return "alcance.invalid"


def new_message_id() -> str:
    return make_msgid(idstring="alcance", domain=mail_domain())


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    language: str


def render_message(name: str, user, subject, **context) -> Rendered:
    """Subject, plain text and HTML of templates/reminders/email/<name>.{txt,html}, in `user`'s language
    and time zone. `subject` is a callable so that it is translated inside the forced locale."""
    language = user_language(user)
    zone = clock.user_zone(user)

    def show_date(value):
        return i18n.show_date(value, language, zone)

    def show_datetime(value):
        """In the reader's time zone, as on the pages (crm/i18n.py)."""
        return i18n.show_datetime(value, language, zone)

    with force_locale(language):
        values = dict(
            context,
            user=user,
            language=language,
            show_date=show_date,
            show_datetime=show_datetime,
            link=external_url,
            preferences_url=external_url("reminders.preferences"),
        )
        title = " ".join(str(subject()).split())[:300]
        values["subject"] = title
        text = render_template(f"reminders/email/{name}.txt", **values)
        html = render_template(f"reminders/email/{name}.html", **values)
    return Rendered(title, text, html, language)


# --- Queueing --------------------------------------------------------------------------------------


def queue(
    kind: str,
    dedupe_key: str,
    user,
    rendered: Rendered,
    *,
    now: dt.datetime,
    follow_up_id=None,
    for_date: dt.date | None = None,
    skip: str | None = None,
) -> bool:
    """Queue one message unless one with this key exists (queued, sent or skipped). True if queued.
    The unique key is the idempotency guarantee: two processes queueing the same reminder at the same
    moment leave one row. With `skip` (the reason), the row only records that nothing was to be sent."""
    table = OutboundMessage.__table__
    statement = (
        upsert_insert(db.session, table)
        .values(
            kind=kind,
            dedupe_key=dedupe_key,
            recipient_id=user.id,
            recipient_email=user.email,
            language=rendered.language,
            follow_up_id=follow_up_id,
            for_date=for_date,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            message_id=new_message_id(),
            status="skipped" if skip else "pending",
            last_error=skip,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    # RETURNING, not rowcount: with implicit RETURNING, psycopg reports no row count for this INSERT.
    return db.session.execute(statement).first() is not None


# --- Delivery -------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    sent_by_kind: dict = field(default_factory=dict)


@dataclass
class _Claimed:
    """What a send needs, copied out of the row so that no transaction stays open while mail is sent."""

    id: int
    kind: str
    recipient_email: str
    recipient_name: str | None
    subject: str
    text: str
    html: str | None
    message_id: str
    language: str
    attempts: int
    follow_up_id: int | None
    for_date: dt.date | None
    claimed_until: dt.datetime


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def transport_name() -> str:
    state = current_app.extensions["mail"]
    return "smtp" if state.server and not state.suppress else "outbox"


class NoInternationalMail(smtplib.SMTPNotSupportedError):
    """The recipient's address has letters outside ASCII and the mail server does not offer SMTPUTF8."""


def _sender() -> str | tuple[str, str]:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or f"alcance@{mail_domain()}"
    if isinstance(sender, (tuple, list)):
        return (sender[0], sender[1])
    # A (name, address) pair, not formataddr(): that refuses an address outside ASCII outright.
    return sender if "<" in sender else ("Alcance", sender)


def _recipient(claimed: _Claimed) -> str | tuple[str, str]:
    return (claimed.recipient_name, claimed.recipient_email) if claimed.recipient_name else claimed.recipient_email


def _headers(claimed: _Claimed) -> tuple[tuple[str, str], ...]:
    """Every message is automatic (no out-of-office replies, please), in its reader's language."""
    return (
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("Content-Language", claimed.language),
        ("X-Alcance-Kind", claimed.kind),
    )


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection (its settings: server, TLS, login, MAIL_MAX_EMAILS) with a timeout, so a
    silent mail server cannot hold a claim forever. It sends claimed messages as crm.mail.mime writes
    them, and mail to an address outside ASCII with SMTPUTF8 (RFC 6531) when the server offers it."""

    writer: MessageWriter | None = None

    def send_claimed(self, claimed: _Claimed) -> None:
        if self.mail.max_emails and self.num_emails >= self.mail.max_emails:
            # A new connection after MAIL_MAX_EMAILS messages, opened before the next message rather than
            # after the last: failing to open it must not count against a message the server accepted.
            self.num_emails = 0
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.host = self.configure_host()
        host = self.host
        if self.writer is None:
            host.ehlo_or_helo_if_needed()
            self.writer = MessageWriter(_sender(), eight_bit=host.has_extn("8bitmime"))
        sender = self.writer.envelope_sender
        recipient = envelope_address(claimed.recipient_email)
        utf8 = not (sender.isascii() and recipient.isascii())
        if utf8 and not host.has_extn("smtputf8"):
            raise NoInternationalMail(
                "the mail server does not offer SMTPUTF8, which an address outside "
                "ASCII needs; send it through a server that does"
            )
        payload, options = self.writer.write(
            recipient=_recipient(claimed),
            subject=claimed.subject,
            message_id=claimed.message_id,
            text=claimed.text,
            html=claimed.html,
            headers=_headers(claimed),
            utf8=utf8,
        )
        host.sendmail(sender, [recipient], payload, options)
        self.num_emails += 1
        if flask_mail.email_dispatched.receivers:  # e.g. Flask-Mail's record_messages()
            try:
                flask_mail.email_dispatched.send(current_app._get_current_object(), message=_flask_message(claimed))
            except Exception:  # noqa: BLE001 - the server accepted it: a listener's error must not resend it
                log.exception("a listener to email_dispatched failed on message %s", claimed.id)

    def configure_host(self):
        timeout = float(current_app.config.get("MAIL_TIMEOUT") or SMTP_TIMEOUT_SECONDS)
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _flask_message(claimed: _Claimed) -> flask_mail.Message:
    """The message as Flask-Mail sees it, for whoever listens to its email_dispatched signal."""
    message = flask_mail.Message(
        subject=claimed.subject,
        recipients=[_recipient(claimed)],
        body=claimed.text,
        html=claimed.html,
        sender=_sender(),
        extra_headers=dict(_headers(claimed)),
    )
    message.msgId = claimed.message_id
    return message


def _still_wanted(row) -> bool:
    """A reminder whose follow-up was done, or snoozed to another day, since it was queued is not sent.
    `row` is a claimed message with its follow-up's columns (`_claimed_rows`)."""
    if row.kind != "due_reminder" or row.follow_up_id is None:
        return True
    if row.follow_up_status is None or row.follow_up_status == "done" or row.follow_up_owner_id != row.recipient_id:
        return False
    due = (
        row.follow_up_snoozed_until
        if row.follow_up_status == "snoozed" and row.follow_up_snoozed_until
        else row.follow_up_due_on
    )
    return due == row.for_date


def lease_clock() -> dt.datetime:
    return utcnow()


def _claimed_rows(token: str):
    """The messages `token` holds, with their recipient's name and their follow-up's state, in one query."""
    table = OutboundMessage.__table__
    return db.session.execute(
        sa.select(
            table.c.id,
            table.c.kind,
            table.c.recipient_id,
            table.c.recipient_email,
            table.c.subject,
            table.c.body_text,
            table.c.body_html,
            table.c.message_id,
            table.c.language,
            table.c.attempts,
            table.c.follow_up_id,
            table.c.for_date,
            table.c.claimed_until,
            User.name.label("recipient_name"),
            FollowUp.status.label("follow_up_status"),
            FollowUp.owner_id.label("follow_up_owner_id"),
            FollowUp.due_on.label("follow_up_due_on"),
            FollowUp.snoozed_until.label("follow_up_snoozed_until"),
        )
        .outerjoin(User, User.id == table.c.recipient_id)
        .outerjoin(FollowUp, FollowUp.id == table.c.follow_up_id)
        .where(table.c.claimed_by == token, table.c.status == "pending")
        .order_by(table.c.id)
    ).all()


def lease_due_rows(table: sa.Table, token: str, now: dt.datetime, limit: int, *conditions) -> dt.datetime:
    """Mark up to `limit` pending rows of a queue table due at `now` as held by `token`, and return when
    the lease ends. The one lease for every queue Alcance drains (mail here, webhooks in crm/webhooks):
    a table with status, next_attempt_at, claimed_by and claimed_until columns."""
    leased_at = lease_clock()
    candidates = (
        sa.select(table.c.id)
        .where(
            table.c.status == "pending",
            table.c.next_attempt_at <= now,
            sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < leased_at),
            *conditions,
        )
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed_until = leased_at + LEASE
    db.session.execute(
        sa.update(table)
        .where(table.c.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=token, claimed_until=claimed_until)
    )
    return claimed_until


def _claim(token: str, now: dt.datetime, limit: int, kinds) -> tuple[list[_Claimed], int]:
    """The claimed messages still wanted, and how many others were claimed and marked skipped."""
    table = OutboundMessage.__table__
    conditions = [table.c.kind.in_(tuple(kinds))] if kinds else []
    claimed_until = lease_due_rows(table, token, now, limit, *conditions)
    result, unwanted = [], []
    for row in _claimed_rows(token):
        if not _still_wanted(row):
            unwanted.append(row.id)
            continue
        result.append(
            _Claimed(
                id=row.id,
                kind=row.kind,
                recipient_email=row.recipient_email,
                recipient_name=row.recipient_name,
                subject=row.subject,
                text=row.body_text,
                html=row.body_html,
                message_id=row.message_id,
                language=row.language,
                attempts=row.attempts,
                follow_up_id=row.follow_up_id,
                for_date=row.for_date,
                claimed_until=row.claimed_until or claimed_until,
            )
        )
    if unwanted:
        db.session.execute(
            sa.update(table)
            .where(table.c.id.in_(unwanted), table.c.claimed_by == token)
            .values(
                status="skipped", last_error="no longer due when its turn came", claimed_by=None, claimed_until=None
            )
        )
    db.session.commit()
    return result, len(unwanted)


def claim(token: str, now: dt.datetime, limit: int = BATCH_SIZE, kinds=None) -> list[_Claimed]:
    """Take up to `limit` messages due at `now` for this process, in one short transaction. On
    PostgreSQL, rows another process is claiming right now are skipped (FOR UPDATE SKIP LOCKED); on
    SQLite the transaction holds the write lock (BEGIN IMMEDIATE), so claims never interleave. Messages
    no longer wanted (a reminder whose follow-up was done) are marked skipped, not returned."""
    return _claim(token, now, limit, kinds)[0]


def mark_sent_all(claims: list[_Claimed], token: str, transport: str) -> set[int]:
    """Record, in the caller's transaction, that the mail server accepted these messages (or that they
    went to the outbox). Only the holder of a claim may mark it; the follow-ups then show when their
    reminders went out. Returns the ids marked."""
    if not claims:
        return set()
    table = OutboundMessage.__table__
    ids = [claimed.id for claimed in claims]
    held = set(
        db.session.scalars(
            sa.select(table.c.id).where(table.c.id.in_(ids), table.c.claimed_by == token).with_for_update()
        )
    )
    for claimed in claims:
        if claimed.id not in held:
            log.error("message %s was sent but its claim had been taken over; it may arrive twice", claimed.id)
    if not held:
        return held
    sent_at = utcnow()
    db.session.execute(
        sa.update(table)
        .where(table.c.id.in_(held), table.c.claimed_by == token)
        .values(
            status="sent",
            sent_at=sent_at,
            transport=transport,
            sent_by=worker_name(),
            claimed_by=None,
            claimed_until=None,
            last_error=None,
        )
    )
    reminders = [
        {"follow_up": c.follow_up_id, "for_date": c.for_date}
        for c in claims
        if c.id in held and c.kind == "due_reminder" and c.follow_up_id is not None
    ]
    if reminders:
        # Core, not the ORM: setting the reminder time is not an edit, and must not make an open form stale.
        follow_ups = FollowUp.__table__
        due = sa.case((follow_ups.c.status == "snoozed", follow_ups.c.snoozed_until), else_=follow_ups.c.due_on)
        db.session.execute(
            sa.update(follow_ups)
            .where(
                follow_ups.c.id == sa.bindparam("follow_up"),
                follow_ups.c.status != "done",
                due == sa.bindparam("for_date"),
            )
            .values(reminder_sent_at=sent_at),
            reminders,
        )
    return held


def mark_sent(claimed: _Claimed, token: str, transport: str) -> bool:
    """One message marked sent, and committed."""
    marked = claimed.id in mark_sent_all([claimed], token, transport)
    db.session.commit()
    return marked


def _is_permanent(error: Exception) -> bool:
    # No SMTPUTF8: retrying the same server will not help; the row says why, and an admin can send it
    # again once the server is changed.
    if isinstance(error, NoInternationalMail):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    if isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return 500 <= error.smtp_code < 600
    return isinstance(error, (flask_mail.BadHeaderError, UnicodeError))


def _connection_lost(error: Exception) -> bool:
    """True when the server is unreachable or dropped us, rather than refusing this one message."""
    if isinstance(
        error, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError, NoInternationalMail)
    ):
        return False
    # Every other SMTP error, a refused connection and a timeout are all OSErrors.
    return isinstance(error, OSError)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff with a little jitter, so that processes do not retry in step."""
    delay = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)
    return delay + delay * random.uniform(0, 0.1)


def _record_failed(failures: list[tuple[_Claimed, Exception]], token: str, now: dt.datetime) -> None:
    """In the caller's transaction: each failed message back in the queue after its backoff, or failed for
    good (permanent refusal, too many attempts)."""
    if not failures:
        return
    table = OutboundMessage.__table__
    values = []
    for claimed, error in failures:
        attempts = claimed.attempts + 1
        give_up = attempts >= MAX_ATTEMPTS or _is_permanent(error)
        values.append(
            {
                "message": claimed.id,
                "new_attempts": attempts,
                "new_status": "failed" if give_up else "pending",
                "retry_at": now + retry_delay(attempts),
                "error": f"{type(error).__name__}: {error}"[:2000],
            }
        )
    db.session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("message"), table.c.claimed_by == token)
        .values(
            attempts=sa.bindparam("new_attempts"),
            status=sa.bindparam("new_status"),
            next_attempt_at=sa.bindparam("retry_at"),
            claimed_by=None,
            claimed_until=None,
            last_error=sa.bindparam("error"),
        ),
        values,
    )


def mark_failed(claimed: _Claimed, token: str, error: Exception, now: dt.datetime) -> None:
    _record_failed([(claimed, error)], token, now)
    db.session.commit()


def _release(claims: list[_Claimed], token: str) -> None:
    if not claims:
        return
    table = OutboundMessage.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.id.in_([c.id for c in claims]), table.c.claimed_by == token)
        .values(claimed_by=None, claimed_until=None)
    )


def release(claims: list[_Claimed], token: str) -> None:
    _release(claims, token)
    db.session.commit()


@contextmanager
def _smtp_connection():
    """Opened on first use, closed at the end of the batch, whatever happened."""
    holder: dict = {}

    def get():
        if "connection" not in holder:
            connection = _Connection(current_app.extensions["mail"])
            connection.__enter__()
            holder["connection"] = connection
        return holder["connection"]

    try:
        yield get
    finally:
        connection = holder.get("connection")
        if connection is not None and connection.host is not None:
            try:
                connection.host.quit()
            except (smtplib.SMTPException, OSError):
                pass


def _send_batch(claims: list[_Claimed], token: str, now: dt.datetime, report: DeliveryReport) -> int:
    """Send a claimed batch over one connection, then record every outcome in one transaction. Returns
    how many messages were settled (sent or failed); the rest were released for a later batch."""
    transport = transport_name()
    # No database transaction is open while mail is sent.
    db.session.commit()
    sent: list[_Claimed] = []
    failures: list[tuple[_Claimed, Exception]] = []
    unsent: list[_Claimed] = []
    with _smtp_connection() as connection:
        for index, claimed in enumerate(claims):
            if lease_clock() + LEASE_MARGIN > claimed.claimed_until:
                unsent = claims[index:]  # the lease is running out: another process may have them after it
                break
            try:
                if transport == "smtp":
                    connection().send_claimed(claimed)
            except Exception as error:  # noqa: BLE001 - any failure to hand over the message is retried
                log.warning("sending message %s failed: %s", claimed.id, error)
                failures.append((claimed, error))
                if _connection_lost(error):
                    # The connection itself is gone: the rest of the batch waits for the next try.
                    failures.extend((rest, error) for rest in claims[index + 1 :])
                    break
                continue
            sent.append(claimed)
    # Marked only now, after the server accepted every one of them; the Message-ID chosen at queueing
    # makes a resend after a crash in between show once in mail clients.
    marked = mark_sent_all(sent, token, transport) if sent else set()
    _record_failed(failures, token, now)
    _release(unsent, token)
    db.session.commit()
    for claimed in sent:
        if claimed.id in marked:
            report.sent += 1
            report.sent_by_kind[claimed.kind] = report.sent_by_kind.get(claimed.kind, 0) + 1
    report.failed += len(failures)
    return len(marked) + len(failures)


def deliver_pending(*, now: dt.datetime | None = None, kinds=None, batch_size: int = BATCH_SIZE) -> DeliveryReport:
    """Send every queued message whose time has come, batch by batch, until none is left for now. A
    message that fails waits for its backoff, so it is not taken again in the same run."""
    report = DeliveryReport()
    while True:
        moment = now or utcnow()
        token = f"{worker_name()}:{uuid.uuid4().hex[:12]}"
        claims, skipped = _claim(token, moment, batch_size, kinds)
        if not claims:
            if skipped:
                continue
            break
        if _send_batch(claims, token, moment, report) == 0:
            break  # nothing could be settled (every claim released or taken over): the next run goes on
    return report


class NotRetryable(DomainError):
    """Only a message that failed can be put back in the queue."""


def retry_message(message: OutboundMessage, *, now: dt.datetime | None = None) -> None:
    """Put a failed message back in the queue (an admin's decision)."""
    if message.status != "failed":
        raise NotRetryable(gettext("Only a message that failed can be sent again."))
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    message.claimed_by = message.claimed_until = None
