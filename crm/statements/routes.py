"""Joint statements' pages: the public page where organisations sign (/s/<slug>, no sign-in, in the
visitor's language), the links from the confirmation e-mail, and the staff's pages that write statements
and moderate their signatures."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from crm import clock
from crm.core import public_forms, submissions
from crm.core.forms import LANGUAGE_NAMES
from crm.core.pdf import RendererMissing
from crm.core.public_forms import confirm_link, public_form, withdraw_link
from crm.dashboard.exports import record_export, to_csv
from crm.database import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import current_language, show_date, visitors_language
from crm.permissions import (
    get_campaign_or_404,
    get_letter_or_404,
    get_statement_or_404,
    get_statement_signature_or_404,
    is_read_only,
    may_manage_statements,
    may_see_signer_emails,
)
from crm.statements import document
from crm.statements import services as statements
from crm.statements.forms import (
    KIND_LABELS,
    STATEMENT_SIGNATURE_STATUS_LABELS,
    DecisionForm,
    MergeForm,
    NewStatementForm,
    SignForm,
    StatementForm,
)
from crm.statements.models import Statement, StatementSignature
from crm.translation import gettext
from crm.web import LARGEST_ID, client_address, flash_message, form_status, refusal

bp = Blueprint("statements", __name__)

# --- The public pages -----------------------------------------------------------------------------------


def _sign_up(form: SignForm) -> statements.SignUp:
    return statements.SignUp(
        kind=form.kind.data,
        country=form.chosen_country,
        organisation=form.organisation.data,
        website=form.website.data,
        signer_name=form.signer_name.data,
        signer_role=form.signer_role.data,
        email=form.email.data,
        listing=form.listing.data,
        publish_logo=form.publish_logo.data,
        consent=form.consent.data,
    )


def _sign(statement: Statement, form: SignForm, language: str, now) -> None:
    """The public form's checks (no field can fix them), then the sign-up; a refusal changes nothing."""
    limit = statements.email_limit(statement, form.email.data or "")
    public_forms.check(form, address=client_address(), now=now, also=(limit,))
    if not form.validate():
        return
    statements.sign(statement, _sign_up(form), language=language, now=now)
    public_forms.count(form, address=client_address(), now=now, also=(limit,))


@bp.route("/s/<slug>", methods=["GET", "POST"])
@public_form("statement")
def public(slug):
    now, language = utcnow(), visitors_language()
    with force_locale(language):
        statement = statements.public_statement(slug, clock.today(None, now))
        if statement is None:
            abort(404)
        is_open = statement.is_open(clock.today(None, now)) and not is_read_only(statement.campaign)
        form = SignForm(now=now, scope=statement.slug)
        form.set_countries(statements.country_choices(language), language)
        form.set_individuals(statement.individuals_may_sign, language)
        if request.method == "POST":
            try:
                if not is_open:
                    raise statements.NotOpen(gettext("This statement is not open for signatures."))
                _sign(statement, form, language, now)
                if not form.errors:
                    flash_message(
                        gettext(
                            "Almost done: we sent a link to %(email)s. Open it within %(days)s days to confirm "
                            "your signature; until then it is not counted. Nothing arrived? Check the spam "
                            "folder, or sign again.",
                            email=form.email.data,
                            days=statements.confirm_days(),
                        ),
                        "success",
                    )
                    return redirect(url_for("statements.public", slug=statement.slug, lang=language, _anchor="sent"))
            except DomainError as error:
                refusal(error, form)
        html = render_template(
            "statements/public.html",
            statement=statement,
            text=statement.text(language),
            campaign=statement.campaign,
            signatories=statements.public_signatories(statement, language),
            form=form,
            is_open=is_open,
            language=language,
            day=lambda value: show_date(value, language),
        )
    return html, form_status(form)


def _signed(signature) -> dict:
    return {"statement": signature.statement}


@bp.route("/s/confirm/<token>", methods=["GET", "POST"])
def confirm(token):
    """The link in the e-mail: it shows a button, and only the button confirms (mail scanners open links)."""
    return confirm_link(
        token,
        statements,
        "statements/confirm.html",
        _signed,
        not_valid=gettext(
            "This link is not valid: it was already used, or the sign-up was not confirmed within a week. "
            "You can sign again on the statement's page."
        ),
    )


@bp.route("/s/withdraw/<token>", methods=["GET", "POST"])
def withdraw(token):
    """The other link in the e-mail: withdraw the signature, after a button."""
    return withdraw_link(token, statements, "statements/withdraw.html", _signed)


# --- The staff's pages ----------------------------------------------------------------------------------


@bp.route("/campaigns/<slug>/statements")
@login_required
def index(slug):
    campaign = get_campaign_or_404(slug, need="statements")
    listed = statements.statements_of(campaign)
    return render_template(
        "statements/index.html",
        campaign=campaign,
        statements=listed,
        counts=statements.status_counts([statement.id for statement in listed]),
        may_manage=may_manage_statements(current_user),
    )


