"""The rules of joint statements: writing them (and freezing their text at the first signature), signing
on the public page, confirming the address by a single-use link, moderating, withdrawing, dropping
sign-ups never confirmed, and what the public list and the exports show."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified

from crm import clock
from crm.audit import services as audit
from crm.campaigns.models import Campaign
from crm.core.public_forms import Limit, hashed_key
from crm.countries.models import Country
from crm.database import check_version, fold
from crm.encryption import token_hash
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import _
from crm.letters.models import Letter
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.outreach.models import OutreachRecord
from crm.permissions import is_read_only, read_only_message
from crm.statements.models import (
    LISTINGS,
    SIGNER_KINDS,
    STATEMENT_LANGUAGES,
    LetterStatement,
    Statement,
    StatementSignature,
    StatementText,
    website_domain,
)
from crm.translation import gettext

MAIL_KIND = "statement_confirmation"
# What the outbox keeps of a confirmation once a mail server accepted it: its links are credentials.
SENT_BODY = "(A statement confirmation with its links was sent. It is not kept here.)"
# Statuses a signer can still withdraw from, and those a moderator can still act on.
WITHDRAWABLE = ("unconfirmed", "confirmed", "approved", "merged")
MERGEABLE = ("confirmed", "approved")


class StatementError(DomainError):
    pass


class NotOpen(StatementError):
    status = 409


class TextFrozen(StatementError):
    status = 409


class AlreadyDecided(StatementError):
    """The signature moved on (another moderator, the signer) since the page was drawn."""

    status = 409


def _refuse_if_archived(campaign: Campaign) -> None:
    if is_read_only(campaign):
        error = StatementError(read_only_message())
        error.status = 409
        raise error


# --- Writing statements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    title: str
    body: str


def statement_by_slug(slug: str) -> Statement | None:
    return db.session.scalar(sa.select(Statement).where(Statement.slug == slug))


def statements_of(campaign: Campaign) -> list[Statement]:
    return db.session.scalars(
        sa.select(Statement)
        .where(Statement.campaign_id == campaign.id)
        .order_by(Statement.created_at.desc(), Statement.id.desc())
    ).all()


def status_counts(statement_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many signatures each statement has in each status, in one query."""
    counts: dict[int, dict[str, int]] = {statement_id: {} for statement_id in statement_ids}
    if not statement_ids:
        return counts
    rows = db.session.execute(
        sa.select(StatementSignature.statement_id, StatementSignature.status, sa.func.count())
        .where(StatementSignature.statement_id.in_(statement_ids))
        .group_by(StatementSignature.statement_id, StatementSignature.status)
    )
    for statement_id, status, number in rows:
        counts[statement_id][status] = number
    return counts


