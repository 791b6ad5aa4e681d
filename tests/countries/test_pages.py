"""Country list and country page: filters, Rome Statute facts with sources, admin corrections."""

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.campaigns.services import CampaignWording, create_campaign
from crm.countries.models import CountryFactChange
from crm.countries.services import country_by_code
from crm.extensions import db


def test_list_filters_by_status_region_and_name_in_either_language(client, signed_in):
    signed_in("volunteer")
    page = client.get("/countries/?q=alemania").get_data(as_text=True)
    assert "Germany" in page and "France" not in page
    page = client.get("/countries/?status=withdrawn").get_data(as_text=True)
    assert "Burundi" in page and "Philippines" in page and "Germany" not in page
    page = client.get("/countries/?region=005").get_data(as_text=True)
    assert "Venezuela" in page and "Mexico" not in page
    assert "16 countries" in page  # UN M49 South America: 12 states + Falklands, French Guiana, Bouvet, South Georgia


@pytest.mark.parametrize("query", ["' OR 1=1 --", "%", "_", "\\", "x' ; DROP TABLE country; --"])
def test_search_treats_input_as_text(client, signed_in, query):
    signed_in("volunteer")
    response = client.get("/countries/", query_string={"q": query})
    assert response.status_code == 200
    assert "0 countries" in response.get_data(as_text=True)


def test_bad_filter_values_are_ignored_not_errors(client, signed_in):
    signed_in("volunteer")
    assert client.get("/countries/?status=nonsense&region=999&page=abc").status_code == 200
    assert client.get("/countries/?page=9999").status_code == 200


def test_country_page_shows_each_fact_with_source_and_verification(client, signed_in):
    signed_in("volunteer")
    page = client.get("/countries/ARG").get_data(as_text=True)
    assert "State Party" in page and "8 Jan 1999" in page and "Wikipedia" in page
    # Venezuela's notified withdrawal comes from one secondary source: the table marks it not verified.
    page = client.get("/countries/VEN").get_data(as_text=True)
    assert "not verified" in page and "secondary: GitHub file" in page
    assert client.get("/countries/ZZZ").status_code == 404
    assert client.get("/countries/ve").status_code == 200


def test_country_page_in_spanish(client, signed_in):
    signed_in("volunteer", language="es")
    page = client.get("/countries/DEU").get_data(as_text=True)
    assert "Alemania" in page and "Estado Parte" in page and "Europa occidental" in page


def test_admin_corrects_a_fact_with_a_source(client, signed_in):
    admin = signed_in("admin")
    assert "Correct a fact" in client.get("/countries/CHL").get_data(as_text=True)
    response = client.post(
        "/countries/CHL/facts",
        data={
            "field": "signature_date",
            "date": "1998-09-12",
            "source": "UN depositary notification (test)",
            "verified": "y",
        },
    )
    assert response.status_code == 302
    chile = country_by_code("CHL")
    db.session.refresh(chile)
    assert str(chile.rs_signature_date) == "1998-09-12"
    change = db.session.scalars(
        sa.select(CountryFactChange).where(
            CountryFactChange.country_id == chile.id, CountryFactChange.origin == "admin"
        )
    ).one()
    assert (change.old_value, change.new_value, change.changed_by_id) == ("1998-09-11", "1998-09-12", admin.id)
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "country.correct_fact")).one()
    assert audit.before == {"signature_date": "1998-09-11"} and audit.actor_id == admin.id
    page = client.get("/countries/CHL").get_data(as_text=True)
    assert "UN depositary notification (test)" in page and "History of these facts" in page
    # The history says who made the correction.
    assert f"<td>{admin.name}</td>" in page.split("History of these facts", 1)[1]


def test_a_fact_corrected_twice_shows_its_latest_source_and_its_history_newest_first(client, signed_in):
    signed_in("admin")
    for day, source in (("1998-09-12", "First source (test)"), ("1998-09-13", "Second source (test)")):
        data = {"field": "signature_date", "date": day, "source": source, "verified": "y"}
        assert client.post("/countries/CHL/facts", data=data).status_code == 302
    page = client.get("/countries/CHL").get_data(as_text=True)
    facts, history = page.split("History of these facts", 1)
    assert "Second source (test)" in facts and "First source (test)" not in facts
    assert history.index("Second source (test)") < history.index("First source (test)")


@pytest.mark.parametrize(
    "data,message",
    [
        ({"field": "signature_date", "date": "12/09/1998", "source": "a source"}, "is not a date"),
        ({"field": "signature_date", "date": "1998-09-12", "source": ""}, "This field is required"),
        ({"field": "status", "status": "", "source": "a source here"}, "status must be one of"),
        ({"field": "entry_into_force_date", "date": "1990-01-01", "source": "a source here"}, "cannot come before"),
        ({"field": "nonsense", "source": "a source here"}, "Not a valid choice"),
    ],
)
def test_bad_corrections_are_refused_beside_the_field_and_nothing_changes(client, signed_in, data, message):
    signed_in("admin")
    before = client.get("/countries/CHL").get_data(as_text=True).count("<tr>")
    response = client.post("/countries/CHL/facts", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    chile = country_by_code("CHL")
    db.session.refresh(chile)
    assert str(chile.rs_entry_into_force_date) == "2009-09-01" and str(chile.rs_signature_date) == "1998-09-11"
    assert db.session.scalar(sa.select(sa.func.count()).where(CountryFactChange.origin == "admin")) == 0
    assert client.get("/countries/CHL").get_data(as_text=True).count("<tr>") == before


@pytest.mark.parametrize("role", ["manager", "coordinator", "volunteer"])
def test_only_admins_correct_facts(client, signed_in, role):
    signed_in(role)
    assert "Correct a fact" not in client.get("/countries/CHL").get_data(as_text=True)
    response = client.post("/countries/CHL/facts", data={"field": "status", "status": "withdrawn", "source": "xxxxx"})
    assert response.status_code == 404
    assert country_by_code("CHL").rs_status == "state_party"


@pytest.mark.parametrize(
    "query,expected",
    [
        ("japon", "Japan"),
        ("PERÚ", "Peru"),
        ("cote d'ivoire", "Côte"),
        ("ESTADOS UNIDOS", "United States"),
        ("ve", "Venezuela"),
    ],
)
def test_search_ignores_accents_and_case_in_either_language(client, signed_in, query, expected):
    signed_in("volunteer")
    assert expected in client.get("/countries/", query_string={"q": query}).get_data(as_text=True)


@pytest.mark.parametrize(
    "language, first, second",
    [
        ("es", 'value="zeta">Abolición de la impunidad<', 'value="accession">Accession now<'),
        ("en", 'value="accession">Accession now<', 'value="zeta">Zeta ratification drive<'),
    ],
)
def test_campaign_filter_names_each_campaign_in_the_readers_language_in_order(
    client, signed_in, language, first, second
):
    create_campaign(
        name="Zeta ratification drive",
        slug="zeta",
        actor="test",
        translations={"es": CampaignWording(name="Abolición de la impunidad")},
    )
    create_campaign(name="Accession now", slug="accession", actor="test")
    db.session.commit()
    signed_in("volunteer", language=language)
    page = client.get("/countries/").get_data(as_text=True)
    # The translated name where the campaign has one in the reader's language, its own name elsewhere; in the
    # order of the names the reader sees.
    assert page.index(first) < page.index(second)
