"""Writing the audit log. Every service that changes a sensitive record calls `record`."""
from __future__ import annotations

import datetime as dt
import decimal

from flask import has_request_context

from crm.audit.models import AuditEvent
from crm.extensions import db


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj, fields) -> dict:
    """The values of `fields` on `obj`, JSON-ready, for before/after."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(action: str, *, actor=None, entity=None, entity_type: str | None = None, entity_id=None,
           before: dict | None = None, after: dict | None = None, ip_address: str | None = None) -> AuditEvent:
    if entity is not None:
        entity_type = entity_type or entity.__tablename__
        if entity_id is None:
            db.session.flush([entity]) if entity in db.session.new else None
            entity_id = getattr(entity, "id", None)
    if ip_address is None and has_request_context():
        from crm.web import client_address

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
    )
    db.session.add(event)
    return event