def slug_for(title: str) -> str:
    """A free address from the title: "Standing in solidarity…" -> standing-in-solidarity, then -2, -3."""
    words = re.sub(r"[^a-z0-9]+", "-", fold(title or "")).strip("-")
    base = words if len(words) <= 60 else words[:61].rsplit("-", 1)[0]
    base = base.strip("-")[:60] or "statement"
    taken = set(db.session.scalars(sa.select(Statement.slug).where(Statement.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _clean_wordings(wordings: dict[str, Wording | None]) -> dict[str, Wording]:
    """The languages given a title and a text; half of one (a title without a text) is refused."""
    clean = {}
    for language, wording in wordings.items():
        if language not in STATEMENT_LANGUAGES:
            raise StatementError(_("Choose a language of the campaign."), "language")
        title = " ".join((wording.title if wording else "").split())
        body = (wording.body if wording else "").strip().replace("\r\n", "\n")
        if not title and not body:
            continue
        if not title:
            raise StatementError(_("Give the title in this language too, or leave both empty."), f"title_{language}")
        if not body:
            raise StatementError(_("Give the text in this language too, or leave both empty."), f"body_{language}")
        clean[language] = Wording(title[:300], body)
    if not clean:
        raise StatementError(_("Give the statement's title and text in at least one language."), "title_en")
    return clean


def _check_dates(opens_on: dt.date | None, closes_on: dt.date | None) -> None:
    if opens_on and closes_on and closes_on < opens_on:
        raise StatementError(_("The statement cannot close before it opens."), "closes_on")


def create_statement(
    campaign: Campaign,
    wordings: dict[str, Wording | None],
    *,
    actor,
    opens_on: dt.date | None = None,
    closes_on: dt.date | None = None,
    individuals_may_sign: bool = False,
) -> Statement:
    _refuse_if_archived(campaign)
    clean = _clean_wordings(wordings)
    _check_dates(opens_on, closes_on)
    first = clean.get("en") or next(iter(clean.values()))
    statement = Statement(
        campaign_id=campaign.id,
        slug=slug_for(first.title),
        opens_on=opens_on,
        closes_on=closes_on,
        individuals_may_sign=individuals_may_sign,
        created_by_id=getattr(actor, "id", None),
    )
    statement.campaign = campaign
    statement.texts = [StatementText(language=lang, title=w.title, body=w.body) for lang, w in clean.items()]
    audit.created(
        "statement.create",
        statement,
        actor=actor,
        after=_snapshot,
        campaign_id=campaign.id,
    )
    return statement


def _snapshot(statement: Statement) -> dict:
    return {
        "slug": statement.slug,
        "opens_on": statement.opens_on.isoformat() if statement.opens_on else None,
        "closes_on": statement.closes_on.isoformat() if statement.closes_on else None,
        "individuals_may_sign": statement.individuals_may_sign,
        "texts": {text.language: {"title": text.title, "body": text.body} for text in statement.texts},
    }


def update_statement(
    statement: Statement,
    wordings: dict[str, Wording | None],
    *,
    actor,
    opens_on: dt.date | None,
    closes_on: dt.date | None,
    individuals_may_sign: bool,
    version=None,
) -> Statement:
    """Change the dates and who may sign at any time; the text only until the first signature."""
    _refuse_if_archived(statement.campaign)
    check_version(statement, version)
    clean = _clean_wordings(wordings)
    _check_dates(opens_on, closes_on)
    current = {text.language: Wording(text.title, text.body) for text in statement.texts}
    if clean != current and statement.is_frozen:
        raise TextFrozen(
            _("The text cannot change: organisations have signed it as it is. Make a new version for new wording.")
        )
    before = _snapshot(statement)
    if clean != current:
        by_language = {text.language: text for text in statement.texts}
        for language, wording in clean.items():
            if language in by_language:
                by_language[language].title, by_language[language].body = wording.title, wording.body
            else:
                statement.texts.append(StatementText(language=language, title=wording.title, body=wording.body))
        for language, text in by_language.items():
            if language not in clean:
                statement.texts.remove(text)
    statement.opens_on, statement.closes_on = opens_on, closes_on
    statement.individuals_may_sign = individuals_may_sign
    after = _snapshot(statement)
    if after != before:
        # The wording lives in other rows: the statement's own row is written all the same, so that its
        # version moves and a form opened before this save is refused (crm.database.check_version).
        flag_modified(statement, "individuals_may_sign")
    db.session.flush()
    if after != before:
        audit.record(
            "statement.update",
            actor=actor,
            entity=statement,
            before=before,
            after=after,
            campaign_id=statement.campaign_id,
        )
    return statement


def new_version(statement: Statement, *, actor) -> Statement:
    """A copy of the statement, not frozen, to be worded anew and signed from scratch."""
    _refuse_if_archived(statement.campaign)
    copy = create_statement(
        statement.campaign,
        {text.language: Wording(text.title, text.body) for text in statement.texts},
        actor=actor,
        opens_on=None,
        closes_on=None,
        individuals_may_sign=statement.individuals_may_sign,
    )
    audit.record(
        "statement.new_version",
        actor=actor,
        entity=copy,
        after={"from": statement.slug, "slug": copy.slug},
        campaign_id=statement.campaign_id,
    )
    return copy


# --- Signing ------------------------------------------------------------------------------------------


@dataclass
class SignUp:
    """What the public form gives, its formats already checked (crm/statements/forms.py)."""

    kind: str
    country: Country
    signer_name: str
    email: str
    consent: bool
    organisation: str | None = None
    website: str | None = None
    signer_role: str | None = None
    listing: str = "named"
    publish_logo: bool = False


@dataclass
class SignedUp:
    signature: StatementSignature
    confirm_token: str
    withdraw_token: str


def confirm_days() -> int:
    return int(current_app.config["STATEMENT_CONFIRM_DAYS"])


def email_limit(statement: Statement, email: str) -> Limit:
    """Sign-ups one address may make to one statement per window: each sends it a link."""
    return Limit(
        hashed_key(f"email:{statement.id}", email or ""),
        int(current_app.config["STATEMENT_SIGNUPS_PER_EMAIL"]),
    )


def _text(value: str | None, limit: int) -> str | None:
    cleaned = " ".join((value or "").split())[:limit]
    return cleaned or None


def sign(statement: Statement, details: SignUp, *, language: str, now: dt.datetime) -> SignedUp:
    """Take a sign-up: it waits for its address to be confirmed (the e-mail is queued here), and freezes
    the text if it is the first. An earlier unconfirmed sign-up from the same address for this statement
    is replaced: its link stops working (signing again is how a lost link is replaced)."""
    today = clock.today(None, now)
    if is_read_only(statement.campaign) or not statement.is_open(today):
        raise NotOpen(_("This statement is not open for signatures."))
    if details.kind not in SIGNER_KINDS or (details.kind == "individual" and not statement.individuals_may_sign):
        raise StatementError(_("Only organisations may sign this statement."), "kind")
    if not details.consent:
        raise StatementError(_("Tick the box to let the campaign keep these details, or do not sign."), "consent")
    if details.listing not in LISTINGS:
        raise StatementError(_("Choose how to be listed."), "listing")
    organisation = _text(details.organisation, 300)
    if details.kind == "organisation" and not organisation:
        raise StatementError(_("Give the organisation's name."), "organisation")
    email = (details.email or "").strip().lower()
    signer_name = _text(details.signer_name, 200)
    if not signer_name:
        raise StatementError(_("Give your name."), "signer_name")
    db.session.execute(
        sa.delete(StatementSignature).where(
            StatementSignature.statement_id == statement.id,
            StatementSignature.email == email,
            StatementSignature.status == "unconfirmed",
        )
    )
    confirm_token, withdraw_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    signature = StatementSignature(
        statement_id=statement.id,
        kind=details.kind,
        organisation=organisation,
        country_id=details.country.id,
        website=(details.website or "").strip() or None,
        signer_name=signer_name,
        signer_role=_text(details.signer_role, 200),
        email=email,
        listing=details.listing,
        publish_logo=bool(details.publish_logo) and details.listing == "named",
        language=language if language in STATEMENT_LANGUAGES else "en",
        status="unconfirmed",
        confirm_token_hash=token_hash(confirm_token),
        withdraw_token_hash=token_hash(withdraw_token),
        consented_at=now,
        created_at=now,
        expires_at=now + dt.timedelta(days=confirm_days()),
    )
    signature.statement, signature.country = statement, details.country
    db.session.add(signature)
    if statement.frozen_at is None:
        # Core, not the ORM: freezing is not an edit, and must not make the statement's edit form stale.
        db.session.execute(
            sa.update(Statement.__table__)
            .where(Statement.__table__.c.id == statement.id, Statement.__table__.c.frozen_at.is_(None))
            .values(frozen_at=now)
        )
        db.session.expire(statement, ["frozen_at"])
    db.session.flush()
    _queue_confirmation(signature, confirm_token, withdraw_token, now=now)
    # The event names no person: the signer's details are in the signature, which the privacy tools erase.
    audit.record(
        "statement_signature.sign",
        actor="public",
        entity=signature,
        after={"statement": statement.slug, "kind": signature.kind},
        campaign_id=statement.campaign_id,
    )
    return SignedUp(signature, confirm_token, withdraw_token)


def confirm_link(token: str) -> str:
    return mailer.external_url("statements.confirm", token=token)


def withdraw_link(token: str) -> str:
    return mailer.external_url("statements.withdraw", token=token)


def confirmation_message(signature: StatementSignature, confirm_token: str, withdraw_token: str) -> mailer.Rendered:
    language = signature.language
    with force_locale(language):
        title = signature.statement.title(language)
        subject = " ".join(gettext("Confirm your signature: %(title)s", title=title).split())[:300]
        values = {
            "signature": signature,
            "statement": signature.statement,
            "title": title,
            "confirm_link": confirm_link(confirm_token),
            "withdraw_link": withdraw_link(withdraw_token),
            "days": confirm_days(),
            "language": language,
            "subject": subject,
        }
        text = render_template("statements/email/confirm.txt", **values)
        html = render_template("statements/email/confirm.html", **values)
    return mailer.Rendered(subject=subject, text=text, html=html, language=language)


def _queue_confirmation(signature: StatementSignature, confirm_token: str, withdraw_token: str, *, now) -> None:
    """Into the outbox like all mail (the scheduler's sweep sends it). Sent once: there is no resend."""
    recipient = SimpleNamespace(id=None, email=signature.email)
    mailer.queue(
        MAIL_KIND,
        f"{MAIL_KIND}:{signature.confirm_token_hash}",
        recipient,
        confirmation_message(signature, confirm_token, withdraw_token),
        now=now,
    )


def forget_sent_links() -> int:
    """Blank the bodies of confirmations a mail server has accepted (their links live in the signer's
    mailbox now, not in our database). The development outbox keeps them: there, it is how they are read."""
    table = OutboundMessage.__table__
    result = db.session.execute(
        sa.update(table)
        .where(
            table.c.kind == MAIL_KIND,
            table.c.status == "sent",
            table.c.transport == "smtp",
            table.c.body_text != SENT_BODY,
        )
        .values(body_text=SENT_BODY, body_html=None)
    )
    return result.rowcount or 0


def _valid_token(token: str | None) -> bool:
    return bool(token) and len(token) <= 128


def by_confirm_token(token: str, *, now: dt.datetime) -> StatementSignature | None:
    """The sign-up this link confirms, if it is still waiting and has not expired."""
    if not _valid_token(token):
        return None
    signature = db.session.scalar(
        sa.select(StatementSignature)
        .where(StatementSignature.confirm_token_hash == token_hash(token))
        .options(joinedload(StatementSignature.statement), joinedload(StatementSignature.country))
    )
    if signature is None or signature.status != "unconfirmed" or signature.expires_at <= now:
        return None
    return signature


def confirm(signature: StatementSignature, *, now: dt.datetime) -> StatementSignature:
    """The address is confirmed: the signature waits for a moderator. The link stops working."""
    if signature.status != "unconfirmed" or signature.expires_at <= now:
        raise AlreadyDecided(_("This link is no longer valid."))
    signature.status, signature.confirmed_at, signature.confirm_token_hash = "confirmed", now, None
    db.session.flush()
    audit.record(
        "statement_signature.confirm",
        actor="public",
        entity=signature,
        after={"statement": signature.statement.slug},
        campaign_id=signature.statement.campaign_id,
    )
    return signature


def by_withdraw_token(token: str) -> StatementSignature | None:
    if not _valid_token(token):
        return None
    return db.session.scalar(
        sa.select(StatementSignature)
        .where(StatementSignature.withdraw_token_hash == token_hash(token))
        .options(joinedload(StatementSignature.statement), joinedload(StatementSignature.country))
    )


def withdraw(signature: StatementSignature, *, now: dt.datetime) -> StatementSignature:
    """The signer takes the signature back: off the public list, kept in the history. A duplicate's link
    withdraws the signature that stood for both (it is the same organisation's)."""
    if signature.status not in WITHDRAWABLE:
        raise AlreadyDecided(_("There is no signature to withdraw here."))
    withdrawn = [signature]
    if signature.status == "merged" and signature.merged_into is not None:
        survivor = signature.merged_into
        if survivor.status in WITHDRAWABLE and survivor.status != "merged":
            withdrawn.append(survivor)
    for each in withdrawn:
        before = each.status
        each.status, each.withdrawn_at, each.confirm_token_hash, each.merged_into_id = "withdrawn", now, None, None
        db.session.flush()
        audit.record(
            "statement_signature.withdraw",
            actor="public",
            entity=each,
            before={"status": before},
            after={"status": "withdrawn"},
            campaign_id=signature.statement.campaign_id,
        )
    return signature


def drop_unconfirmed(now: dt.datetime) -> int:
    """Sign-ups never confirmed within their week go, with nothing kept of them; their link stops working.
    Run by the scheduler (and `flask statements drop-unconfirmed`)."""
    expired = db.session.execute(
        sa.select(StatementSignature.id, Statement.campaign_id, Statement.slug)
        .join(Statement, Statement.id == StatementSignature.statement_id)
        .where(StatementSignature.status == "unconfirmed", StatementSignature.expires_at <= now)
    ).all()
    if not expired:
        return 0
    db.session.execute(
        sa.delete(StatementSignature)
        .where(StatementSignature.id.in_([row.id for row in expired]))
        .execution_options(synchronize_session=False)
    )
    by_statement: dict[tuple[int, str], int] = {}
    for row in expired:
        by_statement[(row.campaign_id, row.slug)] = by_statement.get((row.campaign_id, row.slug), 0) + 1
    for (campaign_id, slug), dropped in by_statement.items():
        audit.record(
            "statement.unconfirmed_dropped",
            actor="scheduler",
            entity_type="statement",
            entity_id=slug,
            after={"dropped": dropped},
            campaign_id=campaign_id,
        )
    return len(expired)


# --- Moderation ---------------------------------------------------------------------------------------


def signatures_of(statement: Statement) -> list[StatementSignature]:
    """Every signature but the unconfirmed, oldest first, with their countries: one query."""
    return db.session.scalars(
        sa.select(StatementSignature)
        .where(StatementSignature.statement_id == statement.id, StatementSignature.status != "unconfirmed")
        .options(joinedload(StatementSignature.country), joinedload(StatementSignature.decided_by))
        .order_by(StatementSignature.confirmed_at, StatementSignature.id)
    ).all()


@dataclass
class Moderation:
    queue: list[StatementSignature] = field(default_factory=list)  # confirmed, waiting
    approved: list[StatementSignature] = field(default_factory=list)
    history: list[StatementSignature] = field(default_factory=list)  # rejected, withdrawn, merged
    unconfirmed: int = 0
    possible_duplicates: dict[int, list[StatementSignature]] = field(default_factory=dict)


def _same(a: StatementSignature, b: StatementSignature) -> bool:
    """Two signatures that look like the same organisation (or person): the same address or domain, the
    same name, or the same website."""
    if a.email and a.email == b.email:
        return True
    if a.is_organisation and b.is_organisation and a.organisation and b.organisation:
        if fold(a.organisation) == fold(b.organisation):
            return True
        if a.website_domain and a.website_domain == b.website_domain:
            return True
    return False


def moderation(statement: Statement) -> Moderation:
    signatures = signatures_of(statement)
    result = Moderation(
        unconfirmed=db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StatementSignature)
            .where(StatementSignature.statement_id == statement.id, StatementSignature.status == "unconfirmed")
        )
    )
    for signature in signatures:
        if signature.status == "confirmed":
            result.queue.append(signature)
        elif signature.status == "approved":
            result.approved.append(signature)
        else:
            result.history.append(signature)
    standing = [s for s in signatures if s.status in MERGEABLE]
    for signature in result.queue:
        twins = [other for other in standing if other.id != signature.id and _same(signature, other)]
        if twins:
            result.possible_duplicates[signature.id] = twins
    return result


def merge_candidates(signature: StatementSignature) -> list[StatementSignature]:
    """What a signature may be merged into: the statement's other confirmed or approved signatures, the
    likely duplicates first."""
    others = [
        other for other in signatures_of(signature.statement) if other.id != signature.id and other.status in MERGEABLE
    ]
    return sorted(
        others, key=lambda other: (not _same(signature, other), fold(other.organisation or other.signer_name or ""))
    )


def _decide(signature: StatementSignature, *, allowed: Iterable[str], version) -> None:
    _refuse_if_archived(signature.statement.campaign)
    if (version is not None and str(signature.version) != str(version)) or signature.status not in allowed:
        raise AlreadyDecided(
            _("This signature changed since the page was opened (another moderator, or its signer): check it again.")
        )


def approve(signature: StatementSignature, *, actor, now: dt.datetime, version=None) -> StatementSignature:
    _decide(signature, allowed=("confirmed",), version=version)
    signature.status, signature.decided_at, signature.decided_by_id = "approved", now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "statement_signature.approve",
        actor=actor,
        entity=signature,
        before={"status": "confirmed"},
        after={"status": "approved"},
        campaign_id=signature.statement.campaign_id,
    )
    return signature


