"""Campaign set-up pages: create and describe a campaign, write and order its demands, its settings,
archiving, and its target governments. Views load, check, validate, call a service, redirect."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from crm.accounts.models import User
from crm.campaigns import services as campaigns
from crm.campaigns import targets
from crm.campaigns.forms import (
    ConfirmedForm,
    DemandForm,
    DescriptionForm,
    MoveForm,
    NewCampaignForm,
    NewDemandForm,
    SettingsForm,
    TargetsForm,
)
from crm.campaigns.models import Campaign
from crm.core import submissions
from crm.countries.models import Region
from crm.database import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import current_language
from crm.outreach.models import OutreachRecord
from crm.permissions import can, ensure_writable, get_campaign_or_404, get_demand_or_404, require, roles_that_can
from crm.translation import gettext, ngettext
from crm.web import flash_message, form_status, refusal

bp = Blueprint("campaigns", __name__)


def refuse(error: DomainError, form, template: str, **context):
    """Re-show a form after a service refused it (crm.web.refusal), with what the user typed."""
    status = refusal(error, form)
    return render_template(template, form=form, **context), status


@bp.route("/campaigns/manage")
@login_required
@require("manage_targets")
def index():
    return render_template(
        "campaigns/index.html",
        campaigns=campaigns.campaigns_for_listing(include_archived=True),
        counts=campaigns.target_counts(),
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
@require("manage_campaigns")
def new():
    form = NewCampaignForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            if not form.wordings():
                raise campaigns.CampaignError(gettext("Write at least one demand."))
            campaign = campaigns.create_campaign(actor=current_user, demands=form.wordings(), **form.values())
        except DomainError as error:
            return refuse(error, form, "campaigns/new.html")
        done = submissions.led_to(form, url_for("campaigns.targets_page", slug=campaign.slug))
        flash_message(gettext("Campaign created. Now add its target governments."), "success")
        return redirect(done)
    return render_template("campaigns/new.html", form=form), form_status(form)


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
@login_required
@require("manage_campaigns")
def edit(slug):
    campaign = get_campaign_or_404(slug)
    form = DescriptionForm(obj=campaign, **DescriptionForm.data_of(campaign))
    if form.validate_on_submit():
        try:
            campaigns.update_campaign(campaign, actor=current_user, **form.values())
        except DomainError as error:
            return refuse(error, form, "campaigns/edit.html", campaign=campaign, archive_form=ConfirmedForm())
        flash_message(gettext("Campaign saved."), "success")
        return redirect(url_for("campaigns.edit", slug=campaign.slug))
    return render_template(
        "campaigns/edit.html", form=form, campaign=campaign, archive_form=ConfirmedForm()
    ), form_status(form)


@bp.route("/campaigns/<slug>/archive", methods=["POST"])
@login_required
@require("manage_campaigns")
def archive(slug):
    # Archiving twice changes nothing (the service says so), so an archived campaign is not refused here.
    campaign = Campaign.by_slug(slug) or abort(404)
    form = ConfirmedForm()
    if not form.validate_on_submit():
        return render_template(
            "campaigns/edit.html",
            form=DescriptionForm(obj=campaign, **DescriptionForm.data_of(campaign)),
            campaign=campaign,
            archive_form=form,
        ), 400
    campaigns.archive_campaign(campaign, actor=current_user, now=utcnow())
    flash_message(
        gettext("Campaign archived: it is read-only and no longer in menus, dashboards or reminders."), "success"
    )
    return redirect(url_for("campaigns.index"))


def _coordinator_choices():
    users = db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.role.in_(roles_that_can("coordinate"))).order_by(User.name)
    ).all()
    return [(0, gettext("Nobody"))] + [(u.id, u.name) for u in users]


@bp.route("/campaigns/<slug>/settings", methods=["GET", "POST"])
@login_required
@require("manage_campaigns")
def settings(slug):
    campaign = get_campaign_or_404(slug)
    form = SettingsForm(obj=campaign, default_coordinator=campaign.default_coordinator_id or 0)
    form.default_coordinator.choices = _coordinator_choices()
    if form.validate_on_submit():
        chosen = db.session.get(User, form.default_coordinator.data) if form.default_coordinator.data else None
        try:
            campaigns.update_settings(
                campaign,
                actor=current_user,
                reply_days=form.reply_days.data,
                stall_days=form.stall_days.data,
                claims_need_approval=form.claims_need_approval.data,
                default_coordinator=chosen,
            )
        except DomainError as error:
            return refuse(error, form, "campaigns/settings.html", campaign=campaign)
        flash_message(gettext("Settings saved."), "success")
        return redirect(url_for("campaigns.settings", slug=campaign.slug))
    return render_template("campaigns/settings.html", form=form, campaign=campaign), form_status(form)


def _render_demands(campaign, form, status=200):
    with_positions = campaigns.demands_with_positions(campaign)
    return render_template(
        "campaigns/demands.html",
        campaign=campaign,
        form=form,
        move=MoveForm(),
        retire=ConfirmedForm(),
        has_positions={d.id: d.id in with_positions for d in campaign.demands},
    ), status


@bp.route("/campaigns/<slug>/demands", methods=["GET", "POST"])
@login_required
@require("manage_campaigns")
def demands(slug):
    campaign = get_campaign_or_404(slug)
    form = NewDemandForm()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            campaigns.add_demand(campaign, form.wording(), actor=current_user)
        except DomainError as error:
            refusal(error, form, beside="label")
            return _render_demands(campaign, form, form_status(form))
        done = submissions.led_to(form, url_for("campaigns.demands", slug=campaign.slug))
        flash_message(gettext("Demand added."), "success")
        return redirect(done)
    return _render_demands(campaign, form, form_status(form))


@bp.route("/demands/<int:demand_id>/edit", methods=["GET", "POST"])
@login_required
@require("manage_campaigns")
def edit_demand(demand_id):
    demand = get_demand_or_404(demand_id)
    label_es, text_es = next(
        ((t.title, t.description) for t in demand.translations if t.language == "es"), (None, None)
    )
    form = DemandForm(
        data={"label": demand.title, "text": demand.description, "label_es": label_es, "text_es": text_es}
    )
    if form.validate_on_submit():
        try:
            campaigns.reword_demand(demand, form.wording(), actor=current_user)
        except DomainError as error:
            return refuse(error, form, "campaigns/demand_form.html", demand=demand)
        flash_message(gettext("Demand saved."), "success")
        return redirect(url_for("campaigns.demands", slug=demand.campaign.slug))
    return render_template("campaigns/demand_form.html", form=form, demand=demand), form_status(form)


@bp.route("/demands/<int:demand_id>/move", methods=["POST"])
@login_required
@require("manage_campaigns")
def move_demand(demand_id):
    demand = get_demand_or_404(demand_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        campaigns.move_demand(demand, int(form.step.data), actor=current_user)
    except DomainError as error:
        refusal(error)
    return redirect(url_for("campaigns.demands", slug=demand.campaign.slug))


@bp.route("/demands/<int:demand_id>/retire", methods=["POST"])
@login_required
@require("manage_campaigns")
def retire_demand(demand_id):
    demand = get_demand_or_404(demand_id)
    campaign = demand.campaign
    form = ConfirmedForm()
    if not form.validate_on_submit():
        flash_message(gettext("Tick the box to confirm."), "error")
        return _render_demands(campaign, NewDemandForm(formdata=None), 400)
    try:
        outcome = campaigns.retire_demand(demand, actor=current_user, now=utcnow())
    except DomainError as error:
        refusal(error)
        return redirect(url_for("campaigns.demands", slug=campaign.slug))
    flash_message(
        gettext("Demand retired: the positions recorded on it stay.")
        if outcome == "retired"
        else gettext("Demand deleted."),
        "success",
    )
    return redirect(url_for("campaigns.demands", slug=campaign.slug))


def _targets_form(formdata=...):
    form = TargetsForm() if formdata is ... else TargetsForm(formdata=formdata)
    spanish = current_language() == "es"
    regions = db.session.scalars(sa.select(Region).order_by(Region.level, Region.name_en)).all()
    form.region.choices = [("", gettext("Any"))] + [
        (r.code, f"{(r.name_es if spanish and r.name_es else r.name_en)} ({r.code})") for r in regions
    ]
    return form


def _render_targets(campaign, form, status=200):
    records = db.session.scalars(
        sa.select(OutreachRecord)
        .where(OutreachRecord.campaign_id == campaign.id)
        .options(selectinload(OutreachRecord.country), selectinload(OutreachRecord.assignee))
    ).all()
    records.sort(key=lambda r: r.country.name(current_language()))
    return render_template(
        "campaigns/targets.html",
        campaign=campaign,
        form=form,
        records=records,
        remove=ConfirmedForm(),
        may_manage=can(current_user, "manage_campaigns"),
    ), status


@bp.route("/campaigns/<slug>/targets", methods=["GET", "POST"])
@login_required
@require("manage_targets")
def targets_page(slug):
    campaign = get_campaign_or_404(slug)
    form = _targets_form()
    if form.validate_on_submit():
        if (repeat := submissions.repeat_of(form)) is not None:
            return repeat
        try:
            report = targets.add_targets(
                campaign,
                actor=current_user,
                region=form.region.data,
                rome_status=form.rome_status.data,
                names=targets.split_names(form.names.data),
            )
        except DomainError as error:
            refusal(error, form)
            return _render_targets(campaign, form, form_status(form))
        submissions.led_to(form, url_for("campaigns.targets_page", slug=campaign.slug))
        message = ngettext("%(num)s target government added.", "%(num)s target governments added.", len(report.added))
        if report.already:
            message += " " + ngettext(
                "%(num)s was already a target.", "%(num)s were already targets.", len(report.already)
            )
        flash_message(message, "success")
        return redirect(url_for("campaigns.targets_page", slug=campaign.slug))
    return _render_targets(campaign, form, form_status(form))


@bp.route("/outreach/<int:outreach_id>/remove-target", methods=["POST"])
@login_required
@require("manage_targets")
def remove_target(outreach_id):
    record = db.session.get(OutreachRecord, outreach_id) or abort(404)
    campaign = record.campaign
    ensure_writable(campaign)
    form = ConfirmedForm()
    if not form.validate_on_submit():
        flash_message(gettext("Tick the box to confirm."), "error")
        return _render_targets(campaign, _targets_form(formdata=None), 400)
    name = record.country.name(current_language())
    try:
        outcome = targets.remove_target(record, actor=current_user)
    except DomainError as error:
        refusal(error)
        return redirect(url_for("campaigns.targets_page", slug=campaign.slug))
    flash_message(
        gettext("%(country)s removed from the campaign.", country=name)
        if outcome == "removed"
        else gettext("%(country)s has history, so it was closed instead of removed.", country=name),
        "success",
    )
    return redirect(url_for("campaigns.targets_page", slug=campaign.slug))
