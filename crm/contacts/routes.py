"""Office and contact pages: lists and searches, records with their history, editing, duplicates and merges,
moves between posts, and import and export as CSV or vCard."""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm import clock
from crm.audit import services as audit
from crm.contacts import exchange
from crm.contacts.forms import (
    KIND_LABELS,
    ContactCreateForm,
    ContactDeactivateForm,
    ContactEditForm,
    ContactFilterForm,
    ContactImportForm,
    MergeForm,
    MoveForm,
    NewOfficeForm,
    OfficeFilterForm,
    OfficeForm,
    VersionForm,
    language_name,
)
from crm.contacts.merging import merge_contacts, merge_preview
from crm.contacts.models import Contact
from crm.contacts.offices import (
    active_offices,
    countries_with_offices,
    create_office,
    deactivate_office,
    office_overview,
    reactivate_office,
    search_offices,
    update_office,
)
from crm.contacts.services import (
    ContactError,
    DuplicateContact,
    contact_history,
    contact_list,
    create_contact,
    deactivate_contact,
    find_duplicates,
    move_contact,
    search_contacts,
    update_contact,
)
from crm.core import submissions
from crm.countries.services import search_countries
from crm.errors import DomainError, StaleRecord
from crm.extensions import db
from crm.i18n import current_language
from crm.permissions import (
    can,
    can_amend_contact,
    can_amend_office,
    contact_visibility,
    get_contact_or_404,
    get_office_or_404,
    may_add_contacts,
    may_add_for_country,
    office_visibility,
    require,
)
from crm.staging import TooLarge
from crm.translation import gettext
from crm.web import flash_message, form_status, page_of, refusal

bp = Blueprint("contacts", __name__)


@bp.context_processor
def _contact_words():
    """The words every contacts page may show for stored values: kinds of office and languages."""
    return {"kind_labels": KIND_LABELS, "language_name": language_name}


@bp.record_once
def _sweep_staged_uploads(state):
    """Staged import files a killed import left behind are deleted when the app starts."""
    exchange.UPLOADS.sweep_at_start(state.app)


def refuse(error: DomainError, form, template: str, record=None, **context):
    """Re-show a form after a service refused it (crm.web.refusal), with what the user typed."""
    status = refusal(error, form, record=record)
    return render_template(template, form=form, **context), status


def _list_page(template: str, form, statement, **page_options):
    """The office or the contact list: a page of what the filters found, with the New links for those who
    may add."""
    page = page_of(statement, **page_options)
    return render_template(template, form=form, page=page, may_edit=may_add_contacts(current_user))


def _record_page(template: str, *, may_amend: bool, **context):
    """An office's or a contact's page, with what the user may do to it: `may_edit` for staff who edit all,
    `may_amend` (correct its details) also for the volunteer who added it."""
    return render_template(template, may_edit=can(current_user, "edit_all"), may_amend=may_amend, **context)


# Offices


@bp.route("/offices")
@login_required
def offices():
    language = current_language()
    form = OfficeFilterForm(request.args)
    form.set_countries(countries_with_offices(), language)
    form.apply()
    statement = office_visibility(
        current_user,
        search_offices(
            query=form.q.data,
            kind=form.kind.data,
            country=form.country.data,
            host=form.host.data,
            status=form.status.data,
            language=language,
        ),
    )
    return _list_page("contacts/offices.html", form, statement)


@bp.route("/offices/<int:office_id>")
@login_required
def office(office_id):
    office = get_office_or_404(office_id)
    return _record_page(
        "contacts/office.html",
        may_amend=can_amend_office(current_user, office),
        office=office,
        overview=office_overview(office),
        may_add=may_add_for_country(current_user, office.country_id),
    )


def _office_form(office=None) -> OfficeForm:
    if office is None:
        form = NewOfficeForm()
    else:
        form = OfficeForm(data=OfficeForm.initial(office) if request.method == "GET" else None)
    form.set_countries(db.session.scalars(search_countries()).all(), current_language())
    return form


def _require_may_add():
    if not may_add_contacts(current_user):
        abort(404)


def _not_theirs(field) -> None:
    """Refuse, beside the field, a government the volunteer does not work on."""
    raise ContactError(gettext("You may add offices and contacts only for the governments assigned to you."), field)


