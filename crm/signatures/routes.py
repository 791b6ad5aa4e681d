"""Signature pages: a campaign's signers and petitions, importing a file (upload, preview and mapping,
import, report), tallies, the webhook secret, and the delivery dossier. Views load, check, call a
service, redirect."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm import clock
from crm.core import submissions
from crm.core.forms import ConfirmForm
from crm.core.pdf import RendererMissing
from crm.countries.models import Country
from crm.dashboard.exports import record_export
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import current_language
from crm.letters.models import Letter
from crm.permissions import (
    can,
    get_campaign_or_404,
    get_outreach_or_404,
    get_petition_or_404,
    is_read_only,
    require,
)
from crm.signatures import dossier, importers, imports, petitions, staging
from crm.signatures.forms import (
    DATE_ORDER_LABELS,
    FORMAT_LABELS,
    PLATFORM_LABELS,
    PetitionForm,
    TallyFileForm,
    TallyForm,
    UploadForm,
    mapping_form,
)
from crm.signatures.importers import COLUMN_ROLES, ColumnMapping
from crm.signatures.models import Petition, SignatureImport
from crm.signatures.push import new_webhook_secret
from crm.signatures.reports import ImportReport, Problem, invalid_reason, problem_message
from crm.signatures.tallies import import_tallies, record_tally
from crm.signatures.totals import (
    country_names,
    monthly_totals,
    petition_rows,
    petition_totals,
    recent_monthly_totals,
    tally_rows,
    total_signers,
    totals_and_names,
    totals_csv_rows,
    totals_for,
)
from crm.signatures.totals_tables import country_rows, month_rows
from crm.translation import gettext
from crm.web import flash_message, form_status, refusal

bp = Blueprint("signatures", __name__)


@bp.record_once
def _sweep_staged_uploads(state):
    """Staged uploads a killed import left behind are deleted when the app starts."""
    staging.sweep_at_start(state.app)


@bp.app_context_processor
def _signature_helpers():
    """For the outreach and campaign pages' includes (templates/signatures/_outreach_card.html and
    _campaign_summary.html): the campaign's totals, counted once per request."""
    return {"signature_totals": _totals_once, "signers_total": _signers_total, "latest_delivery": _latest_delivery}


def _totals_once(campaign, country=None):
    cache = g.setdefault("_signature_totals", {})
    if campaign.id not in cache:
        cache[campaign.id] = totals_for(campaign)
    totals = cache[campaign.id]
    return totals if country is None else totals.for_country(country)


def _signers_total(campaign) -> int:
    # The campaign page shows the total only: the countries' codes are not read for it.
    totals = g.get("_signature_totals", {}).get(campaign.id)
    return totals.total if totals is not None else total_signers(campaign)


def _latest_delivery(record):
    return db.session.scalar(
        sa.select(Letter)
        .where(Letter.outreach_id == record.id, Letter.signatures_snapshot_at.is_not(None))
        .order_by(Letter.signatures_snapshot_at.desc(), Letter.id.desc())
        .limit(1)
    )


@bp.context_processor
def _words():
    return {
        "platform_labels": PLATFORM_LABELS,
        "format_labels": FORMAT_LABELS,
        "date_order_labels": DATE_ORDER_LABELS,
        "problem_message": problem_message,
        "invalid_reason": invalid_reason,
    }


def _countries():
    language = str(getattr(current_user, "language", "en"))
    countries = db.session.scalars(sa.select(Country)).all()
    return sorted(((c.id, c.name(language)) for c in countries), key=lambda item: item[1])


@bp.route("/signatures")
@login_required
@require("view_all")
def index():
    """Signatures from the menu: each open campaign, its petitions, and the way to its totals."""
    return render_template("signatures/index.html", campaigns=petitions.petitions_by_campaign())


@bp.route("/campaigns/<slug>/signatures")
@login_required
def campaign(slug):
    campaign = get_campaign_or_404(slug, need="signatures")
    language = current_language()
    totals, names = totals_and_names(campaign, language)
    if request.args.get("months") == "all":
        months, earlier = monthly_totals(campaign, totals), False
    else:  # the last two years; reading every month was the page's longest query
        months, earlier = recent_monthly_totals(campaign, totals, clock.today(current_user))
    return render_template(
        "signatures/campaign.html",
        campaign=campaign,
        totals=totals,
        petitions=petition_rows(campaign, totals),
        countries=country_rows(totals.by_country, totals.ranges, names, language) if totals.by_country else None,
        months=month_rows(months, language) if months else None,
        earlier_months=earlier,
        form=PetitionForm() if can(current_user, "edit_all") and not is_read_only(campaign) else None,
    )


@bp.route("/campaigns/<slug>/signatures.csv")
@login_required
def campaign_csv(slug):
    campaign = get_campaign_or_404(slug, need="signatures")
    if not can(current_user, "export"):
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # Countries named in the reader's language, the ISO code in its own column (the command line keeps
    # its documented `country,signers` with codes only).
    writer.writerow(["country", "iso3", "signers"])
    rows = totals_csv_rows(campaign)
    names = country_names(code for code, _ in rows)
    language = current_language()
    for code, signers in rows:
        country = names.get(code)
        if country is not None:
            writer.writerow([country.name(language), code, signers])
        else:  # the TOTAL line
            writer.writerow([gettext("Total"), "", signers])

    record_export("signatures", actor=current_user, campaign=campaign, rows=len(rows))
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{campaign.slug}-signers.csv"'},
    )


