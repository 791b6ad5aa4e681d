"""The database itself keeps bad data out: every CHECK, UNIQUE, FOREIGN KEY, primary key and NOT NULL of
every table is tried with one bad value, on SQLite and on PostgreSQL, and must be refused by that
constraint. On PostgreSQL, whose DDL is transactional, the constraint is then dropped in a savepoint and
the same row must go in: nothing else refused it."""

from __future__ import annotations

import datetime as dt
import itertools
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from crm import models  # noqa: F401  (the whole schema in the metadata)
from crm.audit.models import REDACTION, AuditEvent, AuditLogIsAppendOnly
from crm.extensions import db
from crm.outreach.models import Position, PositionHistoryIsKept
from crm.reminders import models as reminder_models  # noqa: F401  (not yet imported by crm/models.py)

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
MISSING_ID = 2_000_000_000  # no row has this id; still fits a 32-bit integer column
MISSING_REGION = "ZZZ"  # M49 codes are digits
_serial = itertools.count(1)


def table(name: str) -> sa.Table:
    return db.metadata.tables[name]


def insert(name: str, values: dict) -> dict:
    """One row through Core (no ORM defaults or validation); its values, with the key it was given."""
    result = db.session.execute(sa.insert(table(name)).values(**values))
    return {**values, **result.inserted_primary_key._asdict()}


def new(name: str, **parents) -> dict:
    """A valid row of another table, inserted: a parent the row under test can point at."""
    return insert(name, VALID_ROWS[name](**parents))


def new_id(name: str, **parents) -> int:
    return new(name, **parents)["id"]


def existing_country_id(offset: int = 0) -> int:
    """A country from the reference data."""
    country = table("country")
    return db.session.scalar(sa.select(country.c.id).order_by(country.c.id).offset(offset).limit(1))


def existing_region_code(level: str) -> str:
    region = table("region")
    return db.session.scalar(sa.select(region.c.code).where(region.c.level == level).order_by(region.c.code).limit(1))


def unused(column: sa.Column, candidates: Iterable[str]) -> str:
    """The first candidate no row has yet (reference data holds the real codes)."""
    taken = set(db.session.scalars(sa.select(column).where(column.is_not(None))))
    return next(value for value in candidates if value not in taken)


# One factory per table: a complete, valid row, every column given explicitly, parents inserted as
# needed. Each call gives values no earlier call gave, so two rows never clash by accident.


def region_row() -> dict:
    k = next(_serial)
    return {
        "code": unused(table("region").c.code, (f"{n:03d}" for n in range(999, 0, -1))),
        "name_en": f"Region {k}",
        "name_es": f"Región {k}",
        "level": "intermediate_region",
        "parent_code": existing_region_code("sub_region"),
    }


def country_row() -> dict:
    k = next(_serial)
    columns = table("country").c
    letters = string.ascii_uppercase
    return {
        # User-assigned ISO ranges (QM-QZ, XA-XZ, ZZ) first, so no real country is shadowed.
        "alpha2": unused(columns.alpha2, (a + b for a in "QXZ" for b in letters)),
        "alpha3": unused(columns.alpha3, (a + b + c for a in "QXZ" for b in letters for c in letters)),
        "numeric_code": unused(columns.numeric_code, (str(n) for n in range(999, 899, -1))),
        "in_iso_3166": False,
        "name_en": f"Testland {k}",
        "name_es": f"Tierra de prueba {k}",
        "region_code": existing_region_code("region"),
        "sub_region_code": existing_region_code("sub_region"),
        "intermediate_region_code": existing_region_code("intermediate_region"),
        "un_member": False,
        "rs_status": "withdrawn",
        "rs_signature_date": dt.date(1998, 7, 17),
        "rs_ratification_date": dt.date(2000, 1, 10),
        "rs_entry_into_force_date": dt.date(2002, 7, 1),
        "rs_withdrawal_notified_date": dt.date(2019, 3, 1),
        "rs_withdrawal_effective_date": dt.date(2020, 3, 1),
        "rs_verified": True,
        "rs_source": "https://treaties.un.org/",
        "rs_note": None,
    }


def country_fact_change_row() -> dict:
    return {
        "country_id": existing_country_id(),
        "field": "status",
        "old_value": "signatory",
        "new_value": "state_party",
        "source": "https://treaties.un.org/",
        "verified": True,
        "origin": "admin",
        "changed_by_id": new_id("user"),
        "changed_at": NOW,
    }


def user_row() -> dict:
    k = next(_serial)
    return {
        "email": f"user{k}@example.org",
        "name": f"User {k}",
        "role": "volunteer",
        "language": "en",
        "timezone": "Europe/Madrid",
        "active": True,
        "password_hash": None,
        "session_token": f"session-token-{k}",
        "created_at": NOW,
        "last_login_at": None,
        "password_changed_at": None,
        "totp_secret": None,
        "totp_enabled_at": None,
        "totp_pending_secret": None,
        "totp_last_step": None,
    }


def recovery_code_row() -> dict:
    return {"user_id": new_id("user"), "code_hash": f"{next(_serial):064x}", "created_at": NOW, "used_at": None}


def password_reset_token_row() -> dict:
    return {
        "user_id": new_id("user"),
        "token_hash": f"{next(_serial):064x}",
        "created_at": NOW,
        "expires_at": NOW + dt.timedelta(hours=1),
        "used_at": None,
    }


def form_submission_row() -> dict:
    return {
        "key": f"submission-key-{next(_serial):020d}",
        "user_id": new_id("user"),
        "location": "/outreach/1",
        "created_at": NOW,
    }


def job_status_row() -> dict:
    return {"name": f"job-{next(_serial)}", "runs": 1, "failures": 0, "last_finished_at": NOW}


def staged_import_row() -> dict:
    return {"petition_id": new_id("petition"), "started_at": NOW, "heartbeat_at": NOW}


def staged_signature_row() -> dict:
    return {
        "staged_import_id": new_id("staged_import"),
        "email_hash": f"{next(_serial):064x}",
        "country_id": None,
        "signed_at": None,
        "first_name": None,
        "last_name": None,
    }


def erased_signer_row() -> dict:
    return {"email_hash": f"{next(_serial):064x}", "erased_at": NOW}


def login_attempt_row() -> dict:
    return {
        "kind": "failure",
        "account": f"user{next(_serial)}@example.org",
        "address": "192.0.2.1",
        "occurred_at": NOW,
    }


def audit_event_row() -> dict:
    return {
        "occurred_at": NOW,
        "actor_id": new_id("user"),
        "actor_label": "someone@example.org",
        "action": "campaign.create",
        "entity_type": "campaign",
        "entity_id": "1",
        "before": None,
        "after": {"name": "Universal ratification"},
        "ip_address": "192.0.2.1",
        "campaign_id": 1,
    }


def campaign_row() -> dict:
    k = next(_serial)
    return {
        "slug": f"campaign-{k}",
        "name": f"Campaign {k}",
        "description": None,
        "starts_on": dt.date(2025, 1, 1),
        "ends_on": dt.date(2025, 12, 31),
        "reply_days": 14,
        "claims_need_approval": True,
        "stall_days": 21,
        "is_demo": False,
        "created_at": NOW,
        "letter_language": "es",
        "default_coordinator_id": None,
        "archived_at": None,
    }


def backup_run_row() -> dict:
    return {
        "origin": "schedule",
        "started_at": NOW,
        "finished_at": NOW,
        "ok": True,
        "path": "/backups/a.alcbak",
        "size_bytes": 1024,
        "rows": 10,
        "schema_revision": "0021_backup_run",
        "error": None,
    }


def published_board_row() -> dict:
    return {"campaign_id": new_id("campaign"), "published_at": NOW, "published_by_id": None}


def published_entry_row() -> dict:
    return {"outreach_id": new_id("outreach_record"), "published_at": NOW, "published_by_id": None}


def published_position_row() -> dict:
    return {"position_id": new_id("position"), "published_at": NOW, "published_by_id": None}


def public_form_hit_row() -> dict:
    return {"form": "statement", "key": f"address:192.0.2.{next(_serial) % 250}", "occurred_at": NOW}


def statement_row(campaign_id: int | None = None) -> dict:
    return {
        "campaign_id": campaign_id or new_id("campaign"),
        "slug": f"statement-{next(_serial)}",
        "opens_on": dt.date(2025, 1, 1),
        "closes_on": dt.date(2025, 12, 31),
        "individuals_may_sign": False,
        "frozen_at": NOW,
        "created_by_id": new_id("user"),
        "created_at": NOW,
        "version": 1,
    }


def statement_text_row() -> dict:
    return {"statement_id": new_id("statement"), "language": "es", "title": "Declaración", "body": "Texto firmado."}


def statement_signature_row(unconfirmed: bool = False) -> dict:
    """An approved organisation's signature (with unconfirmed=True: one still waiting for its link)."""
    k = next(_serial)
    return {
        "statement_id": new_id("statement"),
        "kind": "organisation",
        "organisation": f"Organisation {k}",
        "country_id": existing_country_id(),
        "website": "https://example.org",
        "signer_name": f"Signer {k}",
        "signer_role": "Director",
        "email": f"signer{k}@example.org",
        "listing": "named",
        "publish_logo": False,
        "language": "es",
        "status": "unconfirmed" if unconfirmed else "approved",
        "confirm_token_hash": f"{k + 10**9:064x}" if unconfirmed else None,
        "withdraw_token_hash": f"{k:064x}",
        "consented_at": NOW,
        "created_at": NOW,
        "expires_at": NOW + dt.timedelta(days=7),
        "confirmed_at": None if unconfirmed else NOW,
        "decided_at": None if unconfirmed else NOW,
        "decided_by_id": None if unconfirmed else new_id("user"),
        "reject_reason": None,
        "withdrawn_at": None,
        "merged_into_id": None,
        "erased_at": None,
        "version": 1,
    }


def hosted_petition_row() -> dict:
    return {
        "petition_id": new_id("petition"),
        "texts": {"es": {"title": "Firma", "body": "Tres exigencias."}},
        "totals_by_country": True,
        "frame_origins": "https://example.org",
        "created_at": NOW,
    }


def hosted_signature_row(pending: bool = False) -> dict:
    """A counted signature whose signer agreed to hear again (with pending=True: one waiting for its link)."""
    k = next(_serial)
    campaign_id = new_id("campaign")
    petition_id = new_id("petition", campaign_id=campaign_id)
    return {
        "campaign_id": campaign_id,
        "petition_id": petition_id,
        "status": "pending" if pending else "confirmed",
        "email_hash": f"{k:064x}",
        "email": f"firmante{k}@example.org",
        "name": f"Firmante {k}",
        "show_name": False,
        "country_id": existing_country_id(),
        "postal_code": "28001",
        "wants_contact": True,
        "language": "es",
        "for_review": False,
        "confirm_token_hash": f"{k + 10**9:064x}" if pending else None,
        "withdraw_token_hash": f"{k + 2 * 10**9:064x}",
        "consented_at": NOW,
        "created_at": NOW,
        "expires_at": NOW + dt.timedelta(days=7),
        "confirmed_at": None if pending else NOW,
        "decided_at": None,
        "decided_by_id": new_id("user"),
        "withdrawn_at": None,
        "signature_id": None if pending else new_id("signature"),
    }


