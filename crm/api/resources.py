"""The JSON API's resources under /api/v1/: each view asks crm/permissions.py exactly what the page of
the same record asks (the token's owner is the current user), and calls the same services."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from crm.accounts.models import User
from crm.api import schemas
from crm.api.conventions import IDEMPOTENCY_PARAMETER, check_if_match, idempotent, paginate, tagged
from crm.campaigns.models import Campaign, Demand
from crm.contacts import services as contact_services
from crm.contacts.models import Contact, Office
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.errors import DomainError
from crm.extensions import db
from crm.letters import services as letters
from crm.letters.models import Letter
from crm.outreach import services as outreach
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, Position
from crm.permissions import (
    can_amend_contact,
    contact_visibility,
    follow_up_visibility,
    get_campaign_or_404,
    get_contact_or_404,
    get_follow_up_or_404,
    get_letter_or_404,
    get_meeting_or_404,
    get_office_or_404,
    get_outreach_or_404,
    get_position_or_404,
    get_statement_or_404,
    may_add_for_country,
    meeting_visibility,
    office_visibility,
    outreach_visibility,
)
from crm.signatures.models import Petition
from crm.signatures.totals import daily_totals, totals_for
from crm.statements.models import StatementSignature
from crm.translation import gettext


class ApiRefusal(DomainError):
    """A request the API refuses by a rule of its own (a demand code the campaign does not have)."""

    status = 422


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
    return tagged(record)


@outreach_bp.route("/<int:outreach_id>/positions")
class OutreachPositions(MethodView):
    @outreach_bp.arguments(schemas.PageArguments, location="query")
    @outreach_bp.response(200, schemas.PositionPage)
    def get(self, arguments, outreach_id):
        """Every position recorded for one government, the oldest first: the history behind its stance."""
        record = get_outreach_or_404(outreach_id)
        return paginate(sa.select(Position).where(Position.outreach_id == record.id), [Position.id], arguments)

    @outreach_bp.arguments(schemas.NewPositionSchema)
    @outreach_bp.response(201, schemas.PositionSchema)
    @outreach_bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
    @idempotent(get_position_or_404)
    def post(self, new, outreach_id):
        """Record a government's position on one demand (the old ones stay: history is never rewritten)."""
        record = get_outreach_or_404(outreach_id, need="edit")
        demand = db.session.scalar(
            sa.select(Demand).where(Demand.campaign_id == record.campaign_id, Demand.code == new["demand_code"])
        )
        if demand is None:
            raise ApiRefusal(gettext("This campaign has no demand with that code."), field="demand_code")
        return outreach.record_position(
            record,
            demand,
            new["stance"],
            new["stated_on"],
            actor=current_user._get_current_object(),
            evidence=new["evidence"],
            evidence_url=new["evidence_url"],
        )


@outreach_bp.route("/<int:outreach_id>/follow-ups", methods=["POST"])
@outreach_bp.arguments(schemas.NewFollowUpSchema)
@outreach_bp.response(201, schemas.FollowUpSchema)
@outreach_bp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@idempotent(get_follow_up_or_404)
def create_follow_up(new, outreach_id):
    """Add the next step on a record, with an owner and a due date (the record's New follow-up page)."""
    record = get_outreach_or_404(outreach_id, need="edit")
    owner_id = new["owner_id"] or record.assignee_id or current_user.id
    owner = db.session.get(User, owner_id)
    return outreach.add_follow_up(
        record,
        owner=owner if owner is not None and owner.active else None,
        due_on=new["due_on"],
        note=new["note"],
        actor=current_user._get_current_object(),
    )


# --- Follow-ups -----------------------------------------------------------------------------------------


@follow_ups.route("/")
@follow_ups.arguments(schemas.FollowUpFilter, location="query")
@follow_ups.response(200, schemas.FollowUpPage)
def list_follow_ups(arguments):
    statement = follow_up_visibility(current_user, sa.select(FollowUp))
    if arguments.get("status"):
        statement = statement.where(FollowUp.status == arguments["status"])
    return paginate(statement, [FollowUp.id], arguments)


