"""Every form that creates a record carries a submission key (one mechanism, crm/core/submissions.py): sent
twice with the same key (a lost answer retried, a double click, a draft sent again from a phone), it creates
one record, and the second answer sends the user where the first one did."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.accounts.models import Invitation, User
from crm.campaigns.models import Campaign, Demand
from crm.contacts.models import Contact, Office
from crm.core.submissions import FormSubmission, new_key
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.letters import letter_templates
from crm.letters import services as letters
from crm.letters.models import Letter, LetterAttachment, LetterTemplate
from crm.outreach.models import Claim, FollowUp, Meeting, OutreachRecord, Position
from crm.signatures.imports import imports_of
from crm.signatures.models import Petition, SignatureTally
from crm.signatures.petitions import create_petition

PDF = Path(__file__).parents[1] / "letters" / "fixtures" / "reply.pdf"


@dataclass
class World:
    user: User
    campaign: Campaign
    record: OutreachRecord
    office: Office
    contact: Contact
    letter: Letter
    petition: Petition
    free_record: OutreachRecord  # nobody works on it yet: a volunteer may take it


@dataclass
class Form:
    page: Callable[[World], str]  # the page that shows the form
    url: Callable[[World], str]  # where it is sent
    data: Callable[[World], dict]
    creates: type
    role: str = "manager"


def _today() -> str:
    return utcnow().date().isoformat()


FORMS = {
    "meeting": Form(
        lambda w: f"/outreach/{w.record.id}/meetings/new",
        lambda w: f"/outreach/{w.record.id}/meetings/new",
        lambda w: {
            "held_at": (utcnow() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "summary": "Met the counsellor",
        },
        Meeting,
    ),
    "follow-up": Form(
        lambda w: f"/outreach/{w.record.id}/follow-ups/new",
        lambda w: f"/outreach/{w.record.id}/follow-ups/new",
        lambda w: {"note": "Call again", "due_on": _today(), "owner": w.user.id},
        FollowUp,
    ),
    "position": Form(
        lambda w: f"/outreach/{w.record.id}/positions/new",
        lambda w: f"/outreach/{w.record.id}/positions/new",
        lambda w: {"demand": w.campaign.demands[0].id, "stance": "supportive", "stated_on": _today()},
        Position,
    ),
    "contact": Form(
        lambda w: "/contacts/new",
        lambda w: "/contacts/new",
        lambda w: {"office": w.office.id, "name": "Claire Fictive"},
        Contact,
    ),
    "office": Form(
        lambda w: "/offices/new",
        lambda w: "/offices/new",
        lambda w: {
            "kind": "embassy",
            "name": "Embajada de Alemania",
            "country": "DEU",
            "city": "Madrid",
            "host_country": "ESP",
        },
        Office,
    ),
    "letter": Form(
        lambda w: f"/outreach/{w.record.id}/letters/new",
        lambda w: f"/outreach/{w.record.id}/letters/new",
        lambda w: {"template": "Demands", "recipient": f"contact-{w.contact.id}", "language": ""},
        Letter,
    ),
    "reply": Form(
        lambda w: f"/letters/{w.letter.id}/reply",
        lambda w: f"/letters/{w.letter.id}/reply",
        lambda w: {"received_on": _today(), "subject": "Our answer"},
        Letter,
    ),
    "attachment": Form(
        lambda w: f"/letters/{w.letter.id}",
        lambda w: f"/letters/{w.letter.id}/attachments",
        lambda w: {"attachments": (io.BytesIO(PDF.read_bytes()), "reply.pdf")},
        LetterAttachment,
    ),
    "letter template": Form(
        lambda w: "/letter-templates/new",
        lambda w: "/letter-templates/new",
        lambda w: {"name": "Thanks", "language": "en", "subject": "Thank you", "body": "Thanks."},
        LetterTemplate,
    ),
    "petition": Form(
        lambda w: f"/campaigns/{w.campaign.slug}/signatures",
        lambda w: f"/campaigns/{w.campaign.slug}/petitions",
        lambda w: {"name": "Change.org, Spanish", "platform": "change_org"},
        Petition,
    ),
    "tally": Form(
        lambda w: f"/petitions/{w.petition.slug}",
        lambda w: f"/petitions/{w.petition.slug}/tallies",
        lambda w: {"country": country_by_code("ESP").id, "signers": "120", "as_of": _today()},
        SignatureTally,
    ),
    "tally file": Form(
        lambda w: f"/petitions/{w.petition.slug}",
        lambda w: f"/petitions/{w.petition.slug}/tallies/file",
        lambda w: {"file": (io.BytesIO(b"country,signers,as_of\nESP,120,2024-01-02\n"), "t.csv")},
        SignatureTally,
    ),
    "campaign": Form(
        lambda w: "/campaigns/new",
        lambda w: "/campaigns/new",
        lambda w: {"name": "Rome 2026", "slug": "rome-2026", "letter_language": "en", "demands-0-label": "Ratify"},
        Campaign,
    ),
    "demand": Form(
        lambda w: f"/campaigns/{w.campaign.slug}/demands",
        lambda w: f"/campaigns/{w.campaign.slug}/demands",
        lambda w: {"label": "Free the prisoners"},
        Demand,
    ),
    "targets": Form(
        lambda w: f"/campaigns/{w.campaign.slug}/targets",
        lambda w: f"/campaigns/{w.campaign.slug}/targets",
        lambda w: {"names": "Alemania"},
        OutreachRecord,
    ),
    "user": Form(
        lambda w: "/admin/users/new",
        lambda w: "/admin/users/new",
        lambda w: {
            "email": "nueva@example.org",
            "name": "Nueva",
            "role": "volunteer",
            "language": "es",
            "password": "a long enough first password",
        },
        User,
        role="admin",
    ),
    "invitation": Form(
        lambda w: "/admin/users/invite",
        lambda w: "/admin/users/invite",
        lambda w: {"email": "invitada@example.org", "role": "volunteer", "language": "es"},
        Invitation,
        role="admin",
    ),
    "claim": Form(
        lambda w: "/claims",
        lambda w: f"/claims/new/{w.free_record.id}",
        lambda w: {},
        Claim,
        role="volunteer",
    ),
}


@pytest.fixture
def world(signed_in, request, campaign, make_record, make_office, make_contact):
    user = signed_in(FORMS[request.node.callspec.params["name"]].role)
    record = make_record("FRA", assignee=user)
    office = make_office("FRA")
    contact = make_contact(office, name="Jeanne Dupont")
    letter_templates.save_template(
        None, name="Demands", language="en", subject="Our demands", body="Dear {{ recipient_name }},", actor=user
    )
    letter = letters.compose_letter(record, template_name="Demands", actor=user, contact=contact)
    letters.mark_sent(letter, "email", utcnow().date() - dt.timedelta(days=1), user)
    petition = create_petition(campaign, "Firmas", platform="generic")
    free_record = make_record("PRT")
    db.session.commit()
    return World(user, campaign, record, office, contact, letter, petition, free_record)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("name", list(FORMS))
def test_a_creating_form_sent_twice_with_its_key_creates_one_record(client, world, name):
    form = FORMS[name]
    assert 'name="submission_key"' in client.get(form.page(world)).get_data(as_text=True)
    before = _count(form.creates)
    key = new_key()
    first = client.post(form.url(world), data={**form.data(world), "submission_key": key})
    assert first.status_code == 302, first.get_data(as_text=True)
    assert _count(form.creates) == before + 1
    again = client.post(form.url(world), data={**form.data(world), "submission_key": key})
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(form.creates) == before + 1
    assert "it was not saved again" in client.get(again.headers["Location"]).get_data(as_text=True)
    # A new form (a new key) is a new record, where the rules allow a second one.
    assert db.session.get(FormSubmission, key).location == first.headers["Location"]


def test_a_form_sent_without_its_key_is_refused_and_saves_nothing(client, signed_in, make_office):
    signed_in("manager")
    office = make_office("FRA")
    db.session.commit()
    response = client.post("/contacts/new", data={"office": office.id, "name": "Claire Fictive"})
    assert response.status_code == 400
    assert "This form could not be read" in response.get_data(as_text=True)
    assert _count(Contact) == 0


def test_a_page_that_failed_after_its_import_was_saved_does_not_claim_nothing_was_saved(
    client, signed_in, campaign, monkeypatch
):
    """The signature import commits as it goes; an error after that (here, while saying it was done)
    must not tell the user that nothing was saved."""
    from crm.signatures import routes, staging

    signed_in("manager")
    petition = create_petition(campaign, "Firmas", platform="generic")
    db.session.commit()
    upload = client.post(
        f"/petitions/{petition.slug}/uploads",
        data={"file": (io.BytesIO(b"email,country\nana@example.org,ES\n"), "s.csv")},
    )
    token = upload.headers["Location"].rsplit("/", 1)[-1]
    assert staging.find(token, petition_id=petition.id, user_id=db.session.scalar(sa.select(User.id))) is not None

    def broken(*args, **kwargs):
        raise RuntimeError("the page broke after the import")

    monkeypatch.setattr(routes, "flash_message", broken)
    response = client.post(
        f"/petitions/{petition.slug}/uploads/{token}",
        data={"email": "email", "country": "country", "date_order": "ymd"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Nothing was saved" not in page and "may have been saved" in page
    assert imports_of(petition)[0].rows_new == 1


CONTACTS_FILE = (
    b"name,email,office,government,city\n"
    b"Hanna Beispiel,hanna@example.org,Embajada de Alemania,DEU,Madrid\n"
    b"Jean Exemple,jean@example.org,Ambassade de France,FRA,Madrid\n"
)


def _previewed_import(client, key: str) -> str:
    """Upload the contacts file and preview it, as the import page does; returns the staged file's token."""
    preview = client.post(
        "/contacts/import",
        data={"file": (io.BytesIO(CONTACTS_FILE), "e.csv"), "duplicates": "skip", "submission_key": key},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Contacts to add: 2" in page
    assert f'value="{key}"' in page  # the confirmation carries the key the upload had
    return re.search(r'name="staged" type="hidden" value="([^"]+)"', page).group(1)


def test_the_contacts_import_confirmed_twice_imports_once_and_sends_where_the_first_led(client, signed_in):
    signed_in("coordinator")
    assert 'name="submission_key"' in client.get("/contacts/import").get_data(as_text=True)
    key = new_key()
    token = _previewed_import(client, key)
    confirm = {"staged": token, "duplicates": "skip", "submission_key": key, "step": "import"}
    first = client.post("/contacts/import", data=confirm)
    assert first.status_code == 200 and "Contacts added: 2" in first.get_data(as_text=True)
    assert (_count(Contact), _count(Office)) == (2, 2)
    again = client.post("/contacts/import", data=confirm)
    assert again.status_code == 302 and again.headers["Location"] == db.session.get(FormSubmission, key).location
    assert (_count(Contact), _count(Office)) == (2, 2)
    assert "it was not saved again" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_refused_import_keeps_no_key_and_can_be_confirmed_once_corrected(client, signed_in, make_office):
    """A key is kept only with what it created: an import refused (here, because someone added an inactive
    office the file names meanwhile) can be sent again with the same form."""
    signed_in("coordinator")
    key = new_key()
    token = _previewed_import(client, key)
    germany = make_office("DEU", host="DEU")
    germany.active = False
    db.session.commit()
    confirm = {"staged": token, "duplicates": "skip", "submission_key": key, "step": "import"}
    refused = client.post("/contacts/import", data=confirm)
    assert refused.status_code == 400 and "active office" in refused.get_data(as_text=True)
    assert _count(Contact) == 0 and db.session.get(FormSubmission, key) is None


@pytest.mark.parametrize("form", ["claim", "contacts import"])
def test_a_claim_or_an_import_sent_without_its_key_is_refused_and_saves_nothing(client, signed_in, make_record, form):
    if form == "claim":
        signed_in("volunteer")
        record = make_record("PRT")
        db.session.commit()
        response = client.post(f"/claims/new/{record.id}")
        assert _count(Claim) == 0 and db.session.get(OutreachRecord, record.id).assignee_id is None
    else:
        signed_in("coordinator")
        token = _previewed_import(client, new_key())
        response = client.post("/contacts/import", data={"staged": token, "duplicates": "skip", "step": "import"})
        assert (_count(Contact), _count(Office)) == (0, 0)
    assert response.status_code == 400
    assert "This form could not be read" in response.get_data(as_text=True)
