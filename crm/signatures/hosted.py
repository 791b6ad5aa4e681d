"""The rules of hosted petitions: signing on the public page (/sign/<slug>), confirming the address by a
single-use link sent once through the outbox, counting a confirmed signature in the campaign's one
de-duplicated count (the `signature` table, keyed by the same keyed hash as imports), keeping little,
withdrawing, holding bursts for a coordinator, and the hourly job that drops unconfirmed sign-ups and
forgets plain addresses after their retention.

Counting: a confirmed signature adds a `signature` row on its petition unless the campaign already counts
that address (from a platform's file, a push, or another hosted petition): then it counts there, once. An
import that later brings the same address finds it already counted (a duplicate), as for any platform."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import joinedload

from crm.audit import services as audit
from crm.campaigns.models import CAMPAIGN_LANGUAGES
from crm.core.public_forms import Limit, PublicFormHit, hashed_key, network_key
from crm.countries.models import Country
from crm.database import fold, serialise
from crm.encryption import token_hash
from crm.errors import DomainError
from crm.extensions import db
from crm.i18n import _
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.permissions import is_read_only
from crm.signatures.hosted_models import COUNTED, HostedPetition, HostedSignature
from crm.signatures.models import Petition, Signature
from crm.signatures.normalise import EmailHasher
from crm.translation import gettext
from crm.webhooks import services as webhooks

FORM_NAME = "petition"
MAIL_KIND = "hosted_confirmation"
# The rule, stated on the page: an unconfirmed sign-up waits a week, then goes.
CONFIRM_DAYS = 7
# Statuses a signer can withdraw from; those a coordinator decides.
WITHDRAWABLE = ("pending", "held", "confirmed")


class HostedError(DomainError):
    pass


class NotOpen(HostedError):
    status = 409


class AlreadyDecided(HostedError):
    status = 409


def retention_days() -> int:
    """How long a plain address kept with the second consent is kept after confirmation."""
    return int(current_app.config["HOSTED_ADDRESS_RETENTION_DAYS"])


def review_after() -> int:
    """Sign-ups from one network within the public forms' window past which new ones wait for review."""
    return int(current_app.config["HOSTED_REVIEW_AFTER"])


# --- The petition and its page ------------------------------------------------------------------------


def public_petition(slug: str) -> Petition | None:
    """The hosted petition at /sign/<slug>; None for any other (an imported petition has no form)."""
    petition = db.session.scalar(sa.select(Petition).where(Petition.slug == slug, Petition.platform == "hosted"))
    return petition


def page_of(petition: Petition) -> HostedPetition:
    """The page's settings; a hosted petition never configured has the defaults (no text, no frame)."""
    page = db.session.get(HostedPetition, petition.id)
    return page if page is not None else HostedPetition(petition_id=petition.id, texts={}, totals_by_country=True)


def clean_origins(text: str | None) -> str | None:
    """Origins ("https://campaign.example") one per line, each a scheme and a host (and a port): nothing a
    header could be bent with. A line that is not one is refused with the reason."""
    origins = []
    for line in (text or "").replace(",", "\n").splitlines():
        value = line.strip().rstrip("/")
        if not value:
            continue
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
        except ValueError:
            parts, host = None, ""
        if (
            parts is None
            or parts.scheme not in ("https", "http")
            or not host
            or parts.path
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
            or any(char in value for char in " ;'\"*")
        ):
            raise HostedError(_("Give each site as its origin, for example https://campaign.example"), "frame_origins")
        try:
            # A header carries ASCII only: an international name goes in its IDNA form, as browsers compare it.
            ascii_host = host.encode("idna").decode("ascii")
            port = f":{parts.port}" if parts.port else ""
        except (UnicodeError, ValueError):
            raise HostedError(
                _("Give each site as its origin, for example https://campaign.example"), "frame_origins"
            ) from None
        origins.append(f"{parts.scheme}://{ascii_host}{port}")
    return "\n".join(dict.fromkeys(origins)) or None


