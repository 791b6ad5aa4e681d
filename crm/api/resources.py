"""The JSON API's resources under /api/v1/: each view asks crm/permissions.py exactly what the page of
the same record asks (the token's owner is the current user), and calls the same services."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api import schemas
from crm.api.conventions import check_if_match, etag_of, paginate
from crm.campaigns.models import Campaign
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp, OutreachRecord, Position
from crm.permissions import (
    ensure_writable,
    follow_up_visibility,
    get_campaign_or_404,
    get_outreach_or_404,
    may_edit_outreach,
    outreach_visibility,
)

campaigns = Blueprint(
    "api_campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns and their demands"
)
countries = Blueprint(
    "api_countries", __name__, url_prefix="/api/v1/countries", description="Countries and the Rome Statute"
)
outreach_bp = Blueprint(
    "api_outreach", __name__, url_prefix="/api/v1/outreach", description="Outreach records and their positions"
)
follow_ups = Blueprint("api_follow_ups", __name__, url_prefix="/api/v1/follow-ups", description="Follow-ups")

BLUEPRINTS = (campaigns, countries, outreach_bp, follow_ups)


# --- Campaigns ------------------------------------------------------------------------------------------


@campaigns.route("/")
@campaigns.arguments(schemas.PageArguments, location="query")
@campaigns.response(200, schemas.CampaignPage)
def list_campaigns(arguments):
    """Every campaign, archived ones included (as the campaigns' pages show them to every signed-in user)."""
    return paginate(sa.select(Campaign), [Campaign.id], arguments)


@campaigns.route("/<slug>")
@campaigns.response(200, schemas.CampaignSchema)
def get_campaign(slug):
    return get_campaign_or_404(slug)


# --- Countries ------------------------------------------------------------------------------------------


@countries.route("/")
@countries.arguments(schemas.CountryFilter, location="query")
@countries.response(200, schemas.CountryPage)
def list_countries(arguments):
    statement = sa.select(Country)
    if arguments.get("status"):
        statement = statement.where(Country.rs_status == arguments["status"])
    return paginate(statement, [Country.alpha3], arguments)


@countries.route("/<alpha3>")
@countries.response(200, schemas.CountrySchema)
def get_country(alpha3):
    country = country_by_code(alpha3.upper()) if len(alpha3) == 3 else None
    if country is None:
        abort(404)
    return country


# --- Outreach records and positions ---------------------------------------------------------------------


@outreach_bp.route("/")
@outreach_bp.arguments(schemas.OutreachFilter, location="query")
@outreach_bp.response(200, schemas.OutreachPage)
def list_outreach(arguments):
    """The outreach records the token's owner may see: every record for staff who see all, their own
    assigned records for volunteers (the same rule as the pages)."""
    statement = outreach_visibility(current_user, sa.select(OutreachRecord))
    if arguments.get("campaign"):
        statement = statement.where(
            OutreachRecord.campaign_id.in_(sa.select(Campaign.id).where(Campaign.slug == arguments["campaign"]))
        )
    if arguments.get("stage"):
        statement = statement.where(OutreachRecord.stage == arguments["stage"])
    if arguments.get("country"):
        statement = statement.where(
            OutreachRecord.country_id.in_(sa.select(Country.id).where(Country.alpha3 == arguments["country"].upper()))
        )
    return paginate(statement, [OutreachRecord.id], arguments)


@outreach_bp.route("/<int:outreach_id>")
@outreach_bp.response(200, schemas.OutreachDetailSchema)
def get_outreach(outreach_id):
    record = get_outreach_or_404(outreach_id)
    record.positions_shown = outreach.positions_of(record)
    return record, 200, {"ETag": etag_of(record)}


@outreach_bp.route("/<int:outreach_id>/positions")
@outreach_bp.arguments(schemas.PageArguments, location="query")
@outreach_bp.response(200, schemas.PositionPage)
def list_positions(arguments, outreach_id):
    """Every position recorded for one government, the oldest first: the history behind its current stance."""
    record = get_outreach_or_404(outreach_id)
    return paginate(sa.select(Position).where(Position.outreach_id == record.id), [Position.id], arguments)


# --- Follow-ups -----------------------------------------------------------------------------------------


@follow_ups.route("/")
@follow_ups.arguments(schemas.FollowUpFilter, location="query")
@follow_ups.response(200, schemas.FollowUpPage)
def list_follow_ups(arguments):
    statement = follow_up_visibility(current_user, sa.select(FollowUp))
    if arguments.get("status"):
        statement = statement.where(FollowUp.status == arguments["status"])
    return paginate(statement, [FollowUp.id], arguments)


def _follow_up_or_404(follow_up_id) -> FollowUp:
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404)
    get_outreach_or_404(follow_up.outreach_id)
    return follow_up


@follow_ups.route("/<int:follow_up_id>")
class FollowUpItem(MethodView):
    # One rule for both methods: an id too large for any record is a 404 whatever the method.

    @follow_ups.response(200, schemas.FollowUpSchema)
    def get(self, follow_up_id):
        follow_up = _follow_up_or_404(follow_up_id)
        return follow_up, 200, {"ETag": etag_of(follow_up)}

    @follow_ups.arguments(schemas.FollowUpChangeSchema)
    @follow_ups.response(200, schemas.FollowUpSchema)
    def patch(self, change, follow_up_id):
        """Close a follow-up (status `done`), as its record's page does. Send If-Match with its ETag."""
        follow_up = _follow_up_or_404(follow_up_id)
        record = follow_up.outreach
        if not may_edit_outreach(current_user, record):
            abort(404)
        ensure_writable(record.campaign)
        check_if_match(follow_up)
        outreach.complete_follow_up(follow_up, actor=current_user._get_current_object())
        db.session.flush()
        return follow_up, 200, {"ETag": etag_of(follow_up)}
