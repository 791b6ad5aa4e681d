"""Letter rules: composing a letter from a template (crm/letters/letter_templates.py) merged for its recipient
(crm/letters/merge_fields.py), sending, delivery (with the signature totals frozen on the letter), acknowledgement,
replies and attachments. Plain functions; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm import clock
from crm.audit import services as audit
from crm.contacts.models import Contact, Office
from crm.countries.models import Country
from crm.database import after_commit, check_version, stale_record_message, utcnow
from crm.errors import StaleRecord
from crm.extensions import db
from crm.i18n import _, readers_date
from crm.letters import storage
from crm.letters.errors import LetterError, check_language
from crm.letters.letter_templates import find_template, template_languages
from crm.letters.merge_fields import merge_values, render_merge
from crm.letters.models import LETTER_CHANNELS, LETTER_LANGUAGES, SUBJECT_MAX, Letter, LetterAttachment
from crm.outreach.models import OutreachRecord
from crm.outreach.services import advance_stage
from crm.signatures.totals import totals_for
from crm.statements.services import freeze_for_delivery, statements_for_letter
from crm.webhooks import services as webhooks


def _day(day: dt.date) -> str:
    return readers_date(day)


# ---------------------------------------------------------------------------------------------------
# Composing


@dataclass
class Recipient:
    value: str  # "contact-<id>" or "office-<id>", as the composer's select submits it
    office: Office
    contact: Contact | None = None


def recipients(record: OutreachRecord) -> list[Recipient]:
    """Who a letter on this record can go to: the active contacts at the government's offices, and each
    office itself (a letter "to the Embassy"), in two queries."""
    offices = db.session.scalars(
        sa.select(Office)
        .where(Office.country_id == record.country_id, Office.active.is_(True))
        .order_by(Office.name)
        .options(selectinload(Office.contacts))
    ).all()
    found = []
    for office in offices:
        for contact in office.contacts:
            if contact.active and contact.merged_into_id is None:
                found.append(Recipient(f"contact-{contact.id}", office, contact))
        found.append(Recipient(f"office-{office.id}", office))
    return found


def language_for(contact: Contact | None, available: list[str]) -> str | None:
    """The recipient's own language when the template exists in it, else the first language it exists in."""
    preferred = ((contact.language or "").strip().lower()[:2]) if contact is not None else ""
    if preferred in available:
        return preferred
    return next((language for language in LETTER_LANGUAGES if language in available), None)


def _recipient_of(record: OutreachRecord, contact: Contact | None, office: Office | None):
    if contact is not None:
        office = contact.office
    if office is None:
        raise LetterError(_("Choose who the letter is for."), "recipient")
    if office.country_id != record.country_id:
        raise LetterError(_("That office does not represent this government."), "recipient")
    return contact, office


def compose_letter(
    record: OutreachRecord,
    *,
    template_name: str,
    actor,
    contact: Contact | None = None,
    office: Office | None = None,
    language: str | None = None,
    today: dt.date | None = None,
) -> Letter:
    """A draft letter from a template, merged for its recipient, in the language chosen (by default the
    contact's own language when the template exists in it)."""
    contact, office = _recipient_of(record, contact, office)
    available = template_languages().get(template_name)
    if not available:
        raise LetterError(_("Choose a template."), "template")
    if not language:
        language = language_for(contact, available)
    check_language(language)
    if language not in available:
        raise LetterError(
            _("This template is written in %(languages)s only.", languages=", ".join(available)), "language"
        )
    template = find_template(template_name, language)
    values = merge_values(record, language=language, contact=contact, office=office, actor=actor, today=today)
    subject = " ".join(render_merge(template.subject, values).split())
    if len(subject) > SUBJECT_MAX:
        raise LetterError(
            _(
                "Once merged, the subject is longer than %(max)s characters; shorten the template's subject.",
                max=SUBJECT_MAX,
            ),
            "template",
        )
    letter = Letter(
        outreach_id=record.id,
        direction="outgoing",
        language=language,
        recipient_contact_id=getattr(contact, "id", None),
        recipient_office_id=office.id,
        recipient_name=contact.name if contact is not None else None,
        subject=subject,
        body=render_merge(template.body, values),
        created_by_id=getattr(actor, "id", None),
    )
    audit.created(
        "letter.compose",
        letter,
        actor=actor,
        after={
            "outreach_id": record.id,
            "template": template_name,
            "language": language,
            "recipient_contact_id": letter.recipient_contact_id,
            "recipient_office_id": office.id,
        },
    )
    return letter


