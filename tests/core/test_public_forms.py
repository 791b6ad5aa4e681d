"""The safety every public form shares (crm/core/public_forms.py), apart from any one form: who is counted
as one client and one network, the signed moment a form was shown, and counts kept in the database."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from crm.core import public_forms
from crm.core.public_forms import Limit, PublicFormHit
from crm.extensions import db
from tests.conftest import count_rows

NOW = dt.datetime(2026, 6, 17, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("address", "client", "network"),
    [
        ("203.0.113.77", "address:203.0.113.77", "network:203.0.113.0/24"),
        ("::ffff:203.0.113.77", "address:203.0.113.77", "network:203.0.113.0/24"),
        ("2001:db8:aa:bb:1:2:3:4", "address:2001:db8:aa:bb::/64", "network:2001:db8:aa::/48"),
        ("fe80::1%eth0", "address:fe80::/64", "network:fe80::/48"),
        ("not an address", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_a_client_and_its_network(address, client, network):
    assert public_forms.address_key(address) == client
    assert public_forms.network_key(address) == network


def test_the_moment_a_form_was_shown_is_signed_for_that_form(app):
    stamp = public_forms.stamp("petition", NOW)
    assert public_forms.shown_at("petition", stamp) == NOW
    assert public_forms.shown_at("statement", stamp) is None  # another form's
    assert public_forms.shown_at("petition", stamp[:-2] + "xx") is None  # tampered
    assert public_forms.shown_at("petition", None) is None
    assert public_forms.shown_at("petition", "a" * 500) is None


def test_limits_count_within_their_window_and_old_counts_go(app):
    limit = Limit("email:abc", 2)
    assert not public_forms.over_limit("petition", [limit], now=NOW)
    for minutes in (0, 10):
        public_forms.count("petition", address=None, now=NOW + dt.timedelta(minutes=minutes), also=(limit,))
    assert public_forms.over_limit("petition", [limit], now=NOW + dt.timedelta(minutes=20))
    assert not public_forms.over_limit("statement", [limit], now=NOW + dt.timedelta(minutes=20))  # another form
    assert not public_forms.over_limit("petition", [limit], now=NOW + dt.timedelta(minutes=61))
    public_forms.count("petition", address="198.51.100.1", now=NOW + dt.timedelta(days=2))
    assert count_rows(PublicFormHit) == 2  # the day-old counts went as these came in
    assert {hit.key for hit in db.session.scalars(db.select(PublicFormHit))} == {
        "address:198.51.100.1",
        "network:198.51.100.0/24",
    }


def test_a_personal_key_keeps_only_a_keyed_hash(app):
    key = public_forms.hashed_key("email", " Ana@Example.org ")
    assert key == public_forms.hashed_key("email", "ana@example.org")
    assert "ana" not in key and key.startswith("email:") and len(key) == len("email:") + 64
    # Not the plain SHA-256 anyone could compute from a list of addresses.
    assert key != "email:" + hashlib.sha256(b"ana@example.org").hexdigest()
