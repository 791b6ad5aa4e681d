"""Letter pages: compose from a template, preview and print, mark sent / delivered / acknowledged, log a
reply, attachments, and the templates themselves."""

from functools import cache

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from crm import clock
from crm.accounts.models import User
from crm.campaigns.models import Campaign
from crm.contacts.models import Contact, Office
from crm.core import submissions
from crm.errors import DomainError
from crm.extensions import db
from crm.letters import letter_templates, merge_fields, services, storage
from crm.letters.forms import (
    CHANNEL_LABELS,
    LANGUAGE_CHOICES,
    LANGUAGE_LABELS,
    LETTER_STATUS_LABELS,
    AcknowledgedForm,
    AttachmentForm,
    ComposeForm,
    DeliveredForm,
    DiscardForm,
    DraftForm,
    NewTemplateForm,
    ReplyForm,
    SentForm,
    TemplateForm,
)
from crm.letters.models import Letter, LetterAttachment, LetterTemplate
from crm.outreach.models import OutreachRecord
from crm.permissions import can, can_edit_outreach, get_letter_or_404, get_outreach_or_404, require
from crm.translation import gettext, ngettext
from crm.translation import lazy_gettext as _l
from crm.web import flash_message, form_status, page_of, refusal

bp = Blueprint("letters", __name__)


@bp.context_processor
def _letter_words():
    return {
        "language_labels": LANGUAGE_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "letter_status_labels": LETTER_STATUS_LABELS,
        "letter_status": services.letter_status,
    }


def _save(form, record, action, leads_to=None) -> bool:
    """Run a service. On a refusal (crm.web.refusal) the message goes beside its field and everything the
    user typed stays. A form that creates a record names where it `leads_to` (called once the service
    ran), for a repeat of the form to be sent there."""
    try:
        action()
        if leads_to is not None:
            submissions.led_to(form, leads_to())
    except DomainError as error:
        refusal(error, form, record=record)
        return False
    return True


# ---------------------------------------------------------------------------------------------------
# Letters of a record, composing


@bp.route("/outreach/<int:outreach_id>/letters")
@login_required
def index(outreach_id):
    record = get_outreach_or_404(outreach_id)
    page = page_of(services.letters_of(record))
    return render_template(
        "letters/index.html",
        record=record,
        page=page,
        attachment_counts=services.attachment_counts(page.items),
        may_edit=can_edit_outreach(current_user, record),
    )


def _compose_choices(form, record) -> dict:
    available = letter_templates.template_languages()
    form.template.choices = [(name, f"{name} ({', '.join(languages)})") for name, languages in available.items()]
    written = {language for languages in available.values() for language in languages}
    form.language.choices = [("", gettext("The recipient's language"))] + [
        (code, label) for code, label in LANGUAGE_CHOICES if code in written
    ]
    options = {option.value: option for option in services.recipients(record)}
    form.recipient.choices = [(option.value, _recipient_label(option)) for option in options.values()]
    return options


def _recipient_label(option) -> str:
    if option.contact is None:
        return gettext("%(office)s (no named recipient)", office=option.office.name)
    who = option.contact.name + (f" — {option.contact.title}" if option.contact.title else "")
    return f"{who}, {option.office.name}"


@bp.route("/outreach/<int:outreach_id>/letters/new", methods=["GET", "POST"])
@login_required
def compose(outreach_id):
    record = get_outreach_or_404(outreach_id, need="edit")
    form = ComposeForm()
    options = _compose_choices(form, record)
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        chosen, made = options[form.recipient.data], []
        if _save(
            form,
            None,
            lambda: made.append(
                services.compose_letter(
                    record,
                    template_name=form.template.data,
                    contact=chosen.contact,
                    office=chosen.office,
                    language=form.language.data or None,
                    actor=current_user,
                )
            ),
            leads_to=lambda: url_for("letters.show", letter_id=made[0].id),
        ):
            flash_message(gettext("Draft composed. Read it through before you send it."), "success")
            return redirect(url_for("letters.show", letter_id=made[0].id))
    return render_template("letters/compose.html", record=record, form=form), form_status(form)


# ---------------------------------------------------------------------------------------------------
# One letter


