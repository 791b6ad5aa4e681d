"""Hosted petition fixtures: a campaign's hosted petition, a visitor who fills in its public form as a person
does (the form shown a minute before it is sent), and the links of the one e-mail they get."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from crm.core import public_forms
from crm.database import utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.signatures import hosted
from crm.signatures.hosted_models import HostedSignature
from tests.signatures.conftest import campaign, make_petition  # noqa: F401  (fixtures)

SIGNER = {
    "name": "Ana Pérez",
    "email": "ana@example.org",
    "country": "ESP",
    "postal_code": "28001",
    "consent": "y",
}


@pytest.fixture
def petition(app, campaign, make_petition, clock):  # noqa: F811
    made = make_petition("Tres exigencias", platform="hosted")
    hosted.set_page(
        made,
        texts={"es": ("Firma por Venezuela", "Pedimos a los gobiernos tres cosas."), "en": ("Sign", "We ask.")},
        totals_by_country=True,
        frame_origins=None,
        actor="test",
    )
    db.session.commit()
    return made


def form_data(scope: str = "", **changes) -> dict:
    data = {**SIGNER, "started": public_forms.stamp("petition", utcnow() - dt.timedelta(minutes=1), scope=scope)}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def sign(client, petition, *, lang="es", address="198.51.100.7", **changes):
    return client.post(
        f"/sign/{petition.slug}?lang={lang}",
        data=form_data(petition.slug, **changes),
        environ_base={"REMOTE_ADDR": address},
    )


def confirmation_to(email: str) -> OutboundMessage | None:
    return db.session.scalars(
        sa.select(OutboundMessage)
        .where(OutboundMessage.kind == "hosted_confirmation", OutboundMessage.recipient_email == email)
        .order_by(OutboundMessage.id.desc())
    ).first()


def links_in(text: str) -> dict[str, str | None]:
    found = {}
    for kind in ("confirm", "withdraw"):
        match = re.search(rf"https?://[^/\s]+(/sign/{kind}/[A-Za-z0-9_-]+)", text)
        found[kind] = match.group(1) if match else None
    return found


def links_for(email: str) -> dict[str, str | None]:
    return links_in(confirmation_to(email).body_text)


def hosted_signatures(**where) -> list[HostedSignature]:
    statement = sa.select(HostedSignature).order_by(HostedSignature.id)
    for name, value in where.items():
        statement = statement.where(getattr(HostedSignature, name) == value)
    return db.session.scalars(statement).all()
