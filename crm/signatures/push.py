"""Signatures a platform pushes to a petition's webhook: the petition's webhook secret, and the signatures
it sends, counted with the same rules as files (crm/signatures/totals.py). Plain functions; they flush, the
caller commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from crm.audit import services as audit
from crm.database import serialise, utcnow
from crm.extensions import db
from crm.i18n import _
from crm.signatures import counts
from crm.signatures.errors import SignatureError
from crm.signatures.models import Petition, SignatureImport
from crm.signatures.normalise import CountryResolver, EmailHasher, parse_signed_at
from crm.signatures.reports import Problem, problem_message
from crm.signatures.writer import ERASURE_LOCK, SignatureWriter, erased_among, hash_key_changed
from crm.webhooks import services as webhooks

PUSH_ITEMS_MAX = 1_000


@dataclass
class PushResult:
    received: int = 0
    new: int = 0
    duplicate: int = 0
    invalid: int = 0
    ignored: int = 0
    # Signers the privacy tools erased: left out.
    erased: int = 0
    unknown_countries: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "received": self.received,
            "new": self.new,
            "duplicate": self.duplicate,
            "invalid": self.invalid,
            "ignored": self.ignored,
            "erased": self.erased,
            "unknown_countries": sorted(self.unknown_countries),
        }


class PushRejected(SignatureError):
    """A webhook's body that was read but cannot be counted (too many items, a changed hashing key)."""

    status = 422


def _first(items, key="primary"):
    if not isinstance(items, list):
        return None
    items = [item for item in items if isinstance(item, dict)]
    for item in items:
        if item.get(key):
            return item
    return items[0] if items else None


def _signatures_in(payload) -> tuple[list[dict], int]:
    """The signature objects of an OSDI-style payload: Action Network's array of {"osdi:signature": ...}
    (other event types are ignored), a single such object, a bare signature with a "person", or an
    OSDI record-signature-helper body. Returns the signatures and how many items were ignored."""
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > PUSH_ITEMS_MAX:
        raise PushRejected(_("At most %(max)s items in one request.", max=PUSH_ITEMS_MAX))
    found, ignored = [], 0
    for item in items:
        if not isinstance(item, dict):
            ignored += 1
        elif isinstance(item.get("osdi:signature"), dict):
            found.append(item["osdi:signature"])
        elif isinstance(item.get("person"), dict):
            found.append(item)
        else:
            ignored += 1
    return found, ignored


def push_signatures(petition: Petition, payload) -> PushResult:
    """Signatures sent by a platform's webhook, counted with the same rules as files. Pushes of one
    petition on one day share one import record whose counts grow."""
    signatures, ignored = _signatures_in(payload)
    result = PushResult(received=len(signatures), ignored=ignored)
    hasher = EmailHasher.from_config()
    if hash_key_changed(petition, hasher):
        raise PushRejected(problem_message(Problem("key_changed")))
    keep_names = bool(current_app.config.get("SIGNATURE_KEEP_NAMES", False))
    record = _push_record(petition, hasher)
    resolver = CountryResolver()
    writer = SignatureWriter()
    now = utcnow()
    created_at = writer.timestamp(now)
    rows, cells = [], {}
    for signature in signatures:
        person = signature.get("person") or {}
        address = _first(person.get("email_addresses"))
        email = hasher.normalise(
            address.get("address") if address and isinstance(address.get("address"), str) else None
        )
        if email is None:
            result.invalid += 1
            continue
        postal = _first(person.get("postal_addresses"))
        raw_country = postal.get("country") if postal and isinstance(postal.get("country"), str) else None
        country_id = resolver.resolve(raw_country)
        if country_id is False:
            result.unknown_countries[raw_country.strip()[:80]] = True
            country_id = None
        when = signature.get("created_date")
        signed_at = parse_signed_at(when) if isinstance(when, str) else None
        first = person.get("given_name") if keep_names and isinstance(person.get("given_name"), str) else None
        last = person.get("family_name") if keep_names and isinstance(person.get("family_name"), str) else None
        email_hash = hasher.digest(email)
        rows.append(
            (
                petition.campaign_id,
                petition.id,
                record.id,
                email_hash,
                country_id,
                writer.timestamp(signed_at or None),
                (first or "").strip()[:120] or None,
                (last or "").strip()[:120] or None,
                created_at,
            )
        )
        # The first of a hash sent twice in one push is the one written.
        cells.setdefault(
            email_hash, counts.cell_of(petition.campaign_id, petition.id, country_id, signed_at or None, now)
        )
    serialise(db.session, ERASURE_LOCK)
    erased = erased_among(row[3] for row in rows)
    if erased:
        result.erased = sum(1 for row in rows if row[3] in erased)
        rows = [row for row in rows if row[3] not in erased]
    new = writer.write_new(rows)
    counts.add(db.session.connection(), Counter(cells[email_hash] for email_hash in new))
    result.new = len(new)
    result.duplicate = len(rows) - result.new
    if result.new:
        webhooks.signature_totals_changed(petition, new_signatures=result.new, source="push")
    db.session.execute(
        sa.update(SignatureImport)
        .where(SignatureImport.id == record.id)
        .values(
            rows_read=SignatureImport.rows_read + result.received,
            rows_new=SignatureImport.rows_new + result.new,
            rows_duplicate=SignatureImport.rows_duplicate + result.duplicate,
            rows_invalid=SignatureImport.rows_invalid + result.invalid,
        )
    )
    db.session.expire(record)
    return result


def _push_record(petition: Petition, hasher: EmailHasher) -> SignatureImport:
    today = utcnow().date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    record = db.session.scalar(
        sa.select(SignatureImport)
        .where(
            SignatureImport.petition_id == petition.id,
            SignatureImport.format == "webhook",
            SignatureImport.imported_at >= start,
        )
        .order_by(SignatureImport.id.desc())
        .limit(1)
    )
    if record is None:
        record = SignatureImport(
            petition_id=petition.id,
            format="webhook",
            filename=None,
            report={"key_id": hasher.key_id, "pushed_on": today.isoformat()},
        )
        db.session.add(record)
        db.session.flush()
    return record


def new_webhook_secret(petition: Petition, actor=None) -> str:
    """A new secret for the petition's webhook (the old one stops working). Only its hash is kept: the
    secret is shown once."""
    secret = secrets.token_urlsafe(32)
    petition.webhook_secret_hash = hashlib.sha256(secret.encode()).hexdigest()
    db.session.flush()
    audit.record("petition.webhook_secret", actor=actor, entity=petition, after={"rotated": True})
    return secret


def webhook_secret_matches(petition: Petition | None, given: str | None) -> bool:
    """Whether `given` is the petition's webhook secret. Compared in constant time, and compared even when
    the petition or its secret does not exist, so the answer's timing says nothing about which it was."""
    stored = getattr(petition, "webhook_secret_hash", None)
    offered = hashlib.sha256((given or "").encode()).hexdigest()
    same = hmac.compare_digest(stored or "!" * 64, offered)
    return bool(stored and given and same)