def _render_letter(letter, record, status: int = 200, **forms):
    may_edit, is_draft = can_edit_outreach(current_user, record), services.is_draft(letter)
    if may_edit and letter.direction == "outgoing":
        today = clock.today(current_user)
        forms.setdefault(
            "sent_form",
            SentForm(
                formdata=None,
                data={
                    "version": letter.version,
                    "channel": letter.channel or "email",
                    "sent_on": letter.sent_on or today,
                },
            ),
        )
        # Delivered once sent, acknowledged once delivered: a form the page does not show is not built (one
        # sent back with its errors is shown whatever the letter's state).
        if letter.sent_on:
            forms.setdefault(
                "delivered_form",
                DeliveredForm(
                    formdata=None, data={"version": letter.version, "delivered_on": letter.delivered_on or today}
                ),
            )
        if letter.delivered_on:
            forms.setdefault(
                "acknowledged_form",
                AcknowledgedForm(
                    formdata=None,
                    data={"version": letter.version, "acknowledged_on": letter.acknowledged_on or today},
                ),
            )
    if may_edit:
        forms.setdefault("attachment_form", AttachmentForm(formdata=None))
    if may_edit and is_draft:
        forms.setdefault("discard_form", DiscardForm(formdata=None, data={"version": letter.version}))
    return render_template(
        "letters/show.html",
        letter=letter,
        record=record,
        may_edit=may_edit,
        is_draft=is_draft,
        **services.letter_page(letter),
        **forms,
    ), status


@bp.route("/letters/<int:letter_id>")
@login_required
def show(letter_id):
    letter, record = get_letter_or_404(letter_id, statement=_letter_page_statement())
    return _render_letter(letter, record)


@cache
def _letter_page_statement() -> sa.Select:
    # What the page shows of the letter, loaded with it: one query instead of one per relation, and of the
    # people, the office and the letter it answers only what the page says of them (a whole letter's body
    # and an office's every column cost more to read and build than the rest of the page).
    return (
        sa.select(Letter)
        .where(Letter.id == sa.bindparam("letter_id"))
        .options(
            joinedload(Letter.outreach).joinedload(OutreachRecord.country),
            joinedload(Letter.outreach).joinedload(OutreachRecord.campaign).joinedload(Campaign.translations),
            joinedload(Letter.recipient_contact).load_only(Contact.name, Contact.title),
            joinedload(Letter.recipient_office).load_only(Office.name),
            joinedload(Letter.created_by).load_only(User.name),
            joinedload(Letter.in_reply_to).load_only(Letter.subject, Letter.sent_on),
        )
    )


@bp.route("/letters/<int:letter_id>/preview")
@login_required
def preview(letter_id):
    letter, record = get_letter_or_404(letter_id)
    return render_template("letters/preview.html", letter=letter, record=record)


@bp.route("/letters/<int:letter_id>/print")
@login_required
def print_letter(letter_id):
    letter, record = get_letter_or_404(letter_id)
    return render_template("letters/print.html", letter=letter, record=record)


@bp.route("/letters/<int:letter_id>/edit", methods=["GET", "POST"])
@login_required
def edit(letter_id):
    letter, record = get_letter_or_404(letter_id, need="edit")
    if not services.is_draft(letter):
        flash_message(gettext("This letter has been sent; its text can no longer change."), "error")
        return redirect(url_for("letters.show", letter_id=letter.id))
    form = DraftForm(obj=letter)
    if form.validate_on_submit() and _save(
        form,
        letter,
        lambda: services.update_draft(
            letter,
            subject=form.subject.data,
            body=form.body.data,
            recipient_name=form.recipient_name.data,
            language=form.language.data,
            actor=current_user,
            expected_version=form.version.data,
        ),
    ):
        flash_message(gettext("Draft saved."), "success")
        return redirect(url_for("letters.show", letter_id=letter.id))
    return render_template(
        "letters/edit.html", letter=letter, record=record, form=form, stale=getattr(form, "stale", False)
    ), form_status(form)


@bp.route("/letters/<int:letter_id>/discard", methods=["POST"])
@login_required
def discard(letter_id):
    letter, record = get_letter_or_404(letter_id, need="edit")
    form = DiscardForm()
    if form.validate_on_submit() and _save(
        form, letter, lambda: services.discard_draft(letter, actor=current_user, expected_version=form.version.data)
    ):
        flash_message(gettext("Draft discarded."), "success")
        return redirect(url_for("outreach.show", outreach_id=record.id))
    return _render_letter(letter, record, form_status(form), discard_form=form)


def _letter_step(step: str, form_class, form_name: str, done, record_step):
    """A view that records one step of a letter's way (sent, delivered, acknowledged) from its form on the
    letter page, at /letters/<id>/<step>."""

    @login_required
    def view(letter_id):
        letter, record = get_letter_or_404(letter_id, need="edit")
        form = form_class()
        if form.validate_on_submit() and _save(form, letter, lambda: record_step(letter, form)):
            flash_message(done, "success")
            return redirect(url_for("letters.show", letter_id=letter.id))
        return _render_letter(letter, record, form_status(form), **{form_name: form})

    bp.add_url_rule(f"/letters/<int:letter_id>/{step}", f"mark_{step}", view, methods=["POST"])


