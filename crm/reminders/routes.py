"""Reminder pages: each user's preferences and calendar link, the calendar feed itself, one meeting as an
.ics file, and the outbox where administrators read what Alcance sent (or, without a mail server, kept)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from crm.core.forms import ConfirmForm
from crm.errors import DomainError
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import MESSAGE_STATUSES, OutboundMessage
from crm.outreach.models import Meeting
from crm.permissions import can_view_outreach, get_message_or_404, receives_weekly_report, require
from crm.reminders import calendar, services
from crm.reminders.forms import PreferencesForm
from crm.translation import gettext
from crm.web import flash_message, form_status, page_of, refusal

bp = Blueprint("reminders", __name__)

ICS_TYPE = "text/calendar; charset=utf-8"
# The stored HTML of a message is shown in a sandbox: no script, no form, no request to anywhere.
MAIL_PREVIEW_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _timezones() -> list[str]:
    names = services.timezone_names()
    # A zone set elsewhere (an alias, say) stays choosable rather than silently replaced.
    return names if current_user.timezone in names else sorted([*names, current_user.timezone])


def _preferences_page(form, *, calendar_url=None):
    preference = services.preference_for(current_user)
    return render_template(
        "reminders/preferences.html",
        form=form,
        preference=preference,
        calendar_url=calendar_url,
        confirm=ConfirmForm(),
        weekly_report=receives_weekly_report(current_user),
    ), form_status(form)


@bp.route("/reminders/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    preference = services.preference_for(current_user)
    form = PreferencesForm(
        obj=preference if request.method == "GET" else None,
        timezones=_timezones(),
        timezone=current_user.timezone,
        language=current_user.language,
    )
    if form.validate_on_submit():
        try:
            services.save_preferences(
                current_user,
                actor=current_user,
                reminders_enabled=form.reminders_enabled.data,
                digest_enabled=form.digest_enabled.data,
                digest_hour=form.digest_hour.data,
                # Only those who get the report see (and so send) this box; nobody else's choice is overwritten.
                weekly_report_enabled=form.weekly_report_enabled.data if receives_weekly_report(current_user) else None,
                timezone=form.timezone.data,
                language=form.language.data,
            )
        except DomainError as error:
            refusal(error, form, beside="timezone")
        else:
            session["language"] = form.language.data  # the interface follows at once
            flash_message(gettext("Preferences saved."), "success")
            return redirect(url_for("reminders.preferences"))
    return _preferences_page(form)


@bp.route("/reminders/calendar", methods=["POST"])
@login_required
def new_calendar_link():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = services.new_calendar_token(current_user, actor=current_user)
    # Shown once, in this response only: never in a flash message, which travels in the session cookie.
    form = PreferencesForm(
        obj=services.preference_for(current_user),
        timezones=_timezones(),
        timezone=current_user.timezone,
        language=current_user.language,
    )
    return _preferences_page(form, calendar_url=url_for("reminders.calendar_feed", token=token, _external=True))


@bp.route("/reminders/calendar/revoke", methods=["POST"])
@login_required
def revoke_calendar_link():
    if ConfirmForm().validate_on_submit() and services.revoke_calendar_token(current_user, actor=current_user):
        flash_message(gettext("Calendar link turned off. Calendars that used it no longer update."), "success")
    return redirect(url_for("reminders.preferences"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token):
    """The user's private feed. The secret in the URL is the only credential; a revoked one is a 404."""
    user = services.user_for_calendar_token(token)
    if user is None:
        abort(404)
    response = Response(calendar.user_feed(user), mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_TYPE
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/meetings/<int:meeting_id>.ics")
@login_required
def meeting_ics(meeting_id):
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not any(can_view_outreach(current_user, r) for r in meeting.outreach_records):
        abort(404)
    response = Response(calendar.meeting_file(meeting, mailer.user_language(current_user)), mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="meeting-{meeting.id}.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/reminders/outbox")
@login_required
@require("read_outbox")
def outbox():
    status = request.args.get("status")
    statement = sa.select(OutboundMessage).order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
    if status in MESSAGE_STATUSES:
        statement = statement.where(OutboundMessage.status == status)
    page = page_of(statement)
    return render_template(
        "reminders/outbox.html", page=page, status=status, statuses=MESSAGE_STATUSES, transport=mailer.transport_name()
    )


@bp.route("/reminders/outbox/<int:message_id>")
@login_required
@require("read_outbox")
def outbox_message(message_id):
    return render_template(
        "reminders/outbox_message.html", message=get_message_or_404(message_id), confirm=ConfirmForm()
    )


@bp.route("/reminders/outbox/<int:message_id>/html")
@login_required
@require("read_outbox")
def outbox_html(message_id):
    message = get_message_or_404(message_id)
    if not message.body_html:
        abort(404)
    response = Response(message.body_html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MAIL_PREVIEW_POLICY
    return response


@bp.route("/reminders/outbox/<int:message_id>/retry", methods=["POST"])
@login_required
@require("read_outbox")
def retry_message(message_id):
    message = get_message_or_404(message_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.retry_message(message, actor=current_user)
        except DomainError as error:
            refusal(error)
        else:
            flash_message(gettext("The message is queued again."), "success")
    return redirect(url_for("reminders.outbox_message", message_id=message.id))
