"""Finding and erasing one person's personal data (a signer or a contact), recorded in the audit log.

What erasing does, and why:
- a contact keeps its record (meetings and letters still say an embassy was met or written to) but
  loses everything that identifies the person: name, title, e-mail, phones, notes; letters addressed
  to them lose the recipient's name; audit events about the contact have their before/after values
  redacted (the one sanctioned change to the audit log, itself audited); records merged with a found
  one (duplicates of the same person) are erased with it, whichever of them holds the address;
- a signature is deleted: the person no longer counts, except in totals already delivered with a
  letter, which record what was handed over and are not personal data. So is any row of theirs in a
  signature import under way, and the keyed hash of their address is kept (ErasedSigner, never the
  address): a file uploaded before the erasure, or any later export or push that lists them again
  (platforms' exports list every signer they ever had), leaves them out, and its report counts them.
  That hash is kept even when nothing was held yet (someone asks before the export that lists them is
  imported), and only `lift_erasure` (an operator's command, audited) lets imports count them again;
- a joint statement's signature given for an organisation keeps the organisation's signature (it is the
  organisation's, not the person's) and loses the signer's name, role and e-mail; one given in a
  person's own name, or never confirmed, is deleted; the confirmation e-mail (which names the person)
  leaves the outbox; audit events about them are redacted;
- a hosted petition's sign-up (found by the keyed hash: most keep no address) is deleted, with the
  signature it counted and its confirmation e-mail.
The erasure's own audit event names no e-mail address: only what was erased and why."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.audit import services as audit
from crm.audit.models import REDACTION, AuditEvent
from crm.contacts.models import Contact
from crm.database import serialise, upsert_insert, utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.letters.models import Letter
from crm.mail.models import OutboundMessage
from crm.signatures import hosted
from crm.signatures.hosted_models import HostedSignature
from crm.signatures.models import ErasedSigner, Petition, Signature, StagedSignature
from crm.signatures.normalise import EmailHasher, normalise_email
from crm.signatures.writer import ERASURE_LOCK
from crm.statements.models import StatementSignature
from crm.statements.services import forget_on_letters
from crm.translation import gettext

ERASED_NAME = "Erased contact"


class PrivacyError(DomainError):
    pass


@dataclass
class PersonFound:
    email: str
    contacts: list[Contact] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    statement_signatures: list[StatementSignature] = field(default_factory=list)
    hosted_signatures: list[HostedSignature] = field(default_factory=list)
    # The keyed hash of the address (None for an address that cannot be a signer's), and how many rows of
    # signature imports under way (staged, not yet counted) have it.
    email_hash: str | None = None
    staged_signatures: int = 0
    # Already kept out of signature imports by an earlier erasure.
    erased: bool = False

    @property
    def empty(self) -> bool:
        return (
            not self.contacts
            and not self.signatures
            and not self.statement_signatures
            and not self.hosted_signatures
            and not self.staged_signatures
        )

    @property
    def erasable(self) -> bool:
        """Something is held, or the address can still be kept out of later signature imports: someone may
        ask before the export that lists them is imported."""
        return not self.empty or (self.email_hash is not None and not self.erased)


def _address(email: str) -> str:
    """The address asked about, normalised; refused unless it is one."""
    normalised = normalise_email(email)
    if not normalised or "@" not in normalised:
        raise PrivacyError(gettext("give the person's e-mail address"))
    return normalised


def _reason(reason: str) -> str:
    """Why the request is carried out, as the audit log records it; refused when empty."""
    if not reason or not reason.strip():
        raise PrivacyError(gettext("say why (for example: request received by e-mail on 12 May)"))
    return reason.strip()


def find_person(email: str) -> PersonFound:
    """Contacts with this e-mail, and signatures whose keyed hash matches it (the address itself was
    never stored)."""
    normalised = _address(email)
    contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.email == normalised, Contact.name != ERASED_NAME)
        .options(selectinload(Contact.office))
    ).all()
    contacts = _with_merged_records(contacts)
    email_hash = EmailHasher.from_config().hash_email(email)
    signatures = (
        db.session.scalars(sa.select(Signature).where(Signature.email_hash == email_hash)).all() if email_hash else []
    )
    statement_signatures = db.session.scalars(
        sa.select(StatementSignature)
        .where(StatementSignature.email == email.strip().lower())
        .options(selectinload(StatementSignature.statement))
        .order_by(StatementSignature.id)
    ).all()
    staged = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(StagedSignature).where(StagedSignature.email_hash == email_hash)
        )
        if email_hash
        else 0
    )
    return PersonFound(
        normalised,
        list(contacts),
        list(signatures),
        list(statement_signatures),
        hosted.find_by_email(email),
        email_hash,
        staged,
        email_hash is not None and db.session.get(ErasedSigner, email_hash) is not None,
    )


def _with_merged_records(contacts: list[Contact]) -> list[Contact]:
    """The records merged with these: a duplicate merged into another is the same person, whichever
    record holds the address asked about (a merge points every merged record at the final survivor)."""
    ids = {c.id for c in contacts}
    survivors = {c.merged_into_id for c in contacts if c.merged_into_id is not None}
    related = db.session.scalars(
        sa.select(Contact)
        .where(
            sa.or_(Contact.id.in_(survivors - ids), Contact.merged_into_id.in_(ids | survivors)),
            Contact.id.not_in(ids),
            Contact.name != ERASED_NAME,
        )
        .options(selectinload(Contact.office))
    ).all()
    return [*contacts, *related]


@dataclass
class Erasure:
    contacts: int
    signatures: int
    audit_events_redacted: int
    statement_signatures: int = 0


def erase_person(found: PersonFound, *, actor, reason: str) -> Erasure:
    """Erase what `find_person` found. Flushes; the caller commits."""
    reason = _reason(reason)
    if not found.erasable:
        raise PrivacyError(gettext("nothing to erase for this address"))
    contact_ids = [contact.id for contact in found.contacts]
    for contact in found.contacts:
        contact.name, contact.title, contact.email = ERASED_NAME, None, None
        contact.phone, contact.personal_phone, contact.notes, contact.active = None, None, None, False
    if contact_ids:
        db.session.execute(
            sa.update(Letter).where(Letter.recipient_contact_id.in_(contact_ids)).values(recipient_name=None)
        )
    redacted = _redact_audit("contact", contact_ids)
    petitions = sorted({signature.petition_id for signature in found.signatures})
    # Before the signatures: a hosted sign-up's counted signature is among them (the same keyed hash).
    hosted_erased = hosted.erase(found.hosted_signatures, uncount=False)
    for signature in found.signatures:
        db.session.delete(signature)
    # Whatever was found (or nothing yet), the address stays out of every later import and push.
    staged = _forget_signer(found.email_hash) if found.email_hash is not None else 0
    redacted += _erase_statement_signatures(found)
    db.session.flush()
    result = Erasure(len(contact_ids), len(found.signatures), redacted, len(found.statement_signatures))
    audit.record(
        "privacy.erase",
        actor=actor,
        entity_type="person",
        after={
            "contact_ids": contact_ids,
            "signatures_deleted": result.signatures,
            "staged_signatures_deleted": staged,
            "petition_ids": petitions,
            "audit_events_redacted": redacted,
            "statement_signatures_erased": result.statement_signatures,
            "hosted_signatures_erased": hosted_erased,
            "reason": reason,
        },
    )
    return result


def _forget_signer(email_hash: str) -> int:
    """Delete a signer's rows from the signature imports under way and keep their hash, so that no import
    or push publishes them again. Returns how many staged rows were deleted."""
    serialise(db.session, ERASURE_LOCK)
    db.session.execute(
        upsert_insert(db.session, ErasedSigner.__table__)
        .values(email_hash=email_hash, erased_at=utcnow())
        .on_conflict_do_nothing()
    )
    return db.session.execute(sa.delete(StagedSignature).where(StagedSignature.email_hash == email_hash)).rowcount


def lift_erasure(email: str, *, actor, reason: str) -> None:
    """Let signature imports and pushes count this address again: someone erased who asks to sign again.
    Recorded in the audit log (why, never the address). Flushes; the caller commits."""
    reason = _reason(reason)
    _address(email)
    email_hash = EmailHasher.from_config().hash_email(email)
    lifted = (
        db.session.execute(sa.delete(ErasedSigner).where(ErasedSigner.email_hash == email_hash)).rowcount
        if email_hash
        else 0
    )
    if not lifted:
        raise PrivacyError(gettext("this address was not erased: imports already count it"))
    audit.record("privacy.lift", actor=actor, entity_type="person", after={"reason": reason})


def _redact_audit(entity_type: str, ids) -> int:
    """Blank the before/after values of the audit events about these records (the one change the
    append-only log allows; the erasure's own event records it)."""
    if not ids:
        return 0
    return db.session.execute(
        sa.update(AuditEvent.__table__)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_([str(i) for i in ids]))
        .values(
            before=sa.case((AuditEvent.before.is_(None), None), else_=sa.literal(REDACTION, sa.JSON)),
            after=sa.case((AuditEvent.after.is_(None), None), else_=sa.literal(REDACTION, sa.JSON)),
        )
    ).rowcount


def _erase_statement_signatures(found: PersonFound) -> int:
    """An organisation's signature stays without its signer's details; a person's own (or one never
    confirmed) goes. Returns how many audit events were redacted."""
    if not found.statement_signatures:
        return 0
    ids = [signature.id for signature in found.statement_signatures]
    forget_on_letters([signature.id for signature in found.statement_signatures if signature.kind != "organisation"])
    now = utcnow()
    for signature in found.statement_signatures:
        if signature.kind == "organisation" and signature.status != "unconfirmed":
            signature.signer_name = signature.signer_role = signature.email = None
            signature.erased_at = now
        else:
            db.session.delete(signature)
    db.session.execute(
        sa.delete(OutboundMessage)
        .where(OutboundMessage.kind == "statement_confirmation", OutboundMessage.recipient_email == found.email)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return _redact_audit("statement_signature", ids)


def petitions_by_id(ids) -> dict[int, Petition]:
    return {p.id: p for p in db.session.scalars(sa.select(Petition).where(Petition.id.in_(list(ids))))}
