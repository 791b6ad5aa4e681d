"""Who works which outreach record: bulk assignment with history, volunteers' claims, workload and
stalled records. Plain functions; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import clock
from crm.accounts.models import User
from crm.audit import services as audit
from crm.campaigns.models import Campaign
from crm.database import utcnow
from crm.extensions import db
from crm.letters.models import Letter
from crm.outreach.models import Assignment, Claim, FollowUp, Meeting, OutreachRecord, Position, meeting_outreach
from crm.outreach.notifications import tell_new_assignee, tell_previous_assignee
from crm.outreach.services import OutreachError
from crm.permissions import is_read_only, read_only_message, role_can, roles_that_can
from crm.translation import gettext


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and (not assignee.active or not role_can(assignee.role, "take_assignments")):
        raise OutreachError(gettext("records can only be assigned to active staff"))


class Changed(list):
    """The records whose assignee changed, and how many open follow-ups moved with them."""

    follow_ups_moved: int = 0


def _move_open_follow_ups(record: OutreachRecord, previous_id: int, new_id: int) -> int:
    """The previous assignee's open (or snoozed) follow-ups on this record become the new assignee's."""
    moved = db.session.execute(
        sa.update(FollowUp)
        .where(
            FollowUp.outreach_id == record.id,
            FollowUp.owner_id == previous_id,
            FollowUp.still_to_do,
        )
        .values(owner_id=new_id)
        .execution_options(synchronize_session="fetch")
    )
    return moved.rowcount or 0


def set_assignee(records, assignee: User | None, *, actor, reason: str | None = None) -> Changed:
    """Assign (or, with None, unassign) many records at once. Each change is kept as an Assignment row
    and in the audit log; records already held by `assignee` are left alone. On a reassignment the previous
    assignee's open follow-ups on the record move to the new one, and the previous assignee is told.
    Returns the changed records (with the number of follow-ups moved)."""
    _check_assignee(assignee)
    if any(is_read_only(record.campaign) for record in records):
        raise OutreachError(read_only_message())
    changed, rows = Changed(), []
    taken_from: dict[int, list[OutreachRecord]] = {}
    for record in records:
        if record.assignee_id == getattr(assignee, "id", None):
            continue
        previous = record.assignee_id
        record.assignee_id = getattr(assignee, "id", None)
        why = reason or ("assigned" if assignee is not None else "unassigned")
        row = Assignment(
            outreach_id=record.id,
            assignee_id=record.assignee_id,
            previous_assignee_id=previous,
            changed_by_id=getattr(actor, "id", None),
            reason=why,
        )
        db.session.add(row)
        rows.append(row)
        moved = 0
        if previous is not None and assignee is not None:
            moved = _move_open_follow_ups(record, previous, assignee.id)
            changed.follow_ups_moved += moved
        if previous is not None:
            taken_from.setdefault(previous, []).append(record)
        audit.record(
            "assignment.change",
            actor=actor,
            entity=record,
            before={"assignee_id": previous},
            after={"assignee_id": record.assignee_id, "reason": why, "follow_ups_moved": moved},
        )
        changed.append(record)
    db.session.flush()

    if assignee is not None and changed:
        tell_new_assignee(assignee, changed, rows, actor=actor)
    for previous_id, taken in taken_from.items():
        tell_previous_assignee(
            db.session.get(User, previous_id),
            taken,
            assignee,
            [r for r in rows if r.previous_assignee_id == previous_id],
            actor=actor,
        )
    return changed


def claim(record: OutreachRecord, volunteer: User) -> Claim:
    """A volunteer takes an unassigned record, at once or pending a coordinator's approval."""
    if record.assignee_id is not None:
        raise OutreachError(gettext("this record already has someone working on it"))
    if record.stage == "closed":
        raise OutreachError(gettext("this record is closed"))
    if is_read_only(record.campaign):
        raise OutreachError(read_only_message())
    pending = db.session.scalar(
        sa.select(Claim).where(
            Claim.outreach_id == record.id, Claim.volunteer_id == volunteer.id, Claim.status == "pending"
        )
    )
    if pending is not None:
        raise OutreachError(gettext("you have already asked for this record"))
    claim_ = Claim(outreach_id=record.id, volunteer_id=volunteer.id)
    db.session.add(claim_)
    db.session.flush()
    audit.record("claim.create", actor=volunteer, entity=claim_, after={"outreach_id": record.id})
    if not record.campaign.claims_need_approval:
        _approve(claim_, record, approver=None, actor=volunteer, reason="claimed")
    return claim_