def letter_statement_row() -> dict:
    campaign_id = new_id("campaign")
    return {
        "letter_id": new_id("letter", outreach_id=new_id("outreach_record", campaign_id=campaign_id)),
        "statement_id": new_id("statement", campaign_id=campaign_id),
        "attached_at": NOW,
        "attached_by_id": new_id("user"),
        "signatories": {"organisations": [], "individuals": [], "unlisted": 0, "total": 0},
        "frozen_at": NOW,
    }


def invitation_row() -> dict:
    k = next(_serial)
    return {
        "user_id": new_id("user"),
        "invited_by_id": None,
        "token_hash": f"{k:064x}",
        "created_at": NOW,
        "expires_at": NOW + dt.timedelta(days=7),
        "last_sent_at": NOW,
        "send_count": 1,
        "accepted_at": None,
        "revoked_at": None,
    }


def demand_row(campaign_id: int | None = None) -> dict:
    k = next(_serial)
    return {
        "campaign_id": campaign_id or new_id("campaign"),
        "ordinal": k,
        "code": f"D{k}",
        "title": f"Demand {k}",
        "description": None,
    }


def campaign_translation_row() -> dict:
    return {"campaign_id": new_id("campaign"), "language": "es", "name": "Campaña", "description": None}


def demand_translation_row() -> dict:
    return {"demand_id": new_id("demand"), "language": "es", "title": "Demanda", "description": None}


def office_row() -> dict:
    k = next(_serial)
    return {
        "country_id": existing_country_id(0),
        "kind": "consulate",
        "name": f"Consulate {k}",
        "city": f"City {k}",
        "host_country_id": existing_country_id(1),
        "address": None,
        "email": None,
        "phone": None,
        "website": None,
        "notes": None,
        "active": True,
        "created_at": NOW,
        "version": 1,
    }


def contact_row(office_id: int | None = None) -> dict:
    k = next(_serial)
    return {
        "office_id": office_id or new_id("office"),
        "name": f"Contact {k}",
        "title": "Counsellor",
        "email": f"contact{k}@example.org",
        "phone": None,
        "personal_phone": None,
        "language": "es",
        "notes": None,
        "active": True,
        "merged_into_id": None,
        "created_at": NOW,
        "version": 1,
    }


def post_row() -> dict:
    office_id = new_id("office")
    return {
        "contact_id": new_id("contact", office_id=office_id),
        "office_id": office_id,
        "title": "Counsellor",
        "started_on": dt.date(2024, 1, 1),
        "ended_on": dt.date(2024, 12, 31),
    }


