"""The one place that answers "may this user do this?". Views, exports, CLI and API all ask here."""

from __future__ import annotations

from functools import cache, wraps

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, undefer

from crm.accounts.models import Invitation
from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office
from crm.extensions import db
from crm.letters.models import Letter
from crm.mail.models import OutboundMessage
from crm.outreach.models import FollowUp, Meeting, OutreachRecord, Position, meeting_outreach
from crm.signatures.models import Petition
from crm.statements.models import Statement, StatementSignature
from crm.translation import gettext
from crm.web import flash_message

# What each role may do beyond its own records. Later issues extend this table, never the views.
ROLE_ABILITIES: dict[str, set[str]] = {
    "admin": {
        "manage_users",
        "read_outbox",
        "manage_webhooks",
        "view_dashboard",
        "second_factor_required",
        "take_assignments",
        "coordinate",
        "edit_reference_data",
        "view_all",
        "edit_all",
        "export",
        "assign",
        "view_audit",
        "manage_campaigns",
        "manage_targets",
        "publish_board",
        "manage_statements",
        "moderate_statements",
    },
    "manager": {
        "view_dashboard",
        "second_factor_required",
        "take_assignments",
        "coordinate",
        "attend_meetings",
        "receive_weekly_report",
        "receive_escalations",
        "view_all",
        "edit_all",
        "export",
        "view_audit",
        "assign",
        "manage_campaigns",
        "manage_targets",
        "publish_board",
        "manage_statements",
        "moderate_statements",
    },
    "coordinator": {
        "view_all",
        "edit_all",
        "assign",
        "manage_targets",
        "moderate_statements",
        "take_assignments",
        "coordinate",
        "attend_meetings",
    },
    "volunteer": {"claim", "take_assignments", "attend_meetings"},
}
# Abilities of a role as such, not of a signed-in user: who may be given records (take_assignments) or
# coordinate a campaign (coordinate), who must sign in with a second factor (second_factor_required), who
# is offered as "our side" at a meeting (attend_meetings: admins run the install, they do not lobby), who
# gets the weekly report (receive_weekly_report) and the escalation of a record nobody coordinates
# (receive_escalations). Nowhere else is a role compared: ask `can`, `role_can` or `roles_that_can`.


def role_can(role: str | None, ability: str) -> bool:
    return ability in ROLE_ABILITIES.get(role or "", set())


def roles_that_can(ability: str) -> tuple[str, ...]:
    """For a query: the roles with `ability` (`User.role.in_(roles_that_can("coordinate"))`)."""
    return tuple(role for role, abilities in ROLE_ABILITIES.items() if ability in abilities)


