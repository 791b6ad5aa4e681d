"""Administration pages: users (admins) and the audit log (admins and managers). Nothing here edits
the audit log: it is append-only."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.accounts import invitations
from crm.accounts.models import User
from crm.accounts.services import create_user
from crm.admin.forms import AuditFilterForm, InviteForm, NewUserForm, PrivacyEraseForm, PrivacySearchForm, UserForm
from crm.admin.services import AUDITED_TYPES, audit_events, set_active, update_user
from crm.backup.models import backup_status
from crm.core import submissions
from crm.core.forms import ConfirmForm
from crm.database import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.permissions import get_invitation_or_404, require
from crm.privacy.services import erase_person, find_person, petitions_by_id
from crm.translation import gettext
from crm.web import flash_message, form_status, page_of, refusal

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@login_required
@require("manage_users")
def users():
    people = db.session.scalars(sa.select(User).order_by(User.active.desc(), User.name)).all()
    return render_template(
        "admin/users.html",
        users=people,
        confirm=ConfirmForm(),
        invitations=invitations.open_invitations(),
        backup=backup_status(scheduled=bool(current_app.config.get("BACKUP_DIR"))),
    )


@bp.route("/users/invite", methods=["GET", "POST"])
@login_required
@require("manage_users")
def invite():
    form = InviteForm(language=current_user.language)
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            invitation = invitations.invite(
                form.email.data,
                form.role.data,
                language=form.language.data,
                name=form.name.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as error:
            refusal(error, form, beside="email")
        else:
            done = submissions.led_to(form, url_for("admin.users"))
            flash_message(
                gettext(
                    "Invitation sent to %(email)s. It waits in the outbox until the mail server accepts it.",
                    email=invitation.user.email,
                ),
                "success",
            )
            return redirect(done)
    return render_template("admin/invite.html", form=form), form_status(form)


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@login_required
@require("manage_users")
def resend_invitation(invitation_id):
    invitation = get_invitation_or_404(invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        invitations.resend(invitation, actor=current_user, now=utcnow())
    except DomainError as error:
        refusal(error)
    else:
        flash_message(
            gettext(
                "Invitation sent again to %(email)s; the earlier link no longer works.", email=invitation.user.email
            ),
            "success",
        )
    return redirect(url_for("admin.users"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
@require("manage_users")
def revoke_invitation(invitation_id):
    invitation = get_invitation_or_404(invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        invitations.revoke(invitation, actor=current_user, now=utcnow())
    except DomainError as error:
        refusal(error)
    else:
        flash_message(gettext("Invitation to %(email)s revoked.", email=invitation.user.email), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
@require("manage_users")
def new_user():
    form = NewUserForm(language=current_user.language)
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            user = create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.password.data,
                language=form.language.data,
                actor=current_user,
            )
        except DomainError as error:
            refusal(error, form, beside="email")
        else:
            done = submissions.led_to(form, url_for("admin.users"))
            flash_message(gettext("Account created for %(email)s.", email=user.email), "success")
            return redirect(done)
    return render_template("admin/user_form.html", form=form, user=None), form_status(form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
@require("manage_users")
def edit_user(user_id):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        try:
            update_user(user, actor=current_user, name=form.name.data, role=form.role.data, language=form.language.data)
        except DomainError as error:
            refusal(error, form, beside="role")
        else:
            flash_message(gettext("Saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user), form_status(form)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@login_required
@require("manage_users")
def set_user_active(user_id):
    user = db.session.get(User, user_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            set_active(user, request.form.get("active") == "1", actor=current_user)
        except DomainError as error:
            refusal(error)
        else:
            flash_message(gettext("Saved."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/audit")
@login_required
@require("view_audit")
def audit_log():
    form = AuditFilterForm(request.args)
    form.entity_type.choices = [("", gettext("Any"))] + [(t, t) for t in AUDITED_TYPES]
    if not form.validate():
        form = AuditFilterForm(formdata=None)
        form.entity_type.choices = [("", gettext("Any"))] + [(t, t) for t in AUDITED_TYPES]
    statement = audit_events(
        action=form.action.data,
        actor=form.actor.data,
        entity_type=form.entity_type.data,
        entity_id=form.entity_id.data,
        since=form.since.data,
        until=form.until.data,
    )
    page = page_of(statement)
    return render_template("admin/audit.html", form=form, page=page)


@bp.route("/privacy", methods=["GET", "POST"])
@login_required
@require("manage_users")
def privacy():
    """A data subject request: find what is held for an e-mail address, and erase it."""
    search = PrivacySearchForm(request.args)
    erase = PrivacyEraseForm()
    found = None
    if request.method == "POST":
        if erase.validate_on_submit():
            try:
                result = erase_person(find_person(erase.email.data), actor=current_user, reason=erase.reason.data)
            except DomainError as error:
                refusal(error, erase, beside="reason")
            else:
                flash_message(
                    gettext(
                        "Erased: %(contacts)s contacts and %(signatures)s signatures.",
                        contacts=result.contacts,
                        signatures=result.signatures + result.statement_signatures,
                    ),
                    "success",
                )
                return redirect(url_for("admin.privacy"))
        search = PrivacySearchForm(formdata=None, email=erase.email.data)
    if search.email.data and search.validate():
        found = find_person(search.email.data)
        erase.email.data = search.email.data
    return render_template(
        "admin/privacy.html",
        search=search,
        erase=erase,
        found=found,
        petitions=petitions_by_id({s.petition_id for s in found.signatures}) if found else {},
    ), form_status(erase)