# ---------------------------------------------------------------------------------------------------
# The letter's life: draft, sent, delivered, acknowledged, answered


def letter_status(letter: Letter) -> str:
    if letter.direction == "incoming":
        return "received"
    if letter.acknowledged_on:
        return "acknowledged"
    if letter.delivered_on:
        return "delivered"
    if letter.sent_on:
        return "sent"
    return "draft"


def is_draft(letter: Letter) -> bool:
    return letter.direction == "outgoing" and letter.sent_on is None


def _flush() -> None:
    """Flush, turning a concurrent save caught by the version column into the same refusal as a stale form."""
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleRecord(stale_record_message()) from None


def _not_future(day: dt.date, field_name: str) -> None:
    if clock.not_begun_anywhere(day):
        raise LetterError(_("This date is in the future."), field_name)


def _outgoing(letter: Letter, field_name: str) -> None:
    if letter.direction != "outgoing":
        raise LetterError(_("Only a letter we send can be marked like this."), field_name)


_DRAFT_FIELDS = ("subject", "body", "recipient_name", "language")


def update_draft(
    letter: Letter, *, subject: str, body: str, recipient_name: str | None, language: str, actor, expected_version=None
) -> None:
    """Change a letter's wording before it is sent. The text is kept as typed: merge fields were filled
    when it was composed, and nothing in it is interpreted now."""
    check_version(letter, expected_version)
    if not is_draft(letter):
        raise LetterError(_("This letter has been sent; its text can no longer change."), "body")
    subject = " ".join((subject or "").split())
    if not subject:
        raise LetterError(_("This field is required."), "subject")
    if len(subject) > SUBJECT_MAX:
        raise LetterError(_("At most %(max)s characters.", max=SUBJECT_MAX), "subject")
    check_language(language)
    before = audit.snapshot(letter, _DRAFT_FIELDS)
    letter.subject = subject
    letter.body = (body or "").replace("\r\n", "\n").strip("\n") or None
    letter.recipient_name = (recipient_name or "").strip() or None
    letter.language = language
    after = audit.snapshot(letter, _DRAFT_FIELDS)
    if after != before:
        _flush()
        changed = [name for name in _DRAFT_FIELDS if before[name] != after[name]]
        audit.record(
            "letter.update",
            actor=actor,
            entity=letter,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )


def discard_draft(letter: Letter, *, actor, expected_version=None) -> None:
    """Delete a draft that will not be sent (a letter that went out stays: it is the record of what the
    government received). Its attachments' files go once the deletion is committed, so that a refused
    commit leaves no row pointing at a missing file."""
    check_version(letter, expected_version)
    if not is_draft(letter):
        raise LetterError(_("This letter has been sent; it stays in the record."), "confirm")
    before = audit.snapshot(letter, ("outreach_id", "recipient_contact_id", "recipient_office_id", *_DRAFT_FIELDS))
    before["attachments"] = [attachment.filename for attachment in letter.attachments]
    keys = [attachment.storage_key for attachment in letter.attachments]
    letter_id, campaign_id = letter.id, audit.campaign_of(letter)
    db.session.delete(letter)
    _flush()
    audit.record(
        "letter.discard", actor=actor, entity_type="letter", entity_id=letter_id, before=before, campaign_id=campaign_id
    )
    after_commit(db.session, lambda: [storage.remove(key) for key in keys])


# A letter's way out, in order: each step needs the one before it and cannot be dated before it, nor after
# the step that follows it when that is recorded already.
LETTER_STEPS = ("sent_on", "delivered_on", "acknowledged_on")


