"""A hosted petition's form shown in a frame on the campaign's own site: the browser sends no cookie there
(SameSite=Lax, third-party cookies blocked), so the form stands on its one-time token alone, signed for
this petition, and each token is accepted once (tests/e2e/test_embedded_petition.py signs in a browser)."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.core import public_forms
from crm.core.public_forms import PublicFormHit
from crm.database import utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.signatures.hosted_models import HostedSignature
from tests.conftest import count_rows
from tests.signatures.hosted.conftest import hosted_signatures, sign

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def csrf_on(app):
    """As in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def written() -> tuple[int, int, int]:
    return count_rows(HostedSignature), count_rows(OutboundMessage), count_rows(PublicFormHit)


def token(petition, *, ago=dt.timedelta(minutes=1), form="petition", scope=None) -> str:
    return public_forms.stamp(form, utcnow() - ago, scope=petition.slug if scope is None else scope)


def test_a_form_shown_and_sent_without_any_cookie_is_recorded_and_says_so(app, petition, clock, csrf_on):
    browser = app.test_client(use_cookies=False)  # what a cross-site frame sends: no cookie at all
    shown = browser.get(f"/sign/{petition.slug}?lang=es")
    page = shown.get_data(as_text=True)
    assert "Set-Cookie" not in shown.headers and 'name="csrf_token"' not in page
    started = page.split('name="started" type="hidden" value="')[1].split('"')[0]
    clock.advance(seconds=30)
    response = sign(browser, petition, started=started)
    assert response.status_code == 302 and "Set-Cookie" not in response.headers
    assert response.headers["Location"].endswith(f"/sign/{petition.slug}?lang=es&sent=1#sent")
    (signature,) = hosted_signatures()
    assert signature.status == "pending" and count_rows(OutboundMessage) == 1
    after = browser.get(response.headers["Location"])
    assert 'id="sent"' in after.get_data(as_text=True) and "Casi listo" in after.get_data(as_text=True)
    assert "Set-Cookie" not in after.headers


def test_a_token_sent_again_is_refused_with_a_clear_400_and_writes_nothing(client, petition):
    started = token(petition)
    assert sign(client, petition, started=started).status_code == 302
    before = written()
    again = sign(client, petition, started=started, email="otra@example.org", address="203.0.113.9", lang="en")
    assert again.status_code == 400 and "already sent once" in again.get_data(as_text=True)
    assert written() == before


def test_a_refused_form_keeps_its_token_usable(client, petition):
    started = token(petition)
    assert sign(client, petition, started=started, consent=None).status_code == 400  # a field to fix
    assert sign(client, petition, started=started).status_code == 302
    assert len(hosted_signatures()) == 1


def test_a_token_drawn_for_another_petition_or_another_form_is_refused(client, petition, make_petition):
    other = make_petition("Otra", platform="hosted")
    before = written()
    for started in (token(petition, scope=other.slug), token(petition, form="statement"), token(petition, scope="")):
        response = sign(client, petition, started=started, lang="en")
        assert response.status_code == 400 and "could not be read" in response.get_data(as_text=True)
    assert written() == before


def test_a_token_too_fresh_or_too_old_is_refused_as_before(client, petition, clock):
    before = written()
    fresh = token(petition, ago=dt.timedelta(0))
    response = sign(client, petition, started=fresh, lang="en")
    assert response.status_code == 400 and "faster than a person" in response.get_data(as_text=True)
    old = token(petition, ago=dt.timedelta(days=2))
    response = sign(client, petition, started=old, lang="en")
    assert response.status_code == 400 and "open too long" in response.get_data(as_text=True)
    assert old not in response.get_data(as_text=True)  # a new token to send it with
    assert written() == before
    clock.advance(seconds=5)
    assert sign(client, petition, started=fresh).status_code == 302


def test_a_used_nonce_is_kept_as_a_keyed_hash_as_long_as_its_token_lives(app, client, petition, clock):
    started = token(petition)
    nonce = public_forms.read_stamp("petition", petition.slug, started).nonce
    sign(client, petition, started=started)
    keys = {hit.key for hit in db.session.scalars(db.select(PublicFormHit))}
    assert any(key.startswith("nonce:") for key in keys) and not any(nonce in key for key in keys)
    clock.advance(seconds=app.config["PUBLIC_FORM_MAX_AGE_SECONDS"] - 120)
    public_forms.count("petition", address="192.0.2.1", now=utcnow())
    assert public_forms.was_used("petition", nonce)  # still refused while the token could be sent
    clock.advance(days=1)
    public_forms.count("petition", address="192.0.2.1", now=utcnow())
    assert not public_forms.was_used("petition", nonce)  # swept with the rate-limit rows
