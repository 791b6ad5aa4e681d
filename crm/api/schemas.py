"""The shapes of the JSON API's resources (marshmallow): they serialise the answers, validate what is
sent, and are what the OpenAPI description says (flask-smorest reads them)."""

from __future__ import annotations

import marshmallow as ma

from crm.api.conventions import PageArguments, Timestamp, page_schema
from crm.countries.models import RS_STATUSES
from crm.letters.models import LETTER_CHANNELS, LETTER_DIRECTIONS
from crm.letters.services import letter_status
from crm.outreach.models import STAGES, STANCES
from crm.statements.models import SIGNATURE_STATUSES

fields = ma.fields


class DemandSchema(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    ordinal = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    retired_at = Timestamp(required=True, allow_none=True)


class CampaignSchema(ma.Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    starts_on = fields.Date(required=True, allow_none=True)
    ends_on = fields.Date(required=True, allow_none=True)
    archived_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    demands = fields.List(fields.Nested(DemandSchema), required=True)


class CountrySchema(ma.Schema):
    alpha3 = fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-3"})
    alpha2 = fields.String(required=True)
    name_en = fields.String(required=True)
    name_es = fields.String(required=True)
    un_member = fields.Boolean(required=True)
    rome_statute_status = fields.String(required=True, attribute="rs_status", validate=ma.validate.OneOf(RS_STATUSES))
    rome_statute_signed_on = fields.Date(required=True, allow_none=True, attribute="rs_signature_date")
    rome_statute_ratified_on = fields.Date(required=True, allow_none=True, attribute="rs_ratification_date")
    rome_statute_in_force_on = fields.Date(required=True, allow_none=True, attribute="rs_entry_into_force_date")
    rome_statute_withdrawal_effective_on = fields.Date(
        required=True, allow_none=True, attribute="rs_withdrawal_effective_date"
    )
    rome_statute_verified = fields.Boolean(required=True, attribute="rs_verified")


class PositionSchema(ma.Schema):
    id = fields.Integer(required=True)
    outreach_id = fields.Integer(required=True)
    demand_code = fields.String(required=True, attribute="demand.code")
    stance = fields.String(required=True, validate=ma.validate.OneOf(STANCES))
    stated_on = fields.Date(required=True)
    evidence = fields.String(required=True, allow_none=True)
    evidence_url = fields.String(required=True, allow_none=True)
    meeting_id = fields.Integer(required=True, allow_none=True)
    letter_id = fields.Integer(required=True, allow_none=True)
    recorded_at = Timestamp(required=True)


class OutreachSchema(ma.Schema):
    id = fields.Integer(required=True)
    campaign = fields.String(required=True, attribute="campaign.slug")
    country = fields.String(required=True, attribute="country.alpha3", metadata={"description": "ISO 3166-1 alpha-3"})
    stage = fields.String(required=True, validate=ma.validate.OneOf(STAGES))
    assignee_id = fields.Integer(required=True, allow_none=True)
    priority = fields.Integer(required=True)
    next_follow_up_on = fields.Date(required=True, allow_none=True)
    updated_at = Timestamp(required=True)
    version = fields.Integer(required=True)


class OutreachDetailSchema(OutreachSchema):
    positions = fields.List(fields.Nested(PositionSchema), required=True, attribute="positions_shown")


class FollowUpSchema(ma.Schema):
    id = fields.Integer(required=True)
    outreach_id = fields.Integer(required=True)
    owner_id = fields.Integer(required=True)
    due_on = fields.Date(required=True)
    note = fields.String(required=True)
    status = fields.String(required=True)
    snoozed_until = fields.Date(required=True, allow_none=True)
    completed_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    version = fields.Integer(required=True)


class FollowUpChangeSchema(ma.Schema):
    status = fields.String(
        required=True,
        validate=ma.validate.OneOf(["done"]),
        metadata={"description": "`done` closes the follow-up (the page's Done button)."},
    )


class OutreachFilter(PageArguments):
    campaign = fields.String(metadata={"description": "A campaign's slug"})
    stage = fields.String(validate=ma.validate.OneOf(STAGES))
    country = fields.String(metadata={"description": "ISO 3166-1 alpha-3"})


class CountryFilter(PageArguments):
    status = fields.String(validate=ma.validate.OneOf(RS_STATUSES), metadata={"description": "Rome Statute status"})


class FollowUpFilter(PageArguments):
    status = fields.String(validate=ma.validate.OneOf(["open", "snoozed", "done"]))


CampaignPage = page_schema(CampaignSchema, "CampaignPage")
CountryPage = page_schema(CountrySchema, "CountryPage")
OutreachPage = page_schema(OutreachSchema, "OutreachPage")
PositionPage = page_schema(PositionSchema, "PositionPage")
FollowUpPage = page_schema(FollowUpSchema, "FollowUpPage")


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "The fields that are not valid, with why"})


