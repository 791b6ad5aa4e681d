"""Coordinators make a hosted petition from the command line, word its page, list the sites that may frame
it, and release or reject the sign-ups held for review; the petition's page counts hosted signatures with
the imported ones."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.signatures import hosted
from crm.signatures.hosted_models import HostedPetition
from crm.signatures.models import Petition
from tests.signatures.hosted.conftest import hosted_signatures, links_for, sign

pytestmark = pytest.mark.usefixtures("clock")


def test_the_command_line_makes_a_hosted_petition_and_prints_its_slug(app, runner, campaign):
    db.session.commit()
    result = runner.invoke(
        args=["petitions", "create", "--campaign", campaign.slug, "--name", "Firma aquí", "--platform", "hosted"]
    )
    assert result.exit_code == 0, result.output
    slug = result.output.strip()
    petition = db.session.query(Petition).filter_by(slug=slug).one()
    assert petition.platform == "hosted"


def test_a_coordinator_words_the_page_and_lists_the_framing_sites(client, petition, signed_in):
    signed_in("coordinator")
    page = client.get(f"/petitions/{petition.slug}/hosted")
    assert page.status_code == 200 and "/sign/" in page.get_data(as_text=True)
    response = client.post(
        f"/petitions/{petition.slug}/hosted",
        data={"title_es": "Nuevo título", "body_es": "Texto", "frame_origins": "https://campaign.example/"},
    )
    assert response.status_code == 302
    saved = db.session.get(HostedPetition, petition.id)
    assert saved.texts["es"]["title"] == "Nuevo título" and saved.origins == ["https://campaign.example"]
    refused = client.post(f"/petitions/{petition.slug}/hosted", data={"frame_origins": "https://x.example/path"})
    assert refused.status_code == 400 and db.session.get(HostedPetition, petition.id).origins == [
        "https://campaign.example"
    ]


def test_a_coordinator_releases_or_rejects_what_was_held(client, petition, campaign, signed_in, app):
    app.config["HOSTED_REVIEW_AFTER"] = 0
    try:
        for name in ("a", "b"):
            sign(client, petition, email=f"{name}@example.org")
            client.post(links_for(f"{name}@example.org")["confirm"])
    finally:
        app.config["HOSTED_REVIEW_AFTER"] = 10
    first, second = hosted_signatures(status="held")
    signed_in("coordinator")
    assert "Held for review" in client.get(f"/petitions/{petition.slug}/hosted").get_data(as_text=True)
    assert client.post(f"/hosted-signatures/{first.id}/release").status_code == 302
    assert client.post(f"/hosted-signatures/{second.id}/reject").status_code == 302
    assert [s.status for s in hosted_signatures()] == ["confirmed", "rejected"]
    from crm.signatures.totals import totals_for

    assert totals_for(campaign).total == 1
    assert client.post(f"/hosted-signatures/{second.id}/release").status_code == 409
    petition_page = client.get(f"/petitions/{petition.slug}").get_data(as_text=True)
    assert f"/petitions/{petition.slug}/hosted" in petition_page
    assert hosted.status_counts(petition) == {"confirmed": 1, "rejected": 1}
