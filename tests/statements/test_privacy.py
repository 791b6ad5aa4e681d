"""A signer asks for their data to be erased: the privacy tools find their statement signatures by e-mail;
an organisation's signature stays (it is the organisation's) without the signer's name, role and address;
one given in a person's own name goes; the e-mail that named them leaves the outbox; the audit log about
them is redacted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.audit.models import REDACTION, AuditEvent
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.privacy import services as privacy
from crm.statements import services as statements
from crm.statements.models import StatementSignature
from tests.conftest import count_rows
from tests.statements.conftest import signatures

pytestmark = pytest.mark.usefixtures("clock")


def test_an_organisations_signer_is_erased_and_the_organisation_stays_listed(
    app, client, statement, signed_up, clock, runner
):
    signature, _ = signed_up()
    statements.approve(signature, actor="test", now=clock.now())
    statements.reject(signed_up(email="other@accionsolidaria.info")[0], "x", actor="test", now=clock.now())
    db.session.commit()
    found = privacy.find_person("ANA@accionsolidaria.info ")
    assert [s.id for s in found.statement_signatures] == [signature.id] and not found.empty
    listing = runner.invoke(args=["privacy", "find", "ana@accionsolidaria.info"])
    assert f"statement signature #{signature.id} on {statement.slug} (approved)" in listing.output
    result = runner.invoke(
        args=["privacy", "erase", "ana@accionsolidaria.info", "--reason", "asked by e-mail", "--yes"]
    )
    assert result.exit_code == 0 and "1 statement signatures" in result.output
    db.session.expire_all()
    erased = db.session.get(StatementSignature, signature.id)
    assert (erased.signer_name, erased.signer_role, erased.email) == (None, None, None)
    assert erased.status == "approved" and erased.erased_at == clock.now()
    assert "Acción Solidaria" in client.get(f"/s/{statement.slug}").get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(OutboundMessage.recipient_email == "ana@accionsolidaria.info")
        )
        == 0
    )
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "statement_signature", AuditEvent.entity_id == str(signature.id)
        )
    ).all()
    assert events and all(event.after == REDACTION for event in events)
    assert privacy.find_person("ana@accionsolidaria.info").empty
    # The other signer of the same organisation is untouched.
    assert signatures(email="other@accionsolidaria.info")[0].signer_name == "Ana Pérez"


def test_a_person_who_signed_in_their_own_name_is_deleted(app, client, statement, signed_up, signed_in, clock):
    statement.individuals_may_sign = True
    db.session.commit()
    signature, _ = signed_up(kind="individual", organisation="", website="", email="tamara@example.net")
    statements.approve(signature, actor="test", now=clock.now())
    db.session.commit()
    admin = signed_in("admin")
    page = client.get("/admin/privacy?email=tamara@example.net").get_data(as_text=True)
    assert "Signature on the joint statement" in page
    done = client.post("/admin/privacy", data={"email": "tamara@example.net", "reason": "request", "confirm": "y"})
    assert done.status_code == 302
    assert count_rows(StatementSignature) == 0
    erasure = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.erase")).one()
    assert erasure.actor_id == admin.id and erasure.after["statement_signatures_erased"] == 1
    assert "tamara" not in str(erasure.after)


def test_an_unconfirmed_sign_up_is_deleted(app, client, statement):
    from tests.statements.conftest import sign

    sign(client, statement)
    found = privacy.find_person("ana@accionsolidaria.info")
    privacy.erase_person(found, actor="test", reason="asked")
    db.session.commit()
    assert count_rows(StatementSignature) == 0 and count_rows(OutboundMessage) == 0