@bp.route("/campaigns/<slug>/petitions", methods=["POST"])
@login_required
def create_petition(slug):
    campaign = get_campaign_or_404(slug, need="edit_signatures")
    form = PetitionForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            petition = petitions.create_petition(
                campaign, form.name.data, platform=form.platform.data, language=form.language.data, actor=current_user
            )
        except DomainError as error:
            refusal(error, prefix=gettext("Petition not created: %(reason)s"))
        else:
            done = submissions.led_to(form, url_for("signatures.petition", slug=petition.slug))
            flash_message(gettext("Petition created."), "success")
            return redirect(done)
    else:
        flash_message(gettext("Petition not created: give it a name and a platform."), "error")
    return redirect(url_for("signatures.campaign", slug=campaign.slug))


def _petition_page(petition, *, upload=None, tally=None, tally_file=None, status=200):
    countries = _countries()
    tally = tally or TallyForm()
    tally.country.choices = countries
    by_country, unknown = petition_totals(petition)
    return render_template(
        "signatures/petition.html",
        petition=petition,
        imports=imports.imports_of(petition),
        tallies=tally_rows(petition),
        signers=sum(by_country.values()) + unknown,
        by_country=by_country,
        unknown=unknown,
        names=country_names(by_country),
        may_edit=can(current_user, "edit_all") and not is_read_only(petition.campaign),
        upload=upload or UploadForm(),
        tally=tally,
        tally_file=tally_file or TallyFileForm(),
        confirm=ConfirmForm(),
    ), status


@bp.route("/petitions/<slug>")
@login_required
def petition(slug):
    return _petition_page(get_petition_or_404(slug))


@bp.route("/petitions/<slug>/uploads", methods=["POST"])
@login_required
def upload(slug):
    petition = get_petition_or_404(slug, need="edit")
    form = UploadForm()
    if not form.validate_on_submit():
        return _petition_page(petition, upload=form, status=400)
    staged = staging.stage(
        form.file.data,
        petition_id=petition.id,
        user_id=current_user.id,
        format=form.format.data,
        encoding=form.encoding.data,
    )
    return redirect(url_for("signatures.preview", slug=petition.slug, token=staged.token))


def _mapping_defaults(inspection) -> dict:
    mapping = inspection.mapping
    return {"date_order": mapping.date_order, **{role: mapping.columns.get(role, "") for role in COLUMN_ROLES}}


def _chosen_mapping(form) -> ColumnMapping:
    return ColumnMapping(
        columns={r: form[r].data for r in COLUMN_ROLES if form[r].data}, date_order=form.date_order.data
    )


def _refuse_mapping(form, code: str) -> None:
    """A mapping without an e-mail column that may not be imported: the reason beside the field to change."""
    field = form.email if code == "no_email_column" else form.full_name
    looked_for = ", ".join(importers.ALIASES["email"][:4])
    field.errors = [*field.errors, problem_message(Problem(code, looked_for=looked_for))]


def _import_staged(petition, staged, inspection, form):
    """Import the staged file with the columns chosen on the form. The file (signers' addresses) is
    deleted when the import ends, imported, refused or failed."""
    mapping = _chosen_mapping(form)
    try:
        with staging.importing(staged) as handle:
            outcome = imports.import_file(
                petition,
                handle,
                filename=staged.filename,
                mapping=mapping,
                format_code=inspection.format,
                encoding=staged.encoding,
                actor=current_user,
                without_email=form.without_email.data,
            )
    except imports.ImportRejected as error:
        # The report says why, on its own page; the import kept nothing of the file.
        return render_template(
            "signatures/rejected.html", petition=petition, report=error.report, filename=staged.filename
        ), 400
    if outcome.already_imported:
        flash_message(gettext("This file was already imported: nothing changed."), "info")
    else:
        flash_message(gettext("Imported: %(new)s new signers.", new=outcome.record.rows_new), "success")
    return redirect(url_for("signatures.import_report", import_id=outcome.record.id))


@bp.route("/petitions/<slug>/uploads/<token>", methods=["GET", "POST"])
@login_required
def preview(slug, token):
    petition = get_petition_or_404(slug, need="edit")
    staged = staging.find(token, petition_id=petition.id, user_id=current_user.id)
    if staged is None:
        flash_message(gettext("That upload has expired or was discarded. Upload the file again."), "error")
        return redirect(url_for("signatures.petition", slug=petition.slug))
    with staged.open() as handle:
        inspection = imports.inspect_file(petition, handle, format_code=staged.format, encoding=staged.encoding)
    if inspection.problems:
        staging.discard(token)
        return render_template(
            "signatures/rejected.html",
            petition=petition,
            filename=staged.filename,
            report=ImportReport(problems=inspection.problems),
        ), 400
    form = mapping_form(
        inspection.shape.header, request.form if request.method == "POST" else None, **_mapping_defaults(inspection)
    )
    if request.method == "POST" and form.validate_on_submit():
        problem = imports.without_email_problem(inspection.format, _chosen_mapping(form), form.without_email.data)
        if problem is None:
            return _import_staged(petition, staged, inspection, form)
        _refuse_mapping(form, problem)
    return render_template(
        "signatures/preview.html",
        petition=petition,
        staged=staged,
        inspection=inspection,
        form=form,
        confirm=ConfirmForm(),
        email_optional=importers.email_optional(inspection.format),
    ), form_status(form)