def reject(signature: StatementSignature, reason: str, *, actor, now: dt.datetime, version=None) -> StatementSignature:
    """Never listed; the reason stays inside (the signer is not told: it could be used to probe)."""
    reason = (reason or "").strip()
    if not reason:
        raise StatementError(_("Say why (it is kept for the team, never shown to the signer)."), "reason")
    _decide(signature, allowed=("confirmed", "approved"), version=version)
    before = signature.status
    signature.status, signature.decided_at, signature.decided_by_id = "rejected", now, getattr(actor, "id", None)
    signature.reject_reason = reason[:2000]
    db.session.flush()
    audit.record(
        "statement_signature.reject",
        actor=actor,
        entity=signature,
        before={"status": before},
        after={"status": "rejected", "reason": signature.reject_reason},
        campaign_id=signature.statement.campaign_id,
    )
    return signature


def merge(duplicate: StatementSignature, survivor: StatementSignature, *, actor, now: dt.datetime, version=None):
    """The duplicate stands behind the survivor: it leaves the lists and the counts, and keeps its history.
    Signatures merged into the duplicate before now point at the survivor."""
    if survivor.statement_id != duplicate.statement_id or survivor.id == duplicate.id:
        raise StatementError(_("Choose another signature of the same statement."), "survivor")
    if survivor.status not in MERGEABLE:
        raise AlreadyDecided(_("That signature can no longer be merged into: it was withdrawn or rejected."))
    _decide(duplicate, allowed=MERGEABLE, version=version)
    before = duplicate.status
    db.session.execute(
        sa.update(StatementSignature)
        .where(StatementSignature.merged_into_id == duplicate.id)
        .values(merged_into_id=survivor.id, version=StatementSignature.version + 1)
        .execution_options(synchronize_session=False)
    )
    duplicate.status, duplicate.merged_into_id = "merged", survivor.id
    duplicate.decided_at, duplicate.decided_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "statement_signature.merge",
        actor=actor,
        entity=duplicate,
        before={"status": before},
        after={"status": "merged", "into": survivor.id},
        campaign_id=duplicate.statement.campaign_id,
    )
    return survivor