@bp.route("/offices/new", methods=["GET", "POST"])
@login_required
def new_office():
    _require_may_add()
    form = _office_form()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            values = form.office_values()
            if values["country"] is not None and not may_add_for_country(current_user, values["country"].id):
                _not_theirs("country")
            office = create_office(actor=current_user, **values)
        except DomainError as error:
            return refuse(
                error, form, "contacts/office_form.html", office=None, existing=getattr(error, "existing", None)
            )
        done = submissions.led_to(form, url_for("contacts.office", office_id=office.id))
        flash_message(gettext("Office saved."), "success")
        return redirect(done)
    return render_template("contacts/office_form.html", form=form, office=None), form_status(form)


@bp.route("/offices/<int:office_id>/edit", methods=["GET", "POST"])
@login_required
def edit_office(office_id):
    office = get_office_or_404(office_id, need="amend")
    form = _office_form(office)
    if form.validate_on_submit():
        try:
            update_office(office, actor=current_user, expected_version=form.version.data, **form.office_values())
        except DomainError as error:
            return refuse(
                error,
                form,
                "contacts/office_form.html",
                record=office,
                office=office,
                existing=getattr(error, "existing", None),
            )
        flash_message(gettext("Office saved."), "success")
        return redirect(url_for("contacts.office", office_id=office.id))
    return render_template("contacts/office_form.html", form=form, office=office), form_status(form)


