"""A statement's text can change until the first signature comes in; then it is frozen (signers signed
those words), and new wording is a new version, a new statement with its own signatures."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.core.submissions import new_key
from crm.extensions import db
from crm.statements.models import Statement, StatementText, TextIsFrozen
from tests.statements.conftest import BODY_EN, BODY_ES, TITLE_EN, TITLE_ES, sign

pytestmark = pytest.mark.usefixtures("clock")


def _form(**changes) -> dict:
    data = {"title_en": TITLE_EN, "body_en": BODY_EN, "title_es": TITLE_ES, "body_es": BODY_ES}
    data.update(changes)
    return data


def test_a_manager_writes_a_statement_in_two_languages(client, signed_in, campaign):
    db.session.commit()
    signed_in("manager")
    response = client.post(
        f"/campaigns/{campaign.slug}/statements/new",
        data=_form(submission_key=new_key(), individuals_may_sign="y", closes_on="2026-12-31"),
    )
    assert response.status_code == 302
    statement = db.session.scalar(sa.select(Statement))
    assert statement.languages == ["en", "es"] and statement.individuals_may_sign
    assert statement.slug == "standing-in-solidarity-with-venezuelan-human-rights"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not signed yet: it can still change" in page and f"/s/{statement.slug}" in page


def test_half_a_wording_is_refused(client, signed_in, campaign):
    db.session.commit()
    signed_in("manager")
    response = client.post(
        f"/campaigns/{campaign.slug}/statements/new", data=_form(body_es="", submission_key=new_key())
    )
    assert response.status_code == 400 and "Give the text in this language too" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Statement)) == 0


def test_the_text_changes_until_the_first_signature(client, signed_in, statement):
    signed_in("manager")
    response = client.post(
        f"/statements/{statement.id}/edit", data=_form(title_en="Standing with defenders", version=statement.version)
    )
    assert response.status_code == 302
    db.session.refresh(statement)
    assert statement.title("en") == "Standing with defenders"
    assert db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action == "statement.update")).all()


def test_the_first_sign_up_freezes_the_text(client, signed_in, statement, clock):
    sign(client, statement)
    db.session.refresh(statement)
    assert statement.frozen_at == clock.now()
    signed_in("manager")
    refused = client.post(
        f"/statements/{statement.id}/edit", data=_form(body_en="Other words.", version=statement.version)
    )
    assert refused.status_code == 409 and "The text cannot change" in refused.get_data(as_text=True)
    db.session.refresh(statement)
    assert statement.text("en").body == BODY_EN
    # The dates and who may sign still change.
    allowed = client.post(
        f"/statements/{statement.id}/edit",
        data=_form(closes_on="2026-07-31", individuals_may_sign="y", version=statement.version),
    )
    assert allowed.status_code == 302
    db.session.refresh(statement)
    assert str(statement.closes_on) == "2026-07-31" and statement.individuals_may_sign
    page = client.get(f"/statements/{statement.id}/edit").get_data(as_text=True)
    assert "can no longer change" in page and "readonly" in page


def test_nothing_rewrites_a_frozen_text(app, client, campaign):
    """Not even code that goes around the services: the text's rows refuse to change."""
    from crm.statements import services as statements

    statement = statements.create_statement(campaign, {"en": statements.Wording(TITLE_EN, BODY_EN)}, actor="test")
    db.session.commit()
    sign(client, statement)
    text = db.session.get(StatementText, (statement.id, "en"))
    with pytest.raises(TextIsFrozen), db.session.begin_nested():
        text.body = "Rewritten behind the service's back."
        db.session.flush()
    with pytest.raises(TextIsFrozen), db.session.begin_nested():
        db.session.add(StatementText(statement_id=statement.id, language="es", title=TITLE_ES, body=BODY_ES))
        db.session.flush()
    with pytest.raises(TextIsFrozen), db.session.begin_nested():
        db.session.delete(db.session.get(StatementText, (statement.id, "en")))
        db.session.flush()
    db.session.expire_all()
    assert db.session.get(StatementText, (statement.id, "en")).body == BODY_EN


def test_a_new_version_is_a_new_statement_to_word_and_sign(client, signed_in, statement, signed_up):
    signed_up()
    signed_in("manager")
    response = client.post(f"/statements/{statement.id}/new-version")
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    copy = db.session.scalars(sa.select(Statement).where(Statement.id != statement.id)).one()
    assert copy.slug == statement.slug + "-2" and copy.frozen_at is None
    assert copy.text("es").body == BODY_ES
    edited = client.post(f"/statements/{copy.id}/edit", data=_form(body_en="Newer words.", version=copy.version))
    assert edited.status_code == 302
    # The old one keeps its text and its signature.
    db.session.refresh(statement)
    assert statement.text("en").body == BODY_EN and statement.is_frozen
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "statement.new_version")).one()
    assert event.after == {"from": statement.slug, "slug": copy.slug}


def test_two_editors_at_once_do_not_overwrite_each_other(client, signed_in, statement):
    signed_in("manager")
    seen = statement.version
    assert (
        client.post(f"/statements/{statement.id}/edit", data=_form(title_en="First", version=seen)).status_code == 302
    )
    second = client.post(f"/statements/{statement.id}/edit", data=_form(title_en="Second", version=seen))
    assert second.status_code == 409
    db.session.refresh(statement)
    assert statement.title("en") == "First"


def test_coordinators_moderate_but_do_not_write_statements(client, signed_in, statement):
    signed_in("coordinator")
    assert client.get(f"/statements/{statement.id}").status_code == 200
    assert client.get(f"/statements/{statement.id}/edit").status_code == 404
    assert client.post(f"/statements/{statement.id}/new-version").status_code == 404