@bp.route("/petitions/<slug>/uploads/<token>/discard", methods=["POST"])
@login_required
def discard(slug, token):
    petition = get_petition_or_404(slug, need="edit")
    if ConfirmForm().validate_on_submit() and staging.find(token, petition_id=petition.id, user_id=current_user.id):
        staging.discard(token)
        flash_message(gettext("Upload discarded."), "info")
    return redirect(url_for("signatures.petition", slug=petition.slug))


@bp.route("/imports/<int:import_id>")
@login_required
def import_report(import_id):
    record = db.session.get(SignatureImport, import_id)
    if record is None or not can(current_user, "view_all"):
        abort(404)
    petition = db.session.get(Petition, record.petition_id)
    return render_template(
        "signatures/import.html",
        record=record,
        petition=petition,
        report=ImportReport.from_json(record.report),
        may_undo=record.format != "webhook" and can(current_user, "edit_all") and not is_read_only(petition.campaign),
    )


@bp.route("/imports/<int:import_id>/undo", methods=["GET", "POST"])
@login_required
def undo_import(import_id):
    """Undo an import: a page that says what will go, and a button; permission as for importing."""
    record = db.session.get(SignatureImport, import_id)
    if record is None:
        abort(404)
    petition = get_petition_or_404(db.session.get(Petition, record.petition_id).slug, need="edit")
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            deleted = imports.undo_import(record, actor=current_user)
        except DomainError as error:
            # Refused before anything was written; finish_transaction rolls back all the same.
            blocker, status = error, error.status
        else:
            flash_message(gettext("Import undone: %(n)s signatures removed.", n=deleted), "success")
            return redirect(url_for("signatures.petition", slug=petition.slug))
    else:
        blocker, status = imports.undo_blocker(record), 200
    return render_template("signatures/undo.html", record=record, petition=petition, form=form, blocker=blocker), status


@bp.route("/petitions/<slug>/tallies", methods=["POST"])
@login_required
def add_tally(slug):
    petition = get_petition_or_404(slug, need="edit")
    form = TallyForm()
    form.country.choices = _countries()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        country = db.session.get(Country, form.country.data)
        try:
            record_tally(
                petition, country, form.signers.data, form.as_of.data, source=form.source.data, actor=current_user
            )
        except DomainError as error:
            refusal(error, form, beside="signers")
        else:
            done = submissions.led_to(form, url_for("signatures.petition", slug=petition.slug))
            flash_message(gettext("Tally saved."), "success")
            return redirect(done)
    return _petition_page(petition, tally=form, status=form_status(form))


@bp.route("/petitions/<slug>/tallies/file", methods=["POST"])
@login_required
def import_tally_file(slug):
    petition = get_petition_or_404(slug, need="edit")
    form = TallyFileForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            tallies = import_tallies(petition, form.file.data.stream, actor=current_user)
        except DomainError as error:
            refusal(error, form, beside="file")
        else:
            done = submissions.led_to(form, url_for("signatures.petition", slug=petition.slug))
            flash_message(gettext("%(n)s tallies saved.", n=len(tallies)), "success")
            return redirect(done)
    return _petition_page(petition, tally_file=form, status=form_status(form))


@bp.route("/petitions/<slug>/webhook-secret", methods=["POST"])
@login_required
def rotate_secret(slug):
    petition = get_petition_or_404(slug, need="edit")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    secret = new_webhook_secret(petition, actor=current_user)
    # Shown once, in this response only: never flashed (the session cookie would carry it) nor logged. If
    # the request's commit fails, the error page replaces this one, so no secret is shown that was not kept.
    endpoint = url_for("api.push_signatures", slug=petition.slug, _external=True)
    return render_template("signatures/secret.html", petition=petition, secret=secret, endpoint=endpoint)


@bp.route("/outreach/<int:outreach_id>/dossier.pdf")
@login_required
def dossier_pdf(outreach_id):
    record = get_outreach_or_404(outreach_id)
    letter = dossier.letter_for(record, request.args.get("letter", type=int))
    if request.args.get("letter") and letter is None:
        abort(404)
    language = (
        letter.language
        if letter is not None and letter.language in ("en", "es")
        else str(getattr(current_user, "language", "en"))
    )
    try:
        pdf = dossier.dossier_pdf(record, letter, language)
    except RendererMissing:
        current_app.logger.error("the delivery dossier needs WeasyPrint and Pango")
        abort(503)
    name = f"dossier-{record.campaign.slug}-{record.country.alpha3.lower()}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
