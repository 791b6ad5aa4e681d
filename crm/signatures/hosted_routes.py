"""Hosted petitions' pages: the public page where people sign (/sign/<slug>, no sign-in, in the visitor's
language, framable only by the petition's listed sites), the links from the confirmation e-mail, and the
coordinators' page for the petition's text, its frame origins and the sign-ups held for review."""

from __future__ import annotations

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from crm.core import public_forms
from crm.core.forms import ConfirmForm
from crm.core.public_forms import confirm_link, public_form, withdraw_link
from crm.dashboard.exports import record_export, to_csv
from crm.database import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import current_language, visitors_language
from crm.permissions import can, get_petition_or_404, is_read_only
from crm.signatures import hosted
from crm.signatures.hosted_forms import HOSTED_STATUS_LABELS, HostedPageForm, HostedSignForm
from crm.signatures.hosted_models import HostedSignature
from crm.signatures.totals import country_names, totals_for
from crm.translation import gettext
from crm.web import CONTENT_SECURITY_POLICY, LARGEST_ID, client_address, flash_message, form_status, refusal

bp = Blueprint("hosted", __name__)


def _framable_by(response, origins: list[str]):
    """This page only: the petition's listed sites may frame it (every other page keeps frame-ancestors
    'none' and X-Frame-Options DENY, crm.web.set_security_headers)."""
    if origins:
        policy = CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'none'", "frame-ancestors 'self' " + " ".join(origins)
        )
        response.headers["Content-Security-Policy"] = policy
    return response


def _sign(petition, form: HostedSignForm, language: str, now) -> None:
    """The public form's checks (no field can fix them), then the sign-up; a refusal changes nothing."""
    address = client_address()
    limit = hosted.email_limit(petition, form.email.data or "")
    public_forms.check(form, address=address, now=now, also=(limit,))
    if not form.validate():
        return
    details = hosted.SignUp(
        name=form.name.data,
        email=form.email.data,
        country=form.chosen_country,
        consent=form.consent.data,
        wants_contact=form.wants_contact.data,
        show_name=form.show_name.data,
        postal_code=form.postal_code.data,
    )
    hosted.sign(petition, details, language=language, now=now, for_review=hosted.is_burst(address, now=now))
    public_forms.count(form, address=address, now=now, also=(limit,))


def _sent_message() -> str:
    """What the page says after a sign-up. It reveals nothing (whoever adds ?sent=1 reads the same words
    whether or not anything was sent, and whether or not the address signed before)."""
    return gettext(
        "Almost done: if this address has not signed here yet, we sent it a link. Open it within %(days)s days "
        "to confirm your signature; until then it is not counted. The link is sent only once.",
        days=hosted.CONFIRM_DAYS,
    )


@bp.route("/sign/<slug>", methods=["GET", "POST"])
@public_form("petition")
def sign(slug):
    now, language = utcnow(), visitors_language()
    petition = hosted.public_petition(slug)
    if petition is None:
        abort(404)
    with force_locale(language):
        page = hosted.page_of(petition)
        is_open = not is_read_only(petition.campaign)
        form = HostedSignForm(now=now, scope=petition.slug)
        form.set_countries(hosted.country_choices(language), language)
        if request.method == "POST":
            try:
                if not is_open:
                    raise hosted.NotOpen(gettext("This petition is not open for signatures."))
                _sign(petition, form, language, now)
                if not form.errors:
                    # Said by the page it leads to, not flashed: a flash lives in the session cookie, which a
                    # browser neither keeps nor sends inside another site's frame.
                    return redirect(url_for("hosted.sign", slug=petition.slug, lang=language, sent=1, _anchor="sent"))
            except DomainError as error:
                refusal(error, form)
        title, body, text_language = page.text(language)
        totals = totals_for(petition.campaign)
        html = render_template(
            "signatures/hosted/public.html",
            petition=petition,
            campaign=petition.campaign,
            page=page,
            title=title or petition.name,
            body=body,
            text_language=text_language or language,
            demands=petition.campaign.active_demands,
            totals=totals,
            names=country_names(totals.by_country) if page.totals_by_country else {},
            form=form,
            is_open=is_open,
            language=language,
            confirm_days=hosted.CONFIRM_DAYS,
            retention_days=hosted.retention_days(),
            sent=_sent_message() if request.method == "GET" and request.args.get("sent") == "1" else None,
        )
    return _framable_by(make_response(html, form_status(form)), page.origins)


