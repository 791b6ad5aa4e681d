"""Outgoing webhooks: subscriptions, events queued in the transaction of the change that caused them, and
their delivery by the scheduler through the mail queue's lease and backoff (crm/mail/services.py).

Each delivery is a JSON body, signed with HMAC-SHA256 over "<timestamp>.<body>" with the subscription's
secret (docs/api.md says how a receiver checks it). A URL whose host is not a public address is refused
when it is subscribed and again before every attempt (DNS can change in between), unless the
WEBHOOKS_ALLOW_PRIVATE setting allows it; the connection goes to the address that was checked, and a
redirect is never followed (it counts as a failed attempt)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from crm.audit import services as audit
from crm.database import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.mail import services as mailer
from crm.translation import gettext
from crm.webhooks.models import SUBSCRIBABLE, WebhookAttempt, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

BATCH_SIZE = 50
USER_AGENT = "Alcance-Webhooks/1"
MAX_ERROR = 2000


class WebhookError(DomainError):
    """A URL or an event list that cannot be subscribed."""

    status = 422


class UnsafeDestination(WebhookError):
    """The URL's host is not a public address (server-side request forgery)."""


# --- Where a delivery may go -------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str  # the checked address the connection goes to


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise WebhookError(gettext("This is not a web address."), "url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(gettext("A webhook address starts with https:// (or http://) and names a host."), "url")
    if parts.username or parts.password:
        raise WebhookError(gettext("A webhook address cannot carry a user name or password."), "url")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> Destination:
    """The URL's parts and the address to connect to, refused unless every address its host resolves to
    is public (or private ones are allowed)."""
    scheme, host, port, target = _split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookError(gettext("The host %(host)s cannot be found.", host=host), "url") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise WebhookError(gettext("The host %(host)s cannot be found.", host=host), "url")
    if not current_app.config.get("WEBHOOKS_ALLOW_PRIVATE") and not all(is_public(a) for a in addresses):
        raise UnsafeDestination(
            gettext(
                "The host %(host)s is a private, loopback or otherwise non-public address; webhooks go only to "
                "public addresses.",
                host=host,
            ),
            "url",
        )
    return Destination(scheme, host, port, target, addresses[0])


# --- Subscriptions -----------------------------------------------------------------------------------


def create_subscription(url: str, events, *, actor) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret, which is shown to the admin this once."""
    url = (url or "").strip()
    chosen = [event for event in SUBSCRIBABLE if event in set(events or ())]
    if not chosen:
        raise WebhookError(gettext("Choose at least one event."), "events")
    if len(url) > 2000:
        raise WebhookError(gettext("This address is too long."), "url")
    resolve(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(url=url, events=" ".join(chosen), secret=secret, created_by_id=actor.id)
    db.session.add(subscription)
    db.session.flush()
    audit.record("webhook.created", actor=actor, entity=subscription, after={"url": url, "events": chosen})
    return subscription, secret


def set_active(subscription: WebhookSubscription, active: bool, *, actor) -> None:
    subscription.active = active
    db.session.flush()
    audit.record("webhook.paused" if not active else "webhook.resumed", actor=actor, entity=subscription)


def delete_subscription(subscription: WebhookSubscription, *, actor) -> None:
    audit.record("webhook.deleted", actor=actor, entity=subscription, before={"url": subscription.url})
    db.session.execute(sa.delete(WebhookSubscription).where(WebhookSubscription.id == subscription.id))
    db.session.expunge(subscription)


def subscriptions() -> list[WebhookSubscription]:
    return list(db.session.scalars(sa.select(WebhookSubscription).order_by(WebhookSubscription.id)))


def deliveries_of(subscription: WebhookSubscription, limit: int = 50) -> list[tuple[WebhookDelivery, list]]:
    """The newest deliveries, each with its attempts (the delivery log)."""
    deliveries = list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list] = {d.id: [] for d in deliveries}
    if deliveries:
        for attempt in db.session.scalars(
            sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(attempts)).order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in deliveries]


# --- Events ------------------------------------------------------------------------------------------


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _delivery(subscription_id: int, event: str, data: dict, now: dt.datetime) -> WebhookDelivery:
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {"id": event_id, "type": event, "created_at": _rfc3339(now), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return WebhookDelivery(
        subscription_id=subscription_id, event=event, event_id=event_id, body=body, next_attempt_at=now, created_at=now
    )


def _queue(subscription_ids, event: str, data: dict, now: dt.datetime) -> int:
    db.session.add_all(_delivery(subscription_id, event, data, now) for subscription_id in subscription_ids)
    return len(subscription_ids)


def emit(event: str, data: dict, *, campaigns=(), now: dt.datetime | None = None) -> int:
    """Queue `event` for every active subscription to it, in the caller's transaction: a change rolled
    back takes its events with it. Returns how many deliveries were queued. What happens only in the
    marked demo campaign (`campaigns`: those the event is about) is not sent: a receiver would take the
    demo's invented meetings and embassies for real ones."""
    if campaigns and all(campaign.is_demo for campaign in campaigns):
        return 0
    ids = [
        subscription_id
        for subscription_id, events in db.session.execute(
            sa.select(WebhookSubscription.id, WebhookSubscription.events).where(WebhookSubscription.active)
        )
        if event in events.split()
    ]
    return _queue(ids, event, data, now or utcnow())


def send_test(subscription: WebhookSubscription, *, actor, now: dt.datetime | None = None) -> WebhookDelivery:
    """A test event for this subscription only (paused or not), posted at once so that the admin who asked
    sees how the receiver answered. Posted before anything is written: no lock is held while the receiver
    takes its time. A failure that may pass is retried like any delivery; the log shows every attempt."""
    now = now or utcnow()
    delivery = _delivery(subscription.id, "webhook.test", {"subscription_id": subscription.id}, now)
    try:
        status_code, error = post(subscription.url, subscription.secret, delivery), None
    except DeliveryFailed as failure:
        log.warning("test event to webhook subscription %s failed: %s", subscription.id, failure)
        status_code, error = None, failure
    for name, value in _outcome(0, now, error).items():
        setattr(delivery, name, value)
    db.session.add(delivery)
    db.session.flush()
    _log_attempt(delivery.id, status_code, error)
    audit.record("webhook.test", actor=actor, entity=subscription)
    return delivery


# --- Delivery ----------------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the host resolves to a moment later."""

    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class DeliveryFailed(Exception):
    def __init__(self, message: str, status_code: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status_code = status_code
        self.permanent = permanent


def post(url: str, secret: str, delivery: _Held | WebhookDelivery) -> int:
    """One attempt; the receiver's status code when it is 2xx, else DeliveryFailed. No redirect is followed."""
    try:
        destination = resolve(url)
    except WebhookError as error:
        raise DeliveryFailed(str(error), permanent=isinstance(error, UnsafeDestination)) from None
    body = delivery.body.encode("utf-8")
    timestamp = str(int(utcnow().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Alcance-Event": delivery.event,
        "Alcance-Delivery": delivery.event_id,
        "Alcance-Timestamp": timestamp,
        "Alcance-Signature": "sha256=" + signature(secret, timestamp, body),
    }
    timeout = current_app.config.get("WEBHOOKS_TIMEOUT_SECONDS", 10)
    kind = _PinnedHTTPS if destination.scheme == "https" else _PinnedHTTP
    connection = kind(destination, timeout)
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    raise DeliveryFailed(f"HTTP {status}", status_code=status)


@dataclass
class _Held:
    id: int
    event: str
    event_id: str
    body: str
    attempts: int
    url: str
    secret: str
    claimed_until: dt.datetime


@dataclass
class WebhookReport:
    sent: int = 0
    failed: int = 0


def _held(token: str) -> list[_Held]:
    rows = db.session.execute(
        sa.select(WebhookDelivery, WebhookSubscription.url, WebhookSubscription.secret)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.claimed_by == token, WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.id)
        # The lease was written by a Core UPDATE: a delivery already in the session must be read again.
        .execution_options(populate_existing=True)
    ).all()
    return [
        _Held(d.id, d.event, d.event_id, d.body, d.attempts, url, secret, d.claimed_until) for d, url, secret in rows
    ]


def _log_attempt(delivery_id: int, status_code: int | None, error: DeliveryFailed | None) -> None:
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempted_at=utcnow(),
            status_code=status_code if error is None else error.status_code,
            error=None if error is None else str(error)[:MAX_ERROR],
        )
    )


