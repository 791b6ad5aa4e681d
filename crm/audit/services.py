"""Writing the audit log. Every service that changes a sensitive record calls `record`."""

from __future__ import annotations

import datetime as dt
import decimal

from flask import has_request_context

from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign
from crm.extensions import db
from crm.outreach.models import OutreachRecord
from crm.signatures.models import Petition
from crm.web import client_address


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj, fields) -> dict:
    """The values of `fields` on `obj`, JSON-ready, for before/after."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def campaign_of(entity) -> int | None:
    """The campaign a record belongs to, as the audit log files it: its own campaign, its outreach
    record's, its petition's; a meeting's when all its governments are in one campaign; None otherwise."""
    if entity is None:
        return None
    if isinstance(entity, Campaign):
        return entity.id
    if getattr(entity, "campaign_id", None) is not None:
        return entity.campaign_id
    if getattr(entity, "outreach_id", None) is not None:
        outreach = db.session.get(OutreachRecord, entity.outreach_id)
        return outreach.campaign_id if outreach is not None else None
    if getattr(entity, "petition_id", None) is not None:
        petition = db.session.get(Petition, entity.petition_id)
        return petition.campaign_id if petition is not None else None
    records = getattr(entity, "outreach_records", None)
    if records:
        campaigns = {record.campaign_id for record in records}
        return campaigns.pop() if len(campaigns) == 1 else None
    return None


def created(action: str, entity, *, actor=None, after=None, **event):
    """Save a new row and record its creation: the row is added and flushed (it has its id), then the event
    is written with `after`, or with what `after(entity)` returns when it needs the id."""
    db.session.add(entity)
    db.session.flush()
    record(action, actor=actor, entity=entity, after=after(entity) if callable(after) else after, **event)
    return entity


def record(
    action: str,
    *,
    actor=None,
    entity=None,
    entity_type: str | None = None,
    entity_id=None,
    before: dict | None = None,
    after: dict | None = None,
    ip_address: str | None = None,
    campaign_id: int | None = None,
) -> AuditEvent:
    if entity is not None:
        entity_type = entity_type or entity.__tablename__
        if entity_id is None:
            db.session.flush([entity]) if entity in db.session.new else None
            entity_id = getattr(entity, "id", None)
    if ip_address is None and has_request_context():
        ip_address = client_address()
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or (actor if isinstance(actor, str) else None),
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        ip_address=ip_address,
        campaign_id=campaign_id if campaign_id is not None else campaign_of(entity),
    )
    db.session.add(event)
    return event