# --- What the public sees -----------------------------------------------------------------------------


@dataclass
class PublicSignatories:
    organisations: list[StatementSignature] = field(default_factory=list)  # named or withheld
    individuals: list[StatementSignature] = field(default_factory=list)
    unlisted: int = 0

    @property
    def total(self) -> int:
        return len(self.organisations) + len(self.individuals) + self.unlisted


def public_signatories(statement: Statement, language: str = "en") -> PublicSignatories:
    """The approved signatures, as the public page lists them: organisations (named, or withheld with their
    country), individuals apart, and how many asked not to be listed. Never an e-mail or a signer's name for
    an organisation. One query."""
    approved = db.session.scalars(
        sa.select(StatementSignature)
        .where(StatementSignature.statement_id == statement.id, StatementSignature.status == "approved")
        .options(joinedload(StatementSignature.country))
    ).all()
    result = PublicSignatories()
    for signature in approved:
        if signature.listing == "unlisted" or (not signature.is_organisation and not signature.signer_name):
            result.unlisted += 1
        elif signature.is_organisation:
            result.organisations.append(signature)
        else:
            result.individuals.append(signature)

    def named_first(signature):
        withheld = signature.listing == "withheld"
        name = signature.country.name(language) if withheld else (signature.organisation or signature.signer_name)
        return (withheld, fold(name or ""))

    result.organisations.sort(key=named_first)
    result.individuals.sort(key=named_first)
    return result