def _outcome(attempts_before: int, now: dt.datetime, error: DeliveryFailed | None) -> dict:
    """What one more attempt makes of a delivery: sent, back in the queue after its backoff, or given up."""
    attempts = attempts_before + 1
    if error is None:
        return {"status": "sent", "sent_at": utcnow(), "attempts": attempts, "last_error": None}
    give_up = error.permanent or attempts >= mailer.MAX_ATTEMPTS
    return {
        "status": "failed" if give_up else "pending",
        "attempts": attempts,
        "next_attempt_at": now + mailer.retry_delay(attempts),
        "last_error": str(error)[:MAX_ERROR],
    }


def _record(held: _Held, token: str, now: dt.datetime, status_code: int | None, error: DeliveryFailed | None) -> None:
    """The attempt in the log, and the delivery's outcome, if this run still holds it."""
    table = WebhookDelivery.__table__
    _log_attempt(held.id, status_code, error)
    mine = sa.update(table).where(table.c.id == held.id, table.c.claimed_by == token)
    db.session.execute(mine.values(claimed_by=None, claimed_until=None, **_outcome(held.attempts, now, error)))


def deliver_pending(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> WebhookReport:
    """Post every delivery whose time has come, batch by batch, each attempt logged and committed on its
    own. Deliveries of a paused subscription wait in the queue."""
    report = WebhookReport()
    table = WebhookDelivery.__table__
    active = sa.select(WebhookSubscription.id).where(WebhookSubscription.active)
    while True:
        moment = now or utcnow()
        token = f"{mailer.worker_name()}:{uuid.uuid4().hex[:12]}"
        mailer.lease_due_rows(table, token, moment, batch_size, table.c.subscription_id.in_(active.scalar_subquery()))
        batch = _held(token)
        db.session.commit()  # no transaction stays open while a receiver answers
        if not batch:
            return report
        settled = 0
        for index, held in enumerate(batch):
            if mailer.lease_clock() + mailer.LEASE_MARGIN > held.claimed_until:
                db.session.execute(
                    sa.update(table)
                    .where(table.c.id.in_([h.id for h in batch[index:]]), table.c.claimed_by == token)
                    .values(claimed_by=None, claimed_until=None)
                )
                db.session.commit()
                break
            try:
                status = post(held.url, held.secret, held)
            except DeliveryFailed as error:
                log.warning("webhook delivery %s failed: %s", held.id, error)
                _record(held, token, moment, None, error)
                report.failed += 1
            else:
                _record(held, token, moment, status, None)
                report.sent += 1
            db.session.commit()
            settled += 1
        if settled == 0:
            return report


# --- What each event says ----------------------------------------------------------------------------
# Only what a partner's tool needs to find the record through the API: never a meeting's notes or a
# letter's text. Countries by ISO 3166 alpha-3, campaigns by slug, as in the API.


def _about(record) -> dict:
    return {"outreach_id": record.id, "campaign": record.campaign.slug, "country": record.country.alpha3}


def meeting_logged(meeting, records) -> int:
    return emit(
        "meeting.logged",
        {
            "meeting_id": meeting.id,
            "held_at": _rfc3339(meeting.held_at),
            "outreach": [_about(record) for record in records],
        },
        campaigns=[record.campaign for record in records],
    )


def position_changed(position, record) -> int:
    return emit(
        "position.changed",
        {
            "position_id": position.id,
            "demand_id": position.demand_id,
            "stance": position.stance,
            "stated_on": position.stated_on.isoformat(),
            **_about(record),
        },
        campaigns=[record.campaign],
    )


def letter_delivered(letter) -> int:
    return emit(
        "letter.delivered",
        {
            "letter_id": letter.id,
            "delivered_on": letter.delivered_on.isoformat(),
            "signatures_total": letter.signatures_total,
            **_about(letter.outreach),
        },
        campaigns=[letter.outreach.campaign],
    )


def follow_up_overdue(follow_up, due_on: dt.date, now: dt.datetime) -> int:
    return emit(
        "follow_up.overdue",
        {"follow_up_id": follow_up.id, "due_on": due_on.isoformat(), **_about(follow_up.outreach)},
        campaigns=[follow_up.outreach.campaign],
        now=now,
    )


def signature_totals_changed(petition, **change) -> int:
    return emit(
        "signatures.totals_changed",
        {"campaign": petition.campaign.slug, "petition": petition.slug, **change},
        campaigns=[petition.campaign],
    )