def set_page(
    petition: Petition,
    *,
    texts: dict[str, tuple[str, str]],
    totals_by_country: bool,
    frame_origins: str | None,
    actor,
) -> HostedPetition:
    """The page's text per language, whether totals are shown by country, and who may frame the form."""
    if petition.platform != "hosted":
        raise HostedError(_("Only a hosted petition has a signing page."))
    clean = {}
    for language, (title, body) in texts.items():
        if language not in CAMPAIGN_LANGUAGES:
            continue
        title, body = " ".join((title or "").split())[:300], (body or "").strip().replace("\r\n", "\n")[:20000]
        if title or body:
            clean[language] = {"title": title or petition.name, "body": body}
    page = db.session.get(HostedPetition, petition.id)
    if page is None:
        page = HostedPetition(petition_id=petition.id)
        db.session.add(page)
    page.texts = clean
    page.totals_by_country = bool(totals_by_country)
    page.frame_origins = clean_origins(frame_origins)
    db.session.flush()
    audit.record(
        "petition.hosted_page",
        actor=actor,
        entity=petition,
        after={"languages": sorted(clean), "totals_by_country": page.totals_by_country, "frame": page.origins},
        campaign_id=petition.campaign_id,
    )
    return page


def frame_ancestors(petition: Petition) -> list[str]:
    page = db.session.get(HostedPetition, petition.id)
    return page.origins if page is not None else []


def country_choices(language: str) -> list[Country]:
    return sorted(db.session.scalars(sa.select(Country)).all(), key=lambda country: fold(country.name(language)))


# --- Signing --------------------------------------------------------------------------------------------


@dataclass
class SignUp:
    """What the public form gives, its formats already checked (crm/signatures/hosted_forms.py)."""

    name: str
    email: str
    country: Country
    consent: bool
    wants_contact: bool = False
    show_name: bool = False
    postal_code: str | None = None


@dataclass
class SignedUp:
    signature: HostedSignature
    confirm_token: str
    withdraw_token: str


def email_limit(petition: Petition, email: str) -> Limit:
    """Sign-ups one address may make to one petition per window (the first sends the only link)."""
    return Limit(
        hashed_key(f"email:petition:{petition.id}", email or ""), int(current_app.config["HOSTED_SIGNUPS_PER_EMAIL"])
    )


def is_burst(address: str | None, *, now: dt.datetime) -> bool:
    """Whether the sign-ups from this client's network within the public forms' window reached the number
    past which new ones wait for a coordinator (below the limit that refuses them outright)."""
    key = network_key(address)
    if key is None:
        return False
    since = now - dt.timedelta(seconds=int(current_app.config["PUBLIC_FORM_WINDOW_SECONDS"]))
    seen = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PublicFormHit)
        .where(PublicFormHit.form == FORM_NAME, PublicFormHit.key == key, PublicFormHit.occurred_at > since)
    )
    return seen >= review_after()


def _text(value: str | None, limit: int) -> str | None:
    cleaned = " ".join((value or "").split())[:limit]
    return cleaned or None


def _hasher() -> EmailHasher:
    return EmailHasher.from_config()


def sign(
    petition: Petition, details: SignUp, *, language: str, now: dt.datetime, for_review: bool = False
) -> SignedUp | None:
    """Take a sign-up: it waits for its address to be confirmed, and the one e-mail with the link is queued.
    An address already waiting, or already signed here, gets nothing new (the link is never re-sent), and
    the page says the same either way: None is returned."""
    if petition.platform != "hosted" or is_read_only(petition.campaign):
        raise NotOpen(_("This petition is not open for signatures."))
    if not details.consent:
        raise HostedError(_("Tick the box to have your signature counted and delivered, or do not sign."), "consent")
    name = _text(details.name, 200)
    if not name:
        raise HostedError(_("Give your name."), "name")
    hasher = _hasher()
    normalised = hasher.normalise(details.email)
    if normalised is None:
        raise HostedError(_("This is not an e-mail address."), "email")
    email_hash = hasher.digest(normalised)
    serialise(db.session, f"alcance.hosted:{petition.id}:{email_hash}")
    standing = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(HostedSignature)
        .where(
            HostedSignature.petition_id == petition.id,
            HostedSignature.email_hash == email_hash,
            HostedSignature.status.in_(("pending", "held", "confirmed")),
        )
    )
    if standing:
        return None
    confirm_token, withdraw_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    signature = HostedSignature(
        campaign_id=petition.campaign_id,
        petition_id=petition.id,
        status="pending",
        email_hash=email_hash,
        email=details.email.strip().lower(),
        name=name,
        show_name=bool(details.show_name),
        country_id=details.country.id,
        postal_code=_text(details.postal_code, 20),
        wants_contact=bool(details.wants_contact),
        language=language if language in CAMPAIGN_LANGUAGES else "en",
        for_review=for_review,
        confirm_token_hash=token_hash(confirm_token),
        withdraw_token_hash=token_hash(withdraw_token),
        consented_at=now,
        created_at=now,
        expires_at=now + dt.timedelta(days=CONFIRM_DAYS),
    )
    signature.petition, signature.country = petition, details.country
    db.session.add(signature)
    db.session.flush()
    _queue_confirmation(signature, confirm_token, withdraw_token, now=now)
    # The event names no person: what is kept of the signer is in the signature, which shrinks and goes.
    audit.record(
        "hosted_signature.sign",
        actor="public",
        entity=signature,
        after={"petition": petition.slug, "for_review": for_review},
        campaign_id=petition.campaign_id,
    )
    return SignedUp(signature, confirm_token, withdraw_token)