@bp.route("/offices/<int:office_id>/deactivate", methods=["GET", "POST"])
@login_required
def deactivate_office_page(office_id):
    office = get_office_or_404(office_id, need="edit")
    form = VersionForm(data={"version": office.version} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            deactivate_office(office, actor=current_user, expected_version=form.version.data)
        except DomainError as error:
            return refuse(error, form, "contacts/office_deactivate.html", record=office, office=office)
        flash_message(gettext("Office marked inactive."), "success")
        return redirect(url_for("contacts.office", office_id=office.id))
    return render_template("contacts/office_deactivate.html", form=form, office=office)


@bp.route("/offices/<int:office_id>/reactivate", methods=["POST"])
@login_required
def reactivate_office_page(office_id):
    office = get_office_or_404(office_id, need="edit")
    form = VersionForm()
    try:
        if not form.validate_on_submit():
            abort(400)
        reactivate_office(office, actor=current_user, expected_version=form.version.data)
    except DomainError as error:
        refusal(error)
    else:
        flash_message(gettext("Office active again."), "success")
    return redirect(url_for("contacts.office", office_id=office_id))


# Contacts


@bp.route("/contacts")
@login_required
def index():
    form = ContactFilterForm(request.args).apply()
    statement, params = contact_list(query=form.q.data, status=form.status.data, language=current_language())
    return _list_page(
        "contacts/index.html", form, contact_visibility(current_user, statement), rows=True, params=params
    )


@bp.route("/contacts/<int:contact_id>")
@login_required
def show(contact_id):
    contact = get_contact_or_404(contact_id, personal_phone=True)
    return _record_page(
        "contacts/show.html",
        may_amend=can_amend_contact(current_user, contact),
        contact=contact,
        history=contact_history(contact, current_language()),
    )


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
def new():
    _require_may_add()
    language = current_language()
    form = ContactCreateForm()
    form.set_offices([o for o in active_offices() if may_add_for_country(current_user, o.country_id)], language)
    form.set_languages(language)
    if request.method == "GET" and "office" in request.args:
        office = get_office_or_404(request.args.get("office", type=int))
        form.office.data = office.id if may_add_for_country(current_user, office.country_id) else None
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            contact = create_contact(
                actor=current_user,
                office=form.chosen_office(),
                started_on=form.started_on.data,
                confirm_duplicate=form.create_anyway.data,
                **form.contact_values(),
            )
        except DuplicateContact as duplicate:
            return render_template("contacts/form.html", form=form, contact=None, matches=duplicate.matches), 200
        except DomainError as error:
            return refuse(error, form, "contacts/form.html", contact=None, matches=[])
        done = submissions.led_to(form, url_for("contacts.show", contact_id=contact.id))
        flash_message(gettext("Contact saved."), "success")
        return redirect(done)
    return render_template("contacts/form.html", form=form, contact=None, matches=[]), form_status(form)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id):
    contact = get_contact_or_404(contact_id, need="amend")
    form = ContactEditForm(data=ContactEditForm.initial(contact) if request.method == "GET" else None)
    form.set_languages(current_language(), contact.language)
    if form.validate_on_submit():
        try:
            update_contact(contact, actor=current_user, expected_version=form.version.data, **form.contact_values())
        except DomainError as error:
            return refuse(error, form, "contacts/form.html", record=contact, contact=contact, matches=[])
        flash_message(gettext("Contact saved."), "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template("contacts/form.html", form=form, contact=contact, matches=[]), form_status(form)


@bp.route("/contacts/<int:contact_id>/deactivate", methods=["GET", "POST"])
@login_required
def deactivate(contact_id):
    contact = get_contact_or_404(contact_id, need="edit")
    form = ContactDeactivateForm(data={"version": contact.version} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            deactivate_contact(
                contact, actor=current_user, expected_version=form.version.data, ended_on=form.ended_on.data
            )
        except DomainError as error:
            return refuse(error, form, "contacts/deactivate.html", record=contact, contact=contact)
        flash_message(gettext("Contact marked inactive; their post ended."), "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template("contacts/deactivate.html", form=form, contact=contact), form_status(form)


@bp.route("/contacts/<int:contact_id>/move", methods=["GET", "POST"])
@login_required
def move(contact_id):
    contact = get_contact_or_404(contact_id, need="edit")
    language = current_language()
    initial = {
        "office": contact.office_id,
        "title": contact.title,
        "started_on": clock.today(current_user),
        "version": contact.version,
    }
    form = MoveForm(data=initial if request.method == "GET" else None)
    form.set_offices(active_offices(), language)
    if form.validate_on_submit():
        try:
            move_contact(
                contact,
                actor=current_user,
                office=form.chosen_office(),
                title=form.title.data,
                started_on=form.started_on.data,
                expected_version=form.version.data,
            )
        except DomainError as error:
            return refuse(error, form, "contacts/move.html", record=contact, contact=contact)
        flash_message(gettext("New post saved; the previous one is kept in the history."), "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template("contacts/move.html", form=form, contact=contact), form_status(form)


@bp.route("/contacts/<int:contact_id>/merge")
@login_required
def merge(contact_id):
    contact = get_contact_or_404(contact_id, need="edit")
    form = ContactFilterForm(request.args).apply()
    candidates = find_duplicates(contact.email, contact.name, contact.office, exclude=contact)
    found = []
    if form.q.data:
        statement = (
            search_contacts(query=form.q.data, status="all")
            .where(Contact.id != contact.id, Contact.merged_into_id.is_(None))
            .limit(25)
        )
        found = [other for other in db.session.scalars(statement).unique() if other not in candidates]
    return render_template("contacts/merge.html", contact=contact, form=form, candidates=candidates, found=found)


@bp.route("/contacts/<int:contact_id>/merge/<int:other_id>", methods=["GET", "POST"])
@login_required
def merge_confirm(contact_id, other_id):
    survivor = get_contact_or_404(contact_id, need="edit")
    merged = get_contact_or_404(other_id)
    form = MergeForm(
        data={"survivor_version": survivor.version, "merged_version": merged.version}
        if request.method == "GET"
        else None
    )
    try:
        preview = merge_preview(survivor, merged)
        if form.validate_on_submit():
            merge_contacts(
                survivor,
                merged,
                actor=current_user,
                survivor_version=form.survivor_version.data,
                merged_version=form.merged_version.data,
            )
            flash_message(
                gettext("Merged. The meetings, letters and posts of the duplicate are now on this record."), "success"
            )
            return redirect(url_for("contacts.show", contact_id=survivor.id))
    except DomainError as error:
        refusal(error)
        if isinstance(error, StaleRecord):  # show the confirmation again, with what is on file now
            return redirect(url_for("contacts.merge_confirm", contact_id=contact_id, other_id=other_id))
        return redirect(url_for("contacts.merge", contact_id=contact_id))
    return render_template(
        "contacts/merge_confirm.html",
        form=form,
        survivor=survivor,
        merged=merged,
        preview=preview,
    )


# Import and export

# An embassy list or a phone's whole address book (with photos) fits; a bigger file is split.
IMPORT_MAX_MB = 10
IMPORT_MAX_BYTES = IMPORT_MAX_MB * 1024 * 1024


def _staged_upload(form):
    """The file to import: the upload of the first step, staged on the server (readable by the app only,
    tied to the user), or the one staged then, found again by the token the preview carries."""
    owner = {"user_id": current_user.id}
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        try:
            return exchange.UPLOADS.stage(upload, owner=owner, max_bytes=IMPORT_MAX_BYTES)
        except TooLarge:
            raise exchange.ImportRejected(
                gettext("The file is larger than %(size)s MB; split it and import each part.", size=IMPORT_MAX_MB)
            ) from None
    if form.staged.data:
        staged = exchange.UPLOADS.find(form.staged.data, owner=owner)
        if staged is None:
            raise exchange.ImportRejected(gettext("That upload has expired or was discarded. Upload the file again."))
        return staged
    return None


def _chosen_mapping(headers: list[str]) -> dict[int, str]:
    """The column mapping the preview's selects chose, or, on the first upload, the one the headers say."""
    if not any(key.startswith("map-") for key in request.form):
        return exchange.detect_mapping(headers)
    mapping = {}
    for index in range(len(headers)):
        chosen = request.form.get(f"map-{index}", "")
        if chosen:
            if chosen not in exchange.COLUMNS:
                abort(400)
            mapping[index] = chosen
    return mapping


def _read_and_check(form, data: bytes, filename: str, context: dict):
    """Read the file with the chosen columns and check its rows, holding no write lock: the plan of the
    import, whose report is the preview."""
    file_format = form.file_format.data or exchange.guess_format(filename, data)
    if file_format == "csv":
        headers = exchange.csv_headers(data)
        context["headers"], context["mapping"] = headers, _chosen_mapping(headers)
        context["columns"] = list(exchange.COLUMNS)
    context["rows"] = exchange.read_file(data, file_format, context.get("mapping"))
    return exchange.plan_import(context["rows"], duplicates=form.duplicates.data)


@bp.route("/contacts/import", methods=["GET", "POST"])
@login_required
@require("edit_all")
def import_contacts():
    """Upload: a preview of what would be added (the import checked, nothing written). Confirm: the import
    itself, sent once (its submission key). The file waits on the server in between and is deleted when
    the import ends, however it ends."""
    form = ContactImportForm()
    context = {"form": form, "report": None, "problems": [], "rows": []}
    if not form.validate_on_submit():
        return render_template("contacts/import.html", **context), form_status(form)
    step, staged = request.form.get("step"), None
    importing = step == "import" and not form.file.data
    if importing and submissions.where_it_went(form.submission_key.data, current_user) is not None:
        return submissions.repeat_of(form)  # already imported: its file is gone, its answer is not
    try:
        staged = _staged_upload(form)
        if staged is None:
            form.file.errors = [gettext("Choose a file to import.")]
            return render_template("contacts/import.html", **context), 400
        if step == "discard":
            exchange.UPLOADS.discard(staged.token)
            flash_message(gettext("Upload discarded."), "info")
            return redirect(url_for("contacts.import_contacts"))
        form.staged.data = staged.token
        if importing:
            with exchange.UPLOADS.importing(staged) as handle:
                plan = _read_and_check(form, handle.read(), staged.filename, context)
                # The check committed nothing; the key is recorded with what the import writes.
                if (repeat := submissions.repeat_of(form)) is not None:
                    return repeat
                report = exchange.write_import(plan, actor=current_user, today=clock.today(current_user))
                submissions.led_to(form, url_for("contacts.import_contacts"))
            flash_message(
                gettext(
                    "Import done: %(added)s contacts added, %(offices)s offices added.",
                    added=report.contacts_added,
                    offices=report.offices_added,
                ),
                "success",
            )
            return render_template(
                "contacts/import.html",
                **{**context, "report": report, "preview": False, "form": ContactImportForm(formdata=None)},
            )
        with staged.open() as handle:
            data = handle.read()
        report = _read_and_check(form, data, staged.filename, context).report
        return render_template("contacts/import.html", **{**context, "report": report, "preview": True})
    except exchange.ImportRejected as error:
        refusal(error)
        # A CSV whose columns were read can be mapped again and previewed: its file waits. Anything else
        # must be uploaded again, so its file goes now.
        again = "headers" in context and staged is not None and staged.path.exists()
        if staged is not None and not again:
            exchange.UPLOADS.discard(staged.token)
            form.staged.data = ""
        return render_template("contacts/import.html", **{**context, "problems": error.problems, "preview": again}), 400


@bp.route("/contacts/export.<any(csv, vcf):extension>")
@login_required
@require("export")
def export_contacts(extension):
    statement = contact_visibility(current_user, sa.select(Contact))
    if extension == "csv":
        text, mimetype = exchange.export_csv(statement), "text/csv"
    else:
        text, mimetype = exchange.export_vcard(statement), "text/vcard"
    audit.record(
        "export.contacts",
        actor=current_user,
        entity_type="contact",
        after={"format": extension, "rows": text.count("\n") if extension == "csv" else text.count("BEGIN:VCARD")},
    )
    return Response(
        text.encode("utf-8"),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="contacts.{extension}"', "Cache-Control": "no-store"},
    )