def _step_rules(field: str) -> tuple[str | None, str | None, str | None]:
    """What to say when a step comes too soon: (the previous step is missing, dated before the previous
    step, dated after the next one). Called at the time of refusal, in the reader's language."""
    if field == "sent_on":
        return None, None, _("The letter was delivered on %(date)s; it cannot have been sent after that.")
    if field == "delivered_on":
        return (
            _("Mark the letter sent first."),
            _("A letter cannot be delivered before it was sent (%(date)s)."),
            _("Receipt was acknowledged on %(date)s; it cannot have been delivered after that."),
        )
    return (
        _("Mark the letter delivered first."),
        _("Receipt cannot be acknowledged before the letter was delivered (%(date)s)."),
        None,
    )


def _check_step(letter: Letter, field: str, day: dt.date) -> None:
    _outgoing(letter, field)
    missing, too_early, too_late = _step_rules(field)
    index = LETTER_STEPS.index(field)
    previous = getattr(letter, LETTER_STEPS[index - 1]) if index else None
    following = getattr(letter, LETTER_STEPS[index + 1]) if index + 1 < len(LETTER_STEPS) else None
    if missing and previous is None:
        raise LetterError(missing, field)
    _not_future(day, field)
    if previous is not None and day < previous:
        raise LetterError(too_early % {"date": _day(previous)}, field)
    if following is not None and day > following:
        raise LetterError(too_late % {"date": _day(following)}, field)


def _record_step(letter: Letter, event: str, actor, changes: dict, *, after_change=None) -> None:
    """Write a checked step and its audit event (before and after the changed columns)."""
    before = audit.snapshot(letter, tuple(changes))
    for name, value in changes.items():
        setattr(letter, name, value)
    after = audit.snapshot(letter, tuple(changes)) | (after_change() if after_change else {})
    _flush()
    audit.record(event, actor=actor, entity=letter, before=before, after=after)


def mark_sent(letter: Letter, channel: str, sent_on: dt.date, actor, *, expected_version=None) -> None:
    """Record how and when a letter went out (again, to correct it). The record moves to "contacted"."""
    check_version(letter, expected_version)
    _outgoing(letter, "channel")
    if channel not in LETTER_CHANNELS:
        raise LetterError(_("Choose how the letter was sent."), "channel")
    _check_step(letter, "sent_on", sent_on)
    _record_step(letter, "letter.sent", actor, {"channel": channel, "sent_on": sent_on})
    advance_stage(letter.outreach, "contacted", actor=actor, reason="letter sent")


def snapshot_signature_totals(letter: Letter) -> bool:
    """Freeze on the letter the signature totals of the moment it is delivered: what the government was
    handed stays what it was, whatever is imported later. Taken once; False if it was already taken."""
    if letter.signatures_snapshot_at is not None:
        return False
    record = letter.outreach
    totals = totals_for(record.campaign, record.country)
    letter.signatures_total = totals.total
    letter.signatures_resident = totals.resident
    letter.signatures_by_country = totals.by_country
    # Where signers without an e-mail address meet the others, the figures above are the lower end.
    letter.signatures_total_upper = totals.total_upper
    letter.signatures_resident_upper = totals.resident_upper
    letter.signatures_snapshot_at = utcnow()
    return True


def mark_delivered(letter: Letter, delivered_on: dt.date, actor, *, expected_version=None) -> None:
    """Record that the letter reached the government, and freeze the signature totals delivered with it,
    and the signatories of the joint statements going with it, as they stand now."""
    check_version(letter, expected_version)
    _check_step(letter, "delivered_on", delivered_on)

    def frozen() -> dict:
        snapshot_signature_totals(letter)
        kept = {"signatures_total": letter.signatures_total, "signatures_resident": letter.signatures_resident}
        # Where signers without an e-mail address meet the others, the figures above are the lower end.
        if letter.signatures_total_upper != letter.signatures_total:
            kept["signatures_total_upper"] = letter.signatures_total_upper
        if letter.signatures_resident_upper != letter.signatures_resident:
            kept["signatures_resident_upper"] = letter.signatures_resident_upper
        if statements := freeze_for_delivery(letter, now=letter.signatures_snapshot_at or utcnow()):
            kept["statement_signatories"] = statements
        return kept

    _record_step(letter, "letter.delivered", actor, {"delivered_on": delivered_on}, after_change=frozen)
    webhooks.letter_delivered(letter)


