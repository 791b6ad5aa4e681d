"""The campaign set-up pages, as an admin, a manager and a coordinator use them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.core.submissions import new_key
from crm.countries.models import Country
from crm.extensions import db
from crm.outreach.models import OutreachRecord
from tests.conftest import count_rows


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def new_campaign_form(slug="free-elections", **changes):
    data = {
        "name": "Free elections",
        "name_es": "Elecciones libres",
        "slug": slug,
        "description": "Asking governments to act.",
        "description_es": "Pedimos a los gobiernos que actúen.",
        "starts_on": "2026-01-15",
        "letter_language": "es",
        "demands-0-label": "Repudiate the election",
        "demands-0-label_es": "Repudiar la elección",
        "demands-0-text": "Declare the result illegitimate.",
        "demands-0-text_es": "Declarar ilegítimo el resultado.",
        "demands-1-label": "Open solidarity mechanisms",
        "demands-1-label_es": "Abrir mecanismos de solidaridad",
        "demands-2-label": "Refer to the ICC",
        "demands-2-label_es": "Remitir a la CPI",
        "submission_key": new_key(),
    }
    data.update(changes)
    return data


def test_an_admin_creates_a_campaign_with_three_demands_in_two_languages(client, signed_in):
    signed_in("admin")
    response = client.post("/campaigns/new", data=new_campaign_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/campaigns/free-elections/targets")
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "free-elections"))
    assert [(d.title, d.text("es")[0]) for d in campaign.demands] == [
        ("Repudiate the election", "Repudiar la elección"),
        ("Open solidarity mechanisms", "Abrir mecanismos de solidaridad"),
        ("Refer to the ICC", "Remitir a la CPI"),
    ]
    assert (campaign.letter_language, campaign.display_description("es")) == (
        "es",
        "Pedimos a los gobiernos que actúen.",
    )
    client.post("/language", data={"language": "es"})
    page = client.get("/").get_data(as_text=True)
    assert "Elecciones libres" in page and "Remitir a la CPI" in page


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"slug": "taken"}, "slug", "Another campaign already has the slug"),
        ({"slug": "Free Elections"}, "slug", "lower-case letters"),
        (
            {"demands-1-label": " ", "demands-1-label_es": "", "demands-1-text": "Only a text"},
            None,
            "Demand 2: A demand needs a short label in English",
        ),
        (
            {
                "demands-0-label": "",
                "demands-0-label_es": "",
                "demands-0-text": "",
                "demands-0-text_es": "",
                "demands-1-label": "",
                "demands-1-label_es": "",
                "demands-2-label": "",
                "demands-2-label_es": "",
            },
            None,
            "Write at least one demand",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(client, signed_in, changes, field, message):
    signed_in("manager")
    client.post("/campaigns/new", data=new_campaign_form(slug="taken"))
    db.session.commit()
    before = table_counts()
    response = client.post("/campaigns/new", data=new_campaign_form(**{"slug": "other", **changes}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page.replace("&#34;", '"')
    if field:
        assert f'id="{field}-error"' in page
    assert table_counts() == before


def test_demands_are_reworded_reordered_and_retired_from_the_page(client, signed_in, campaign):
    signed_in("manager")
    first, second, third = campaign.demands
    assert (
        client.post(
            f"/demands/{second.id}/edit", data={"label": "Protect refugees", "label_es": "Proteger a los refugiados"}
        ).status_code
        == 302
    )
    assert client.post(f"/demands/{third.id}/move", data={"step": "-1"}).status_code == 302
    assert client.post(f"/demands/{first.id}/retire", data={}).status_code == 400
    assert client.post(f"/demands/{first.id}/retire", data={"confirm": "y"}).status_code == 302
    assert client.post(f"/campaigns/{campaign.slug}/demands", data={"label": "  "}).status_code == 400
    db.session.expire_all()
    assert [d.title for d in campaign.demands] == ["ICC referral", "Protect refugees"]


def test_settings_and_archiving(client, signed_in, make_user, campaign):
    signed_in("admin")
    coordinator = make_user("coordinator", name="Coco")
    db.session.commit()
    response = client.post(
        f"/campaigns/{campaign.slug}/settings",
        data={
            "reply_days": "10",
            "stall_days": "30",
            "claims_need_approval": "y",
            "default_coordinator": str(coordinator.id),
        },
    )
    assert response.status_code == 302
    assert (
        client.post(
            f"/campaigns/{campaign.slug}/settings",
            data={"reply_days": "0", "stall_days": "30", "default_coordinator": "0"},
        ).status_code
        == 400
    )
    db.session.expire_all()
    assert (
        campaign.reply_days,
        campaign.stall_days,
        campaign.claims_need_approval,
        campaign.default_coordinator_id,
    ) == (10, 30, True, coordinator.id)
    assert client.post(f"/campaigns/{campaign.slug}/archive", data={"confirm": "y"}).status_code == 302
    assert "Test campaign" not in client.get("/").get_data(as_text=True)
    refused = client.post(
        f"/campaigns/{campaign.slug}/edit", data={"name": "New", "slug": campaign.slug, "letter_language": "en"}
    )
    assert refused.status_code == 409 and "archived" in refused.get_data(as_text=True)


def test_a_coordinator_adds_targets_in_bulk_and_by_name(client, signed_in, campaign, clock):
    signed_in("coordinator")
    response = client.post(
        f"/campaigns/{campaign.slug}/targets",
        data={
            "submission_key": new_key(),
            "region": "419",
            "rome_status": "state_party",
            "names": "Alemania, FRA\nReino Unido",
        },
    )
    assert response.status_code == 302
    expected = set(
        db.session.scalars(
            sa.select(Country.alpha3).where(Country.sub_region_code == "419", Country.rs_status == "state_party")
        )
    ) | {"DEU", "FRA", "GBR"}
    targeted = set(
        db.session.scalars(
            sa.select(Country.alpha3)
            .join(OutreachRecord, OutreachRecord.country_id == Country.id)
            .where(OutreachRecord.campaign_id == campaign.id)
        )
    )
    assert targeted == expected


def test_an_unknown_country_is_named_and_nothing_is_added(client, signed_in, campaign):
    signed_in("coordinator")
    db.session.commit()
    before = table_counts()
    response = client.post(
        f"/campaigns/{campaign.slug}/targets", data={"submission_key": new_key(), "names": "Alemania, Narnia"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="names-error"' in page and "Narnia" in page
    assert table_counts() == before


def test_removing_a_target_nobody_worked_on(client, signed_in, campaign, make_record):
    signed_in("coordinator")
    record_id = make_record("DEU").id
    db.session.commit()
    assert client.post(f"/outreach/{record_id}/remove-target", data={"confirm": "y"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).where(OutreachRecord.id == record_id)) == 0


def test_a_campaigns_name_is_shown_in_the_readers_language_wherever_it_appears(
    client, signed_in, make_user, campaign, make_record
):
    """The record page, the board's campaign menu, the countries filter, the signatures page and a reminder
    e-mail name the campaign in the reader's language; a language with no wording falls back to English."""
    from crm.campaigns.models import CampaignTranslation
    from crm.database import utcnow
    from crm.outreach.models import FollowUp
    from crm.reminders import services as reminders

    campaign.translations.append(CampaignTranslation(language="es", name="Campaña de prueba"))
    record = make_record("DEU")
    spanish_reader = make_user("volunteer", language="es")
    follow_up = FollowUp(outreach_id=record.id, owner_id=spanish_reader.id, due_on=utcnow().date(), note="Call")
    db.session.add(follow_up)
    db.session.flush()
    assert "Campaña de prueba" in reminders.render_due_reminder(follow_up, utcnow()).text
    signed_in("manager", language="es")
    for path in (
        f"/outreach/{record.id}",
        "/countries/",
        "/board",
        f"/campaigns/{campaign.slug}/signatures",
        f"/dashboard/{campaign.slug}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "Campaña de prueba" in page and "Test campaign" not in page, path
    client.post("/language", data={"language": "en"})
    page = client.get(f"/outreach/{record.id}").get_data(as_text=True)
    assert "Test campaign" in page and "Campaña de prueba" not in page


def test_a_translated_description_needs_its_name(client, signed_in):
    signed_in("manager")
    db.session.commit()
    before = table_counts()
    response = client.post("/campaigns/new", data=new_campaign_form(name_es=""))
    assert response.status_code == 400
    assert 'id="name_es-error"' in response.get_data(as_text=True)
    assert table_counts() == before


def test_editing_a_campaign_keeps_and_changes_its_spanish_wording(client, signed_in):
    signed_in("admin")
    client.post("/campaigns/new", data=new_campaign_form())
    form = client.get("/campaigns/free-elections/edit").get_data(as_text=True)
    assert 'value="Elecciones libres"' in form and "Pedimos a los gobiernos que actúen." in form
    response = client.post(
        "/campaigns/free-elections/edit",
        data={
            "name": "Free elections",
            "slug": "free-elections",
            "letter_language": "es",
            "name_es": "Elecciones libres ya",
            "description_es": "",
        },
    )
    assert response.status_code == 302
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "free-elections"))
    db.session.refresh(campaign)
    assert [(t.language, t.name, t.description) for t in campaign.translations] == [
        ("es", "Elecciones libres ya", None)
    ]
    client.post(
        "/campaigns/free-elections/edit",
        data={"name": "Free elections", "slug": "free-elections", "letter_language": "es", "name_es": ""},
    )
    db.session.expire_all()
    assert campaign.translations == [] and campaign.display_name("es") == "Free elections"