def _dedupe_key(confirm_token_hash: str) -> str:
    return f"{MAIL_KIND}:{confirm_token_hash}"


def confirmation_message(signature: HostedSignature, confirm_token: str, withdraw_token: str) -> mailer.Rendered:
    language = signature.language
    with force_locale(language):
        title = title_of(signature.petition, language)
        subject = " ".join(gettext("Confirm your signature: %(title)s", title=title).split())[:300]
        values = {
            "signature": signature,
            "title": title,
            "confirm_link": mailer.external_url("hosted.confirm", token=confirm_token),
            "withdraw_link": mailer.external_url("hosted.withdraw", token=withdraw_token),
            "days": CONFIRM_DAYS,
            "language": language,
            "subject": subject,
        }
        text = render_template("signatures/hosted/email/confirm.txt", **values)
        html = render_template("signatures/hosted/email/confirm.html", **values)
    return mailer.Rendered(subject=subject, text=text, html=html, language=language)


def title_of(petition: Petition, language: str) -> str:
    title, _body, _language = page_of(petition).text(language)
    return title or petition.name


def _queue_confirmation(signature: HostedSignature, confirm_token: str, withdraw_token: str, *, now) -> None:
    """Into the outbox like all mail; sent once (there is no resend). The message goes from the outbox when
    the sign-up is confirmed, withdrawn or dropped: its address and links are not kept there."""
    mailer.queue(
        MAIL_KIND,
        _dedupe_key(signature.confirm_token_hash),
        SimpleNamespace(id=None, email=signature.email),
        confirmation_message(signature, confirm_token, withdraw_token),
        now=now,
    )


def _forget_messages(confirm_token_hashes) -> None:
    keys = [_dedupe_key(value) for value in confirm_token_hashes if value]
    if keys:
        db.session.execute(
            sa.delete(OutboundMessage)
            .where(OutboundMessage.kind == MAIL_KIND, OutboundMessage.dedupe_key.in_(keys))
            .execution_options(synchronize_session=False)
        )


def _valid_token(token: str | None) -> bool:
    return bool(token) and len(token) <= 128


def by_confirm_token(token: str, *, now: dt.datetime) -> HostedSignature | None:
    """The sign-up this link confirms, if it still waits and has not expired."""
    if not _valid_token(token):
        return None
    signature = db.session.scalar(
        sa.select(HostedSignature).where(HostedSignature.confirm_token_hash == token_hash(token))
    )
    if signature is None or signature.status != "pending" or signature.expires_at <= now:
        return None
    return signature


def by_withdraw_token(token: str) -> HostedSignature | None:
    if not _valid_token(token):
        return None
    return db.session.scalar(sa.select(HostedSignature).where(HostedSignature.withdraw_token_hash == token_hash(token)))


def _keep_little(signature: HostedSignature) -> None:
    """What stays once the address is confirmed: the plain address and postal code only with the second
    consent; the name only if it may be shown or the signer wants to hear again."""
    if not signature.wants_contact:
        signature.email = None
        signature.postal_code = None
        if not signature.show_name:
            signature.name = None


def _count(signature: HostedSignature, now: dt.datetime) -> None:
    """Into the campaign's de-duplicated count, unless that address already counts there (the caller has
    made the signature's status "confirmed")."""
    serialise(db.session, f"alcance.signature:{signature.campaign_id}:{signature.email_hash}")
    already = db.session.scalar(
        sa.select(Signature.id).where(
            Signature.campaign_id == signature.campaign_id, Signature.email_hash == signature.email_hash
        )
    )
    if already is None:
        counted = Signature(
            campaign_id=signature.campaign_id,
            petition_id=signature.petition_id,
            email_hash=signature.email_hash,
            country_id=signature.country_id,
            signed_at=now,
            first_name=signature.name if signature.show_name else None,
            created_at=now,
        )
        db.session.add(counted)
        db.session.flush()
        signature.signature_id = counted.id
        webhooks.signature_totals_changed(signature.petition, new_signatures=1, source="hosted")