def outreach_record_row(campaign_id: int | None = None) -> dict:
    return {
        "campaign_id": campaign_id or new_id("campaign"),
        "country_id": existing_country_id(),
        "stage": "contacted",
        "assignee_id": new_id("user"),
        "coordinator_id": new_id("user"),
        "priority": 2,
        "next_follow_up_on": dt.date(2025, 7, 1),
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def position_row() -> dict:
    campaign_id = new_id("campaign")
    outreach_id = new_id("outreach_record", campaign_id=campaign_id)
    return {
        "campaign_id": campaign_id,
        "outreach_id": outreach_id,
        "demand_id": new_id("demand", campaign_id=campaign_id),
        "stance": "supportive",
        "stated_on": dt.date(2025, 5, 20),
        "evidence": "Said so in the meeting.",
        "evidence_url": None,
        "meeting_id": new_id("meeting"),
        "letter_id": new_id("letter", outreach_id=outreach_id),
        "recorded_by_id": new_id("user"),
        "recorded_at": NOW,
    }


def meeting_row() -> dict:
    return {
        "office_id": new_id("office"),
        "held_at": NOW,
        "location": "Embassy",
        "summary": "Talked about ratification.",
        "outcome": None,
        "confidential_notes": None,
        "created_by_id": new_id("user"),
        "created_at": NOW,
        "version": 1,
    }


def meeting_outreach_row() -> dict:
    return {"meeting_id": new_id("meeting"), "outreach_id": new_id("outreach_record")}


def meeting_contact_row() -> dict:
    return {"meeting_id": new_id("meeting"), "contact_id": new_id("contact")}


def meeting_staff_row() -> dict:
    return {"meeting_id": new_id("meeting"), "user_id": new_id("user")}


def letter_row(outreach_id: int | None = None) -> dict:
    office_id = new_id("office")
    return {
        "outreach_id": outreach_id or new_id("outreach_record"),
        "direction": "outgoing",
        "in_reply_to_id": None,
        "channel": "email",
        "language": "es",
        "recipient_contact_id": new_id("contact", office_id=office_id),
        "recipient_office_id": office_id,
        "recipient_name": "H.E. the Ambassador",
        "subject": "Ratify the Rome Statute",
        "body": None,
        "sent_on": dt.date(2025, 3, 1),
        "delivered_on": dt.date(2025, 3, 2),
        "acknowledged_on": dt.date(2025, 3, 3),
        "received_on": None,
        "signatures_total": 1204,
        "signatures_resident": 96,
        "signatures_by_country": {"ES": 96},
        "signatures_total_upper": 1250,
        "signatures_resident_upper": 100,
        "signatures_snapshot_at": NOW,
        "created_by_id": new_id("user"),
        "created_at": NOW,
        "version": 1,
    }


def letter_attachment_row() -> dict:
    k = next(_serial)
    return {
        "letter_id": new_id("letter"),
        "filename": "letter.pdf",
        "content_type": "application/pdf",
        "size_bytes": 2048,
        "sha256": "a" * 64,
        "storage_key": f"attachments/{k}",
        "uploaded_by_id": new_id("user"),
        "uploaded_at": NOW,
    }


def letter_template_row() -> dict:
    k = next(_serial)
    return {
        "name": f"Template {k}",
        "language": "es",
        "subject": "Ratify the Rome Statute",
        "body": "Dear {{ recipient_name }},",
        "updated_by_id": new_id("user"),
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def follow_up_row() -> dict:
    campaign_id = new_id("campaign")
    outreach_id = new_id("outreach_record", campaign_id=campaign_id)
    return {
        "campaign_id": campaign_id,
        "outreach_id": outreach_id,
        "owner_id": new_id("user"),
        "due_on": dt.date(2025, 7, 1),
        "note": "Ask for the reply.",
        "status": "snoozed",
        "snoozed_until": dt.date(2025, 7, 15),
        "completed_at": None,
        "reminder_sent_at": None,
        "meeting_id": new_id("meeting"),
        "letter_id": new_id("letter", outreach_id=outreach_id),
        "created_by_id": new_id("user"),
        "created_at": NOW,
        "version": 1,
    }


def assignment_row() -> dict:
    return {
        "outreach_id": new_id("outreach_record"),
        "assignee_id": new_id("user"),
        "previous_assignee_id": new_id("user"),
        "changed_by_id": new_id("user"),
        "changed_at": NOW,
        "reason": "assigned",
    }


def claim_row(status: str = "pending", outreach_id: int | None = None, volunteer_id: int | None = None) -> dict:
    decided = status != "pending"
    return {
        "outreach_id": outreach_id or new_id("outreach_record"),
        "volunteer_id": volunteer_id or new_id("user"),
        "status": status,
        "requested_at": NOW,
        "decided_by_id": new_id("user") if decided else None,
        "decided_at": NOW if decided else None,
    }


def petition_row(campaign_id: int | None = None) -> dict:
    k = next(_serial)
    return {
        "campaign_id": campaign_id or new_id("campaign"),
        "slug": f"petition-{k}",
        "name": f"Petition {k}",
        "platform": "generic",
        "language": "es",
        "column_mapping": None,
        "webhook_secret_hash": None,
        "created_at": NOW,
    }


def signature_import_row(petition_id: int | None = None) -> dict:
    return {
        "petition_id": petition_id or new_id("petition"),
        "filename": "signatures.csv",
        "sha256": "b" * 64,
        "format": "csv",
        "rows_read": 3,
        "rows_new": 1,
        "rows_duplicate": 1,
        "rows_invalid": 1,
        "report": None,
        "imported_by_id": new_id("user"),
        "imported_at": NOW,
    }


def signature_row() -> dict:
    campaign_id = new_id("campaign")
    petition_id = new_id("petition", campaign_id=campaign_id)
    return {
        "campaign_id": campaign_id,
        "petition_id": petition_id,
        "import_id": new_id("signature_import", petition_id=petition_id),
        "email_hash": f"{next(_serial):064x}",
        "country_id": existing_country_id(),
        "signed_at": NOW,
        "first_name": "Ana",
        "last_name": None,
        "created_at": NOW,
    }


def signature_count_row() -> dict:
    campaign_id = new_id("campaign")
    return {
        "petition_id": new_id("petition", campaign_id=campaign_id),
        "country_id": existing_country_id(),
        "day": dt.date(2025, 6, 1),
        "campaign_id": campaign_id,
        "signers": 12,
    }


def signature_total_row() -> dict:
    campaign_id = new_id("campaign")
    return {
        "petition_id": new_id("petition", campaign_id=campaign_id),
        "country_id": existing_country_id(),
        "campaign_id": campaign_id,
        "signers": 12,
        "without_email": 3,
    }


def signature_day_row() -> dict:
    return {"campaign_id": new_id("campaign"), "day": dt.date(2025, 6, 1), "signers": 12}


def signature_campaign_total_row() -> dict:
    return {"campaign_id": new_id("campaign"), "signers": 12, "overlap": 2}


def signature_overlap_row() -> dict:
    return {
        "campaign_id": new_id("campaign"),
        "country_id": existing_country_id(),
        "day": dt.date(2025, 6, 1),
        "signers": 2,
    }


def signature_tally_row() -> dict:
    return {
        "petition_id": new_id("petition"),
        "country_id": existing_country_id(),
        "signers": 1204,
        "as_of": dt.date(2025, 6, 1),
        "source": "Platform dashboard",
        "entered_by_id": new_id("user"),
        "entered_at": NOW,
    }


def reminder_preference_row() -> dict:
    return {
        "user_id": new_id("user"),
        "reminders_enabled": True,
        "digest_enabled": True,
        "weekly_report_enabled": False,
        "digest_hour": 8,
        "calendar_token_hash": f"{next(_serial):064x}",
        "calendar_token_created_at": NOW,
        "updated_at": NOW,
    }


def api_token_row() -> dict:
    return {
        "user_id": new_id("user"),
        "name": "Delivery spreadsheet",
        "token_hash": f"{next(_serial):064x}",
        "prefix": "alc_abcdef",
        "scope": "read",
        "created_at": NOW,
        "expires_at": NOW + dt.timedelta(days=30),
    }


def webhook_subscription_row() -> dict:
    return {
        "url": "https://hooks.example.org/alcance",
        "events": "meeting.logged position.changed",
        "secret": "whsec_not_encrypted_here",
        "active": True,
        "created_by_id": new_id("user"),
        "created_at": NOW,
    }


def webhook_delivery_row() -> dict:
    return {
        "subscription_id": new_id("webhook_subscription"),
        "event": "meeting.logged",
        "event_id": f"00000000-0000-4000-8000-{next(_serial):012d}",
        "body": "{}",
        "status": "sent",
        "attempts": 1,
        "next_attempt_at": NOW,
        "sent_at": NOW,
        "created_at": NOW,
    }


def webhook_attempt_row() -> dict:
    return {"delivery_id": new_id("webhook_delivery"), "attempted_at": NOW, "status_code": 204, "error": None}


def outbound_message_row() -> dict:
    k = next(_serial)
    return {
        "kind": "due_reminder",
        "dedupe_key": f"due_reminder:follow_up:{k}",
        "recipient_id": new_id("user"),
        "recipient_email": f"user{k}@example.org",
        "language": "en",
        "follow_up_id": new_id("follow_up"),
        "for_date": dt.date(2025, 7, 1),
        "subject": "A follow-up is due",
        "body_text": "Ask for the reply.",
        "body_html": None,
        "message_id": f"<{k}@alcance.example.org>",
        "status": "sent",
        "attempts": 1,
        "next_attempt_at": NOW,
        "claimed_by": None,
        "claimed_until": None,
        "last_error": None,
        "transport": "smtp",
        "sent_by": "scheduler-1",
        "sent_at": NOW,
        "created_at": NOW,
    }


def reply_clock_row(event: str = "letter") -> dict:
    """Started by a delivered letter or, with event="meeting", by a held meeting."""
    outreach_id = new_id("outreach_record")
    return {
        "outreach_id": outreach_id,
        "letter_id": new_id("letter", outreach_id=outreach_id) if event == "letter" else None,
        "meeting_id": new_id("meeting") if event == "meeting" else None,
        "started_on": dt.date(2025, 6, 1),
        "follow_up_id": new_id("follow_up"),
        "escalated_at": None,
        "created_at": NOW,
    }


VALID_ROWS: dict[str, Callable[..., dict]] = {
    "region": region_row,
    "country": country_row,
    "country_fact_change": country_fact_change_row,
    "user": user_row,
    "audit_event": audit_event_row,
    "campaign": campaign_row,
    "demand": demand_row,
    "campaign_translation": campaign_translation_row,
    "demand_translation": demand_translation_row,
    "office": office_row,
    "contact": contact_row,
    "post": post_row,
    "outreach_record": outreach_record_row,
    "position": position_row,
    "meeting": meeting_row,
    "meeting_outreach": meeting_outreach_row,
    "meeting_contact": meeting_contact_row,
    "meeting_staff": meeting_staff_row,
    "letter": letter_row,
    "letter_attachment": letter_attachment_row,
    "letter_template": letter_template_row,
    "follow_up": follow_up_row,
    "assignment": assignment_row,
    "claim": claim_row,
    "petition": petition_row,
    "signature_import": signature_import_row,
    "signature": signature_row,
    "signature_tally": signature_tally_row,
    "signature_count": signature_count_row,
    "signature_total": signature_total_row,
    "signature_day": signature_day_row,
    "signature_overlap": signature_overlap_row,
    "signature_campaign_total": signature_campaign_total_row,
    "reminder_preference": reminder_preference_row,
    "api_token": api_token_row,
    "webhook_subscription": webhook_subscription_row,
    "webhook_delivery": webhook_delivery_row,
    "webhook_attempt": webhook_attempt_row,
    "outbound_message": outbound_message_row,
    "reply_clock": reply_clock_row,
    "recovery_code": recovery_code_row,
    "password_reset_token": password_reset_token_row,
    "invitation": invitation_row,
    "login_attempt": login_attempt_row,
    "form_submission": form_submission_row,
    "job_status": job_status_row,
    "backup_run": backup_run_row,
    "published_board": published_board_row,
    "published_entry": published_entry_row,
    "published_position": published_position_row,
    "public_form_hit": public_form_hit_row,
    "statement": statement_row,
    "statement_text": statement_text_row,
    "statement_signature": statement_signature_row,
    "letter_statement": letter_statement_row,
    "hosted_petition": hosted_petition_row,
    "hosted_signature": hosted_signature_row,
    "staged_import": staged_import_row,
    "staged_signature": staged_signature_row,
    "erased_signer": erased_signer_row,
}

Override = dict | Callable[[dict], dict]


@dataclass(frozen=True)
class Case:
    breaks: str  # the constraint's name, or "table.column" for a NOT NULL
    table: str
    row: Callable[[], dict]
    bad: Override  # what to change in a valid row; a callable is given the first row, to copy or point at

    def override(self, first: dict) -> dict:
        return self.bad(first) if callable(self.bad) else self.bad


def case(breaks: str, table_name: str, bad: Override, how: str = "", row: Callable[[], dict] | None = None):
    """`row` replaces the table's factory where the constraint needs rows of another kind."""
    return pytest.param(
        Case(breaks, table_name, row or VALID_ROWS[table_name], bad), id=f"{breaks}-{how}" if how else breaks
    )


def same(*columns: str) -> Callable[[dict], dict]:
    """The first row's values for these columns: a duplicate."""
    return lambda first: {column: first[column] for column in columns}


def nowhere(table_name: str, column: str, constraint: str, **also):
    """A reference to a row that does not exist (with whatever else makes the reference allowed)."""
    is_code = isinstance(table(table_name).c[column].type, sa.String)
    missing = MISSING_REGION if is_code else MISSING_ID
    return case(constraint, table_name, {column: missing, **also}, "missing")


CHECKS = [
    case("ck_region_level_valid", "region", {"level": "continent"}),
    case("ck_region_code_three_digits", "region", {"code": "15"}, "short"),
    case("ck_region_code_three_digits", "region", {"code": "1A5"}, "letter"),
    case("ck_region_code_three_digits", "region", {"code": "15 "}, "space"),
    case("ck_country_rs_status_valid", "country", {"rs_status": "ratified"}),
    case("ck_country_alpha2_format", "country", {"alpha2": "qz"}, "lowercase"),
    case("ck_country_alpha2_format", "country", {"alpha2": "Q"}, "short"),
    case("ck_country_alpha2_format", "country", {"alpha2": "Q1"}, "digit"),
    case("ck_country_alpha2_format", "country", {"alpha2": "Q-"}, "punctuation"),
    case("ck_country_alpha2_format", "country", {"alpha2": "QÉ"}, "accented"),
    case("ck_country_alpha3_format", "country", {"alpha3": "qzz"}, "lowercase"),
    case("ck_country_alpha3_format", "country", {"alpha3": "QZ"}, "short"),
    case("ck_country_alpha3_format", "country", {"alpha3": "Q1Z"}, "digit"),
    case("ck_country_alpha3_format", "country", {"alpha3": "QZ "}, "space"),
    case("ck_country_numeric_format", "country", {"numeric_code": "99"}, "short"),
    case("ck_country_numeric_format", "country", {"numeric_code": "9A9"}, "letter"),
    case("ck_country_numeric_format", "country", {"numeric_code": "-99"}, "sign"),
    case("ck_country_entry_into_force_after_statute", "country", {"rs_entry_into_force_date": dt.date(2002, 6, 30)}),
    case(
        "ck_country_withdrawal_effective_after_notified",
        "country",
        {"rs_withdrawal_effective_date": dt.date(2019, 2, 28)},
    ),
    case("ck_country_fact_change_field_valid", "country_fact_change", {"field": "capital"}),
    case("ck_country_fact_change_origin_valid", "country_fact_change", {"origin": "rumour"}),
    case("ck_country_fact_change_source_required", "country_fact_change", {"source": "   "}),
    case("ck_user_role_valid", "user", {"role": "superuser"}),
    case("ck_user_language_valid", "user", {"language": "fr"}),
    case("ck_user_totp_enabled_iff_secret", "user", {"totp_secret": "JBSWY3DPEHPK3PXP"}, "secret_without_date"),
    case("ck_user_totp_enabled_iff_secret", "user", {"totp_enabled_at": NOW}, "date_without_secret"),
    case("ck_password_reset_token_expires_after_creation", "password_reset_token", {"expires_at": NOW}),
    case("ck_backup_run_origin_valid", "backup_run", {"origin": "cron"}),
    case("ck_backup_run_failure_has_reason", "backup_run", {"ok": False, "error": None}),
    case("ck_backup_run_size_not_negative", "backup_run", {"size_bytes": -1}),
    case("ck_invitation_expires_after_creation", "invitation", {"expires_at": NOW}),
    case("ck_invitation_sent_at_least_once", "invitation", {"send_count": 0}),
    case("ck_invitation_accepted_or_revoked", "invitation", {"accepted_at": NOW, "revoked_at": NOW}),
    case("ck_login_attempt_kind_valid", "login_attempt", {"kind": "success"}),
    case("ck_user_email_lowercase", "user", {"email": "Someone@Example.org"}),
    case("ck_user_email_shape", "user", {"email": "someone.example.org"}, "no_at"),
    case("ck_user_email_shape", "user", {"email": "@example.org"}, "nothing_before"),
    case("ck_user_email_shape", "user", {"email": "someone@"}, "nothing_after"),
    case("ck_user_email_shape", "user", {"email": ""}, "empty"),
    case("ck_user_name_not_blank", "user", {"name": ""}, "empty"),
    case("ck_user_name_not_blank", "user", {"name": "   "}, "spaces"),
    case("ck_audit_event_action_not_blank", "audit_event", {"action": ""}, "empty"),
    case("ck_audit_event_action_not_blank", "audit_event", {"action": "   "}, "spaces"),
    case("ck_campaign_name_not_blank", "campaign", {"name": "  "}),
    case("ck_campaign_slug_format", "campaign", {"slug": ""}, "empty"),
    case("ck_campaign_slug_format", "campaign", {"slug": "Universal-Ratification"}, "uppercase"),
    case("ck_campaign_slug_format", "campaign", {"slug": "universal ratification"}, "space"),
    case("ck_campaign_slug_format", "campaign", {"slug": "universal_ratification"}, "underscore"),
    case("ck_campaign_slug_format", "campaign", {"slug": "ratificación"}, "accented"),
    case("ck_campaign_slug_format", "campaign", {"slug": "ratify/now"}, "slash"),
    case("ck_campaign_reply_days_positive", "campaign", {"reply_days": 0}),
    case("ck_campaign_stall_days_positive", "campaign", {"stall_days": 0}, "zero"),
    case("ck_campaign_stall_days_positive", "campaign", {"stall_days": -1}, "negative"),
    case("ck_campaign_dates_ordered", "campaign", {"starts_on": dt.date(2025, 6, 1), "ends_on": dt.date(2025, 5, 31)}),
    case("ck_campaign_letter_language_format", "campaign", {"letter_language": "e"}, "short"),
    case("ck_demand_ordinal_positive", "demand", {"ordinal": 0}),
    case("ck_demand_title_not_blank", "demand", {"title": " "}),
    case("ck_demand_code_not_blank", "demand", {"code": ""}, "empty"),
    case("ck_demand_code_not_blank", "demand", {"code": "  "}, "spaces"),
    case("ck_campaign_translation_language_format", "campaign_translation", {"language": "e"}),
    case("ck_campaign_translation_name_not_blank", "campaign_translation", {"name": ""}, "empty"),
    case("ck_campaign_translation_name_not_blank", "campaign_translation", {"name": "  "}, "spaces"),
    case("ck_demand_translation_language_format", "demand_translation", {"language": "e"}),
    case("ck_demand_translation_title_not_blank", "demand_translation", {"title": ""}, "empty"),
    case("ck_demand_translation_title_not_blank", "demand_translation", {"title": "  "}, "spaces"),
    case("ck_office_kind_valid", "office", {"kind": "palace"}),
    case("ck_office_name_not_blank", "office", {"name": " "}),
    case("ck_office_city_not_blank", "office", {"city": " "}),
    case("ck_contact_name_not_blank", "contact", {"name": " "}),
    case("ck_contact_email_lowercase", "contact", {"email": "Ana@Example.org"}),
    case("ck_contact_email_shape", "contact", {"email": "ana.example.org"}, "no_at"),
    case("ck_contact_email_shape", "contact", {"email": "@example.org"}, "nothing_before"),
    case("ck_contact_email_shape", "contact", {"email": "ana@"}, "nothing_after"),
    case("ck_contact_email_shape", "contact", {"email": ""}, "empty"),
    case(
        "ck_contact_not_merged_into_self",
        "contact",
        lambda first: {"id": first["id"] + 1000, "merged_into_id": first["id"] + 1000},
    ),
    case("ck_post_dates_ordered", "post", {"started_on": dt.date(2024, 6, 1), "ended_on": dt.date(2024, 5, 31)}),
    case("ck_outreach_record_stage_valid", "outreach_record", {"stage": "won"}),
    case("ck_outreach_record_priority_range", "outreach_record", {"priority": 0}, "zero"),
    case("ck_outreach_record_priority_range", "outreach_record", {"priority": 4}, "four"),
    case("ck_position_stance_valid", "position", {"stance": "enthusiastic"}),
    case("ck_meeting_summary_not_blank", "meeting", {"summary": " "}),
    case("ck_letter_direction_valid", "letter", {"direction": "sideways"}),
    case("ck_letter_channel_valid", "letter", {"channel": "pigeon"}),
    case(
        "ck_letter_only_replies_reply", "letter", lambda first: {"direction": "outgoing", "in_reply_to_id": first["id"]}
    ),
    case(
        "ck_letter_delivered_after_sent",
        "letter",
        {"sent_on": dt.date(2025, 3, 2), "delivered_on": dt.date(2025, 3, 1), "acknowledged_on": None},
    ),
    case(
        "ck_letter_acknowledged_after_delivered",
        "letter",
        {"delivered_on": dt.date(2025, 3, 2), "acknowledged_on": dt.date(2025, 3, 1)},
    ),
    # (Without a total: a negative total is below any resident count, which breaks resident_within_total too.)
    case("ck_letter_total_not_negative", "letter", {"signatures_total": -1, "signatures_resident": None}),
    case("ck_letter_resident_not_negative", "letter", {"signatures_resident": -1}),
    case("ck_letter_resident_within_total", "letter", {"signatures_total": 95, "signatures_resident": 96}),
    case("ck_letter_upper_total_at_least", "letter", {"signatures_total_upper": 1203}),
    case("ck_letter_upper_resident_at_least", "letter", {"signatures_resident_upper": 95}),
    case("ck_letter_subject_not_blank", "letter", {"subject": " "}),
    case("ck_letter_attachment_size_not_negative", "letter_attachment", {"size_bytes": -1}),
    case("ck_letter_attachment_sha256_format", "letter_attachment", {"sha256": "a" * 63}, "short"),
    case("ck_letter_attachment_sha256_format", "letter_attachment", {"sha256": "A" * 64}, "uppercase"),
    case("ck_letter_attachment_sha256_format", "letter_attachment", {"sha256": "g" * 64}, "not_hex"),
    case("ck_letter_template_language_valid", "letter_template", {"language": "de"}),
    case("ck_letter_template_name_not_blank", "letter_template", {"name": " "}),
    case("ck_letter_template_subject_not_blank", "letter_template", {"subject": " "}),
    case("ck_letter_template_body_not_blank", "letter_template", {"body": "  "}),
    case("ck_follow_up_status_valid", "follow_up", {"status": "cancelled"}),
    case("ck_follow_up_snooze_has_date", "follow_up", {"status": "snoozed", "snoozed_until": None}),
    case("ck_follow_up_done_has_time", "follow_up", {"status": "done", "completed_at": None}),
    case("ck_follow_up_note_not_blank", "follow_up", {"note": " "}),
    case("ck_assignment_reason_valid", "assignment", {"reason": "stolen"}),
    case("ck_assignment_assignee_unless_unassigned", "assignment", {"assignee_id": None}, "assigned"),
    case(
        "ck_assignment_assignee_unless_unassigned", "assignment", {"assignee_id": None, "reason": "claimed"}, "claimed"
    ),
    case("ck_claim_status_valid", "claim", {"status": "cancelled", "decided_at": NOW}),
    *(
        case("ck_claim_decided_has_time", "claim", {"status": status, "decided_at": None}, status)
        for status in ("approved", "rejected", "withdrawn")
    ),
    case("ck_petition_platform_valid", "petition", {"platform": "myspace"}),
    case("ck_petition_slug_format", "petition", {"slug": ""}, "empty"),
    case("ck_petition_slug_format", "petition", {"slug": "Petition"}, "uppercase"),
    case("ck_petition_slug_format", "petition", {"slug": "sign here"}, "space"),
    case("ck_petition_slug_format", "petition", {"slug": "sign_here"}, "underscore"),
    case("ck_petition_slug_format", "petition", {"slug": "petición"}, "accented"),
    case("ck_petition_name_not_blank", "petition", {"name": " "}),
    # A negative rows_read is below the sum of the others, so it breaks counts_add_up (its case below) as
    # well: no row breaks counts_not_negative through rows_read alone.
    *(
        case("ck_signature_import_counts_not_negative", "signature_import", {count: -1}, count)
        for count in ("rows_new", "rows_duplicate", "rows_invalid")
    ),
    case("ck_signature_import_counts_add_up", "signature_import", {"rows_read": 2}),
    case("ck_signature_email_hash_format", "signature", {"email_hash": "a" * 63}, "short"),
    case("ck_signature_email_hash_format", "signature", {"email_hash": "A" * 64}, "uppercase"),
    case("ck_signature_email_hash_format", "signature", {"email_hash": "z" * 64}, "not_hex"),
    case("ck_erased_signer_email_hash_format", "erased_signer", {"email_hash": "a" * 63}, "short"),
    case("ck_erased_signer_email_hash_format", "erased_signer", {"email_hash": "z" * 64}, "not_hex"),
    case("ck_signature_tally_signers_not_negative", "signature_tally", {"signers": -1}),
    case("ck_signature_count_signers_not_negative", "signature_count", {"signers": -1}),
    case("ck_signature_count_without_email_within_signers", "signature_count", {"without_email": 13}, "above"),
    case("ck_signature_count_without_email_within_signers", "signature_count", {"without_email": -1}, "negative"),
    case("ck_signature_total_signers_not_negative", "signature_total", {"signers": -1}),
    case("ck_signature_total_without_email_within_signers", "signature_total", {"without_email": 13}, "above"),
    case("ck_signature_total_without_email_within_signers", "signature_total", {"without_email": -1}, "negative"),
    case("ck_signature_day_signers_not_negative", "signature_day", {"signers": -1}),
    case("ck_signature_overlap_signers_positive", "signature_overlap", {"signers": 0}),
    case("ck_signature_campaign_total_signers_not_negative", "signature_campaign_total", {"signers": -1}),
    case("ck_signature_campaign_total_overlap_not_negative", "signature_campaign_total", {"overlap": -1}),
    case("ck_signature_kind_valid", "signature", {"kind": "phone"}),
    case("ck_api_token_scope_valid", "api_token", {"scope": "admin"}),
    case("ck_api_token_name_not_blank", "api_token", {"name": "  "}),
    case("ck_api_token_token_hash_format", "api_token", {"token_hash": "a" * 63}, "short"),
    case("ck_api_token_token_hash_format", "api_token", {"token_hash": "g" * 64}, "not_hex"),
    case("ck_api_token_expires_after_creation", "api_token", {"expires_at": NOW}),
    case("ck_webhook_subscription_url_not_blank", "webhook_subscription", {"url": " "}),
    case("ck_webhook_subscription_events_not_blank", "webhook_subscription", {"events": " "}),
    case("ck_webhook_delivery_event_valid", "webhook_delivery", {"event": "letter.burned"}),
    case("ck_webhook_delivery_status_valid", "webhook_delivery", {"status": "bounced", "sent_at": None}),
    case("ck_webhook_delivery_attempts_not_negative", "webhook_delivery", {"attempts": -1}),
    case("ck_webhook_delivery_sent_iff_sent_at", "webhook_delivery", {"sent_at": None}, "sent_without_time"),
    case("ck_webhook_delivery_sent_iff_sent_at", "webhook_delivery", {"status": "pending"}, "time_unsent"),
    case("ck_webhook_attempt_status_code_valid", "webhook_attempt", {"status_code": 99}, "low"),
    case("ck_webhook_attempt_status_code_valid", "webhook_attempt", {"status_code": 600}, "high"),
    case("ck_webhook_attempt_has_outcome", "webhook_attempt", {"status_code": None, "error": None}),
    case("ck_reminder_preference_digest_hour_range", "reminder_preference", {"digest_hour": -1}, "negative"),
    case("ck_reminder_preference_digest_hour_range", "reminder_preference", {"digest_hour": 24}, "24"),
    case(
        "ck_reminder_preference_calendar_token_hash_format",
        "reminder_preference",
        {"calendar_token_hash": "a" * 63},
        "short",
    ),
    case(
        "ck_reminder_preference_calendar_token_hash_format",
        "reminder_preference",
        {"calendar_token_hash": "A" * 64},
        "uppercase",
    ),
    case(
        "ck_reminder_preference_calendar_token_hash_format",
        "reminder_preference",
        {"calendar_token_hash": "g" * 64},
        "not_hex",
    ),
    case("ck_outbound_message_kind_valid", "outbound_message", {"kind": "newsletter"}),
    case("ck_outbound_message_status_valid", "outbound_message", {"status": "bounced", "sent_at": None}),
    case("ck_outbound_message_transport_valid", "outbound_message", {"transport": "pigeon"}),
    case("ck_outbound_message_attempts_not_negative", "outbound_message", {"attempts": -1}),
    case("ck_outbound_message_sent_iff_sent_at", "outbound_message", {"sent_at": None}, "sent_without_time"),
    case("ck_outbound_message_sent_iff_sent_at", "outbound_message", {"status": "pending"}, "time_unsent"),
    case("ck_outbound_message_sent_has_transport", "outbound_message", {"transport": None}),
    case("ck_outbound_message_subject_not_blank", "outbound_message", {"subject": " "}),
    case("ck_reply_clock_one_event", "reply_clock", {"letter_id": None}, "neither"),
    case("ck_reply_clock_one_event", "reply_clock", lambda first: {"meeting_id": new_id("meeting")}, "both"),
    case("ck_public_form_hit_form_not_blank", "public_form_hit", {"form": " "}),
    case("ck_public_form_hit_key_not_blank", "public_form_hit", {"key": ""}),
    case("ck_statement_slug_format", "statement", {"slug": ""}, "empty"),
    case("ck_statement_slug_format", "statement", {"slug": "Solidarity"}, "uppercase"),
    case("ck_statement_slug_format", "statement", {"slug": "stand with"}, "space"),
    case("ck_statement_slug_format", "statement", {"slug": "declaración"}, "accented"),
    case(
        "ck_statement_dates_ordered", "statement", {"opens_on": dt.date(2025, 6, 1), "closes_on": dt.date(2025, 5, 31)}
    ),
    case("ck_statement_text_language_valid", "statement_text", {"language": "fr"}),
    case("ck_statement_text_title_not_blank", "statement_text", {"title": "  "}),
    case("ck_statement_text_body_not_blank", "statement_text", {"body": "   "}),
    case("ck_statement_signature_kind_valid", "statement_signature", {"kind": "robot"}),
    case("ck_statement_signature_listing_valid", "statement_signature", {"listing": "hidden"}),
    case("ck_statement_signature_status_valid", "statement_signature", {"status": "pending"}),
    case("ck_statement_signature_language_valid", "statement_signature", {"language": "fr"}),
    case("ck_statement_signature_organisation_named", "statement_signature", {"organisation": None}),
    case("ck_statement_signature_organisation_not_blank", "statement_signature", {"organisation": "  "}),
    case("ck_statement_signature_signer_unless_erased", "statement_signature", {"email": None}, "no_email"),
    case("ck_statement_signature_signer_unless_erased", "statement_signature", {"signer_name": None}, "no_name"),
    case("ck_statement_signature_signer_name_not_blank", "statement_signature", {"signer_name": " "}),
    case("ck_statement_signature_email_shape", "statement_signature", {"email": "Ana@Example.org"}, "uppercase"),
    case("ck_statement_signature_email_shape", "statement_signature", {"email": "ana.example.org"}, "no_at"),
    case(
        "ck_statement_signature_confirm_token_hash_format",
        "statement_signature",
        {"confirm_token_hash": "a" * 63},
        "short",
    ),
    case(
        "ck_statement_signature_withdraw_token_hash_format",
        "statement_signature",
        {"withdraw_token_hash": "A" * 64},
        "uppercase",
    ),
    case(
        "ck_statement_signature_withdraw_token_hash_format",
        "statement_signature",
        {"withdraw_token_hash": "g" * 64},
        "not_hex",
    ),
    case("ck_statement_signature_unconfirmed_has_link", "statement_signature", {"status": "unconfirmed"}),
    case("ck_statement_signature_confirmed_has_time", "statement_signature", {"confirmed_at": None}),
    case("ck_statement_signature_decided_has_time", "statement_signature", {"decided_at": None}),
    case(
        "ck_statement_signature_rejection_has_reason",
        "statement_signature",
        {"status": "rejected", "reject_reason": None},
        "none",
    ),
    case(
        "ck_statement_signature_rejection_has_reason",
        "statement_signature",
        {"status": "rejected", "reject_reason": "  "},
        "blank",
    ),
    case(
        "ck_statement_signature_withdrawn_has_time",
        "statement_signature",
        {"status": "withdrawn", "withdrawn_at": None},
    ),
    case("ck_statement_signature_merged_has_survivor", "statement_signature", {"status": "merged"}, "no_survivor"),
    case(
        "ck_statement_signature_merged_has_survivor",
        "statement_signature",
        lambda first: {"merged_into_id": first["id"]},
        "not_merged",
    ),
    case(
        "ck_statement_signature_not_merged_into_self",
        "statement_signature",
        lambda first: {"id": first["id"] + 1000, "merged_into_id": first["id"] + 1000, "status": "merged"},
    ),
    case("ck_statement_signature_expires_after_creation", "statement_signature", {"expires_at": NOW}),
    case("ck_letter_statement_frozen_with_list", "letter_statement", {"signatories": None}, "list_missing"),
    case("ck_letter_statement_frozen_with_list", "letter_statement", {"frozen_at": None}, "time_missing"),
    case("ck_hosted_signature_status_valid", "hosted_signature", {"status": "counted", "signature_id": None}),
    case("ck_hosted_signature_language_valid", "hosted_signature", {"language": "fr"}),
    case("ck_hosted_signature_email_hash_format", "hosted_signature", {"email_hash": "a" * 63}, "short"),
    case("ck_hosted_signature_email_hash_format", "hosted_signature", {"email_hash": "A" * 64}, "uppercase"),
    case("ck_hosted_signature_email_shape", "hosted_signature", {"email": "Ana@Example.org"}, "uppercase"),
    case("ck_hosted_signature_email_shape", "hosted_signature", {"email": "ana.example.org"}, "no_at"),
    case("ck_hosted_signature_name_not_blank", "hosted_signature", {"name": "  "}),
    case("ck_hosted_signature_postal_code_not_blank", "hosted_signature", {"postal_code": " "}),
    case(
        "ck_hosted_signature_confirm_token_hash_format",
        "hosted_signature",
        {"confirm_token_hash": "a" * 63},
        "short",
        row=lambda: hosted_signature_row(pending=True),
    ),
    case("ck_hosted_signature_withdraw_token_hash_format", "hosted_signature", {"withdraw_token_hash": "g" * 64}),
    case("ck_hosted_signature_link_only_when_pending", "hosted_signature", {"confirm_token_hash": "b" * 64}, "used"),
    case(
        "ck_hosted_signature_link_only_when_pending",
        "hosted_signature",
        {"confirm_token_hash": None},
        "lost",
        row=lambda: hosted_signature_row(pending=True),
    ),
    case(
        "ck_hosted_signature_pending_has_address",
        "hosted_signature",
        {"email": None},
        row=lambda: hosted_signature_row(pending=True),
    ),
    case(
        "ck_hosted_signature_address_kept_only_with_consent",
        "hosted_signature",
        {"wants_contact": False, "show_name": True},
    ),
    case(
        "ck_hosted_signature_address_kept_only_with_consent",
        "hosted_signature",
        {"wants_contact": False, "show_name": True, "email": None},
        "postal_code",
    ),
    case(
        "ck_hosted_signature_name_kept_only_with_consent",
        "hosted_signature",
        {"wants_contact": False, "email": None, "postal_code": None},
    ),
    case("ck_hosted_signature_confirmed_has_time", "hosted_signature", {"confirmed_at": None}),
    case(
        "ck_hosted_signature_withdrawn_has_time",
        "hosted_signature",
        {"status": "withdrawn", "signature_id": None, "withdrawn_at": None},
    ),
    case(
        "ck_hosted_signature_rejected_has_time",
        "hosted_signature",
        {"status": "rejected", "signature_id": None, "decided_at": None},
    ),
    case("ck_hosted_signature_only_counted_has_signature", "hosted_signature", {"status": "held"}),
    case("ck_hosted_signature_expires_after_creation", "hosted_signature", {"expires_at": NOW}),
]

UNIQUES = [
    case("uq_hosted_signature_withdraw_token_hash", "hosted_signature", same("withdraw_token_hash")),
    case(
        "uq_hosted_signature_confirm_token_hash",
        "hosted_signature",
        same("confirm_token_hash"),
        row=lambda: hosted_signature_row(pending=True),
    ),
    case("uq_statement_slug", "statement", same("slug")),
    case("uq_statement_signature_withdraw_token_hash", "statement_signature", same("withdraw_token_hash")),
    case(
        "uq_statement_signature_confirm_token_hash",
        "statement_signature",
        same("confirm_token_hash"),
        row=lambda: statement_signature_row(unconfirmed=True),
    ),
    case("uq_country_alpha2", "country", same("alpha2")),
    case("uq_country_alpha3", "country", same("alpha3")),
    case("uq_country_numeric_code", "country", same("numeric_code")),
    case("uq_user_email", "user", same("email")),
    case("uq_user_session_token", "user", same("session_token")),
    case("uq_recovery_code_user_id_code_hash", "recovery_code", same("user_id", "code_hash")),
    case("uq_password_reset_token_token_hash", "password_reset_token", same("token_hash")),
    case("uq_invitation_token_hash", "invitation", same("token_hash")),
    case("uq_campaign_slug", "campaign", same("slug")),
    case("uq_demand_campaign_id_ordinal", "demand", same("campaign_id", "ordinal")),
    case("uq_demand_campaign_id_code", "demand", same("campaign_id", "code")),
    case("uq_demand_campaign_id_id", "demand", same("campaign_id", "id")),
    case("uq_campaign_translation_campaign_id_language", "campaign_translation", same("campaign_id", "language")),
    case("uq_demand_translation_demand_id_language", "demand_translation", same("demand_id", "language")),
    case(
        "uq_office_country_id_kind_host_country_id_city",
        "office",
        same("country_id", "kind", "host_country_id", "city"),
    ),
    case("uq_outreach_record_campaign_id_country_id", "outreach_record", same("campaign_id", "country_id")),
    # (In another country: the first row's campaign and country would break campaign_id_country_id too.)
    case(
        "uq_outreach_record_campaign_id_id",
        "outreach_record",
        lambda first: {**same("campaign_id", "id")(first), "country_id": existing_country_id(1)},
    ),
    case("uq_letter_attachment_storage_key", "letter_attachment", same("storage_key")),
    case("uq_letter_template_name_language", "letter_template", same("name", "language")),
    # Partial: only pending claims count (test_a_volunteer_has_one_pending_claim_per_record shows the rest).
    case("uq_claim_pending", "claim", same("outreach_id", "volunteer_id")),
    case("uq_petition_slug", "petition", same("slug")),
    case("uq_petition_campaign_id_id", "petition", same("campaign_id", "id")),
    # The same person signing another petition of the same campaign is counted once.
    case(
        "uq_signature_campaign_id_email_hash",
        "signature",
        lambda first: {
            **same("campaign_id", "email_hash")(first),
            "petition_id": new_id("petition", campaign_id=first["campaign_id"]),
        },
    ),
    case("uq_signature_tally_petition_id_country_id", "signature_tally", same("petition_id", "country_id")),
    case("uq_reminder_preference_calendar_token_hash", "reminder_preference", same("calendar_token_hash")),
    case("uq_api_token_token_hash", "api_token", same("token_hash")),
    case("uq_webhook_delivery_event_id", "webhook_delivery", same("event_id")),
    case("uq_outbound_message_dedupe_key", "outbound_message", same("dedupe_key")),
    case("uq_outbound_message_message_id", "outbound_message", same("message_id")),
    case("uq_reply_clock_outreach_id_letter_id", "reply_clock", same("outreach_id", "letter_id")),
    case(
        "uq_reply_clock_outreach_id_meeting_id",
        "reply_clock",
        same("outreach_id", "meeting_id"),
        row=lambda: reply_clock_row(event="meeting"),
    ),
]

FOREIGN_KEYS = [
    nowhere("region", "parent_code", "fk_region_parent_code_region"),
    nowhere("country", "region_code", "fk_country_region_code_region"),
    nowhere("country", "sub_region_code", "fk_country_sub_region_code_region"),
    nowhere("country", "intermediate_region_code", "fk_country_intermediate_region_code_region"),
    nowhere("country_fact_change", "country_id", "fk_country_fact_change_country_id_country"),
    nowhere("country_fact_change", "changed_by_id", "fk_country_fact_change_changed_by_id_user"),
    nowhere("audit_event", "actor_id", "fk_audit_event_actor_id_user"),
    nowhere("demand", "campaign_id", "fk_demand_campaign_id_campaign"),
    nowhere("campaign", "default_coordinator_id", "fk_campaign_default_coordinator_id_user"),
    nowhere("campaign_translation", "campaign_id", "fk_campaign_translation_campaign_id_campaign"),
    nowhere("demand_translation", "demand_id", "fk_demand_translation_demand_id_demand"),
    nowhere("office", "country_id", "fk_office_country_id_country"),
    nowhere("office", "host_country_id", "fk_office_host_country_id_country"),
    nowhere("contact", "office_id", "fk_contact_office_id_office"),
    nowhere("contact", "merged_into_id", "fk_contact_merged_into_id_contact"),
    nowhere("post", "contact_id", "fk_post_contact_id_contact"),
    nowhere("post", "office_id", "fk_post_office_id_office"),
    nowhere("outreach_record", "campaign_id", "fk_outreach_record_campaign_id_campaign"),
    nowhere("outreach_record", "country_id", "fk_outreach_record_country_id_country"),
    nowhere("outreach_record", "assignee_id", "fk_outreach_record_assignee_id_user"),
    nowhere("outreach_record", "coordinator_id", "fk_outreach_record_coordinator_id_user"),
    nowhere("position", "outreach_id", "fk_position_campaign_id_outreach_id_outreach_record"),
    # The outreach record and the demand exist, but belong to the first row's campaign, not this one's.
    case("fk_position_campaign_id_outreach_id_outreach_record", "position", same("outreach_id"), "another_campaign"),
    nowhere("position", "demand_id", "fk_position_campaign_id_demand_id_demand"),
    case("fk_position_campaign_id_demand_id_demand", "position", same("demand_id"), "another_campaign"),
    nowhere("position", "meeting_id", "fk_position_meeting_id_meeting"),
    nowhere("position", "letter_id", "fk_position_letter_id_letter"),
    nowhere("position", "recorded_by_id", "fk_position_recorded_by_id_user"),
    nowhere("meeting", "office_id", "fk_meeting_office_id_office"),
    nowhere("meeting", "created_by_id", "fk_meeting_created_by_id_user"),
    nowhere("meeting_outreach", "meeting_id", "fk_meeting_outreach_meeting_id_meeting"),
    nowhere("meeting_outreach", "outreach_id", "fk_meeting_outreach_outreach_id_outreach_record"),
    nowhere("meeting_contact", "meeting_id", "fk_meeting_contact_meeting_id_meeting"),
    nowhere("meeting_contact", "contact_id", "fk_meeting_contact_contact_id_contact"),
    nowhere("meeting_staff", "meeting_id", "fk_meeting_staff_meeting_id_meeting"),
    nowhere("meeting_staff", "user_id", "fk_meeting_staff_user_id_user"),
    nowhere("letter", "outreach_id", "fk_letter_outreach_id_outreach_record"),
    nowhere("letter", "in_reply_to_id", "fk_letter_in_reply_to_id_letter", direction="incoming"),
    nowhere("letter", "recipient_contact_id", "fk_letter_recipient_contact_id_contact"),
    nowhere("letter", "recipient_office_id", "fk_letter_recipient_office_id_office"),
    nowhere("letter", "created_by_id", "fk_letter_created_by_id_user"),
    nowhere("letter_attachment", "letter_id", "fk_letter_attachment_letter_id_letter"),
    nowhere("letter_attachment", "uploaded_by_id", "fk_letter_attachment_uploaded_by_id_user"),
    nowhere("follow_up", "outreach_id", "fk_follow_up_campaign_id_outreach_id_outreach_record"),
    # The outreach record exists, but belongs to the first row's campaign, not this one's.
    case("fk_follow_up_campaign_id_outreach_id_outreach_record", "follow_up", same("outreach_id"), "another_campaign"),
    nowhere("follow_up", "owner_id", "fk_follow_up_owner_id_user"),
    nowhere("follow_up", "meeting_id", "fk_follow_up_meeting_id_meeting"),
    nowhere("follow_up", "letter_id", "fk_follow_up_letter_id_letter"),
    nowhere("follow_up", "created_by_id", "fk_follow_up_created_by_id_user"),
    nowhere("letter_template", "updated_by_id", "fk_letter_template_updated_by_id_user"),
    nowhere("assignment", "outreach_id", "fk_assignment_outreach_id_outreach_record"),
    nowhere("assignment", "assignee_id", "fk_assignment_assignee_id_user"),
    nowhere("assignment", "previous_assignee_id", "fk_assignment_previous_assignee_id_user"),
    nowhere("assignment", "changed_by_id", "fk_assignment_changed_by_id_user"),
    nowhere("claim", "outreach_id", "fk_claim_outreach_id_outreach_record"),
    nowhere("claim", "volunteer_id", "fk_claim_volunteer_id_user"),
    nowhere("claim", "decided_by_id", "fk_claim_decided_by_id_user"),
    nowhere("petition", "campaign_id", "fk_petition_campaign_id_campaign"),
    nowhere("signature_import", "petition_id", "fk_signature_import_petition_id_petition"),
    nowhere("signature_import", "imported_by_id", "fk_signature_import_imported_by_id_user"),
    nowhere("signature", "campaign_id", "fk_signature_campaign_id_campaign"),
    nowhere("signature", "petition_id", "fk_signature_campaign_id_petition_id_petition"),
    # The petition exists, but belongs to the first row's campaign, not this one's.
    case("fk_signature_campaign_id_petition_id_petition", "signature", same("petition_id"), "another_campaign"),
    nowhere("signature", "import_id", "fk_signature_import_id_signature_import"),
    nowhere("signature", "country_id", "fk_signature_country_id_country"),
    nowhere("signature_count", "campaign_id", "fk_signature_count_campaign_id_campaign"),
    nowhere("signature_count", "petition_id", "fk_signature_count_campaign_id_petition_id_petition"),
    # The petition exists, but belongs to the first row's campaign, not this one's.
    case(
        "fk_signature_count_campaign_id_petition_id_petition",
        "signature_count",
        lambda first: {"petition_id": first["petition_id"], "day": dt.date(2025, 6, 2)},
        "another_campaign",
    ),
    nowhere("signature_total", "campaign_id", "fk_signature_total_campaign_id_campaign"),
    nowhere("signature_total", "petition_id", "fk_signature_total_campaign_id_petition_id_petition"),
    # The petition exists, but belongs to the first row's campaign, not this one's.
    case(
        "fk_signature_total_campaign_id_petition_id_petition",
        "signature_total",
        lambda first: {"petition_id": first["petition_id"], "country_id": 0},  # signers whose country is not known
        "another_campaign",
    ),
    nowhere("signature_day", "campaign_id", "fk_signature_day_campaign_id_campaign"),
    nowhere("signature_overlap", "campaign_id", "fk_signature_overlap_campaign_id_campaign"),
    nowhere("signature_campaign_total", "campaign_id", "fk_signature_campaign_total_campaign_id_campaign"),
    nowhere("signature_tally", "petition_id", "fk_signature_tally_petition_id_petition"),
    nowhere("signature_tally", "country_id", "fk_signature_tally_country_id_country"),
    nowhere("signature_tally", "entered_by_id", "fk_signature_tally_entered_by_id_user"),
    nowhere("reminder_preference", "user_id", "fk_reminder_preference_user_id_user"),
    nowhere("api_token", "user_id", "fk_api_token_user_id_user"),
    nowhere("webhook_subscription", "created_by_id", "fk_webhook_subscription_created_by_id_user"),
    nowhere("webhook_delivery", "subscription_id", "fk_webhook_delivery_subscription_id_webhook_subscription"),
    nowhere("webhook_attempt", "delivery_id", "fk_webhook_attempt_delivery_id_webhook_delivery"),
    nowhere("outbound_message", "recipient_id", "fk_outbound_message_recipient_id_user"),
    nowhere("outbound_message", "follow_up_id", "fk_outbound_message_follow_up_id_follow_up"),
    nowhere("reply_clock", "outreach_id", "fk_reply_clock_outreach_id_outreach_record"),
    nowhere("reply_clock", "letter_id", "fk_reply_clock_letter_id_letter"),
    nowhere("reply_clock", "meeting_id", "fk_reply_clock_meeting_id_meeting", letter_id=None),
    nowhere("reply_clock", "follow_up_id", "fk_reply_clock_follow_up_id_follow_up"),
    nowhere("recovery_code", "user_id", "fk_recovery_code_user_id_user"),
    nowhere("form_submission", "user_id", "fk_form_submission_user_id_user"),
    nowhere("staged_import", "petition_id", "fk_staged_import_petition_id_petition"),
    nowhere("staged_signature", "staged_import_id", "fk_staged_signature_staged_import_id_staged_import"),
    nowhere("password_reset_token", "user_id", "fk_password_reset_token_user_id_user"),
    nowhere("invitation", "user_id", "fk_invitation_user_id_user"),
    nowhere("invitation", "invited_by_id", "fk_invitation_invited_by_id_user"),
    nowhere("published_board", "campaign_id", "fk_published_board_campaign_id_campaign"),
    nowhere("published_board", "published_by_id", "fk_published_board_published_by_id_user"),
    nowhere("published_entry", "outreach_id", "fk_published_entry_outreach_id_outreach_record"),
    nowhere("published_entry", "published_by_id", "fk_published_entry_published_by_id_user"),
    nowhere("published_position", "position_id", "fk_published_position_position_id_position"),
    nowhere("published_position", "published_by_id", "fk_published_position_published_by_id_user"),
    nowhere("statement", "campaign_id", "fk_statement_campaign_id_campaign"),
    nowhere("statement", "created_by_id", "fk_statement_created_by_id_user"),
    nowhere("statement_text", "statement_id", "fk_statement_text_statement_id_statement"),
    nowhere("statement_signature", "statement_id", "fk_statement_signature_statement_id_statement"),
    nowhere("statement_signature", "country_id", "fk_statement_signature_country_id_country"),
    nowhere("statement_signature", "decided_by_id", "fk_statement_signature_decided_by_id_user"),
    nowhere(
        "statement_signature",
        "merged_into_id",
        "fk_statement_signature_merged_into_id_statement_signature",
        status="merged",
    ),
    nowhere("letter_statement", "letter_id", "fk_letter_statement_letter_id_letter"),
    nowhere("letter_statement", "statement_id", "fk_letter_statement_statement_id_statement"),
    nowhere("letter_statement", "attached_by_id", "fk_letter_statement_attached_by_id_user"),
    nowhere("hosted_petition", "petition_id", "fk_hosted_petition_petition_id_petition"),
    nowhere("hosted_signature", "campaign_id", "fk_hosted_signature_campaign_id_campaign"),
    nowhere("hosted_signature", "petition_id", "fk_hosted_signature_campaign_id_petition_id_petition"),
    # The petition exists, but belongs to the first row's campaign, not this one's.
    case(
        "fk_hosted_signature_campaign_id_petition_id_petition",
        "hosted_signature",
        same("petition_id"),
        "another_campaign",
    ),
    nowhere("hosted_signature", "country_id", "fk_hosted_signature_country_id_country"),
    nowhere("hosted_signature", "decided_by_id", "fk_hosted_signature_decided_by_id_user"),
    nowhere("hosted_signature", "signature_id", "fk_hosted_signature_signature_id_signature"),
]

# Every column a row cannot be without (defaults included: an explicit NULL must still be refused).
REQUIRED = {
    "region": ("code", "name_en", "name_es", "level"),
    "country": ("alpha2", "alpha3", "in_iso_3166", "name_en", "name_es", "un_member", "rs_status", "rs_verified"),
    "country_fact_change": ("country_id", "field", "source", "verified", "origin", "changed_at"),
    "user": ("email", "name", "role", "language", "timezone", "active", "session_token", "created_at"),
    "audit_event": ("occurred_at", "action"),
    "campaign": (
        "slug",
        "name",
        "reply_days",
        "claims_need_approval",
        "stall_days",
        "is_demo",
        "created_at",
        "letter_language",
        "figures_version",
        "signatures_version",
        "follow_ups_version",
    ),
    "demand": ("campaign_id", "ordinal", "code", "title"),
    "campaign_translation": ("campaign_id", "language", "name"),
    "demand_translation": ("demand_id", "language", "title"),
    "office": ("country_id", "kind", "name", "city", "host_country_id", "active", "created_at", "version"),
    "contact": ("office_id", "name", "active", "created_at", "version", "search_text"),
    "post": ("contact_id", "office_id", "started_on"),
    "outreach_record": ("campaign_id", "country_id", "stage", "priority", "created_at", "updated_at", "version"),
    "position": ("campaign_id", "outreach_id", "demand_id", "stance", "stated_on", "recorded_at"),
    "meeting": ("held_at", "summary", "created_at", "version"),
    "meeting_outreach": ("meeting_id", "outreach_id"),
    "meeting_contact": ("meeting_id", "contact_id"),
    "meeting_staff": ("meeting_id", "user_id"),
    "letter": ("outreach_id", "direction", "subject", "created_at", "version"),
    "letter_attachment": (
        "letter_id",
        "filename",
        "content_type",
        "size_bytes",
        "sha256",
        "storage_key",
        "uploaded_at",
    ),
    "letter_template": ("name", "language", "subject", "body", "created_at", "updated_at", "version"),
    "follow_up": ("campaign_id", "outreach_id", "owner_id", "due_on", "note", "status", "created_at", "version"),
    "assignment": ("outreach_id", "changed_at", "reason"),
    "claim": ("outreach_id", "volunteer_id", "status", "requested_at"),
    "petition": ("campaign_id", "slug", "name", "platform", "created_at"),
    "signature_import": ("petition_id", "rows_read", "rows_new", "rows_duplicate", "rows_invalid", "imported_at"),
    "signature": ("campaign_id", "petition_id", "email_hash", "kind", "created_at"),
    "signature_tally": ("petition_id", "country_id", "signers", "as_of", "entered_at"),
    "signature_count": ("petition_id", "country_id", "day", "campaign_id", "signers", "without_email"),
    "signature_total": ("petition_id", "country_id", "campaign_id", "signers", "without_email"),
    "signature_day": ("campaign_id", "day", "signers"),
    "signature_overlap": ("campaign_id", "country_id", "day", "signers"),
    "signature_campaign_total": ("campaign_id", "signers", "overlap"),
    "reminder_preference": (
        "user_id",
        "reminders_enabled",
        "digest_enabled",
        "weekly_report_enabled",
        "digest_hour",
        "updated_at",
    ),
    "outbound_message": (
        "kind",
        "dedupe_key",
        "recipient_email",
        "language",
        "subject",
        "body_text",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ),
    "reply_clock": ("outreach_id", "started_on", "created_at"),
    "recovery_code": ("user_id", "code_hash", "created_at"),
    "password_reset_token": ("user_id", "token_hash", "created_at", "expires_at"),
    "invitation": ("user_id", "token_hash", "created_at", "expires_at", "last_sent_at", "send_count"),
    "login_attempt": ("kind", "occurred_at"),
    "api_token": ("user_id", "name", "token_hash", "prefix", "scope", "created_at", "expires_at"),
    "webhook_subscription": ("url", "events", "secret", "active", "created_at"),
    "webhook_delivery": (
        "subscription_id",
        "event",
        "event_id",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ),
    "webhook_attempt": ("delivery_id", "attempted_at"),
    "form_submission": ("key", "user_id", "location", "created_at"),
    "job_status": ("name", "runs", "failures"),
    "backup_run": ("origin", "started_at", "finished_at", "ok"),
    "published_board": ("campaign_id", "published_at"),
    "published_entry": ("outreach_id", "published_at"),
    "published_position": ("position_id", "published_at"),
    "public_form_hit": ("form", "key", "occurred_at"),
    "statement": ("campaign_id", "slug", "individuals_may_sign", "created_at", "version"),
    "hosted_petition": ("petition_id", "texts", "totals_by_country", "created_at"),
    "hosted_signature": (
        "campaign_id",
        "petition_id",
        "status",
        "email_hash",
        "show_name",
        "country_id",
        "wants_contact",
        "language",
        "for_review",
        "withdraw_token_hash",
        "consented_at",
        "created_at",
        "expires_at",
    ),
    "statement_text": ("statement_id", "language", "title", "body"),
    "statement_signature": (
        "statement_id",
        "kind",
        "country_id",
        "listing",
        "publish_logo",
        "language",
        "status",
        "withdraw_token_hash",
        "consented_at",
        "created_at",
        "expires_at",
        "version",
    ),
    "letter_statement": ("letter_id", "statement_id", "attached_at"),
    "staged_import": ("petition_id", "started_at", "heartbeat_at"),
    "staged_signature": ("staged_import_id", "email_hash", "kind"),
    "erased_signer": ("email_hash", "erased_at"),
}
NOT_NULLS = [
    case(f"{name}.{column}", name, {column: None}, "null") for name, columns in REQUIRED.items() for column in columns
]

# A second row with the first one's key (for association tables: the same pair linked twice), and what
# else the key needs to be valid (a signature count's petition is in its campaign).
KEY_NEEDS = {"signature_count": ("campaign_id",), "signature_total": ("campaign_id",)}
PRIMARY_KEYS = [
    case(f"pk_{name}", name, same(*table(name).primary_key.columns.keys(), *KEY_NEEDS.get(name, ())), "duplicate")
    for name in VALID_ROWS
]

CASES = CHECKS + UNIQUES + FOREIGN_KEYS + NOT_NULLS + PRIMARY_KEYS

# (campaign_id, id) is unique because id alone is: these keys exist for the composite foreign keys of
# positions and signatures to point at. No row can break one without breaking the primary key.
KEYS_FOR_FOREIGN_KEYS = {
    "uq_demand_campaign_id_id": "pk_demand",
    "uq_outreach_record_campaign_id_id": "pk_outreach_record",
    "uq_petition_campaign_id_id": "pk_petition",
}
# A signature's campaign must hold its petition: no row names a missing campaign without breaking that too.
IMPLIED_FOREIGN_KEYS = {
    "fk_signature_campaign_id_campaign": "fk_signature_campaign_id_petition_id_petition",
    "fk_signature_count_campaign_id_campaign": "fk_signature_count_campaign_id_petition_id_petition",
    "fk_signature_total_campaign_id_campaign": "fk_signature_total_campaign_id_petition_id_petition",
    "fk_hosted_signature_campaign_id_campaign": "fk_hosted_signature_campaign_id_petition_id_petition",
}
# Each of these is shadowed by the other constraint given: a row that breaks it breaks that one as well.
# SQLite can only show the row refused; on PostgreSQL, whose DDL a savepoint takes back, the case drops
# the other constraint first, so that this one must refuse the row by itself.
SHADOWED_BY = {**KEYS_FOR_FOREIGN_KEYS, **IMPLIED_FOREIGN_KEYS}


# Constraints a database does not keep, to be fixed in the models: the case fails until then, and fails
# again (XPASS, strict) once the fix lands, so that the entry is removed.
# Constraints a database cannot enforce yet, as (dialect, constraint) -> why; each is an expected failure
# that fails the suite once fixed, so the entry is removed. None at present.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def named(table_name: str, name: str) -> sa.Constraint | sa.Index:
    return next(c for c in [*table(table_name).constraints, *table(table_name).indexes] if c.name == name)


def without(table_name: str, *names: str) -> None:
    """Drops constraints ("table.column" for a NOT NULL) in the current transaction. PostgreSQL only:
    its DDL is transactional, and the savepoint around the call takes the constraints back."""
    connection = db.session.connection()
    quote = connection.dialect.identifier_preparer
    each = table(table_name)
    for name in names:
        if "." in name:
            column = each.c[name.split(".", 1)[1]]
            if column.primary_key:  # a key's columns stay NOT NULL while the key stands
                connection.execute(sa.schema.DropConstraint(each.primary_key, cascade=True, isolate_from_table=False))
            connection.execute(
                sa.text(
                    f"ALTER TABLE {quote.format_table(each)} ALTER COLUMN {quote.format_column(column)} DROP NOT NULL"
                )
            )
        elif isinstance(constraint := named(table_name, name), sa.Index):
            connection.execute(sa.schema.DropIndex(constraint))
        else:
            # CASCADE: a key others point at goes with the foreign keys that point at it.
            connection.execute(sa.schema.DropConstraint(constraint, cascade=True, isolate_from_table=False))


def refused_by(error: sa.exc.IntegrityError) -> str:
    """What the database says it enforced: a constraint's name or, for NOT NULL, "table.column";
    on SQLite, which names only some constraints, its message."""
    diagnostic = getattr(error.orig, "diag", None)
    if diagnostic is None:
        return str(error.orig)
    if diagnostic.sqlstate == "23502":  # not_null_violation
        return f"{diagnostic.table_name}.{diagnostic.column_name}"
    return diagnostic.constraint_name


def expected_refusal(attempt: Case) -> str:
    if on_postgresql():
        return attempt.breaks
    name = SHADOWED_BY.get(attempt.breaks, attempt.breaks)
    if "." in name:
        return f"NOT NULL constraint failed: {name}"
    constraint = named(attempt.table, name)
    if isinstance(constraint, sa.CheckConstraint):
        return f"CHECK constraint failed: {constraint.name}"
    if isinstance(constraint, sa.ForeignKeyConstraint):
        return "FOREIGN KEY constraint failed"
    columns = ", ".join(f"{attempt.table}.{column.name}" for column in constraint.columns)
    return f"UNIQUE constraint failed: {columns}"


@pytest.mark.parametrize("attempt", CASES)
def test_the_database_refuses_a_row_that_breaks_a_constraint(app, attempt, request):
    gap = KNOWN_GAPS.get((db.session.get_bind().dialect.name, attempt.breaks))
    if gap:
        request.applymarker(pytest.mark.xfail(reason=gap, strict=True, raises=pytest.fail.Exception))
    first = insert(attempt.table, attempt.row())  # a valid row goes in...
    second = attempt.row()
    savepoint = db.session.begin_nested()
    insert(attempt.table, second)  # ...and so does another beside it; then it is taken back
    savepoint.rollback()

    bad = {**second, **attempt.override(first)}
    shadows = [SHADOWED_BY[attempt.breaks]] if attempt.breaks in SHADOWED_BY and on_postgresql() else []
    with pytest.raises(sa.exc.IntegrityError) as refused:
        with db.session.begin_nested():
            without(attempt.table, *shadows)
            db.session.execute(sa.insert(table(attempt.table)).values(**bad))

    assert refused_by(refused.value) == expected_refusal(attempt)

    if on_postgresql():
        # ...and only that constraint: without it, the same row goes in. (SQLite names the first failing
        # CHECK and no foreign key, and cannot drop a constraint.)
        savepoint = db.session.begin_nested()
        without(attempt.table, *shadows, attempt.breaks)
        db.session.execute(sa.insert(table(attempt.table)).values(**bad))
        savepoint.rollback()


def test_a_volunteer_has_one_pending_claim_per_record(app):
    """uq_claim_pending is partial: a second pending claim for one record and volunteer is refused, but
    decided claims stand beside a pending one, before or after it."""
    pending = insert("claim", claim_row())
    pair = {"outreach_id": pending["outreach_id"], "volunteer_id": pending["volunteer_id"]}

    with pytest.raises(sa.exc.IntegrityError) as refused:
        with db.session.begin_nested():
            insert("claim", claim_row(**pair))
    assert refused_by(refused.value) == expected_refusal(Case("uq_claim_pending", "claim", claim_row, {}))

    for status in ("rejected", "rejected", "approved", "withdrawn"):
        insert("claim", claim_row(status, **pair))
    insert("claim", claim_row(outreach_id=pair["outreach_id"]))  # another volunteer, same record
    insert("claim", claim_row(volunteer_id=pair["volunteer_id"]))  # same volunteer, another record
    rejected_first = insert("claim", claim_row("rejected"))
    insert(
        "claim",
        claim_row(
            outreach_id=rejected_first["outreach_id"],  # pending after a rejected one
            volunteer_id=rejected_first["volunteer_id"],
        ),
    )

    claim = table("claim")
    statuses = db.session.execute(
        sa.select(claim.c.status).where(
            claim.c.outreach_id == pair["outreach_id"], claim.c.volunteer_id == pair["volunteer_id"]
        )
    ).scalars()
    assert sorted(statuses) == ["approved", "pending", "rejected", "rejected", "withdrawn"]


@pytest.mark.parametrize("name", sorted(KEYS_FOR_FOREIGN_KEYS))
def test_the_keys_composite_foreign_keys_point_at_are_in_the_database(app, name):
    constraint = next(c for each in db.metadata.sorted_tables for c in each.constraints if c.name == name)
    reflected = sa.inspect(db.session.connection()).get_unique_constraints(constraint.table.name)

    assert (name, constraint.columns.keys()) in [(u["name"], u["column_names"]) for u in reflected]


def test_a_position_is_never_overwritten(app):
    position = db.session.get(Position, insert("position", position_row())["id"])

    with pytest.raises(PositionHistoryIsKept):
        with db.session.begin_nested():
            position.stance = "opposed"

    assert db.session.scalar(sa.select(Position.stance).where(Position.id == position.id)) == "supportive"


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_audit_log_is_append_only(app, change):
    event = db.session.get(AuditEvent, insert("audit_event", audit_event_row())["id"])

    with pytest.raises(AuditLogIsAppendOnly):
        with db.session.begin_nested():
            if change == "update":
                event.action = "campaign.delete"
            else:
                db.session.delete(event)

    stored = db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.id == event.id))
    assert stored == "campaign.create"


