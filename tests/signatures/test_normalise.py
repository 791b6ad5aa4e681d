"""E-mail keys, countries of residence and dates, as documented in crm/signatures/normalise.py."""

import datetime as dt
import hashlib

import pytest

from crm.signatures.normalise import CountryResolver, EmailHasher, normalise_email, parse_signed_at


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Ana.Perez@Example.ORG ", "ana.perez@example.org"),
        ("ana+peticion@example.org", "ana+peticion@example.org"),  # plus-tags kept by default
        ("a.n.a@gmail.com", "a.n.a@gmail.com"),  # dots kept by default, even at Gmail
        ("JOSÉ@example.org", "josé@example.org"),
        ("jose\u0301@example.org", "jos\u00e9@example.org"),  # NFC: decomposed é equals composed é
        ("ines@bücher.example", "ines@xn--bcher-kva.example"),  # Unicode domain in its ASCII form
        ("ines@xn--bcher-kva.example", "ines@xn--bcher-kva.example"),
        ("ana@example.org.", "ana@example.org"),
    ],
)
def test_addresses_are_trimmed_lowercased_and_put_in_nfc(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "not-an-email",
        "@example.org",
        "ana@",
        "ana@localhost",
        "ana @example.org",
        "ana@exa mple.org",
        "ana@@example.org",
        "ana@example..org",
        ".ana@example.org",
        "an..a@example.org",
        "ana@-example.org",
        "a" * 65 + "@x.org",
        "ana\n@example.org",
        "<ana@example.org>",
        "ana@example.org;bea@example.org",
    ],
)
def test_what_is_not_an_address_is_refused_not_guessed(raw):
    assert normalise_email(raw) is None


def test_the_optional_gmail_rule_drops_dots_and_tags_at_gmail_only():
    assert normalise_email("A.N.A+peticion@googlemail.com", gmail_rule=True) == "ana@gmail.com"
    assert normalise_email("a.n.a+x@example.org", gmail_rule=True) == "a.n.a+x@example.org"


def test_the_hash_is_keyed_and_the_key_comes_from_config(app):
    hasher = EmailHasher.from_config({"SECRET_KEY": "one"})
    again = EmailHasher.from_config({"SECRET_KEY": "one"})
    other = EmailHasher.from_config({"SECRET_KEY": "two"})
    explicit = EmailHasher.from_config({"SECRET_KEY": "one", "SIGNATURE_HASH_KEY": "installation key"})
    digest = hasher.hash_email("Ana@Example.org")
    assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    assert digest == again.hash_email(" ana@example.org")
    assert digest != hashlib.sha256(b"ana@example.org").hexdigest()  # not a plain, guessable hash
    assert digest != other.hash_email("ana@example.org") != explicit.hash_email("ana@example.org")
    assert hasher.key_id == again.key_id != other.key_id
    assert EmailHasher.from_config({"SECRET_KEY": "one", "SIGNATURE_GMAIL_RULE": True}).key_id != hasher.key_id
    assert "installation key" not in repr(explicit)


@pytest.mark.parametrize(
    "raw, alpha3",
    [
        ("España", "ESP"),
        ("Espana", "ESP"),
        ("Spain", "ESP"),
        ("ES", "ESP"),
        ("ESP", "ESP"),
        ("esp", "ESP"),
        ("Estados Unidos", "USA"),
        ("EE. UU.", "USA"),
        ("United States of America", "USA"),
        ("USA", "USA"),
        ("Côte d'Ivoire", "CIV"),
        ("Costa de Marfil", "CIV"),
        ("Venezuela, Bolivarian Republic of", "VEN"),
        ("venezuela", "VEN"),
        ("Türkiye", "TUR"),
        ("Turkey", "TUR"),
        ("Turquía", "TUR"),
        ("Reino Unido", "GBR"),
        ("  Canadá ", "CAN"),
        ("Países Bajos", "NLD"),
        ("Bosnia & Herzegovina", "BIH"),
        ("Bosnia and Herzegovina", "BIH"),
        ("República Democrática del Congo", "COD"),
    ],
)
def test_countries_are_understood_in_english_spanish_or_as_codes(app, raw, alpha3):
    from crm.countries.services import country_by_code

    assert CountryResolver().resolve(raw) == country_by_code(alpha3).id


@pytest.mark.parametrize("raw", ["Narnia", "Congo", "Korea", "Corea", "Caracas", "XX", "Spanien", "ZZZ", "1"])
def test_unknown_or_ambiguous_countries_are_not_guessed(app, raw):
    assert CountryResolver().resolve(raw) is False


def test_an_empty_country_is_not_unknown_just_absent(app):
    assert CountryResolver().resolve("") is None
    assert CountryResolver().resolve(None) is None


@pytest.mark.parametrize(
    "raw, order, expected",
    [
        ("2018-05-20", "ymd", dt.datetime(2018, 5, 20, tzinfo=dt.UTC)),
        ("2018-05-20T17:07:31Z", "ymd", dt.datetime(2018, 5, 20, 17, 7, 31, tzinfo=dt.UTC)),
        ("2018-05-20 19:07:31+02:00", "ymd", dt.datetime(2018, 5, 20, 17, 7, 31, tzinfo=dt.UTC)),
        ("20/05/2018", "dmy", dt.datetime(2018, 5, 20, tzinfo=dt.UTC)),
        ("20.05.2018 10:30", "dmy", dt.datetime(2018, 5, 20, 10, 30, tzinfo=dt.UTC)),
        ("05/20/2018", "mdy", dt.datetime(2018, 5, 20, tzinfo=dt.UTC)),
        ("", "ymd", None),
        ("03/04/2018", "ymd", False),  # day or month first? never guessed
        ("yesterday", "dmy", False),
        ("31/02/2018", "dmy", False),
    ],
)
def test_dates(raw, order, expected):
    assert parse_signed_at(raw, order) == expected