def confirm(signature: HostedSignature, *, now: dt.datetime) -> HostedSignature:
    """The address is confirmed: the signature counts (or, one of a burst, waits for a coordinator), the
    link stops working, and what is kept shrinks."""
    if signature.status != "pending" or signature.expires_at <= now:
        raise AlreadyDecided(_("This link is no longer valid."))
    _forget_messages([signature.confirm_token_hash])
    signature.status = "held" if signature.for_review else COUNTED
    signature.confirm_token_hash, signature.confirmed_at = None, now
    _keep_little(signature)
    if signature.status == COUNTED:
        _count(signature, now)
    db.session.flush()
    audit.record(
        "hosted_signature.confirm",
        actor="public",
        entity=signature,
        after={
            "status": signature.status,
            "counted_before": signature.status == COUNTED and not signature.signature_id,
        },
        campaign_id=signature.campaign_id,
    )
    return signature


def _uncount(signature: HostedSignature) -> None:
    """Takes back the `signature` row this sign-up added (the counts follow, crm/signatures/counts.py)."""
    if signature.signature_id is not None:
        counted = db.session.get(Signature, signature.signature_id)
        signature.signature_id = None
        if counted is not None:
            db.session.delete(counted)
            webhooks.signature_totals_changed(signature.petition, removed_signatures=1, source="hosted")


def withdraw(signature: HostedSignature, *, now: dt.datetime) -> HostedSignature:
    """The signer takes the signature back: it stops counting and nothing personal stays. An address
    counted through a platform's file as well still counts there (that signature was given there)."""
    if signature.status not in WITHDRAWABLE:
        raise AlreadyDecided(_("There is no signature to withdraw here."))
    before = signature.status
    _forget_messages([signature.confirm_token_hash])
    counted_here = signature.signature_id is not None
    _uncount(signature)
    signature.status, signature.withdrawn_at, signature.confirm_token_hash = "withdrawn", now, None
    signature.email = signature.name = signature.postal_code = None
    db.session.flush()
    if counted_here:
        # The same person's signature on another hosted petition of the campaign stood behind this one: it
        # counts now, so that they still count once.
        other = db.session.scalar(
            sa.select(HostedSignature)
            .where(
                HostedSignature.campaign_id == signature.campaign_id,
                HostedSignature.email_hash == signature.email_hash,
                HostedSignature.status == COUNTED,
                HostedSignature.signature_id.is_(None),
            )
            .order_by(HostedSignature.confirmed_at, HostedSignature.id)
            .limit(1)
        )
        if other is not None:
            _count(other, other.confirmed_at or now)
    audit.record(
        "hosted_signature.withdraw",
        actor="public",
        entity=signature,
        before={"status": before},
        after={"status": "withdrawn"},
        campaign_id=signature.campaign_id,
    )
    return signature


def _decide(signature: HostedSignature) -> None:
    if is_read_only(signature.petition.campaign):
        raise AlreadyDecided(_("This campaign is archived: nothing in it can change."))
    if signature.status != "held":
        raise AlreadyDecided(_("This signature was decided since the page was opened: check it again."))


def release(signature: HostedSignature, *, actor, now: dt.datetime) -> HostedSignature:
    """A held signature counts, as if it had not been part of a burst."""
    _decide(signature)
    signature.status, signature.decided_at, signature.decided_by_id = COUNTED, now, getattr(actor, "id", None)
    _count(signature, signature.confirmed_at or now)
    db.session.flush()
    audit.record(
        "hosted_signature.release",
        actor=actor,
        entity=signature,
        before={"status": "held"},
        after={"status": signature.status},
        campaign_id=signature.campaign_id,
    )
    return signature


def reject(signature: HostedSignature, *, actor, now: dt.datetime) -> HostedSignature:
    """A held signature never counts; nothing personal stays."""
    _decide(signature)
    signature.status, signature.decided_at, signature.decided_by_id = "rejected", now, getattr(actor, "id", None)
    signature.email = signature.name = signature.postal_code = None
    db.session.flush()
    audit.record(
        "hosted_signature.reject",
        actor=actor,
        entity=signature,
        before={"status": "held"},
        after={"status": "rejected"},
        campaign_id=signature.campaign_id,
    )
    return signature


