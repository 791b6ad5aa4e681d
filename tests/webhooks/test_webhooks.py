"""Outgoing webhooks: an admin subscribes an address to events; each event is queued with the change that
caused it, posted signed by the scheduler's delivery run, retried with backoff while the receiver is
down, and arrives once. Private addresses are refused unless an admin setting allows them."""

import datetime as dt
import hashlib
import hmac
import json
import socket

import pytest
import sqlalchemy as sa

from crm.core.submissions import new_key
from crm.database import utcnow
from crm.extensions import db
from crm.letters import services as letters
from crm.outreach import services as outreach
from crm.reminders import jobs
from crm.signatures.imports import undo_import
from crm.signatures.petitions import create_petition
from crm.signatures.tallies import record_tally
from crm.webhooks import services as webhooks
from crm.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.conftest import count_rows, utc_today

pytestmark = pytest.mark.usefixtures("clock")


def verify(secret: str, request: dict, received_at=None) -> dict:
    """What a receiver does (docs/api.md): recompute the signature over "<timestamp>.<body>"."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    timestamp = headers["alcance-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["alcance-signature"], "sha256=" + expected)
    assert abs(int(timestamp) - (received_at or utcnow()).timestamp()) < 300  # not a replayed old one
    return json.loads(request["body"])


def subscribe(admin, url, events=("position.changed",)):
    subscription, secret = webhooks.create_subscription(url, list(events), actor=admin)
    db.session.commit()
    return subscription, secret


def test_a_position_reaches_the_receiver_signed_once_after_it_was_down(
    app, make_user, make_record, campaign, receiver, allow_private, clock
):
    admin = make_user("admin")
    subscription, secret = subscribe(admin, receiver.url)
    record = make_record("FRA")
    demand = campaign.demands[0]
    position = outreach.record_position(record, demand, "supportive", utc_today(), actor=admin)
    db.session.commit()

    # The receiver is down: the attempt is logged and the delivery waits for its backoff.
    assert webhooks.deliver_pending().failed == 1
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at > utcnow()
    assert webhooks.deliver_pending().sent == 0  # not again before its time

    receiver.start()
    clock.advance(minutes=2)
    assert webhooks.deliver_pending().sent == 1
    received_at = utcnow()
    assert webhooks.deliver_pending().sent == 0
    clock.advance(hours=2)
    jobs.send_due_reminders()  # the scheduler's delivery run drains the same queue: nothing is left

    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request["path"] == "/hooks/alcance?team=1"
    event = verify(secret, request, received_at)
    assert event["type"] == "position.changed"
    assert event["data"] == {
        "position_id": position.id,
        "demand_id": demand.id,
        "stance": "supportive",
        "stated_on": utc_today().isoformat(),
        "outreach_id": record.id,
        "campaign": "test-campaign",
        "country": "FRA",
    }
    assert request["headers"]["Alcance-Delivery"] == event["id"]
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    log = db.session.scalars(sa.select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [a.status_code for a in log] == [None, 204]
    assert log[0].error.startswith("ConnectionRefusedError: ")


def test_a_rolled_back_change_sends_nothing(app, make_user, make_record, campaign, receiver, allow_private):
    admin = make_user("admin")
    subscribe(admin, receiver.url, events=("position.changed", "meeting.logged"))
    record = make_record("FRA")
    outreach.log_meeting([record], actor=admin, held_at=utcnow() - dt.timedelta(hours=1), summary="Met")
    outreach.record_position(record, campaign.demands[0], "supportive", utc_today(), actor=admin)
    assert count_rows(WebhookDelivery) == 2  # queued in the change's transaction ...
    db.session.rollback()
    assert count_rows(WebhookDelivery) == 0  # ... and gone with it
    receiver.start()
    assert webhooks.deliver_pending().sent == 0
    assert receiver.received == []


def test_each_event_goes_only_to_its_subscribers_and_not_while_paused(
    app, make_user, make_record, make_letter, campaign, receiver, allow_private, clock
):
    admin = make_user("admin")
    receiver.start()
    letters_only, secret = subscribe(admin, receiver.url, events=("letter.delivered",))
    meetings_only, _ = subscribe(admin, receiver.url, events=("meeting.logged",))
    record = make_record("FRA")
    letter = make_letter(record)
    letters.mark_sent(letter, "email", utc_today(), admin)
    letters.mark_delivered(letter, utc_today(), admin)
    webhooks.set_active(meetings_only, False, actor=admin)
    outreach.log_meeting([record], actor=admin, held_at=utcnow() - dt.timedelta(hours=1), summary="Met")
    db.session.commit()

    assert webhooks.deliver_pending().sent == 1
    assert verify(secret, receiver.received[0])["data"]["letter_id"] == letter.id
    # A subscription paused after the meeting was queued keeps its delivery waiting until resumed.
    assert count_rows(WebhookDelivery) == 1
    webhooks.set_active(meetings_only, True, actor=admin)
    db.session.commit()
    outreach.log_meeting([record], actor=admin, held_at=utcnow() - dt.timedelta(hours=2), summary="Again")
    db.session.commit()
    assert webhooks.deliver_pending().sent == 1
    assert json.loads(receiver.received[1]["body"])["type"] == "meeting.logged"


def test_signature_totals_and_due_follow_ups_are_events(
    app, make_user, make_record, make_follow_up, campaign, receiver, allow_private, clock
):
    admin = make_user("admin")
    subscribe(admin, receiver.url, events=("signatures.totals_changed", "follow_up.overdue"))
    petition = create_petition(campaign, "Main petition", actor=admin)
    from crm.countries.services import country_by_code

    record_tally(petition, country_by_code("ESP"), 120, utc_today(), actor=admin)
    record_tally(petition, country_by_code("ESP"), 120, utc_today(), actor=admin)  # unchanged
    follow_up = make_follow_up(make_record("FRA", assignee=admin), owner=admin, due_on=utc_today())
    db.session.commit()
    from crm.reminders import services as reminders

    reminders.queue_due_reminders()
    reminders.queue_due_reminders()  # once per follow-up and day, as its reminder
    db.session.commit()
    events = {d.event: json.loads(d.body)["data"] for d in db.session.scalars(sa.select(WebhookDelivery))}
    assert count_rows(WebhookDelivery) == 2
    assert events["signatures.totals_changed"]["signers"] == 120
    assert events["follow_up.overdue"]["follow_up_id"] == follow_up.id


def test_an_import_and_its_undo_each_change_the_totals(app, make_user, campaign, allow_private, receiver):
    from tests.signatures.conftest import import_fixture

    admin = make_user("admin")
    subscribe(admin, receiver.url, events=("signatures.totals_changed",))
    petition = create_petition(campaign, "Network petition", platform="action_network", actor=admin)
    record = import_fixture(petition, "action_network.csv").record
    added = record.rows_new
    undo_import(record, actor=admin)
    db.session.commit()
    changes = [json.loads(d.body)["data"] for d in db.session.scalars(sa.select(WebhookDelivery).order_by("id"))]
    assert [(c["source"], c.get("new_signatures"), c.get("removed_signatures")) for c in changes] == [
        ("import", added, None),
        ("undo", None, added),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "ftp://example.org/hook",
        "https://user:pw@example.org/hook",
        "not a url",
    ],
)
def test_private_and_odd_addresses_are_refused(app, make_user, url):
    admin = make_user("admin")
    with pytest.raises(webhooks.WebhookError):
        webhooks.create_subscription(url, ["position.changed"], actor=admin)
    assert count_rows(WebhookSubscription) == 0


def test_an_address_that_turned_private_is_refused_at_delivery(app, make_user, receiver, monkeypatch, clock):
    """DNS can change after the subscription was checked: each attempt checks again, and gives up."""
    admin = make_user("admin")
    public = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: public)
    subscribe(admin, "http://hooks.example.org/in")
    webhooks.emit("position.changed", {"country": "FRA"})
    db.session.commit()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(*public[0][:4], ("127.0.0.1", 80))])
    assert webhooks.deliver_pending().failed == 1
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status == "failed"
    assert "non-public" in delivery.last_error


def test_a_redirect_is_not_followed(app, make_user, receiver, allow_private):
    admin = make_user("admin")
    receiver.status = 302
    receiver.start()
    subscribe(admin, receiver.url)
    webhooks.emit("position.changed", {"country": "FRA"})
    db.session.commit()
    assert webhooks.deliver_pending().failed == 1
    assert len(receiver.received) == 1
    assert db.session.scalar(sa.select(WebhookAttempt.status_code)) == 302


# --- The admin page ----------------------------------------------------------------------------------


def test_an_admin_subscribes_sees_the_secret_once_and_sends_a_test_event(
    app, client, signed_in, receiver, allow_private
):
    signed_in("admin")
    receiver.start()
    response = client.post(
        "/admin/webhooks/", data={"url": receiver.url, "events": ["meeting.logged"], "submission_key": new_key()}
    )
    assert response.status_code == 200
    subscription = db.session.scalar(sa.select(WebhookSubscription))
    page = response.get_data(as_text=True)
    assert subscription.secret in page
    assert subscription.secret not in client.get("/admin/webhooks/").get_data(as_text=True)
    assert subscription.secret not in client.get(f"/admin/webhooks/{subscription.id}").get_data(as_text=True)

    # The test event is posted while the admin waits, and the page says how the receiver answered.
    response = client.post(f"/admin/webhooks/{subscription.id}/test", follow_redirects=True)
    assert "The receiver took the test event." in response.get_data(as_text=True)
    assert len(receiver.received) == 1
    event = verify(subscription.secret, receiver.received[0])
    assert event["type"] == "webhook.test"
    assert webhooks.deliver_pending().sent == 0  # nothing left over for the next delivery run
    log = client.get(f"/admin/webhooks/{subscription.id}").get_data(as_text=True)
    assert "HTTP 204" in log and event["id"] in log

    assert client.post(f"/admin/webhooks/{subscription.id}/active").status_code == 302
    assert db.session.get(WebhookSubscription, subscription.id).active is False
    assert client.post(f"/admin/webhooks/{subscription.id}/delete").status_code == 302
    assert count_rows(WebhookSubscription) == 0
    assert count_rows(WebhookDelivery) == 0


def test_a_test_event_to_a_receiver_that_is_down_says_so_in_spanish_and_is_sent_once_it_is_back(
    app, client, signed_in, make_user, receiver, allow_private, clock
):
    signed_in("admin", language="es")
    subscription, secret = subscribe(make_user("admin"), receiver.url)
    response = client.post(f"/admin/webhooks/{subscription.id}/test", follow_redirects=True)
    assert (
        "El receptor no aceptó el evento de prueba (ConnectionRefusedError: [Errno 111] Connection refused); "
        "se volverá a intentar." in response.get_data(as_text=True)
    )
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.event, delivery.status, delivery.attempts) == ("webhook.test", "pending", 1)

    receiver.start()
    clock.advance(minutes=2)
    assert webhooks.deliver_pending().sent == 1
    assert webhooks.deliver_pending().sent == 0
    assert [verify(secret, request)["type"] for request in receiver.received] == ["webhook.test"]


def test_the_page_refuses_a_private_address_in_spanish(app, client, signed_in):
    signed_in("admin", language="es")
    response = client.post(
        "/admin/webhooks/",
        data={"url": "http://127.0.0.1/x", "events": ["meeting.logged"], "submission_key": new_key()},
    )
    assert response.status_code == 422
    assert "solo a direcciones públicas" in response.get_data(as_text=True)
    assert count_rows(WebhookSubscription) == 0
    response = client.post("/admin/webhooks/", data={"url": "https://example.org/x", "submission_key": new_key()})
    assert response.status_code == 400
    assert count_rows(WebhookSubscription) == 0


def test_the_delivery_command_sends_webhooks_as_the_scheduler_does(
    app, make_user, make_record, campaign, receiver, allow_private
):
    # For installs that run the commands from cron instead of the scheduler.
    admin = make_user("admin")
    subscription, secret = subscribe(admin, receiver.url)
    outreach.record_position(make_record("FRA"), campaign.demands[0], "supportive", utc_today(), actor=admin)
    db.session.commit()
    receiver.start()
    result = app.test_cli_runner().invoke(args=["reminders", "deliver"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["sent: 0, failed: 0", "webhooks sent: 1, failed: 0"]
    assert [verify(secret, request)["type"] for request in receiver.received] == ["position.changed"]


def test_the_demo_campaigns_invented_events_are_not_sent(
    app, make_user, make_record, make_letter, campaign, receiver, allow_private
):
    """Someone trying the marked demo campaign logs meetings with invented embassies: a receiver (a
    team's chat, another system) would take them for real ones. The same changes in a real campaign are
    sent."""
    admin = make_user("admin")
    receiver.start()
    subscribe(admin, receiver.url, events=("meeting.logged", "letter.delivered"))
    campaign.is_demo = True
    record = make_record("FRA")
    outreach.log_meeting([record], actor=admin, held_at=utcnow() - dt.timedelta(hours=1), summary="Invented")
    letter = make_letter(record)
    letters.mark_sent(letter, "email", utc_today(), admin)
    letters.mark_delivered(letter, utc_today(), admin)
    db.session.commit()
    assert count_rows(WebhookDelivery) == 0

    campaign.is_demo = False
    outreach.log_meeting([record], actor=admin, held_at=utcnow() - dt.timedelta(hours=2), summary="Real")
    db.session.commit()
    assert webhooks.deliver_pending().sent == 1
    assert [json.loads(request["body"])["type"] for request in receiver.received] == ["meeting.logged"]