def _signed(signature) -> dict:
    """What the confirm and withdraw pages say of the petition signed, in the signer's language."""
    petition = signature.petition
    return {"petition": petition, "campaign": petition.campaign, "title": hosted.title_of(petition, signature.language)}


@bp.route("/sign/confirm/<token>", methods=["GET", "POST"])
def confirm(token):
    """The link in the e-mail: it shows a button, and only the button confirms (mail scanners open links)."""
    return confirm_link(
        token,
        hosted,
        "signatures/hosted/confirm.html",
        _signed,
        not_valid=gettext(
            "This link is not valid: it was already used, or the signature was not confirmed within a week. "
            "You can sign again on the petition's page."
        ),
    )


@bp.route("/sign/withdraw/<token>", methods=["GET", "POST"])
def withdraw(token):
    """The other link in the e-mail: withdraw the signature, after a button."""
    return withdraw_link(token, hosted, "signatures/hosted/withdraw.html", _signed)


# --- The coordinators' page -----------------------------------------------------------------------------


def _page(petition, form: HostedPageForm, status: int = 200):
    return render_template(
        "signatures/hosted/manage.html",
        petition=petition,
        campaign=petition.campaign,
        form=form,
        counts=hosted.status_counts(petition),
        held=hosted.signatures_of(petition, ("held",)),
        status_labels=HOSTED_STATUS_LABELS,
        may_edit=can(current_user, "edit_all") and not is_read_only(petition.campaign),
        may_export=can(current_user, "export"),
        public_url=url_for("hosted.sign", slug=petition.slug, _external=True),
        decision=ConfirmForm(),
        language=current_language(),
    ), status


@bp.route("/petitions/<slug>/hosted", methods=["GET", "POST"])
@login_required
def manage(slug):
    petition = get_petition_or_404(slug, need="edit" if request.method == "POST" else "view", platform="hosted")
    page = hosted.page_of(petition)
    form = HostedPageForm(data=HostedPageForm.initial(page) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            hosted.set_page(
                petition,
                texts=form.texts(),
                totals_by_country=form.totals_by_country.data,
                frame_origins=form.frame_origins.data,
                actor=current_user,
            )
        except DomainError as error:
            refusal(error, form)
        else:
            flash_message(gettext("The signing page is saved."), "success")
            return redirect(url_for("hosted.manage", slug=petition.slug))
    return _page(petition, form, form_status(form))


def _held_or_404(signature_id: int) -> HostedSignature:
    signature = db.session.get(HostedSignature, signature_id) if 0 < signature_id <= LARGEST_ID else None
    if signature is None:
        abort(404)
    get_petition_or_404(signature.petition.slug, need="edit", platform="hosted")
    return signature


@bp.route("/hosted-signatures/<int:signature_id>/release", methods=["POST"])
@login_required
def release(signature_id):
    signature = _held_or_404(signature_id)
    if ConfirmForm().validate_on_submit():
        hosted.release(signature, actor=current_user, now=utcnow())
        flash_message(gettext("Released: the signature counts."), "success")
    return redirect(url_for("hosted.manage", slug=signature.petition.slug, _anchor="held"))


@bp.route("/hosted-signatures/<int:signature_id>/reject", methods=["POST"])
@login_required
def reject(signature_id):
    signature = _held_or_404(signature_id)
    if ConfirmForm().validate_on_submit():
        hosted.reject(signature, actor=current_user, now=utcnow())
        flash_message(gettext("Rejected: the signature does not count."), "success")
    return redirect(url_for("hosted.manage", slug=signature.petition.slug, _anchor="held"))


@bp.route("/petitions/<slug>/hosted-contacts.csv")
@login_required
def export_contacts(slug):
    """Signers who agreed to hear again, with their addresses: for those who export (managers and admins),
    recorded in the audit log like every export."""
    petition = get_petition_or_404(slug, platform="hosted")
    if not can(current_user, "export"):
        abort(404)
    rows = hosted.contact_rows(petition, current_language())
    record_export(
        "hosted_contacts",
        actor=current_user,
        campaign=petition.campaign,
        rows=len(rows),
        filters={"petition": petition.slug},
    )
    return Response(
        to_csv(hosted.CONTACTS_HEADER, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{petition.slug}-contacts.csv"'},
    )