class MeetingSchema(ma.Schema):
    id = fields.Integer(required=True)
    held_at = Timestamp(required=True)
    office_id = fields.Integer(required=True, allow_none=True)
    location = fields.String(required=True, allow_none=True)
    summary = fields.String(required=True)
    outcome = fields.String(required=True, allow_none=True)
    outreach_ids = fields.Method(
        "_outreach_ids", required=True, metadata={"type": "array", "items": {"type": "integer"}}
    )
    contact_ids = fields.Method("_contact_ids", required=True, metadata={"type": "array", "items": {"type": "integer"}})
    created_at = Timestamp(required=True)
    version = fields.Integer(required=True)

    def _outreach_ids(self, meeting) -> list[int]:
        return sorted(record.id for record in meeting.outreach_records)

    def _contact_ids(self, meeting) -> list[int]:
        return sorted(contact.id for contact in meeting.contacts)


class LetterSchema(ma.Schema):
    """A letter's metadata and status; not its attachments' content."""

    id = fields.Integer(required=True)
    outreach_id = fields.Integer(required=True)
    direction = fields.String(required=True, validate=ma.validate.OneOf(LETTER_DIRECTIONS))
    status = fields.Function(
        letter_status,
        required=True,
        metadata={"type": "string", "enum": ["draft", "sent", "delivered", "acknowledged", "received"]},
    )
    channel = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, allow_none=True)
    subject = fields.String(required=True)
    recipient_contact_id = fields.Integer(required=True, allow_none=True)
    recipient_office_id = fields.Integer(required=True, allow_none=True)
    in_reply_to_id = fields.Integer(required=True, allow_none=True)
    sent_on = fields.Date(required=True, allow_none=True)
    delivered_on = fields.Date(required=True, allow_none=True)
    acknowledged_on = fields.Date(required=True, allow_none=True)
    received_on = fields.Date(required=True, allow_none=True)
    signatures_total = fields.Integer(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    version = fields.Integer(required=True)


class OfficeSchema(ma.Schema):
    id = fields.Integer(required=True)
    country = fields.String(required=True, attribute="country.alpha3", metadata={"description": "ISO 3166-1 alpha-3"})
    host_country = fields.String(
        required=True, attribute="host_country.alpha3", metadata={"description": "ISO 3166-1 alpha-3"}
    )
    kind = fields.String(required=True)
    name = fields.String(required=True)
    city = fields.String(required=True)
    address = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    website = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    version = fields.Integer(required=True)


class ContactSchema(ma.Schema):
    """A contact's work details (never a personal phone, which only its page shows)."""

    id = fields.Integer(required=True)
    office_id = fields.Integer(required=True)
    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    merged_into_id = fields.Integer(required=True, allow_none=True)
    version = fields.Integer(required=True)


class PetitionSchema(ma.Schema):
    slug = fields.String(required=True)
    campaign = fields.String(required=True, attribute="campaign.slug")
    name = fields.String(required=True)
    platform = fields.String(required=True)
    created_at = Timestamp(required=True)


class CountryTotalSchema(ma.Schema):
    country = fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-3"})
    signers = fields.Integer(required=True)


class SignatureTotalsSchema(ma.Schema):
    """Signers of a campaign, each person once, with the pages' rules for tallies."""

    total = fields.Integer(required=True)
    unknown_country = fields.Integer(required=True)
    by_country = fields.List(fields.Nested(CountryTotalSchema), required=True)
    counted_at = Timestamp(required=True)


class DayTotalSchema(ma.Schema):
    day = fields.Date(required=True)
    added = fields.Integer(required=True)
    total = fields.Integer(required=True)


class DailyTotalsSchema(ma.Schema):
    days = fields.List(fields.Nested(DayTotalSchema), required=True)


class ContactFilter(PageArguments):
    office = fields.Integer(metadata={"description": "An office's id"})


class OfficeFilter(PageArguments):
    country = fields.String(metadata={"description": "ISO 3166-1 alpha-3 of the government the office serves"})


class LetterFilter(PageArguments):
    outreach = fields.Integer(metadata={"description": "An outreach record's id"})


MeetingPage = page_schema(MeetingSchema, "MeetingPage")
LetterPage = page_schema(LetterSchema, "LetterPage")
OfficePage = page_schema(OfficeSchema, "OfficePage")
ContactPage = page_schema(ContactSchema, "ContactPage")
PetitionPage = page_schema(PetitionSchema, "PetitionPage")


# --- What the writes accept ------------------------------------------------------------------------------


class NewPositionSchema(ma.Schema):
    demand_code = fields.String(required=True, metadata={"description": "The demand's code in the campaign (d1, ...)"})
    stance = fields.String(required=True, validate=ma.validate.OneOf(STANCES))
    stated_on = fields.Date(required=True)
    evidence = fields.String(load_default=None, validate=ma.validate.Length(max=10000))
    evidence_url = fields.Url(load_default=None, schemes={"http", "https"}, validate=ma.validate.Length(max=1000))


class NewFollowUpSchema(ma.Schema):
    due_on = fields.Date(required=True)
    note = fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))
    owner_id = fields.Integer(
        load_default=None, metadata={"description": "An active user; the record's assignee (or you) when left out"}
    )