def mark_acknowledged(letter: Letter, acknowledged_on: dt.date, actor, *, expected_version=None) -> None:
    """Record that the government acknowledged receipt."""
    check_version(letter, expected_version)
    _check_step(letter, "acknowledged_on", acknowledged_on)
    _record_step(letter, "letter.acknowledged", actor, {"acknowledged_on": acknowledged_on})


def _rejection(error: storage.AttachmentRejected) -> str:
    if error.reason == "too_large":
        return _("%(name)s is larger than %(size)s MB.", name=error.filename, size=f"{error.limit / (1024 * 1024):g}")
    if error.reason == "unpacked_too_large":
        return _(
            "%(name)s unpacks to more than %(size)s MB: it is not kept.",
            name=error.filename,
            size=f"{error.limit / (1024 * 1024):g}",
        )
    if error.reason == "empty":
        return _("%(name)s is empty.", name=error.filename)
    return _(
        "%(name)s is not a PDF, an image (PNG, JPEG, GIF, WebP) or an office document (Word, Excel, "
        "PowerPoint, OpenDocument).",
        name=error.filename,
    )


def _read_uploads(uploads) -> list[tuple[str, bytes, str]]:
    """Read and check every file before anything is saved, so one bad file saves none."""
    checked = []
    for upload in uploads or ():
        if upload is None or not getattr(upload, "filename", None):
            continue  # an empty file input
        try:
            checked.append(storage.read_upload(upload))
        except storage.AttachmentRejected as error:
            raise LetterError(_rejection(error), "attachments") from None
    return checked


def _attach(letter: Letter, checked, actor) -> list[LetterAttachment]:
    stored: list[storage.StoredFile] = []
    try:
        for filename, data, content_type in checked:
            stored.append(storage.store(filename, data, content_type))
        attachments = [
            LetterAttachment(
                letter_id=letter.id,
                filename=f.filename,
                content_type=f.content_type,
                size_bytes=f.size_bytes,
                sha256=f.sha256,
                storage_key=f.storage_key,
                uploaded_by_id=getattr(actor, "id", None),
            )
            for f in stored
        ]
        db.session.add_all(attachments)
        db.session.flush()
    except BaseException:
        for f in stored:
            storage.remove(f.storage_key)
        raise
    for attachment in attachments:
        audit.record(
            "letter.attachment",
            actor=actor,
            entity=attachment,
            after={
                "letter_id": letter.id,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size_bytes": attachment.size_bytes,
                "sha256": attachment.sha256,
            },
        )
    return attachments


def add_attachments(letter: Letter, uploads, actor) -> list[LetterAttachment]:
    """Keep files with a letter: PDFs, images and office documents, checked by content and size."""
    checked = _read_uploads(uploads)
    if not checked:
        raise LetterError(_("Choose a file."), "attachments")
    return _attach(letter, checked, actor)


def log_reply(
    original: Letter,
    received_on: dt.date,
    subject: str,
    body: str | None,
    actor,
    attachments=(),
    *,
    channel: str | None = None,
    language: str | None = None,
) -> Letter:
    """A reply received to a letter we sent: an incoming letter on the same record, linked to the original.
    The record moves to "responded"."""
    if original.direction != "outgoing":
        raise LetterError(_("A reply answers a letter we sent."), "received_on")
    if original.sent_on is None:
        raise LetterError(_("Mark the letter sent before logging its reply."), "received_on")
    _not_future(received_on, "received_on")
    if received_on < original.sent_on:
        raise LetterError(
            _("A reply cannot arrive before the letter was sent (%(date)s).", date=_day(original.sent_on)),
            "received_on",
        )
    subject = " ".join((subject or "").split())
    if not subject:
        raise LetterError(_("This field is required."), "subject")
    if len(subject) > SUBJECT_MAX:
        raise LetterError(_("At most %(max)s characters.", max=SUBJECT_MAX), "subject")
    if channel and channel not in LETTER_CHANNELS:
        raise LetterError(_("Choose how the reply arrived."), "channel")
    if language:
        check_language(language)
    checked = _read_uploads(attachments)
    reply = Letter(
        outreach_id=original.outreach_id,
        direction="incoming",
        in_reply_to_id=original.id,
        channel=channel or None,
        language=language or None,
        recipient_contact_id=original.recipient_contact_id,
        recipient_office_id=original.recipient_office_id,
        recipient_name=original.recipient_name,
        subject=subject,
        body=(body or "").replace("\r\n", "\n").strip("\n") or None,
        received_on=received_on,
        created_by_id=getattr(actor, "id", None),
    )
    audit.created(
        "letter.reply",
        reply,
        actor=actor,
        after={"in_reply_to_id": original.id, "received_on": received_on.isoformat(), "subject": subject},
    )
    if checked:
        _attach(reply, checked, actor)
    advance_stage(original.outreach, "responded", actor=actor, reason="reply received")
    return reply