def can(user, ability: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return ability in ROLE_ABILITIES.get(user.role, set())


def require(ability: str):
    """Guard a view. A user without the ability gets 404: the page's existence is not confirmed."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, ability):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def receives_weekly_report(user) -> bool:
    """The weekly report on the campaign's progress goes to the managers, who review it (crm/reminders):
    the scheduler sends it to them only, and only their preferences offer to turn it off."""
    return role_can(getattr(user, "role", None), "receive_weekly_report")


def visibility_scope(user) -> str:
    """Which outreach records and offices `user` may see, by name: "all" for staff who see all, "assigned"
    for volunteers (their assigned records, and the offices of those governments). outreach_visibility
    and office_visibility narrow by it; a statement they narrow with a `viewer` parameter and that is built
    once is kept under this name, so a new rule must be a new name, never sharing another's statement."""
    return "all" if can(user, "view_all") else "assigned"


def outreach_visibility(user, statement, viewer=None):
    """Narrow a select over OutreachRecord to what `user` may see: everything for staff who see all,
    only their own assigned records for volunteers. `viewer`: a bound parameter standing for the
    volunteer's id, for a statement built once for every volunteer (whoever executes it gives the id);
    without it, the id is in the statement."""
    if visibility_scope(user) == "all":
        return statement
    return statement.where(OutreachRecord.assignee_id == (user.id if viewer is None else viewer))


def follow_up_visibility(user, statement):
    """Narrow a select over FollowUp to the follow-ups on records `user` may see. Being named a
    follow-up's owner on someone else's record shows its note nowhere the record itself is a 404."""
    if can(user, "view_all"):
        return statement
    return statement.where(FollowUp.outreach_id.in_(outreach_visibility(user, sa.select(OutreachRecord.id))))


def meeting_visibility(user, statement):
    """Narrow a select over Meeting to the meetings `user` may open: those on at least one record they
    may see (the meeting page's rule). Being named staff, or having logged it, is not enough."""
    if can(user, "view_all"):
        return statement
    visible = outreach_visibility(
        user,
        sa.select(meeting_outreach.c.meeting_id).join(
            OutreachRecord, OutreachRecord.id == meeting_outreach.c.outreach_id
        ),
    )
    return statement.where(Meeting.id.in_(visible))


# An archived campaign is read-only for everyone: its pages and history stay readable and searchable, and
# every change to it or to its records (outreach, meetings, letters, follow-ups, positions, targets,
# signatures, settings) is refused with 409 and a message saying why, never a 404 that would hide a page
# the user may read. Loaders below and the campaign and signature pages ask here.


def is_read_only(campaign) -> bool:
    return campaign is not None and campaign.archived_at is not None


def read_only_message() -> str:
    return gettext("This campaign is archived: it can be read but not changed.")


def ensure_writable(*campaigns) -> None:
    """Refuse (409) a change to an archived campaign or to any of its records."""
    if any(is_read_only(campaign) for campaign in campaigns):
        abort(409, read_only_message())


# What a page does with a campaign, and the ability it takes (None: any page that already let the user in).
# A change ("change", "edit_signatures") is refused while the campaign is archived.
CAMPAIGN_NEEDS = {
    "view": None,
    "change": None,
    "signatures": "view_all",
    "edit_signatures": "edit_all",
    "dashboard": "view_dashboard",
    "export": "export",
    "statements": "moderate_statements",
    "write_statements": "manage_statements",
}


def _changing() -> bool:
    return request.method not in ("GET", "HEAD", "OPTIONS")


def get_campaign_or_404(slug: str, need: str = "view") -> Campaign:
    """The campaign at `slug` for a page that needs to `need` it, or 404 (for a missing campaign and a
    forbidden one alike). need="view" on a page that changes it on POST is "change" for the POST."""
    ability = CAMPAIGN_NEEDS[need]
    campaign = Campaign.by_slug(slug) if ability is None or can(current_user, ability) else None
    if campaign is None:
        abort(404)
    if need in ("change", "edit_signatures") or (need == "view" and _changing()):
        ensure_writable(campaign)
    return campaign


def get_demand_or_404(demand_id: int) -> Demand:
    """A demand of a campaign; changing it (a POST) is refused while the campaign is archived."""
    demand = db.session.get(Demand, demand_id)
    if demand is None:
        abort(404)
    if _changing():
        ensure_writable(demand.campaign)
    return demand


def can_view_outreach(user, record) -> bool:
    return can(user, "view_all") or (record.assignee_id is not None and record.assignee_id == user.id)


def may_edit_outreach(user, record) -> bool:
    """Whether the role and the assignment let `user` change the record, archived or not."""
    return can(user, "edit_all") or (record.assignee_id is not None and record.assignee_id == user.id)


def can_edit_outreach(user, record) -> bool:
    """Whether `user` may change the record now: pages use it to offer (or not) the ways to change it."""
    return not is_read_only(record.campaign) and may_edit_outreach(user, record)


def can_edit_outreach_row(user, row) -> bool:
    """can_edit_outreach for a record read as a row of its columns: `assignee_id`, and `archived` (whether
    its campaign is)."""
    return not row.archived and may_edit_outreach(user, row)


def get_outreach_or_404(outreach_id, need: str = "view"):
    """Load an outreach record the current user may see ("view"), change ("edit": its assignee and staff
    who edit everything) or manage ("manage": who works on it, for staff who edit everything); anything
    else is a 404. A change to a record of an archived campaign is a 409 that says it is read-only."""
    record = db.session.get(OutreachRecord, outreach_id)
    if record is None or not can_view_outreach(current_user, record):
        abort(404)
    if need in ("edit", "manage"):
        allowed = can(current_user, "edit_all") if need == "manage" else may_edit_outreach(current_user, record)
        if not allowed:
            abort(404)
        ensure_writable(record.campaign)
    return record


def get_letter_or_404(letter_id: int, need: str = "view", statement=None) -> tuple[Letter, OutreachRecord]:
    """A letter and its outreach record, if the current user may see (or change) that record; else 404.
    `statement`, a select of the letter by the bound parameter `letter_id`, loads it with what a page
    shows of it (built once by the page: building it and its loader options costs more than running it)."""
    if statement is None:
        letter = db.session.get(Letter, letter_id)
    else:
        letter = db.session.execute(statement, {"letter_id": letter_id}).unique().scalar_one_or_none()
    if letter is None:
        abort(404)
    return letter, get_outreach_or_404(letter.outreach_id, need=need)


def may_change_meeting(user, meeting: Meeting) -> bool:
    """Whoever may edit every record the meeting sits on (a joint meeting is shared by several
    governments' records) may correct or delete it."""
    records = meeting.outreach_records
    return bool(records) and all(may_edit_outreach(user, record) for record in records)


def get_meeting_or_404(meeting_id: int) -> Meeting:
    """A meeting, for whoever may see any of the records it sits on."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not any(can_view_outreach(current_user, r) for r in meeting.outreach_records):
        abort(404)
    return meeting


def get_meeting_for_change_or_404(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not may_change_meeting(current_user, meeting):
        abort(404)
    ensure_writable(*(record.campaign for record in meeting.outreach_records))
    return meeting


def get_position_or_404(position_id: int) -> Position:
    """A stated position, for whoever may open its record."""
    position = db.session.get(Position, position_id)
    if position is None:
        abort(404)
    get_outreach_or_404(position.outreach_id)
    return position


def get_follow_up_or_404(follow_up_id: int, need: str = "view") -> FollowUp:
    """A follow-up on a record the current user may open ("view"); or one its owner, or whoever may edit
    its record, may complete, snooze or hand on ("change")."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404)
    if need == "view":
        get_outreach_or_404(follow_up.outreach_id)
        return follow_up
    if follow_up.owner_id != current_user.id:
        get_outreach_or_404(follow_up.outreach_id, need="edit")
    ensure_writable(follow_up.outreach.campaign)
    return follow_up


def get_invitation_or_404(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id) if can(current_user, "manage_users") else None
    if invitation is None:
        abort(404)
    return invitation


def get_petition_or_404(slug: str, need: str = "view", platform: str | None = None) -> Petition:
    """A petition (of `platform`, when given), for staff who see (or, with need="edit", change) every
    record; changing one of an archived campaign is refused."""
    ability = "edit_all" if need == "edit" else "view_all"
    petition = (
        db.session.scalar(sa.select(Petition).where(Petition.slug == slug)) if can(current_user, ability) else None
    )
    if petition is None or (platform is not None and petition.platform != platform):
        abort(404)
    if need == "edit":
        ensure_writable(petition.campaign)
    return petition


def get_statement_or_404(statement_id: int, need: str = "moderate") -> Statement:
    """A statement the current user may moderate (or, with need="manage", write); anything else is a 404."""
    allowed = may_manage_statements if need == "manage" else may_moderate_statements
    statement = (
        db.session.get(Statement, statement_id, options=[joinedload(Statement.campaign)])
        if allowed(current_user)
        else None
    )
    if statement is None:
        abort(404)
    return statement


def get_message_or_404(message_id: int) -> OutboundMessage:
    """A message in the outbox, for whoever may read the outbox."""
    message = db.session.get(OutboundMessage, message_id) if can(current_user, "read_outbox") else None
    if message is None:
        abort(404)
    return message


def _worked_countries(user, viewer=None):
    """A select of the countries a volunteer works on (through their assigned records); `viewer`, a bound
    parameter, stands for the volunteer's id."""
    return sa.select(OutreachRecord.country_id).where(
        OutreachRecord.assignee_id == (user.id if viewer is None else viewer)
    )


def office_visibility(user, statement, viewer=None):
    """Offices a user may see: all for staff who see all; for volunteers, those of the governments
    their assigned records concern (the people they need to reach, and no one else). `viewer`: a bound
    parameter standing for the volunteer's id, for a statement built once for every volunteer (whoever
    executes it gives the id); without it, the id is in the statement."""
    if visibility_scope(user) == "all":
        return statement
    return statement.where(Office.country_id.in_(_worked_countries(user, viewer)))


def contact_visibility(user, statement):
    if can(user, "view_all"):
        return statement
    return statement.where(
        Contact.office_id.in_(sa.select(Office.id).where(Office.country_id.in_(_worked_countries(user))))
    )


def can_view_office(user, office) -> bool:
    if can(user, "view_all"):
        return True

    return office.country_id in set(db.session.scalars(_worked_countries(user)))


def can_view_contact(user, contact) -> bool:
    return can_view_office(user, contact.office)


# Volunteers record the people they meet: they may add an office or a contact for a government assigned
# to them, and edit (only edit) what they added. Everything else about offices and contacts stays with
# the staff who edit all records.


def may_add_contacts(user) -> bool:
    """Whether the New office / New contact pages are open to `user` at all."""
    if can(user, "edit_all"):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False

    return db.session.scalar(_worked_countries(user).limit(1)) is not None


def may_add_for_country(user, country_id) -> bool:
    """Whether `user` may add an office of this government (or a contact at one)."""
    if can(user, "edit_all"):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active or country_id is None:
        return False

    return country_id in set(db.session.scalars(_worked_countries(user)))


def _added_by(user, entity_type: str, entity_id) -> bool:
    """Whether the audit log says `user` created this record (the log is append-only, so it cannot lie)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == f"{entity_type}.create",
                AuditEvent.entity_type == entity_type,
                AuditEvent.entity_id == str(entity_id),
                AuditEvent.actor_id == user.id,
            )
        )
        > 0
    )


def can_amend_office(user, office) -> bool:
    """Edit an office's details: staff who edit all, or the volunteer who added it while they still work on
    its government."""
    if can(user, "edit_all"):
        return True
    return may_add_for_country(user, office.country_id) and _added_by(user, "office", office.id)


def can_amend_contact(user, contact) -> bool:
    if can(user, "edit_all"):
        return True
    return may_add_for_country(user, contact.office.country_id) and _added_by(user, "contact", contact.id)


# Joint statements (crm/statements): admins and managers write them; coordinators and above moderate the
# signatures, see the signers' e-mail addresses and export the lists. The public sees approved signatories
# only, and never an address.


def get_office_or_404(office_id, need: str = "view") -> Office:
    """An office the current user may see (or change); anything else is a 404. "amend" (edit the details)
    is also open to the volunteer who added it; "edit" (deactivate, ...) only to staff who edit all."""
    office = (
        None
        if office_id is None
        else db.session.get(Office, office_id, options=[joinedload(Office.country), joinedload(Office.host_country)])
    )
    if (
        office is None
        or not can_view_office(current_user, office)
        or (need == "edit" and not can(current_user, "edit_all"))
        or (need == "amend" and not can_amend_office(current_user, office))
    ):
        abort(404)
    return office


def get_contact_or_404(contact_id, need: str = "view", *, personal_phone: bool = False) -> Contact:
    """A contact the current user may see (or change), with its office and the office's country, and its
    personal phone (encrypted, so otherwise read only when asked for) where the page shows it. A merged
    record is read-only: changes go to the record it was merged into."""
    contact = db.session.execute(_contact_statement(personal_phone), {"contact_id": contact_id}).scalar()
    if (
        contact is None
        or not can_view_contact(current_user, contact)
        or (need == "edit" and not can(current_user, "edit_all"))
        or (need == "amend" and not can_amend_contact(current_user, contact))
    ):
        abort(404)
    if need in ("edit", "amend") and contact.merged_into_id is not None:
        flash_message(gettext("This record was merged into this one; make changes here."), "info")
        abort(redirect(url_for("contacts.show", contact_id=contact.merged_into_id)))
    return contact


@cache
def _contact_statement(personal_phone: bool) -> sa.Select:
    # Built once: building a select and its loader options on every request cost more than running it.
    statement = (
        sa.select(Contact)
        .where(Contact.id == sa.bindparam("contact_id"))
        .options(joinedload(Contact.office).joinedload(Office.country))
    )
    return statement.options(undefer(Contact.personal_phone)) if personal_phone else statement


def get_statement_signature_or_404(signature_id: int) -> StatementSignature:
    """A signature a moderator may act on: one whose address was confirmed."""
    signature = (
        db.session.get(
            StatementSignature,
            signature_id,
            options=[joinedload(StatementSignature.statement).joinedload(Statement.campaign)],
        )
        if may_moderate_statements(current_user)
        else None
    )
    if signature is None or signature.status == "unconfirmed":
        abort(404)
    return signature


def may_moderate_statements(user) -> bool:
    return can(user, "moderate_statements")


def may_manage_statements(user) -> bool:
    return can(user, "manage_statements")


def may_see_signer_emails(user) -> bool:
    return can(user, "moderate_statements")