_letter_step(
    "sent",
    SentForm,
    "sent_form",
    _l("Marked sent."),
    lambda letter, form: services.mark_sent(
        letter, form.channel.data, form.sent_on.data, current_user, expected_version=form.version.data
    ),
)
_letter_step(
    "delivered",
    DeliveredForm,
    "delivered_form",
    _l("Marked delivered; the signature totals delivered are kept with the letter."),
    lambda letter, form: services.mark_delivered(
        letter, form.delivered_on.data, current_user, expected_version=form.version.data
    ),
)
_letter_step(
    "acknowledged",
    AcknowledgedForm,
    "acknowledged_form",
    _l("Marked acknowledged."),
    lambda letter, form: services.mark_acknowledged(
        letter, form.acknowledged_on.data, current_user, expected_version=form.version.data
    ),
)


@bp.route("/letters/<int:letter_id>/reply", methods=["GET", "POST"])
@login_required
def reply(letter_id):
    original, record = get_letter_or_404(letter_id, need="edit")
    form = ReplyForm(data={"received_on": clock.today(current_user), "language": original.language or ""})
    made = []
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        if _save(
            form,
            None,
            lambda: made.append(
                services.log_reply(
                    original,
                    form.received_on.data,
                    form.subject.data,
                    form.body.data,
                    current_user,
                    form.attachments.data,
                    channel=form.channel.data or None,
                    language=form.language.data or None,
                )
            ),
            leads_to=lambda: url_for("letters.show", letter_id=made[0].id),
        ):
            flash_message(gettext("Reply logged."), "success")
            return redirect(url_for("letters.show", letter_id=made[0].id))
    return render_template("letters/reply.html", letter=original, record=record, form=form), form_status(form)


# ---------------------------------------------------------------------------------------------------
# Attachments


@bp.route("/letters/<int:letter_id>/attachments", methods=["POST"])
@login_required
def upload_attachment(letter_id):
    letter, record = get_letter_or_404(letter_id, need="edit")
    form = AttachmentForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        if _save(
            form,
            None,
            lambda: services.add_attachments(letter, [form.attachments.data], current_user),
            leads_to=lambda: url_for("letters.show", letter_id=letter.id),
        ):
            flash_message(gettext("File attached."), "success")
            return redirect(url_for("letters.show", letter_id=letter.id))
    return _render_letter(letter, record, form_status(form), attachment_form=form)


@bp.route("/letters/<int:letter_id>/attachments/<int:attachment_id>")
@login_required
def download_attachment(letter_id, attachment_id):
    letter, _record = get_letter_or_404(letter_id)
    attachment = db.session.get(LetterAttachment, attachment_id)
    if attachment is None or attachment.letter_id != letter.id:
        abort(404)
    try:
        path = storage.path_for(attachment.storage_key)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        current_app.logger.error("attachment %s is missing its file %s", attachment.id, attachment.storage_key)
        abort(404)
    # Only a type from the known list goes into the header (a value stored before uploads were checked
    # as strictly could hold anything, a line break included).
    servable = attachment.content_type in storage.EXTENSIONS
    response = send_file(
        path,
        mimetype=attachment.content_type if servable else "application/octet-stream",
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------------------------------
# Templates


@bp.route("/letter-templates")
@login_required
def templates():
    return render_template(
        "letters/templates.html",
        templates=letter_templates.templates_list(),
        may_edit=can(current_user, "edit_all"),
        merge_fields=merge_fields.MERGE_FIELDS,
    )


@bp.route("/letter-templates/defaults", methods=["POST"])
@login_required
@require("edit_all")
def load_default_templates():
    created = letter_templates.load_default_templates(actor=current_user)
    flash_message(
        ngettext("%(num)s default template added.", "%(num)s default templates added.", len(created)), "success"
    )
    return redirect(url_for("letters.templates"))


@bp.route("/letter-templates/new", methods=["GET", "POST"], defaults={"template_id": None})
@bp.route("/letter-templates/<int:template_id>/edit", methods=["GET", "POST"])
@login_required
@require("edit_all")
def edit_template(template_id):
    template = None if template_id is None else db.session.get(LetterTemplate, template_id)
    if template_id is not None and template is None:
        abort(404)
    form = (TemplateForm if template is not None else NewTemplateForm)(obj=template)
    if form.validate_on_submit():
        if template is None and (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        if _save(
            form,
            template,
            lambda: letter_templates.save_template(
                template,
                name=form.name.data,
                language=form.language.data,
                subject=form.subject.data,
                body=form.body.data,
                actor=current_user,
                expected_version=(form.version.data or "") if template is not None else None,
            ),
            leads_to=(lambda: url_for("letters.templates")) if template is None else None,
        ):
            flash_message(gettext("Template saved."), "success")
            return redirect(url_for("letters.templates"))
    return render_template(
        "letters/template_form.html",
        template=template,
        form=form,
        merge_fields=merge_fields.MERGE_FIELDS,
        stale=getattr(form, "stale", False),
    ), form_status(form)
