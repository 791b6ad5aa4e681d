"""The coordinators' assignment board, volunteers' claims and each person's own work list."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from crm import clock
from crm.accounts.models import User
from crm.campaigns.models import Campaign
from crm.core import submissions
from crm.core.forms import ConfirmForm
from crm.countries.models import Country
from crm.database import pageable
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import current_language
from crm.outreach import assignments
from crm.outreach.forms import BulkAssignForm, ClaimDecisionForm, ClaimForm
from crm.outreach.models import Claim, OutreachRecord
from crm.outreach.routes import bp
from crm.outreach.services import TRANSLATED_CAMPAIGN
from crm.permissions import can, ensure_writable, require
from crm.translation import gettext, ngettext
from crm.web import flash_message, page_of, refusal


def _campaigns():
    return db.session.scalars(
        sa.select(Campaign).where(Campaign.archived_at.is_(None)).order_by(Campaign.created_at.desc())
    ).all()


def _chosen_campaign(campaigns):
    slug = request.args.get("campaign") or request.form.get("campaign")
    if slug:
        return next((c for c in campaigns if c.slug == slug), None) or abort(404)
    return campaigns[0] if campaigns else None


def _assignee_choices(users):
    return [("", gettext("— choose —")), (BulkAssignForm.UNASSIGN, gettext("Nobody: unassign them"))] + [
        (str(u.id), u.name) for u in users
    ]


@bp.route("/board")
@login_required
@require("assign")
def board():
    campaigns = _campaigns()
    campaign = _chosen_campaign(campaigns)
    records = []
    if campaign is not None:
        records = db.session.scalars(
            sa.select(OutreachRecord)
            .where(OutreachRecord.campaign_id == campaign.id)
            .options(
                selectinload(OutreachRecord.country),
                selectinload(OutreachRecord.assignee),
                selectinload(OutreachRecord.campaign),
            )
        ).all()
        records.sort(key=lambda r: r.country.name(str(current_user.language)))
    form = BulkAssignForm(campaign=campaign.slug if campaign else "")
    people = assignments.workload(campaign)
    form.assignee.choices = _assignee_choices([w.user for w in people])
    return render_template(
        "outreach/board.html",
        campaigns=campaigns,
        campaign=campaign,
        records=records,
        form=form,
        workload=people,
        stalled=assignments.stalled(records),
        activity=assignments.last_activity(r.id for r in records),
        claims=assignments.pending_claims(campaign),
        decide=ClaimDecisionForm(),
    )


@bp.route("/board/assign", methods=["POST"])
@login_required
@require("assign")
def bulk_assign():
    form = BulkAssignForm()
    staff = {u.id: u for u in db.session.scalars(sa.select(User).where(User.active.is_(True)))}
    form.assignee.choices = _assignee_choices(staff.values())
    try:
        ids = [int(value) for value in request.form.getlist("record")]
    except ValueError:
        abort(400)
    campaign_slug = form.campaign.data or None
    unassign = form.assignee.data == BulkAssignForm.UNASSIGN
    if not form.validate_on_submit():
        flash_message(gettext("Nothing changed: choose who to assign the records to."), "error")
    elif not ids:
        flash_message(gettext("Nothing changed: tick at least one record."), "error")
    elif unassign and not form.confirm_unassign.data:
        flash_message(
            gettext("Nothing changed: to leave the records with nobody, tick the box that confirms it."), "error"
        )
    else:
        records = db.session.scalars(sa.select(OutreachRecord).where(OutreachRecord.id.in_(ids))).all()
        if len(records) != len(set(ids)):
            abort(404)
        ensure_writable(*{record.campaign for record in records})
        try:
            changed = assignments.set_assignee(
                records, None if unassign else staff.get(int(form.assignee.data)), actor=current_user
            )
        except DomainError as error:
            refusal(error)
        else:
            message = ngettext("%(num)s record changed.", "%(num)s records changed.", len(changed))
            if changed.follow_ups_moved:
                message += " " + ngettext(
                    "%(num)s open follow-up moved to the new assignee.",
                    "%(num)s open follow-ups moved to the new assignee.",
                    changed.follow_ups_moved,
                )
            flash_message(message, "success")
    return redirect(url_for("outreach.board", campaign=campaign_slug) if campaign_slug else url_for("outreach.board"))


@bp.route("/claims/<int:claim_id>/decide", methods=["POST"])
@login_required
@require("assign")
def decide_claim(claim_id):
    claim = db.session.get(Claim, claim_id) or abort(404)
    ensure_writable(claim.outreach.campaign)
    form = ClaimDecisionForm()
    if form.validate_on_submit():
        try:
            assignments.decide_claim(claim, approve=form.decision.data == "approve", actor=current_user)
        except DomainError as error:
            refusal(error)
        else:
            flash_message(gettext("Request decided."), "success")
    return redirect(url_for("outreach.board", campaign=claim.outreach.campaign.slug))


@bp.route("/claims")
@login_required
@require("claim")
def claims():
    records, pending = assignments.claimable_records(current_user)
    records.sort(
        key=lambda r: (r.campaign.display_name(current_user.language), r.country.name(str(current_user.language)))
    )
    claim_forms = {record.id: ClaimForm() for record in records if record.id not in pending}
    return render_template(
        "outreach/claims.html", records=records, pending=pending, confirm=ConfirmForm(), claim_forms=claim_forms
    )


@bp.route("/claims/new/<int:outreach_id>", methods=["POST"])
@login_required
@require("claim")
def claim(outreach_id):
    record = db.session.get(OutreachRecord, outreach_id)
    repeated = submissions.where_it_went(request.form.get("submission_key", ""), current_user) is not None
    if record is None or (record.assignee_id is not None and not repeated):
        abort(404)  # an assigned record is not offered, and its existence is not confirmed
    ensure_writable(record.campaign)
    form = ClaimForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            claim_ = assignments.claim(record, current_user)
        except DomainError as error:
            refusal(error)
        else:
            if claim_.status == "approved":
                flash_message(gettext("It is yours now."), "success")
                return redirect(submissions.led_to(form, url_for("outreach.show", outreach_id=record.id)))
            flash_message(gettext("Asked. A coordinator will approve it."), "success")
            return redirect(submissions.led_to(form, url_for("outreach.claims")))
    return redirect(url_for("outreach.claims"))


@bp.route("/claims/<int:claim_id>/withdraw", methods=["POST"])
@login_required
def withdraw_claim(claim_id):
    claim_ = db.session.get(Claim, claim_id)
    if claim_ is None or claim_.volunteer_id != current_user.id:
        abort(404)
    ensure_writable(claim_.outreach.campaign)
    if ConfirmForm().validate_on_submit():
        try:
            assignments.withdraw_claim(claim_, actor=current_user)
        except DomainError as error:
            refusal(error)
        else:
            flash_message(gettext("Request withdrawn."), "success")
    return redirect(url_for("outreach.claims"))


@lru_cache(maxsize=4)
def _my_work_statement(shown_in_spanish: bool, sorted_in_spanish: bool) -> sa.Select:
    # Built once for each way of naming and sorting the countries: the person and the language are
    # parameters.
    shown_name = Country.name_es if shown_in_spanish else Country.name_en
    sort_name = Country.name_es if sorted_in_spanish else Country.name_en
    translated = TRANSLATED_CAMPAIGN
    return pageable(
        sa.select(
            OutreachRecord.id,
            OutreachRecord.next_follow_up_on,
            OutreachRecord.stage,
            shown_name.label("country_name"),
            sa.func.coalesce(translated.name, Campaign.name).label("campaign_name"),
        )
        .join(Country, Country.id == OutreachRecord.country_id)
        .join(Campaign, Campaign.id == OutreachRecord.campaign_id)
        .outerjoin(
            translated, sa.and_(translated.campaign_id == Campaign.id, translated.language == sa.bindparam("language"))
        )
        # Open campaigns only (as open_records() says), on the campaign already joined: a subquery of
        # every open record cost PostgreSQL a hash of all 3,000 of them on each page.
        .where(OutreachRecord.assignee_id == sa.bindparam("assignee"), Campaign.archived_at.is_(None))
        .order_by(
            OutreachRecord.next_follow_up_on.is_(None), OutreachRecord.next_follow_up_on, sort_name, OutreachRecord.id
        )
    )


@bp.route("/my-work")
@login_required
def my_work():
    """My records, the ones with the earliest next follow-up first (overdue at the top). An archived
    campaign's records leave it: there is nothing left to do on them."""
    # A page of rows (a volunteer may hold hundreds of records), sorted by the database.
    language = current_language()
    statement = _my_work_statement(language == "es", str(current_user.language).startswith("es"))
    page = page_of(statement, rows=True, params={"assignee": current_user.id, "language": language})
    return render_template(
        "outreach/my_work.html",
        page=page,
        today=clock.today(current_user),
        may_claim=can(current_user, "claim"),
    )