def _approve(claim_: Claim, record: OutreachRecord, *, approver, actor, reason: str) -> None:
    claim_.status = "approved"
    claim_.decided_at = utcnow()
    claim_.decided_by_id = getattr(approver, "id", None)
    set_assignee([record], claim_.volunteer, actor=actor, reason=reason)
    # Others who asked for the same record are told no by the same decision.
    for other in db.session.scalars(
        sa.select(Claim).where(Claim.outreach_id == record.id, Claim.status == "pending", Claim.id != claim_.id)
    ):
        other.status = "rejected"
        other.decided_at = claim_.decided_at
        other.decided_by_id = claim_.decided_by_id


def decide_claim(claim_: Claim, *, approve: bool, actor) -> None:
    if claim_.status != "pending":
        raise OutreachError(gettext("this request was already decided"))
    record = claim_.outreach
    if approve:
        if record.assignee_id is not None:
            raise OutreachError(gettext("the record was assigned meanwhile; reject this request"))
        _approve(claim_, record, approver=actor, actor=actor, reason="claim_approved")
    else:
        claim_.status = "rejected"
        claim_.decided_at = utcnow()
        claim_.decided_by_id = actor.id
    audit.record("claim.decide", actor=actor, entity=claim_, after={"status": claim_.status})


def withdraw_claim(claim_: Claim, *, actor) -> None:
    if claim_.status != "pending" or claim_.volunteer_id != actor.id:
        raise OutreachError(gettext("only your own pending request can be withdrawn"))
    claim_.status = "withdrawn"
    claim_.decided_at = utcnow()
    audit.record("claim.withdraw", actor=actor, entity=claim_, after={"status": "withdrawn"})


@dataclass
class Workload:
    user: User
    records: int = 0
    open_follow_ups: int = 0
    overdue_follow_ups: int = 0


def workload(campaign: Campaign | None = None, today: dt.date | None = None) -> list[Workload]:
    """Per active staff member: records assigned, open and overdue follow-ups (three grouped queries)."""
    today = today or clock.today()
    users = db.session.scalars(
        sa.select(User)
        .where(User.active.is_(True), User.role.in_(roles_that_can("take_assignments")))
        .order_by(User.name)
    ).all()
    table = {user.id: Workload(user) for user in users}
    records = sa.select(OutreachRecord.assignee_id, sa.func.count()).group_by(OutreachRecord.assignee_id)
    due = FollowUp.due
    follow_ups = (
        sa.select(FollowUp.owner_id, sa.func.count(), sa.func.sum(sa.case((due < today, 1), else_=0)))
        .join(OutreachRecord, OutreachRecord.id == FollowUp.outreach_id)
        .where(FollowUp.still_to_do)
        .group_by(FollowUp.owner_id)
    )
    if campaign is not None:
        records = records.where(OutreachRecord.campaign_id == campaign.id)
        follow_ups = follow_ups.where(OutreachRecord.campaign_id == campaign.id)
    for user_id, count in db.session.execute(records):
        if user_id in table:
            table[user_id].records = count
    for user_id, count, overdue in db.session.execute(follow_ups):
        if user_id in table:
            table[user_id].open_follow_ups, table[user_id].overdue_follow_ups = count, int(overdue or 0)
    return list(table.values())


