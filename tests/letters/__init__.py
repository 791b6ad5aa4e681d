"""Letters: records to write to, built through the models; shared by the letter tests.

The fixtures here are imported by each test module (this folder has no conftest of its own)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest

from crm.campaigns.models import Campaign, Demand, DemandTranslation
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.extensions import db
from crm.letters import letter_templates, services
from crm.outreach.models import OutreachRecord
from crm.signatures.models import Petition, Signature, SignatureTally

FIXTURES = Path(__file__).parent / "fixtures"
_serial = itertools.count(1)


def build_outreach(
    *,
    assignee=None,
    country: str = "FRA",
    contact_language: str | None = "fr",
    contact_title: str | None = "Ambassador",
) -> SimpleNamespace:
    """A campaign with two demands (the first translated into Spanish), its outreach record with one
    government, that government's embassy in Madrid and its ambassador."""
    n = next(_serial)
    campaign = Campaign(slug=f"justice-{n}", name="Justice for Venezuela")
    first = Demand(
        campaign=campaign,
        ordinal=1,
        code="repudiate",
        title="Repudiate the election",
        description="Disregard the election of 20 May 2018.",
    )
    first.translations.append(
        DemandTranslation(
            language="es", title="Desconocer la elección", description="Desconocer la elección del 20 de mayo de 2018."
        )
    )
    Demand(campaign=campaign, ordinal=2, code="icc", title="ICC referral")
    government = country_by_code(country)
    record = OutreachRecord(campaign=campaign, country_id=government.id, assignee_id=getattr(assignee, "id", None))
    office = Office(
        country_id=government.id,
        host_country_id=country_by_code("ESP").id,
        kind="embassy",
        city=f"Madrid {n}",
        name=f"Embassy of {government.name_en} in Spain",
    )
    contact = Contact(office=office, name="Jeanne Dupont", title=contact_title, language=contact_language)
    db.session.add_all([campaign, record, office, contact])
    db.session.flush()
    return SimpleNamespace(campaign=campaign, record=record, office=office, contact=contact, country=government)


def add_signatures(campaign, country_code: str | None, count: int, petition=None) -> Petition:
    petition = petition or add_petition(campaign)
    country_id = country_by_code(country_code).id if country_code else None
    for _ in range(count):
        k = next(_serial)
        db.session.add(
            Signature(
                campaign_id=campaign.id,
                petition_id=petition.id,
                country_id=country_id,
                email_hash=hashlib.sha256(f"signer{k}".encode()).hexdigest(),
            )
        )
    db.session.flush()
    return petition


def add_petition(campaign) -> Petition:
    petition = Petition(campaign_id=campaign.id, slug=f"petition-{next(_serial)}", name="The call")
    db.session.add(petition)
    db.session.flush()
    return petition


def add_tally(petition, country_code: str, signers: int) -> SignatureTally:
    tally = SignatureTally(
        petition_id=petition.id, country_id=country_by_code(country_code).id, signers=signers, as_of=dt.date(2018, 6, 1)
    )
    db.session.add(tally)
    db.session.flush()
    return tally


def compose(world, actor, *, language=None, contact=True, template="First letter / Primera carta"):
    return services.compose_letter(
        world.record,
        template_name=template,
        actor=actor,
        contact=world.contact if contact else None,
        office=None if contact else world.office,
        language=language,
    )


def sent_letter(world, actor, *, on=dt.date(2018, 6, 1)):
    letter = compose(world, actor)
    services.mark_sent(letter, "post", on, actor)
    return letter


@pytest.fixture
def templates(app):
    """The default templates (Spanish and English)."""
    return letter_templates.load_default_templates()


@pytest.fixture
def attachments_dir(app, tmp_path, monkeypatch):
    """Attachments written under a temporary instance folder, not the project's."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path / "attachments"


def count_queries(client, url: str):
    """The response to GET `url` and the SQL statements it ran."""
    from tests.factories import QueryCounter

    with QueryCounter(db.engine) as counter:
        response = client.get(url)
    return response, counter.statements