@bp.route("/campaigns/<slug>/statements/new", methods=["GET", "POST"])
@login_required
def new(slug):
    campaign = get_campaign_or_404(slug, need="write_statements")
    form = NewStatementForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            statement = statements.create_statement(
                campaign,
                form.wordings(),
                actor=current_user,
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
                individuals_may_sign=form.individuals_may_sign.data,
            )
        except DomainError as error:
            refusal(error, form)
        else:
            flash_message(gettext("Statement saved. Its public page: %(url)s", url=_public_url(statement)), "success")
            return redirect(submissions.led_to(form, url_for("statements.show", statement_id=statement.id)))
    return render_template("statements/form.html", form=form, campaign=campaign, statement=None), form_status(form)


def _public_url(statement: Statement) -> str:
    return url_for("statements.public", slug=statement.slug, _external=True)


def _show(statement: Statement, *, status: int = 200):
    moderation = statements.moderation(statement)
    return render_template(
        "statements/show.html",
        statement=statement,
        campaign=statement.campaign,
        moderation=moderation,
        public_url=_public_url(statement),
        status_labels=STATEMENT_SIGNATURE_STATUS_LABELS,
        kind_labels=KIND_LABELS,
        language_names=LANGUAGE_NAMES,
        may_manage=may_manage_statements(current_user),
        see_emails=may_see_signer_emails(current_user),
        read_only=is_read_only(statement.campaign),
        decision=DecisionForm(formdata=None),
        letters=statements.letters_of(statement),
    ), status


@bp.route("/statements/<int:statement_id>")
@login_required
def show(statement_id):
    return _show(get_statement_or_404(statement_id))


