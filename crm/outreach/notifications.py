"""Telling people about changes to their work, through the mail layer's queue: the message is written
in the reader's language, kept in the outbox until an SMTP server accepts it, and sent once."""

from __future__ import annotations

from crm.audit import services as audit
from crm.database import utcnow
from crm.mail import services as mailer
from crm.translation import ngettext


def tell_new_assignee(assignee, records, assignments, *, actor) -> None:
    """Queue one e-mail telling `assignee` which records are now theirs. The assignment rows' ids make
    the queue key, so the same assignment is never announced twice."""
    if assignee is None or getattr(actor, "id", None) == assignee.id:
        return  # nobody to tell, or they did it themselves

    rendered = mailer.render_message(
        "assignment",
        assignee,
        lambda: ngettext("%(num)s government is now yours", "%(num)s governments are now yours", len(records)),
        records=records,
        actor=actor,
    )
    key = "assignment:" + "-".join(str(a.id) for a in assignments)
    mailer.queue("assignment", key, assignee, rendered, now=utcnow())
    audit.record(
        "notification.queued",
        actor=actor,
        entity=assignee,
        after={"kind": "assignment", "to": assignee.email, "outreach_ids": [r.id for r in records]},
    )


def tell_previous_assignee(previous, records, assignee, assignments, *, actor) -> None:
    """Queue one e-mail telling `previous` which records are no longer theirs, and who has them now
    (their open follow-ups on them went along)."""
    if previous is None or not previous.active or getattr(actor, "id", None) == previous.id:
        return

    rendered = mailer.render_message(
        "reassignment",
        previous,
        lambda: ngettext(
            "%(num)s government is no longer yours", "%(num)s governments are no longer yours", len(records)
        ),
        records=records,
        assignee=assignee,
        actor=actor,
    )
    key = "reassignment:" + "-".join(str(a.id) for a in assignments)
    mailer.queue("reassignment", key, previous, rendered, now=utcnow())
    audit.record(
        "notification.queued",
        actor=actor,
        entity=previous,
        after={"kind": "reassignment", "to": previous.email, "outreach_ids": [r.id for r in records]},
    )