def last_activity(record_ids) -> dict[int, dt.datetime]:
    """The time of the latest thing logged on each record (meeting, letter, position, follow-up,
    assignment), in one query per kind of activity."""
    ids = list(record_ids)
    latest: dict[int, dt.datetime] = {}
    if not ids:
        return latest
    sources = [
        sa.select(meeting_outreach.c.outreach_id, sa.func.max(Meeting.created_at))
        .join(Meeting, Meeting.id == meeting_outreach.c.meeting_id)
        .where(meeting_outreach.c.outreach_id.in_(ids))
        .group_by(meeting_outreach.c.outreach_id),
        sa.select(Letter.outreach_id, sa.func.max(Letter.created_at))
        .where(Letter.outreach_id.in_(ids))
        .group_by(Letter.outreach_id),
        sa.select(Position.outreach_id, sa.func.max(Position.recorded_at))
        .where(Position.outreach_id.in_(ids))
        .group_by(Position.outreach_id),
        sa.select(FollowUp.outreach_id, sa.func.max(sa.func.coalesce(FollowUp.completed_at, FollowUp.created_at)))
        .where(FollowUp.outreach_id.in_(ids))
        .group_by(FollowUp.outreach_id),
        sa.select(Assignment.outreach_id, sa.func.max(Assignment.changed_at))
        .where(Assignment.outreach_id.in_(ids))
        .group_by(Assignment.outreach_id),
    ]
    for statement in sources:
        for record_id, when in db.session.execute(statement):
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
                if record_id not in latest or when > latest[record_id]:
                    latest[record_id] = when
    return latest


def stalled(records, now: dt.datetime | None = None) -> set[int]:
    """Ids of assigned records with no activity for their campaign's `stall_days`."""
    now = now or utcnow()
    assigned = [record for record in records if record.assignee_id is not None and record.stage != "closed"]
    activity = last_activity(record.id for record in assigned)
    result = set()
    for record in assigned:
        since = activity.get(record.id) or record.created_at
        if now - since > dt.timedelta(days=record.campaign.stall_days):
            result.add(record.id)
    return result


def claimable_records(user: User, campaign: Campaign | None = None):
    """Unassigned, open records a volunteer may ask for, with the user's own pending requests."""
    statement = (
        sa.select(OutreachRecord)
        .where(OutreachRecord.assignee_id.is_(None), OutreachRecord.stage != "closed", Campaign.archived_at.is_(None))
        .join(Campaign, Campaign.id == OutreachRecord.campaign_id)
        .options(selectinload(OutreachRecord.country), selectinload(OutreachRecord.campaign))
    )
    if campaign is not None:
        statement = statement.where(OutreachRecord.campaign_id == campaign.id)
    records = db.session.scalars(statement).all()
    pending = {
        claim_.outreach_id: claim_
        for claim_ in db.session.scalars(
            sa.select(Claim).where(Claim.volunteer_id == user.id, Claim.status == "pending")
        )
    }
    return records, pending


def pending_claims(campaign: Campaign | None = None):
    statement = (
        sa.select(Claim)
        .where(Claim.status == "pending")
        .order_by(Claim.requested_at)
        .options(
            selectinload(Claim.volunteer),
            selectinload(Claim.outreach).selectinload(OutreachRecord.country),
            selectinload(Claim.outreach).selectinload(OutreachRecord.campaign),
        )
    )
    if campaign is not None:
        statement = statement.join(Claim.outreach).where(OutreachRecord.campaign_id == campaign.id)
    return db.session.scalars(statement).all()


def history(record: OutreachRecord):
    return db.session.scalars(
        sa.select(Assignment)
        .where(Assignment.outreach_id == record.id)
        .order_by(Assignment.changed_at.desc(), Assignment.id.desc())
        .options(
            selectinload(Assignment.assignee),
            selectinload(Assignment.previous_assignee),
            selectinload(Assignment.changed_by),
        )
    ).all()