def public_statement(slug: str, day: dt.date) -> Statement | None:
    """The statement at /s/<slug>, once it has opened (before, its text may still change)."""
    statement = db.session.scalar(
        sa.select(Statement).where(Statement.slug == slug).options(joinedload(Statement.campaign))
    )
    if statement is None or not statement.has_opened(day):
        return None
    return statement


def _has_opened(day: dt.date):
    """The statements whose public page is up (Statement.has_opened, in SQL)."""
    return sa.or_(Statement.opens_on.is_(None), Statement.opens_on <= day)


def public_statements(campaign: Campaign, day: dt.date) -> list[tuple[Statement, int]]:
    """The campaign's statements whose public page is up, oldest first, each with the number of signatures
    that page counts (the approved ones): one query, and one for their texts."""
    approved = (
        sa.select(sa.func.count())
        .where(StatementSignature.statement_id == Statement.id, StatementSignature.status == "approved")
        .correlate(Statement)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Statement, approved)
        .where(Statement.campaign_id == campaign.id, _has_opened(day))
        .order_by(Statement.created_at, Statement.id)
    ).all()
    return [(statement, count) for statement, count in rows]


@dataclass(frozen=True)
class CoSigner:
    name: str
    website: str | None

    @property
    def website_domain(self) -> str | None:
        return website_domain(self.website)


