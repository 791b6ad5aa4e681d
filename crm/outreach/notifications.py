"""Telling people about changes to their work. Until the mail layer exists, messages are queued in
the audit log as 'notification.queued' so none is lost; the reminders feature sends them."""
from __future__ import annotations

from crm.audit import services as audit


def tell_new_assignee(assignee, records, *, actor) -> None:
    if assignee is None or getattr(actor, "id", None) == assignee.id:
        return  # nobody to tell, or they did it themselves
    audit.record("notification.queued", actor=actor, entity=assignee,
                 after={"kind": "assignment", "to": assignee.email, "outreach_ids": [r.id for r in records]})