def refused_by_the_database(statement) -> None:
    """The statement, run past the ORM (as raw SQL or an injection would be), fails on the triggers."""
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(statement)


AUDIT_REWRITES = {
    "action": {"action": "campaign.delete"},
    "after": {"after": {"name": "Rewritten"}},
    "after to SQL NULL": {"after": sa.null()},
    "before": {"before": {"name": "Invented"}},
    "occurred_at": {"occurred_at": NOW + dt.timedelta(days=1)},
    "actor_label": {"actor_label": "someone-else@example.org"},
    "entity_id": {"entity_id": "2"},
    "ip_address": {"ip_address": "198.51.100.7"},
    "campaign_id": {"campaign_id": 2},
}


@pytest.mark.parametrize("values", AUDIT_REWRITES.values(), ids=AUDIT_REWRITES.keys())
def test_the_database_refuses_to_rewrite_an_audit_event(app, values):
    event = insert("audit_event", audit_event_row())
    audit_event = table("audit_event")

    refused_by_the_database(sa.update(audit_event).where(audit_event.c.id == event["id"]).values(**values))

    stored = db.session.execute(sa.select(audit_event).where(audit_event.c.id == event["id"])).one()._asdict()
    assert {column: stored[column] for column in ("action", "after", "actor_label", "entity_id")} == {
        "action": "campaign.create",
        "after": {"name": "Universal ratification"},
        "actor_label": "someone@example.org",
        "entity_id": "1",
    }