class NewMeetingSchema(ma.Schema):
    outreach_ids = fields.List(fields.Integer(), required=True, validate=ma.validate.Length(min=1, max=50))
    held_at = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339, with its offset"})
    summary = fields.String(required=True, validate=ma.validate.Length(min=1, max=20000))
    outcome = fields.String(load_default=None, validate=ma.validate.Length(max=20000))
    location = fields.String(load_default=None, validate=ma.validate.Length(max=300))
    office_id = fields.Integer(load_default=None)
    contact_ids = fields.List(fields.Integer(), load_default=list, validate=ma.validate.Length(max=50))


class ContactFieldsSchema(ma.Schema):
    name = fields.String(validate=ma.validate.Length(min=1, max=200))
    title = fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    email = fields.String(allow_none=True, validate=ma.validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=ma.validate.Length(max=64))
    language = fields.String(allow_none=True, validate=ma.validate.Length(max=8))
    notes = fields.String(allow_none=True, validate=ma.validate.Length(max=10000))


class NewContactSchema(ContactFieldsSchema):
    office_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    confirm_duplicate = fields.Boolean(
        load_default=False, metadata={"description": "It is someone else than the contact on file it looks like"}
    )


class LetterChangeSchema(ma.Schema):
    """Mark a letter sent (sent_on and channel) or delivered (delivered_on), as its page does."""

    sent_on = fields.Date()
    channel = fields.String(validate=ma.validate.OneOf(LETTER_CHANNELS))
    delivered_on = fields.Date()

    @ma.validates_schema
    def _one_change(self, data, **_kwargs):
        if ("sent_on" in data) == ("delivered_on" in data):
            raise ma.ValidationError("Send either sent_on (with channel) or delivered_on.")
        if "sent_on" in data and "channel" not in data:
            raise ma.ValidationError("A letter marked sent needs its channel.", "channel")


class SignatorySchema(ma.Schema):
    """A joint statement's signature as its moderators see it (the address included: the same ability)."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    organisation = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, attribute="country.alpha3", metadata={"description": "ISO 3166-1 alpha-3"})
    website = fields.String(required=True, allow_none=True)
    signer_name = fields.String(required=True, allow_none=True)
    signer_role = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    listing = fields.String(required=True)
    status = fields.String(required=True, validate=ma.validate.OneOf(SIGNATURE_STATUSES))
    confirmed_at = Timestamp(required=True, allow_none=True)
    decided_at = Timestamp(required=True, allow_none=True)


class SignatoryFilter(PageArguments):
    status = fields.String(validate=ma.validate.OneOf([s for s in SIGNATURE_STATUSES if s != "unconfirmed"]))


SignatoryPage = page_schema(SignatorySchema, "SignatoryPage")
