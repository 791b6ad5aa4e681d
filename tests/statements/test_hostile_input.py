"""Hostile input on every field of the public form gets a clear 400 (or 413, 429) and changes nothing: no
signature, no e-mail, no count against the rate limits, and the text stays unfrozen. So does a form not
drawn by this site, filled in by a program, sent too fast, or too big."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.core import public_forms
from crm.core.public_forms import PublicFormHit
from crm.database import utcnow
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.statements.models import Statement, StatementSignature
from tests.conftest import count_rows
from tests.statements.conftest import form_data, sign

pytestmark = pytest.mark.usefixtures("clock")

LONG = "x" * 5000
HOSTILE = {
    "organisation": ["", "  ", "A" * 301, "Bell\x07", "Evil\u202eOrg", "Two\nlines", "Zero\u200bwidth"],
    "country": ["", "ZZZ", "VE", "<script>", "' OR 1=1 --"],
    "website": [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://user:pass@evil.example",
        "https://exa mple.org",
        "ftp://example.org",
        "https://localhost",
        "https://" + "a" * 500 + ".org",
        "https://example.org/\u202e",
    ],
    "signer_name": ["", "   ", "N" * 201, "Name\x00", "Name\u2028Two", "\u202eegasseM"],
    "signer_role": ["R" * 201, "Role\x1b[31m"],
    "email": ["", "not-an-email", "a@b.c\r\nBcc: x@example.org", "x" * 250 + "@example.org", "<script>@x.org"],
    "listing": ["everyone", ""],
    "kind": ["individual", "robot"],
    "consent": [None],
}
CASES = [(name, value) for name, values in HOSTILE.items() for value in values]


def _nothing_changed(statement: Statement) -> None:
    assert count_rows(StatementSignature) == 0
    assert count_rows(OutboundMessage) == 0
    assert count_rows(PublicFormHit) == 0
    db.session.refresh(statement)
    assert statement.frozen_at is None


@pytest.mark.parametrize(("name", "value"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_a_hostile_value_in_a_field_is_refused_and_changes_nothing(client, statement, name, value):
    response = sign(client, statement, **{name: value})
    assert response.status_code == 400, (name, value, response.status_code)
    html = response.get_data(as_text=True)
    assert 'class="error"' in html or "NUL character" in html
    assert "<script>alert" not in html
    _nothing_changed(statement)


def test_a_filled_honeypot_is_refused(client, statement):
    response = sign(client, statement, homepage="https://spam.example")
    assert response.status_code == 400 and "could not be accepted" in response.get_data(as_text=True)
    _nothing_changed(statement)


@pytest.mark.parametrize(
    "started",
    [
        None,
        "",
        "not-signed",
        "WyJzdGF0ZW1lbnQiLCAxXQ.forged",
        "x" * 300,
    ],
)
def test_a_form_this_site_did_not_draw_is_refused(client, statement, started):
    response = sign(client, statement, started=started)
    assert response.status_code == 400 and "could not be read" in response.get_data(as_text=True)
    _nothing_changed(statement)


def test_a_form_signed_for_another_form_or_with_another_key_is_refused(app, client, statement):
    other_form = public_forms.stamp("petition", utcnow() - dt.timedelta(minutes=1), scope=statement.slug)
    assert sign(client, statement, started=other_form).status_code == 400
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("another-key", salt="alcance.public-form").dumps(
        ["statement", int((utcnow() - dt.timedelta(minutes=1)).timestamp())]
    )
    assert sign(client, statement, started=forged).status_code == 400
    _nothing_changed(statement)


def test_a_form_sent_faster_than_a_person_fills_it_is_refused_then_accepted(client, statement, clock):
    started = public_forms.stamp("statement", utcnow(), scope=statement.slug)
    response = sign(client, statement, started=started)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "faster than a person" in html
    assert "Acción Solidaria" in html  # what was typed is kept
    _nothing_changed(statement)
    clock.advance(seconds=5)
    assert sign(client, statement, started=started).status_code == 302


def test_a_form_open_too_long_is_drawn_again(client, statement, clock):
    started = public_forms.stamp("statement", utcnow() - dt.timedelta(days=2), scope=statement.slug)
    response = sign(client, statement, started=started)
    assert response.status_code == 400 and "open too long" in response.get_data(as_text=True)
    assert started not in response.get_data(as_text=True)  # a new moment to send it with
    _nothing_changed(statement)


def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(app, client, statement):
    app.config["WTF_CSRF_ENABLED"] = True  # would read the body to find its token, and answer 400
    try:
        response = client.post(
            f"/s/{statement.slug}", data={**form_data(statement.slug), "organisation": "x" * 40_000}, environ_base={}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 413 and "larger than this page accepts" in response.get_data(as_text=True)
    _nothing_changed(statement)


def test_the_form_needs_no_session_nor_csrf_token_and_sets_no_cookie(app, client, statement, clock):
    """Its one-time form token stands in for the session-bound CSRF token (crm/core/public_forms.py)."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        shown = client.get(f"/s/{statement.slug}")
        page = shown.get_data(as_text=True)
        assert "Set-Cookie" not in shown.headers and 'name="csrf_token"' not in page
        started = page.split('name="started" type="hidden" value="')[1].split('"')[0]
        clock.advance(seconds=20)
        response = sign(client, statement, started=started)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 302
    assert count_rows(StatementSignature) == 1


def test_a_form_sent_again_with_the_same_token_is_refused_and_writes_nothing(client, statement):
    started = public_forms.stamp("statement", utcnow() - dt.timedelta(minutes=1), scope=statement.slug)
    assert sign(client, statement, started=started).status_code == 302
    before = (count_rows(StatementSignature), count_rows(OutboundMessage))
    response = sign(client, statement, started=started, email="another@example.org")
    assert response.status_code == 400 and "already sent once" in response.get_data(as_text=True)
    assert (count_rows(StatementSignature), count_rows(OutboundMessage)) == before


def test_a_closed_statement_takes_no_signature(client, statement, clock):
    statement.closes_on = clock.today() - dt.timedelta(days=1)
    db.session.commit()
    page = client.get(f"/s/{statement.slug}").get_data(as_text=True)
    assert "not open for signatures" in page and 'name="signer_name"' not in page
    response = sign(client, statement)
    assert response.status_code == 409
    _nothing_changed(statement)


def test_a_statement_not_yet_open_is_not_public(client, statement, clock):
    statement.opens_on = clock.today() + dt.timedelta(days=1)
    db.session.commit()
    assert client.get(f"/s/{statement.slug}").status_code == 404
    assert sign(client, statement).status_code == 404
    _nothing_changed(statement)


@pytest.mark.parametrize("lang", ["<script>", "fr", "es'--", "x" * 300])
def test_an_unknown_language_in_the_address_is_ignored(client, statement, lang):
    response = client.get(f"/s/{statement.slug}", query_string={"lang": lang})
    assert response.status_code == 200 and "<script>" not in response.get_data(as_text=True).split("<body")[1][:400]


def test_a_script_in_an_accepted_name_comes_back_escaped(app, client, statement, signed_up, clock):
    from crm.statements import services as statements

    signature, _ = signed_up(organisation='<script>alert("x")</script>Org', signer_name="<img src=x onerror=alert(1)>")
    statements.approve(signature, actor="test", now=clock.now())
    db.session.commit()
    html = client.get(f"/s/{statement.slug}").get_data(as_text=True)
    assert '<script>alert("x")' not in html and "&lt;script&gt;" in html