@dataclass
class CoSigners:
    """The organisations of one country that co-signed a campaign's statements, as their public pages list
    them: by name (each once, whichever statements it signed), and how many asked to have it withheld."""

    named: list[CoSigner] = field(default_factory=list)
    withheld: int = 0

    @property
    def total(self) -> int:
        return len(self.named) + self.withheld

    def __bool__(self) -> bool:
        return self.total > 0


def cosigners_by_country(campaign: Campaign, day: dt.date, country_ids: Iterable[int]) -> dict[int, CoSigners]:
    """The organisations in these countries on the campaign's public statements (approved, listed by name or
    withheld; never a person, never one counted without being listed), by country id: one query, whatever
    the number of countries and statements.

    A withheld organisation is counted once however many statements it signed, and never matched with a
    signature by name: if its name is listed on one statement and withheld on another, it is listed and
    counted withheld, since matching the two would tell which withheld signature is whose."""
    rows = db.session.execute(
        sa.select(
            StatementSignature.country_id,
            StatementSignature.organisation,
            StatementSignature.website,
            StatementSignature.listing,
        )
        .join(Statement, Statement.id == StatementSignature.statement_id)
        .where(
            Statement.campaign_id == campaign.id,
            _has_opened(day),
            StatementSignature.status == "approved",
            StatementSignature.kind == "organisation",
            StatementSignature.listing.in_(("named", "withheld")),
            StatementSignature.country_id.in_(list(country_ids)),
        )
        .order_by(StatementSignature.id)
    )
    named: dict[int, dict[str, CoSigner]] = {}
    withheld: dict[int, set[str]] = {}
    for country_id, organisation, website, listing in rows:
        key = fold(" ".join((organisation or "").split()))
        if listing == "withheld":
            withheld.setdefault(country_id, set()).add(key)
            continue
        known = named.setdefault(country_id, {})
        if key not in known or (not known[key].website and website):
            known[key] = CoSigner(known[key].name if key in known else organisation, website)
    return {
        country_id: CoSigners(
            named=[cosigner for _key, cosigner in sorted(named.get(country_id, {}).items())],
            withheld=len(withheld.get(country_id, ())),
        )
        for country_id in set(named) | set(withheld)
    }