@bp.route("/statements/<int:statement_id>/edit", methods=["GET", "POST"])
@login_required
def edit(statement_id):
    statement = get_statement_or_404(statement_id, need="manage")
    form = StatementForm(data=StatementForm.initial(statement) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            statements.update_statement(
                statement,
                form.wordings(),
                actor=current_user,
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
                individuals_may_sign=form.individuals_may_sign.data,
                version=form.version.data,
            )
        except DomainError as error:
            refusal(error, form, record=statement)
        else:
            flash_message(gettext("Statement saved."), "success")
            return redirect(url_for("statements.show", statement_id=statement.id))
    return render_template(
        "statements/form.html", form=form, campaign=statement.campaign, statement=statement
    ), form_status(form)


@bp.route("/statements/<int:statement_id>/new-version", methods=["POST"])
@login_required
def new_version(statement_id):
    statement = get_statement_or_404(statement_id, need="manage")
    try:
        copy = statements.new_version(statement, actor=current_user)
    except DomainError as error:
        return _show(statement, status=refusal(error))
    flash_message(gettext("A new version to word and open; the old one keeps its signatures."), "success")
    return redirect(url_for("statements.edit", statement_id=copy.id))


@bp.route("/statements/signatures/<int:signature_id>/approve", methods=["POST"])
@login_required
def approve(signature_id):
    signature = get_statement_signature_or_404(signature_id)
    form = DecisionForm(formdata=request.form)  # an empty POST has no version: refused as out of date
    try:
        statements.approve(signature, actor=current_user, now=utcnow(), version=form.version.data)
    except DomainError as error:
        return _show(signature.statement, status=refusal(error))
    flash_message(gettext("Approved: it is on the public list."), "success")
    return redirect(url_for("statements.show", statement_id=signature.statement_id, _anchor="queue"))


@bp.route("/statements/signatures/<int:signature_id>/reject", methods=["POST"])
@login_required
def reject(signature_id):
    signature = get_statement_signature_or_404(signature_id)
    form = DecisionForm(formdata=request.form)  # an empty POST has no version: refused as out of date
    if not form.validate():
        return _show(signature.statement, status=refusal(statements.StatementError(gettext("The reason is too long."))))
    try:
        statements.reject(signature, form.reason.data, actor=current_user, now=utcnow(), version=form.version.data)
    except DomainError as error:
        return _show(signature.statement, status=refusal(error))
    flash_message(gettext("Rejected: it will not be listed."), "success")
    return redirect(url_for("statements.show", statement_id=signature.statement_id, _anchor="queue"))


@bp.route("/statements/signatures/<int:signature_id>/merge", methods=["GET", "POST"])
@login_required
def merge(signature_id):
    signature = get_statement_signature_or_404(signature_id)
    candidates = statements.merge_candidates(signature)
    form = MergeForm(data={"version": signature.version} if request.method == "GET" else None)
    form.survivor.choices = [("", "—")] + [(str(other.id), _label(other)) for other in candidates]
    if form.validate_on_submit():
        survivor = next((other for other in candidates if str(other.id) == form.survivor.data), None)
        try:
            if survivor is None:
                raise statements.StatementError(gettext("Choose another signature of the same statement."), "survivor")
            statements.merge(signature, survivor, actor=current_user, now=utcnow(), version=form.version.data)
        except DomainError as error:
            refusal(error, form)
        else:
            flash_message(gettext("Merged: one signature now stands for both."), "success")
            return redirect(url_for("statements.show", statement_id=signature.statement_id))
    return render_template(
        "statements/merge.html",
        form=form,
        signature=signature,
        statement=signature.statement,
        campaign=signature.statement.campaign,
        candidates=candidates,
        see_emails=may_see_signer_emails(current_user),
        status_labels=STATEMENT_SIGNATURE_STATUS_LABELS,
    ), form_status(form)


def _label(signature: StatementSignature) -> str:
    who = signature.organisation or signature.signer_name or gettext("Erased signer")
    return (
        f"{who} — {signature.country.name(current_language())} ({STATEMENT_SIGNATURE_STATUS_LABELS[signature.status]})"
    )


@bp.route("/statements/<int:statement_id>/signatories.csv")
@login_required
def export_csv(statement_id):
    statement = get_statement_or_404(statement_id)
    everything = request.args.get("status") == "all"
    rows = statements.export_rows(
        statement, everything=everything, with_emails=may_see_signer_emails(current_user), language=current_language()
    )
    record_export(
        "statement_signatories",
        actor=current_user,
        campaign=statement.campaign,
        rows=len(rows),
        filters={"statement": statement.slug, "status": "all" if everything else "approved"},
    )
    return Response(
        to_csv(statements.EXPORT_HEADER, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{statement.slug}-signatories.csv"'},
    )


def _attachment_or_404(statement: Statement):
    """The statement as it goes (or went) with the letter ?letter= names, one the user may see; else 404. A
    number no id reaches is the clear refusal of every query-string number too large (crm/web.py)."""
    letter_id = request.args.get("letter", type=int)
    if letter_id is not None and letter_id > LARGEST_ID:
        raise OverflowError("letter id too large")
    if letter_id is None or letter_id <= 0:
        abort(404)
    letter, _record = get_letter_or_404(letter_id)
    attached = statements.attachment(letter, statement)
    if attached is None:
        abort(404)
    return attached


@bp.route("/statements/<int:statement_id>/signatories.pdf")
@login_required
def export_pdf(statement_id):
    """The list used for delivery: as it stands, or (?letter=) as frozen on a letter the statement went with;
    in the language asked for (?lang=), else the letter's, else the reader's, if the statement has it."""
    statement = get_statement_or_404(statement_id)
    attached = _attachment_or_404(statement) if "letter" in request.args else None
    language = document.language_for(
        statement, request.args.get("lang"), attached.letter.language if attached else None, current_language()
    )
    built = document.build(statement, language=language, now=utcnow(), attached=attached)
    try:
        pdf = document.signatories_pdf(built)
    except RendererMissing:
        current_app.logger.error("the signatories' PDF needs WeasyPrint and Pango")
        abort(503)
    record_export(
        "statement_signatories",
        actor=current_user,
        campaign=statement.campaign,
        rows=built.listed,
        filters={
            "statement": statement.slug,
            "status": "approved",
            "language": built.language,
            **({"letter": attached.letter_id} if attached else {}),
        },
        format="pdf",
    )
    name = f"{statement.slug}-signatories" + (f"-letter-{attached.letter_id}" if attached else "") + ".pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


# --- Statements going with a letter ---------------------------------------------------------------------


@bp.route("/letters/<int:letter_id>/statements", methods=["POST"])
@login_required
def attach_to_letter(letter_id):
    """A refusal (a delivered letter, another campaign's statement) is the error page with its status."""
    letter, _record = get_letter_or_404(letter_id, need="edit")
    chosen = request.form.get("statement", type=int)
    statement = db.session.get(Statement, chosen) if chosen and 0 < chosen <= LARGEST_ID else None
    if statement is None:
        raise statements.StatementError(gettext("Choose a statement of this campaign."))
    statements.attach(letter, statement, actor=current_user, now=utcnow())
    flash_message(
        gettext("The statement goes with the letter; its signatories are frozen on it at delivery."), "success"
    )
    return redirect(url_for("letters.show", letter_id=letter.id, _anchor="statements"))


@bp.route("/letters/<int:letter_id>/statements/<int:statement_id>/detach", methods=["POST"])
@login_required
def detach_from_letter(letter_id, statement_id):
    letter, _record = get_letter_or_404(letter_id, need="edit")
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        abort(404)
    statements.detach(letter, statement, actor=current_user)
    flash_message(gettext("The statement no longer goes with the letter."), "success")
    return redirect(url_for("letters.show", letter_id=letter.id, _anchor="statements"))
