"""The admins' page of outgoing webhooks: subscriptions, their delivery log, pause, delete, test."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from crm.core import submissions
from crm.core.forms import ConfirmForm
from crm.errors import DomainError
from crm.extensions import db
from crm.permissions import require
from crm.translation import gettext
from crm.web import flash_message, form_status, refusal
from crm.webhooks import services
from crm.webhooks.forms import EVENT_LABELS, SubscriptionForm
from crm.webhooks.models import WebhookSubscription

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _page(form, status=200):
    return (
        render_template(
            "webhooks/index.html",
            form=form,
            subscriptions=services.subscriptions(),
            confirm=ConfirmForm(),
            labels=EVENT_LABELS,
        ),
        status,
    )


@bp.route("/", methods=["GET", "POST"])
@login_required
@require("manage_webhooks")
def index():
    """The secret is shown on the answer to the creating POST only: it is never shown again."""
    form = SubscriptionForm()
    if not form.validate_on_submit():
        return _page(form, form_status(form))
    if (repeat := submissions.repeat_of(form)) is not None:
        return repeat
    try:
        subscription, secret = services.create_subscription(form.url.data, form.events.data, actor=current_user)
    except DomainError as error:
        return _page(form, refusal(error, form))
    submissions.led_to(form, url_for("webhooks.index"))
    return render_template("webhooks/created.html", subscription=subscription, secret=secret)


def _subscription_or_404(subscription_id) -> WebhookSubscription:
    return db.session.get(WebhookSubscription, subscription_id) or abort(404)


@bp.route("/<int:subscription_id>")
@login_required
@require("manage_webhooks")
def show(subscription_id):
    subscription = _subscription_or_404(subscription_id)
    return render_template(
        "webhooks/show.html",
        subscription=subscription,
        deliveries=services.deliveries_of(subscription),
        confirm=ConfirmForm(),
        labels=EVENT_LABELS,
    )


def _confirmed():
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/<int:subscription_id>/active", methods=["POST"])
@login_required
@require("manage_webhooks")
def set_active(subscription_id):
    subscription = _subscription_or_404(subscription_id)
    _confirmed()
    services.set_active(subscription, not subscription.active, actor=current_user)
    flash_message(gettext("Deliveries resumed.") if subscription.active else gettext("Deliveries paused."), "success")
    return redirect(url_for("webhooks.show", subscription_id=subscription.id))


@bp.route("/<int:subscription_id>/test", methods=["POST"])
@login_required
@require("manage_webhooks")
def send_test(subscription_id):
    subscription = _subscription_or_404(subscription_id)
    _confirmed()
    delivery = services.send_test(subscription, actor=current_user)
    if delivery.status == "sent":
        flash_message(gettext("The receiver took the test event."), "success")
    elif delivery.status == "pending":
        flash_message(
            gettext(
                "The receiver did not take the test event (%(error)s); it will be tried again.",
                error=delivery.last_error,
            ),
            "error",
        )
    else:
        flash_message(
            gettext("The receiver did not take the test event (%(error)s).", error=delivery.last_error), "error"
        )
    return redirect(url_for("webhooks.show", subscription_id=subscription.id))


@bp.route("/<int:subscription_id>/delete", methods=["POST"])
@login_required
@require("manage_webhooks")
def delete(subscription_id):
    subscription = _subscription_or_404(subscription_id)
    _confirmed()
    services.delete_subscription(subscription, actor=current_user)
    flash_message(gettext("Subscription deleted; nothing more is sent to it."), "success")
    return redirect(url_for("webhooks.index"))