@follow_ups.route("/<int:follow_up_id>")
class FollowUpItem(MethodView):
    # One rule for both methods: an id too large for any record is a 404 whatever the method.

    @follow_ups.response(200, schemas.FollowUpSchema)
    def get(self, follow_up_id):
        follow_up = get_follow_up_or_404(follow_up_id)
        return tagged(follow_up)

    @follow_ups.arguments(schemas.FollowUpChangeSchema)
    @follow_ups.response(200, schemas.FollowUpSchema)
    def patch(self, change, follow_up_id):
        """Close a follow-up (status `done`), as its record's page does. Send If-Match with its ETag."""
        follow_up = get_follow_up_or_404(follow_up_id, need="change")
        check_if_match(follow_up)
        outreach.complete_follow_up(follow_up, actor=current_user._get_current_object())
        db.session.flush()
        return tagged(follow_up)


# --- Meetings and letters -------------------------------------------------------------------------------

meetings = Blueprint("api_meetings", __name__, url_prefix="/api/v1/meetings", description="Meetings")
letters_bp = Blueprint(
    "api_letters", __name__, url_prefix="/api/v1/letters", description="Letters: metadata and status"
)


@meetings.route("/")
@meetings.arguments(schemas.PageArguments, location="query")
@meetings.response(200, schemas.MeetingPage)
def list_meetings(arguments):
    """The meetings on at least one outreach record the token's owner may see."""
    return paginate(meeting_visibility(current_user, sa.select(Meeting)), [Meeting.id], arguments)


@meetings.route("/", methods=["POST"])
@meetings.arguments(schemas.NewMeetingSchema)
@meetings.response(201, schemas.MeetingSchema)
@meetings.doc(parameters=[IDEMPOTENCY_PARAMETER])
@idempotent(get_meeting_or_404)
def log_meeting(new):
    """Log a meeting on one or several outreach records the token's owner may change (a joint meeting)."""
    records = [get_outreach_or_404(outreach_id, need="edit") for outreach_id in dict.fromkeys(new["outreach_ids"])]
    office = get_office_or_404(new["office_id"]) if new["office_id"] is not None else None
    attendees = [get_contact_or_404(contact_id) for contact_id in dict.fromkeys(new["contact_ids"])]
    return outreach.log_meeting(
        records,
        actor=current_user._get_current_object(),
        held_at=new["held_at"],
        summary=new["summary"],
        outcome=new["outcome"],
        location=new["location"],
        office=office,
        contacts=attendees,
        staff=[current_user._get_current_object()],
    )


@meetings.route("/<int:meeting_id>")
@meetings.response(200, schemas.MeetingSchema)
def get_meeting(meeting_id):
    return tagged(get_meeting_or_404(meeting_id))


@letters_bp.route("/")
@letters_bp.arguments(schemas.LetterFilter, location="query")
@letters_bp.response(200, schemas.LetterPage)
def list_letters(arguments):
    """Letters sent and replies received, on the outreach records the token's owner may see."""
    visible = outreach_visibility(current_user, sa.select(OutreachRecord.id))
    statement = sa.select(Letter).where(Letter.outreach_id.in_(visible))
    if arguments.get("outreach"):
        statement = statement.where(Letter.outreach_id == arguments["outreach"])
    return paginate(statement, [Letter.id], arguments)


@letters_bp.route("/<int:letter_id>")
class LetterItem(MethodView):
    @letters_bp.response(200, schemas.LetterSchema)
    def get(self, letter_id):
        letter, _record = get_letter_or_404(letter_id)
        return tagged(letter)

    @letters_bp.arguments(schemas.LetterChangeSchema)
    @letters_bp.response(200, schemas.LetterSchema)
    def patch(self, change, letter_id):
        """Mark a letter sent (with its channel) or delivered, as its page does. Send If-Match with its ETag."""
        letter, _record = get_letter_or_404(letter_id, need="edit")
        check_if_match(letter)
        actor = current_user._get_current_object()
        if "sent_on" in change:
            letters.mark_sent(letter, change["channel"], change["sent_on"], actor, expected_version=letter.version)
        else:
            letters.mark_delivered(letter, change["delivered_on"], actor, expected_version=letter.version)
        db.session.flush()
        return tagged(letter)


# --- Offices and contacts -------------------------------------------------------------------------------

offices = Blueprint("api_offices", __name__, url_prefix="/api/v1/offices", description="Offices")
contacts = Blueprint("api_contacts", __name__, url_prefix="/api/v1/contacts", description="Contacts")


