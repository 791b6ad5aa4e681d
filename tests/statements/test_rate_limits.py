"""Sign-ups are limited per address, per network (/24, /48) and per e-mail address, counted in the database
so that every worker counts the same; over a limit the answer is 429 and nothing changes."""

from __future__ import annotations

import pytest

from crm.core import public_forms
from crm.core.public_forms import PublicFormHit
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.statements.models import StatementSignature
from tests.conftest import count_rows
from tests.statements.conftest import sign

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def limits(app):
    saved = {name: app.config.get(name) for name in public_forms.SETTINGS}
    app.config.update(PUBLIC_FORM_ADDRESS_LIMIT=2, PUBLIC_FORM_NETWORK_LIMIT=3)
    yield
    app.config.update(saved)


def _sign_as(client, statement, n: int, address: str, **changes):
    return sign(
        client,
        statement,
        address=address,
        email=changes.pop("email", f"person{n}@org{n}.example.org"),
        organisation=f"Organisation {n}",
        **changes,
    )


def test_one_address_may_sign_up_so_many_times_an_hour(client, statement, limits, clock):
    assert [_sign_as(client, statement, n, "198.51.100.7").status_code for n in range(3)] == [302, 302, 429]
    refused = _sign_as(client, statement, 9, "198.51.100.7")
    assert refused.status_code == 429 and "Too many submissions" in refused.get_data(as_text=True)
    assert count_rows(StatementSignature) == 2 and count_rows(OutboundMessage) == 2
    assert _sign_as(client, statement, 10, "203.0.113.5").status_code == 302  # another network
    clock.advance(hours=1, seconds=1)
    assert _sign_as(client, statement, 11, "198.51.100.7").status_code == 302


def test_a_network_is_counted_as_a_whole(client, statement, limits):
    answers = [_sign_as(client, statement, n, f"198.51.100.{n + 1}").status_code for n in range(4)]
    assert answers == [302, 302, 302, 429]  # four addresses of one /24
    assert _sign_as(client, statement, 5, "198.51.101.1").status_code == 302  # the next /24


def test_an_ipv6_client_is_counted_by_its_64_and_its_network_by_its_48(client, statement, limits):
    same_64 = ["2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff::9"]
    assert [_sign_as(client, statement, n, a).status_code for n, a in enumerate(same_64)] == [302, 302, 429]
    assert _sign_as(client, statement, 3, "2001:db8:1:2::1").status_code == 302  # same /48: its third
    assert _sign_as(client, statement, 4, "2001:db8:1:3::1").status_code == 429  # the /48's fourth
    assert _sign_as(client, statement, 5, "2001:db8:2::1").status_code == 302  # another /48


def test_one_email_address_gets_so_many_links_a_day(app, client, statement):
    app.config["STATEMENT_SIGNUPS_PER_EMAIL"] = 2
    try:
        answers = [
            _sign_as(client, statement, n, f"192.0.{n}.1", email="target@victim.example").status_code for n in range(3)
        ]
    finally:
        app.config["STATEMENT_SIGNUPS_PER_EMAIL"] = 3
    assert answers == [302, 302, 429]
    assert count_rows(OutboundMessage) == 2


def test_what_another_worker_counted_counts_here(client, statement, limits, clock):
    """The counts are rows in the database, not a worker's memory: two sign-ups counted elsewhere (another
    worker, another server) hold this address back."""
    for _ in range(2):
        db.session.add(PublicFormHit(form="statement", key="address:198.51.100.7", occurred_at=clock.now()))
    db.session.commit()
    assert _sign_as(client, statement, 1, "198.51.100.7").status_code == 429
    assert count_rows(StatementSignature) == 0


def test_refused_submissions_do_not_count(client, statement, limits):
    for n in range(5):
        assert _sign_as(client, statement, n, "198.51.100.7", consent=None).status_code == 400
    assert count_rows(PublicFormHit) == 0
    assert _sign_as(client, statement, 9, "198.51.100.7").status_code == 302


def test_the_counts_are_forgotten_after_a_day(client, statement, clock):
    _sign_as(client, statement, 1, "198.51.100.7")
    assert count_rows(PublicFormHit) == 4  # the address, its network, the e-mail address, the form's nonce
    clock.advance(days=1, minutes=1)
    _sign_as(client, statement, 2, "203.0.113.9")
    assert {hit.key for hit in db.session.scalars(db.select(PublicFormHit))} >= {"address:203.0.113.9"}
    assert count_rows(PublicFormHit) == 4
