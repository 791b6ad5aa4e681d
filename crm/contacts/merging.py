"""Merging a duplicate contact into the record that stays: what it would move, and the merge itself, which
keeps the duplicate, inactive, pointing to the survivor. Plain functions; they flush, the caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.audit import services as audit
from crm.contacts.models import Contact, Post
from crm.contacts.services import ContactError, _contact_snapshot, normalise
from crm.database import check_version
from crm.extensions import db
from crm.i18n import _
from crm.letters.models import Letter
from crm.outreach.models import Meeting, meeting_contact

# What a merge copies from the merged record when the survivor has nothing (the title goes with the post).
MERGE_FILLS = ("email", "phone", "personal_phone", "language", "notes")


@dataclass
class MergePreview:
    meeting_ids: list[int]
    shared_meeting_ids: list[int]
    letter_ids: list[int]
    post_count: int
    fills: dict[str, object] = field(default_factory=dict)


def check_merge(survivor: Contact, merged: Contact) -> None:
    if survivor.id == merged.id:
        raise ContactError(_("A contact cannot be merged into itself."))
    if survivor.merged_into_id is not None:
        raise ContactError(
            _("%(name)s was already merged into another record; merge into that one.", name=survivor.name)
        )
    if merged.merged_into_id is not None:
        raise ContactError(_("%(name)s was already merged into another record.", name=merged.name))
    if not survivor.active and merged.active:
        raise ContactError(_("Keep the active record: merge the inactive one into it instead."))


def _fills(survivor: Contact, merged: Contact) -> dict[str, object]:
    fills = {
        name: getattr(merged, name) for name in MERGE_FILLS if not getattr(survivor, name) and getattr(merged, name)
    }
    if not survivor.title and merged.title and merged.office_id == survivor.office_id:
        fills["title"] = merged.title
    return fills


def merge_preview(survivor: Contact, merged: Contact) -> MergePreview:
    """What a merge would move, for the confirmation page. Raises ContactError if it cannot be done."""
    check_merge(survivor, merged)
    survivor_meetings = set(
        db.session.scalars(sa.select(meeting_contact.c.meeting_id).where(meeting_contact.c.contact_id == survivor.id))
    )
    merged_meetings = db.session.scalars(
        sa.select(meeting_contact.c.meeting_id)
        .where(meeting_contact.c.contact_id == merged.id)
        .order_by(meeting_contact.c.meeting_id)
    ).all()
    letter_ids = db.session.scalars(
        sa.select(Letter.id).where(Letter.recipient_contact_id == merged.id).order_by(Letter.id)
    ).all()
    post_count = db.session.scalar(sa.select(sa.func.count()).select_from(Post).where(Post.contact_id == merged.id))
    return MergePreview(
        meeting_ids=list(merged_meetings),
        shared_meeting_ids=[m for m in merged_meetings if m in survivor_meetings],
        letter_ids=list(letter_ids),
        post_count=post_count,
        fills=_fills(survivor, merged),
    )


def _same_term(kept: Post, other: Post) -> bool:
    """Two records of one term: at the same office, both held now (a missing title matches any), or with the
    same title and dates."""
    if kept.office_id != other.office_id:
        return False
    if kept.ended_on is None and other.ended_on is None:
        return not kept.title or not other.title or normalise(kept.title) == normalise(other.title)
    return (normalise(kept.title), kept.started_on, kept.ended_on) == (
        normalise(other.title),
        other.started_on,
        other.ended_on,
    )


def _expire_loaded(*models) -> None:
    """Rows changed with plain UPDATE/DELETE statements: drop what the session holds of them."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, models):
            db.session.expire(obj)


def merge_contacts(
    survivor: Contact, merged: Contact, *, actor, survivor_version=None, merged_version=None
) -> MergePreview:
    """Merge a duplicate into the record that stays: its meetings (without listing the survivor twice at a
    meeting both attended), letters and posts move over, the survivor's empty details are filled from it, and
    the duplicate is kept, inactive, pointing to the survivor. Recorded in the audit log with both ids."""
    check_version(survivor, survivor_version)
    check_version(merged, merged_version)
    preview = merge_preview(survivor, merged)
    db.session.flush()
    before = {"survivor": _contact_snapshot(survivor), "merged": _contact_snapshot(merged)}

    mc = meeting_contact.c
    survivor_meetings = sa.select(mc.meeting_id).where(mc.contact_id == survivor.id)
    db.session.execute(
        sa.delete(meeting_contact).where(mc.contact_id == merged.id, mc.meeting_id.in_(survivor_meetings))
    )
    db.session.execute(sa.update(meeting_contact).where(mc.contact_id == merged.id).values(contact_id=survivor.id))
    # Bump the versions, so that a meeting or letter form opened before the merge cannot put the old contact back.
    meeting_table, letter_table = Meeting.__table__, Letter.__table__
    if preview.meeting_ids:
        db.session.execute(
            sa.update(meeting_table)
            .where(meeting_table.c.id.in_(preview.meeting_ids))
            .values(version=meeting_table.c.version + 1)
        )
    if preview.letter_ids:
        db.session.execute(
            sa.update(letter_table)
            .where(letter_table.c.id.in_(preview.letter_ids))
            .values(recipient_contact_id=survivor.id, version=letter_table.c.version + 1)
        )
    _expire_loaded(Meeting, Letter)

    survivor_open = [post for post in survivor.posts if post.ended_on is None]
    for post in list(merged.posts):
        twin = next((kept for kept in survivor.posts if _same_term(kept, post)), None)
        if twin is not None:
            # The same term recorded twice: keep one, with the earliest start known and a title if either has one.
            twin.started_on = min(twin.started_on, post.started_on)
            twin.title = twin.title or post.title
            merged.posts.remove(post)
            db.session.delete(post)
            continue
        if post.ended_on is None and survivor_open:
            # One person holds one post now: the duplicate's other open post ended when the survivor's began.
            post.ended_on = max(post.started_on, min(kept.started_on for kept in survivor_open))
        post.contact = survivor

    for name, value in preview.fills.items():
        setattr(survivor, name, value)
        if name == "title":
            for post in survivor_open:
                if post.office_id == survivor.office_id and not post.title:
                    post.title = value
    for earlier in db.session.scalars(sa.select(Contact).where(Contact.merged_into_id == merged.id)):
        earlier.merged_into_id = survivor.id
    merged.merged_into_id = survivor.id
    merged.active = False
    db.session.flush()
    audit.record(
        "contact.merge",
        actor=actor,
        entity=survivor,
        before=before,
        after={
            "survivor_id": survivor.id,
            "merged_id": merged.id,
            "survivor": _contact_snapshot(survivor),
            "merged": _contact_snapshot(merged),
            "meeting_ids": preview.meeting_ids,
            "shared_meeting_ids": preview.shared_meeting_ids,
            "letter_ids": preview.letter_ids,
            "filled": sorted(preview.fills),
        },
    )
    return preview
