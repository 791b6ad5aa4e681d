"""Statement fixtures: a campaign's statement in English and Spanish, a visitor who fills in the public
form as a person does (the form shown a minute before it is sent), and the links of the e-mail they get."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from crm.core import public_forms
from crm.database import utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.statements import services as statements
from crm.statements.models import StatementSignature
from tests.reminders.conftest import smtp, smtp_server  # noqa: F401  (fixtures)

TITLE_EN = "Standing in solidarity with Venezuelan human rights defenders"
TITLE_ES = "En solidaridad con las personas defensoras de derechos humanos en Venezuela"
BODY_EN = "We, the undersigned organisations,\nstand with those who defend human rights in Venezuela."
BODY_ES = "Las organizaciones firmantes\nnos solidarizamos con quienes defienden los derechos humanos en Venezuela."

ORGANISATION = {
    "kind": "organisation",
    "organisation": "Acción Solidaria",
    "country": "VEN",
    "website": "https://www.accionsolidaria.info",
    "signer_name": "Ana Pérez",
    "signer_role": "Directora",
    "email": "ana@accionsolidaria.info",
    "listing": "named",
    "consent": "y",
}


@pytest.fixture
def statement(app, campaign, clock):
    made = statements.create_statement(
        campaign,
        {"en": statements.Wording(TITLE_EN, BODY_EN), "es": statements.Wording(TITLE_ES, BODY_ES)},
        actor="test",
    )
    db.session.commit()
    return made


def form_data(scope: str = "", **changes) -> dict:
    """The form as a person sends it: shown a minute ago on this site, the honeypot left empty."""
    data = {**ORGANISATION, "started": public_forms.stamp("statement", utcnow() - dt.timedelta(minutes=1), scope=scope)}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def sign(client, statement, *, lang="en", address="198.51.100.7", **changes):
    """Send the public form (from `address`); returns the response."""
    return client.post(
        f"/s/{statement.slug}?lang={lang}",
        data=form_data(statement.slug, **changes),
        environ_base={"REMOTE_ADDR": address},
    )


def confirmation_to(email: str) -> OutboundMessage:
    return db.session.scalars(
        sa.select(OutboundMessage)
        .where(OutboundMessage.kind == "statement_confirmation", OutboundMessage.recipient_email == email)
        .order_by(OutboundMessage.id.desc())
    ).first()


def links_in(text: str) -> dict[str, str]:
    """The confirmation and withdrawal links of an e-mail, as paths."""
    found = {}
    for kind in ("confirm", "withdraw"):
        match = re.search(rf"https?://[^/\s]+(/s/{kind}/[A-Za-z0-9_-]+)", text)
        found[kind] = match.group(1) if match else None
    return found


def links_for(email: str) -> dict[str, str]:
    return links_in(confirmation_to(email).body_text)


def signatures(**where) -> list[StatementSignature]:
    statement = sa.select(StatementSignature).order_by(StatementSignature.id)
    for name, value in where.items():
        statement = statement.where(getattr(StatementSignature, name) == value)
    return db.session.scalars(statement).all()


@pytest.fixture
def signed_up(client, statement):
    """Ana signed for Acción Solidaria and confirmed her address: her signature waits for a moderator."""

    def factory(**changes):
        email = changes.get("email", ORGANISATION["email"])
        response = sign(client, statement, **changes)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        links = links_for(email)
        assert client.post(links["confirm"]).status_code == 200
        signature = signatures(email=email)[-1]
        assert signature.status == "confirmed"
        return signature, links

    return factory