# ---------------------------------------------------------------------------------------------------
# Reading


class FileLine(NamedTuple):
    """A file attached to a letter, as its page lists it."""

    id: int
    filename: str
    size_bytes: int
    uploaded_at: dt.datetime


class ReplyLine(NamedTuple):
    """A reply logged to a letter, as its page lists it."""

    id: int
    subject: str
    received_on: dt.date | None


@cache
def _files_and_replies_statement() -> sa.CompoundSelect:
    """A letter's files (by id) and replies (by day received, then id), the columns the page shows, in one
    statement built once, the letter a parameter: kind 0 a file's (id, filename, size, uploaded_at), kind 1 a
    reply's (id, subject, received_on)."""
    letter_id = sa.bindparam("letter_id", type_=sa.Integer)
    attachment, letter = LetterAttachment.__table__.c, Letter.__table__.c
    files = sa.select(
        sa.literal(0).label("kind"),
        attachment.id,
        attachment.filename.label("words"),
        attachment.size_bytes.label("size"),
        attachment.uploaded_at.label("at"),
        sa.cast(sa.null(), sa.Date).label("day"),
    ).where(attachment.letter_id == letter_id)
    replies = sa.select(sa.literal(1), letter.id, letter.subject, sa.null(), sa.null(), letter.received_on).where(
        letter.in_reply_to_id == letter_id
    )
    return sa.union_all(files, replies).order_by("kind", "day", "id")


def letter_page(letter: Letter) -> dict:
    """What the letter page shows besides the letter, in a fixed number of queries whatever the number
    of attachments or replies. Its files and replies are read as plain rows of the columns listed: the page
    only lists them, and as records they cost more to build than to read."""
    attachments, replies = [], []
    for kind, line_id, words, size, at, day in (
        db.session.connection().execute(_files_and_replies_statement(), {"letter_id": letter.id}).all()
    ):
        if kind == 0:
            attachments.append(FileLine(line_id, words, size, at))
        else:
            replies.append(ReplyLine(line_id, words, day))
    countries = {}
    if letter.signatures_by_country:
        countries = {
            alpha3: (name_en, name_es)
            for alpha3, name_en, name_es in db.session.execute(
                sa.select(Country.alpha3, Country.name_en, Country.name_es).where(
                    Country.alpha3.in_(list(letter.signatures_by_country))
                )
            )
        }
    statements, others = statements_for_letter(letter) if letter.direction == "outgoing" else ([], [])
    return {
        "attachments": attachments,
        "replies": replies,
        "snapshot_countries": countries,
        "statements": statements,
        "attachable_statements": others if letter.delivered_on is None else [],
    }


def letters_of(record: OutreachRecord):
    """A select of a record's letters, newest first, with what the list shows loaded up front."""
    return (
        sa.select(Letter)
        .where(Letter.outreach_id == record.id)
        .order_by(sa.func.coalesce(Letter.received_on, Letter.sent_on).desc().nulls_first(), Letter.id.desc())
        .options(selectinload(Letter.recipient_contact), selectinload(Letter.recipient_office))
    )


def attachment_counts(letters) -> dict[int, int]:
    ids = [letter.id for letter in letters]
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(LetterAttachment.letter_id, sa.func.count())
            .where(LetterAttachment.letter_id.in_(ids))
            .group_by(LetterAttachment.letter_id)
        ).all()
    )