def country_choices(language: str) -> list[Country]:
    countries = db.session.scalars(sa.select(Country)).all()
    return sorted(countries, key=lambda country: fold(country.name(language)))


# --- Exports ------------------------------------------------------------------------------------------

EXPORT_HEADER = (
    "status",
    "kind",
    "organisation",
    "country",
    "iso3",
    "website",
    "signer_name",
    "signer_role",
    "email",
    "email_matches_website",
    "listing",
    "publish_logo",
    "confirmed_at",
    "decided_at",
    "withdrawn_at",
)


def export_rows(statement: Statement, *, everything: bool, with_emails: bool, language: str) -> list[list]:
    """The signatories as CSV rows: the approved ones, or every confirmed signature with its status.
    E-mail addresses only for those who may see them (crm.permissions.may_see_signer_emails)."""
    rows = []
    for signature in signatures_of(statement):
        if not everything and signature.status != "approved":
            continue
        rows.append(
            [
                signature.status,
                signature.kind,
                signature.organisation or "",
                signature.country.name(language),
                signature.country.alpha3,
                signature.website or "",
                signature.signer_name or "",
                signature.signer_role or "",
                (signature.email or "") if with_emails else "",
                "yes" if signature.domain_matches else "no",
                signature.listing,
                "yes" if signature.publish_logo else "no",
                signature.confirmed_at.isoformat() if signature.confirmed_at else "",
                signature.decided_at.isoformat() if signature.decided_at else "",
                signature.withdrawn_at.isoformat() if signature.withdrawn_at else "",
            ]
        )
    return rows


# --- Delivery with a letter ----------------------------------------------------------------------------


def _letter_campaign_id(letter) -> int:
    return letter.outreach.campaign_id


def _check_letter_open(letter) -> None:
    if letter.direction != "outgoing":
        raise StatementError(_("Only a letter the campaign sends carries statements."))
    if letter.delivered_on is not None:
        error = StatementError(
            _("This letter was delivered with the statements it had then; what it carried cannot change.")
        )
        error.status = 409
        raise error
    _refuse_if_archived(letter.outreach.campaign)


def attach(letter, statement: Statement, *, actor, now: dt.datetime) -> LetterStatement:
    """The statement goes with the letter; its signatories are frozen on it when the letter is delivered."""
    _check_letter_open(letter)
    if statement.campaign_id != _letter_campaign_id(letter):
        raise StatementError(_("Choose a statement of this campaign."), "statement")
    if db.session.get(LetterStatement, (letter.id, statement.id)) is not None:
        raise StatementError(_("This statement already goes with the letter."), "statement")
    attached = LetterStatement(
        letter_id=letter.id, statement_id=statement.id, attached_at=now, attached_by_id=getattr(actor, "id", None)
    )
    db.session.add(attached)
    db.session.flush()
    audit.record("letter.statement_attached", actor=actor, entity=letter, after={"statement": statement.slug})
    return attached


def detach(letter, statement: Statement, *, actor) -> None:
    _check_letter_open(letter)
    attached = db.session.get(LetterStatement, (letter.id, statement.id))
    if attached is None:
        raise StatementError(_("This statement does not go with the letter."))
    db.session.delete(attached)
    db.session.flush()
    audit.record("letter.statement_detached", actor=actor, entity=letter, after={"statement": statement.slug})


def delivered_list(statement: Statement, language: str = "en") -> dict:
    """The public list as it stands, in the form frozen on a delivered letter (names and websites as the
    public page shows them: never an address, never a withheld name, never the name of who signed for an
    organisation). Lists frozen before websites were kept have none."""
    listed = public_signatories(statement, language)

    def entry(signature) -> dict:
        withheld = signature.listing == "withheld"
        return {
            "id": signature.id,
            "name": None
            if withheld
            else (signature.organisation if signature.is_organisation else signature.signer_name),
            "role": None if withheld or signature.is_organisation else signature.signer_role,
            "website": signature.website if signature.is_organisation and not withheld else None,
            "country": signature.country.alpha3,
            "withheld": withheld,
        }

    return {
        "organisations": [entry(s) for s in listed.organisations],
        "individuals": [entry(s) for s in listed.individuals],
        "unlisted": listed.unlisted,
        "total": listed.total,
    }


def freeze_for_delivery(letter, *, now: dt.datetime) -> dict[str, int]:
    """When the letter is marked delivered: each attached statement's signatories, frozen on it. Taken
    once. Returns the number of signatories frozen per statement (by slug)."""
    frozen = {}
    for attached in db.session.scalars(
        sa.select(LetterStatement).where(LetterStatement.letter_id == letter.id, LetterStatement.frozen_at.is_(None))
    ):
        attached.signatories = delivered_list(attached.statement)
        attached.frozen_at = now
        frozen[attached.statement.slug] = attached.signatories["total"]
    return frozen