@offices.route("/")
@offices.arguments(schemas.OfficeFilter, location="query")
@offices.response(200, schemas.OfficePage)
def list_offices(arguments):
    """Every office for staff who see all; for volunteers, those of the governments assigned to them."""
    statement = office_visibility(current_user, sa.select(Office))
    if arguments.get("country"):
        statement = statement.where(
            Office.country_id.in_(sa.select(Country.id).where(Country.alpha3 == arguments["country"].upper()))
        )
    return paginate(statement, [Office.id], arguments)


@offices.route("/<int:office_id>")
@offices.response(200, schemas.OfficeSchema)
def get_office(office_id):
    office = get_office_or_404(office_id)
    return tagged(office)


@contacts.route("/")
@contacts.arguments(schemas.ContactFilter, location="query")
@contacts.response(200, schemas.ContactPage)
def list_contacts(arguments):
    statement = contact_visibility(current_user, sa.select(Contact))
    if arguments.get("office"):
        statement = statement.where(Contact.office_id == arguments["office"])
    return paginate(statement, [Contact.id], arguments)


@contacts.route("/", methods=["POST"])
@contacts.arguments(schemas.NewContactSchema)
@contacts.response(201, schemas.ContactSchema)
@contacts.doc(parameters=[IDEMPOTENCY_PARAMETER])
@idempotent(get_contact_or_404)
def create_contact(new):
    """A new contact at an office: staff who edit all, or a volunteer at an office of a government assigned
    to them (the New contact page's rule)."""
    office = get_office_or_404(new.pop("office_id"))
    if not may_add_for_country(current_user, office.country_id):
        abort(404)
    return contact_services.create_contact(actor=current_user._get_current_object(), office=office, **new)


@contacts.route("/<int:contact_id>")
class ContactItem(MethodView):
    @contacts.response(200, schemas.ContactSchema)
    def get(self, contact_id):
        contact = get_contact_or_404(contact_id)
        return tagged(contact)

    @contacts.arguments(schemas.ContactFieldsSchema)
    @contacts.response(200, schemas.ContactSchema)
    def patch(self, changes, contact_id):
        """Correct a contact's details (the fields sent). Send If-Match with its ETag."""
        contact = get_contact_or_404(contact_id)
        if not can_amend_contact(current_user, contact):
            abort(404)
        check_if_match(contact)
        contact_services.update_contact(
            contact, actor=current_user._get_current_object(), expected_version=contact.version, **changes
        )
        db.session.flush()
        return tagged(contact)


# --- Petitions and signature totals (the signature pages: staff who see all) ------------------------------


@campaigns.route("/<slug>/petitions")
@campaigns.arguments(schemas.PageArguments, location="query")
@campaigns.response(200, schemas.PetitionPage)
def list_petitions(arguments, slug):
    campaign = get_campaign_or_404(slug, "signatures")
    return paginate(sa.select(Petition).where(Petition.campaign_id == campaign.id), [Petition.id], arguments)


@campaigns.route("/<slug>/signatures/by-country")
@campaigns.response(200, schemas.SignatureTotalsSchema)
def signatures_by_country(slug):
    totals = totals_for(get_campaign_or_404(slug, "signatures"))
    return {
        "total": totals.total,
        "unknown_country": totals.unknown_country,
        "by_country": [{"country": code, "signers": n} for code, n in totals.by_country.items()],
        "counted_at": totals.counted_at,
    }


@campaigns.route("/<slug>/signatures/by-day")
@campaigns.response(200, schemas.DailyTotalsSchema)
def signatures_by_day(slug):
    return {"days": daily_totals(get_campaign_or_404(slug, "signatures"))}


# --- Joint statements' signatories (the statement's page: those who moderate) ---------------------------

statements_bp = Blueprint(
    "api_statements", __name__, url_prefix="/api/v1/statements", description="Joint statements' signatories"
)


@statements_bp.route("/<int:statement_id>/signatories")
@statements_bp.arguments(schemas.SignatoryFilter, location="query")
@statements_bp.response(200, schemas.SignatoryPage)
def list_signatories(arguments, statement_id):
    """Every confirmed signature of a statement, whatever became of it (approved, rejected, ...)."""
    statement = get_statement_or_404(statement_id)
    chosen = sa.select(StatementSignature).where(
        StatementSignature.statement_id == statement.id, StatementSignature.status != "unconfirmed"
    )
    if arguments.get("status"):
        chosen = chosen.where(StatementSignature.status == arguments["status"])
    return paginate(chosen, [StatementSignature.id], arguments)


BLUEPRINTS = (campaigns, countries, outreach_bp, follow_ups, meetings, letters_bp, offices, contacts, statements_bp)