# --- The hourly job -------------------------------------------------------------------------------------


@dataclass
class Swept:
    dropped: int
    forgotten: int

    def line(self, what: str) -> str:
        return f"{what}: dropped {self.dropped} unconfirmed sign-ups, forgot {self.forgotten} addresses"


def sweep(now: dt.datetime) -> Swept:
    """Sign-ups not confirmed within their week go with their e-mail; plain addresses kept with the second
    consent are forgotten once their retention ends (the keyed hash, country and day stay, and so does the
    name shown with the signature). Run every hour by the scheduler (and `flask petitions sweep-hosted`)."""
    expired = db.session.execute(
        sa.select(HostedSignature.id, HostedSignature.confirm_token_hash, HostedSignature.campaign_id).where(
            HostedSignature.status == "pending", HostedSignature.expires_at <= now
        )
    ).all()
    if expired:
        _forget_messages([row.confirm_token_hash for row in expired])
        db.session.execute(
            sa.delete(HostedSignature)
            .where(HostedSignature.id.in_([row.id for row in expired]))
            .execution_options(synchronize_session=False)
        )
        for campaign_id in sorted({row.campaign_id for row in expired}):
            audit.record(
                "hosted_signature.unconfirmed_dropped",
                actor="scheduler",
                entity_type="campaign",
                entity_id=campaign_id,
                after={"dropped": sum(1 for row in expired if row.campaign_id == campaign_id)},
                campaign_id=campaign_id,
            )
    cutoff = now - dt.timedelta(days=retention_days())
    kept = HostedSignature.__table__
    forgotten = db.session.execute(
        sa.update(kept)
        .where(kept.c.status != "pending", kept.c.email.is_not(None), kept.c.confirmed_at <= cutoff)
        .values(
            email=None,
            postal_code=None,
            name=sa.case((kept.c.show_name, kept.c.name), else_=sa.null()),
        )
    ).rowcount
    return Swept(len(expired), forgotten or 0)


# --- What coordinators and the privacy tools see --------------------------------------------------------


def signatures_of(petition: Petition, statuses=None) -> list[HostedSignature]:
    query = sa.select(HostedSignature).where(HostedSignature.petition_id == petition.id)
    if statuses:
        query = query.where(HostedSignature.status.in_(statuses))
    return db.session.scalars(query.order_by(HostedSignature.created_at, HostedSignature.id)).all()


def status_counts(petition: Petition) -> dict[str, int]:
    return dict(
        db.session.execute(
            sa.select(HostedSignature.status, sa.func.count())
            .where(HostedSignature.petition_id == petition.id)
            .group_by(HostedSignature.status)
        ).all()
    )


CONTACTS_HEADER = ("confirmed_at", "country", "iso3", "name", "email", "postal_code", "language")


def contact_rows(petition: Petition, language: str) -> list[list[str]]:
    """The counted signers who agreed to hear from the campaign again and whose address is still kept."""
    rows = []
    for signature in db.session.scalars(
        sa.select(HostedSignature)
        .where(
            HostedSignature.petition_id == petition.id,
            HostedSignature.status == COUNTED,
            HostedSignature.wants_contact.is_(True),
            HostedSignature.email.is_not(None),
        )
        .options(joinedload(HostedSignature.country))
        .order_by(HostedSignature.confirmed_at, HostedSignature.id)
    ):
        rows.append(
            [
                signature.confirmed_at.isoformat() if signature.confirmed_at else "",
                signature.country.name(language),
                signature.country.alpha3,
                signature.name or "",
                signature.email or "",
                signature.postal_code or "",
                signature.language,
            ]
        )
    return rows


def find_by_email(email: str) -> list[HostedSignature]:
    """Every hosted signature given with this address (by its keyed hash: most keep no plain address)."""
    email_hash = _hasher().hash_email(email)
    if email_hash is None:
        return []
    return db.session.scalars(
        sa.select(HostedSignature).where(HostedSignature.email_hash == email_hash).order_by(HostedSignature.id)
    ).all()


def erase(signatures: list[HostedSignature], *, uncount: bool = True) -> int:
    """The privacy tools' part: the sign-ups go, with their e-mails and (unless the caller deletes the
    person's signatures itself, uncount=False) the signatures they counted."""
    for signature in signatures:
        _forget_messages([signature.confirm_token_hash])
        if uncount:
            _uncount(signature)
        db.session.delete(signature)
    db.session.flush()
    return len(signatures)