def test_the_database_refuses_to_pass_an_audit_event_to_another_actor(app):
    event = insert("audit_event", audit_event_row())
    audit_event = table("audit_event")

    refused_by_the_database(
        sa.update(audit_event).where(audit_event.c.id == event["id"]).values(actor_id=new_id("user"))
    )


def test_the_database_refuses_to_delete_audit_events(app):
    event = insert("audit_event", audit_event_row())
    audit_event = table("audit_event")

    refused_by_the_database(sa.delete(audit_event).where(audit_event.c.id == event["id"]))
    if db.engine.dialect.name == "postgresql":
        refused_by_the_database(sa.text("TRUNCATE audit_event"))

    assert db.session.scalar(sa.select(sa.func.count()).where(audit_event.c.id == event["id"])) == 1


def test_the_database_allows_a_redaction_and_losing_the_actor(app):
    """The two changes it lets through: a data subject request's redaction, and ON DELETE SET NULL."""
    event = insert("audit_event", audit_event_row())
    audit_event = table("audit_event")
    user = table("user")

    db.session.execute(
        sa.update(audit_event).where(audit_event.c.id == event["id"]).values(before=REDACTION, after=REDACTION)
    )
    db.session.execute(sa.delete(user).where(user.c.id == event["actor_id"]))

    stored = db.session.execute(sa.select(audit_event).where(audit_event.c.id == event["id"])).one()
    assert (stored.before, stored.after, stored.actor_id, stored.actor_label) == (
        REDACTION,
        REDACTION,
        None,
        "someone@example.org",
    )


def test_every_table_and_every_constraint_has_a_case():
    """A table, constraint or required column added later without a case above fails here."""
    expected, tables = set(), set()
    for each in db.metadata.sorted_tables:
        tables.add(each.name)
        for constraint in each.constraints:
            if isinstance(
                constraint, (sa.CheckConstraint, sa.UniqueConstraint, sa.ForeignKeyConstraint, sa.PrimaryKeyConstraint)
            ):
                expected.add(str(constraint.name))
        # A unique index keeps data out as a UNIQUE constraint does.
        expected |= {str(index.name) for index in each.indexes if index.unique}
        expected |= {
            f"{each.name}.{column.name}"
            for column in each.columns
            if not column.nullable and column is not each.autoincrement_column
        }
    cases = [param.values[0] for param in CASES]

    assert tables - {c.table for c in cases} == set(), "tables without a case"
    assert expected - {c.breaks for c in cases} == set(), "constraints without a case"
    assert {c.breaks for c in cases} - expected == set(), "cases for constraints that no longer exist"