@dataclass
class OnLetter:
    statement: Statement
    attached: LetterStatement
    signatories: dict  # frozen at delivery, or as the list stands now
    countries: dict[str, Country]


def statements_on_letter(letter) -> list[OnLetter]:
    """The statements going (or gone) with a letter, each with its list: frozen if delivered, else live."""
    return statements_for_letter(letter)[0]


def statements_for_letter(letter) -> tuple[list[OnLetter], list[Statement]]:
    """The statements going (or gone) with a letter, each with its list (frozen if delivered, else as it
    stands), and the campaign's others that could go with it: one query for both, one for the countries
    named, and one per statement whose list is still live (a letter carries one or two)."""
    rows = db.session.execute(
        _statements_for_letter(), {"letter_id": letter.id, "campaign_id": _letter_campaign_id(letter)}
    ).all()
    attached = sorted(
        ((statement, link) for statement, link in rows if link is not None),
        key=lambda pair: (pair[1].attached_at, pair[0].id),
    )
    others = [statement for statement, link in rows if link is None]
    lists = [link.signatories if link.frozen_at else delivered_list(statement) for statement, link in attached]
    countries = countries_named(lists)
    on_letter = [
        OnLetter(statement, link, listed, countries) for (statement, link), listed in zip(attached, lists, strict=True)
    ]
    return on_letter, others


@cache
def _statements_for_letter() -> sa.Select:
    # Built once, the letter and its campaign parameters: every letter page asks.
    return (
        sa.select(Statement, LetterStatement)
        .outerjoin(
            LetterStatement,
            sa.and_(
                LetterStatement.statement_id == Statement.id, LetterStatement.letter_id == sa.bindparam("letter_id")
            ),
        )
        .where(sa.or_(Statement.campaign_id == sa.bindparam("campaign_id"), LetterStatement.letter_id.is_not(None)))
        .order_by(Statement.created_at.desc(), Statement.id.desc())
    )


def countries_named(lists: Iterable[dict]) -> dict[str, Country]:
    """The countries that lists of signatories (as delivered_list gives them) name, by ISO code: one query."""
    codes = {
        entry["country"] for listed in lists for kind in ("organisations", "individuals") for entry in listed[kind]
    }
    if not codes:
        return {}
    return {
        country.alpha3: country for country in db.session.scalars(sa.select(Country).where(Country.alpha3.in_(codes)))
    }


def attachment(letter, statement: Statement) -> LetterStatement | None:
    """The statement as it goes (or went) with the letter, if it does."""
    return db.session.get(LetterStatement, (letter.id, statement.id))


@dataclass
class WithLetter:
    attached: LetterStatement
    letter: Letter
    country: Country  # the government the letter is for


def letters_of(statement: Statement) -> list[WithLetter]:
    """The letters the statement goes (or went) with, the delivered first, newest first: one query."""
    rows = db.session.execute(
        sa.select(LetterStatement, Letter, Country)
        .join(Letter, Letter.id == LetterStatement.letter_id)
        .join(OutreachRecord, OutreachRecord.id == Letter.outreach_id)
        .join(Country, Country.id == OutreachRecord.country_id)
        .where(LetterStatement.statement_id == statement.id)
        .order_by(
            LetterStatement.frozen_at.is_(None), LetterStatement.frozen_at.desc(), LetterStatement.attached_at.desc()
        )
    ).all()
    return [WithLetter(attached, letter, country) for attached, letter, country in rows]


def attachable(letter) -> list[Statement]:
    """The campaign's statements not yet going with the letter."""
    return statements_for_letter(letter)[1]


def forget_on_letters(signature_ids: list[int]) -> int:
    """The privacy tools' part: a person erased from the lists frozen on delivered letters keeps their place
    (the count delivered stays true) without their name. Returns how many lists changed."""
    wanted = set(signature_ids)
    changed = 0
    for attached in db.session.scalars(sa.select(LetterStatement).where(LetterStatement.frozen_at.is_not(None))):
        listed = dict(attached.signatories)
        touched = False
        for kind in ("organisations", "individuals"):
            entries = []
            for entry in listed.get(kind, []):
                if entry.get("id") in wanted and kind == "individuals" and entry.get("name"):
                    entry = {**entry, "name": None, "role": None, "erased": True}
                    touched = True
                entries.append(entry)
            listed[kind] = entries
        if touched:
            attached.signatories = listed
            changed += 1
    return changed
