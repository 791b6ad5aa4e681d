"""Turning what a petition platform wrote into what Alcance counts: e-mail keys, countries, dates.

E-mail addresses (the documented rules):
  1. Surrounding white space is removed, the text is put in Unicode NFC and lower-cased.
  2. It must look like an address: one local part and one domain separated by the last "@", no white
     space or control characters, a domain with at least one dot and no empty label, at most 254
     characters. Anything else is an invalid row, never a guess.
  3. A domain written in Unicode is turned into its ASCII (IDNA) form, so "bücher.example" and
     "xn--bcher-kva.example" are one address.
  4. Dots and "+tags" in the local part are KEPT by default: for most providers "ana.p@x" and "anap@x",
     or "ana+peticion@x", are different mailboxes, possibly of different people, and merging them would
     under-count. With SIGNATURE_GMAIL_RULE on, and only for gmail.com and googlemail.com (where Google
     documents that dots are ignored and "+anything" is delivered to the same inbox), dots and the
     "+tag" are removed and googlemail.com becomes gmail.com.
The address itself is never stored: only HMAC-SHA256(key, normalised address), hex.

Signers without an e-mail address (an export whose platform gives none: Change.org, ControlShift's
creator export, openPetition): the row's key is HMAC-SHA256(key, petition id + normalised full name +
postal code, or city when there is none + country), hex (`EmailHasher.name_key`). Names and places are
put in Unicode NFKD, accents and punctuation dropped, case folded, spaces collapsed ("Ana  Pérez" and
"ana perez" are one name; "M5V 2T6" and "m5v2t6" one postal code). The petition is part of the key, so
such rows are de-duplicated within their petition only: nothing links them to the same person's row on
another platform, which is why the totals give a range (crm/signatures/totals.py).

The key is SIGNATURE_HASH_KEY when the installation sets it; otherwise it is derived from SECRET_KEY
with HKDF-SHA256 and the label below. Changing either (or the Gmail rule) changes every hash, so
de-duplication against earlier imports would silently fail: imports refuse to run when the key's
fingerprint differs from the one recorded with the campaign's earlier imports.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
import sqlalchemy as sa
from flask import current_app

from crm.countries.models import Country
from crm.database import fold
from crm.extensions import db

HKDF_LABEL = b"alcance/signatures/email-hash/v1"
KEY_ID_LABEL = b"alcance/signatures/key-id/v1"
EMAIL_MAX = 254
ALIASES_FILE = Path(__file__).resolve().parent.parent.parent / "seeds" / "country_aliases.csv"
GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_MISSING = object()

_FORBIDDEN_IN_EMAIL = re.compile(r"[\s\x00-\x1f\x7f<>()\[\],;:\\\"]")
# The common case, checked in one pass: an ASCII dot-atom local part and a domain of valid labels. What
# does not match goes through the full rules below (which accept nothing this pattern would refuse
# wrongly: the two agree on every address this pattern accepts).
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+{_LABEL}")


# ---------------------------------------------------------------------------------------------------
# The hash key


def _hkdf_sha256(secret: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256 and an all-zero salt (the secret is already a random key)."""
    prk = hmac.new(b"\x00" * 32, secret, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


@dataclass(frozen=True)
class EmailHasher:
    """Normalises and hashes addresses with the installation's key; the key never leaves this object."""

    key: bytes = field(repr=False)
    gmail_rule: bool = False

    @classmethod
    def from_config(cls, config=None) -> EmailHasher:
        config = config if config is not None else current_app.config
        explicit = config.get("SIGNATURE_HASH_KEY")
        if explicit:
            key = explicit.encode() if isinstance(explicit, str) else bytes(explicit)
        else:
            secret = config.get("SECRET_KEY")
            if not secret:
                raise RuntimeError("neither SIGNATURE_HASH_KEY nor SECRET_KEY is set")
            key = _hkdf_sha256(secret.encode() if isinstance(secret, str) else bytes(secret), HKDF_LABEL)
        return cls(key=key, gmail_rule=bool(config.get("SIGNATURE_GMAIL_RULE", False)))

    @property
    def key_id(self) -> str:
        """A fingerprint of the key and rules, recorded with every import (it reveals nothing of the key)."""
        rules = b"|gmail=1" if self.gmail_rule else b"|gmail=0"
        return hmac.new(self.key, KEY_ID_LABEL + rules, hashlib.sha256).hexdigest()[:16]

    def normalise(self, raw: str | None) -> str | None:
        return normalise_email(raw, gmail_rule=self.gmail_rule)

    def digester(self):
        """A function computing HMAC-SHA256(key, address) as hex: RFC 2104 with the key's inner and outer
        SHA-256 states computed once, which is several times faster per address than hmac.digest()."""
        key = self.key if len(self.key) <= 64 else hashlib.sha256(self.key).digest()
        key = key.ljust(64, b"\x00")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

        def digest(normalised: str) -> str:
            h = inner.copy()
            h.update(normalised.encode("utf-8"))
            o = outer.copy()
            o.update(h.digest())
            return o.hexdigest()

        return digest

    def digest(self, normalised: str) -> str:
        return hmac.digest(self.key, normalised.encode("utf-8"), "sha256").hex()

    def name_key(self, petition_id: int, full_name: str, place: str, country: str) -> str:
        """The key of a signer known by name and place (already normalised by `name_parts`), within one
        petition. Its leading "name" field and separators (never in an address) keep it apart from every address's hash."""
        text = "\x1f".join(("name", str(petition_id), full_name, place, country))
        return hmac.digest(self.key, text.encode("utf-8"), "sha256").hex()

    def hash_email(self, raw: str | None) -> str | None:
        """The key of an address, or None if it is not a usable address."""
        email = normalise_email(raw, gmail_rule=self.gmail_rule)
        return None if email is None else hmac.digest(self.key, email.encode("utf-8"), "sha256").hex()


def normalise_email(raw: str | None, *, gmail_rule: bool = False) -> str | None:
    if not raw:
        return None
    email = raw.strip().lower()
    if (
        email.isascii()
        and _PLAIN_EMAIL.fullmatch(email)
        and len(email) <= EMAIL_MAX
        and email.index("@") <= 64
        and not (gmail_rule and email.endswith(("@gmail.com", "@googlemail.com")))
    ):
        return email
    email = raw.strip()
    if not email.isascii():
        email = unicodedata.normalize("NFC", email)
    email = email.lower()
    if len(email) > EMAIL_MAX or _FORBIDDEN_IN_EMAIL.search(email):
        return None
    local, at, domain = email.rpartition("@")
    if not at or not local or "@" in local or len(local) > 64:
        return None
    domain = domain.rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    labels = domain.split(".")
    if len(labels) < 2 or any(
        not label or len(label) > 63 or label.startswith("-") or label.endswith("-") for label in labels
    ):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if gmail_rule and domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
        domain = "gmail.com"
    return f"{local}@{domain}"


def plain_words(text: str | None) -> str:
    """Accents, punctuation and case dropped, spaces collapsed: "  Ana-María  PÉREZ " -> "ana maria perez"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(kept.casefold().split())


def name_parts(full_name: str | None, postal_code: str | None, city: str | None, country: str | None):
    """The normalised (name, place, country) of a signer without an address, or None when the name or
    both the postal code and the city are missing: such a row cannot be told apart from others."""
    name = plain_words(full_name)
    postal = plain_words(postal_code).replace(" ", "")
    place = f"postal:{postal}" if postal else (f"city:{plain_words(city)}" if plain_words(city) else "")
    if not name or not place:
        return None
    return name, place, (country or "").strip()


# ---------------------------------------------------------------------------------------------------
# Countries of residence


def country_key(text: str) -> str:
    """Case, accents, punctuation and spacing ignored: "EE. UU." -> "eeuu", "Côte d’Ivoire" -> "cotedivoire"."""
    return "".join(ch for ch in fold(text.replace("&", " and ")) if ch.isalnum())


class CountryResolver:
    """ISO country ids from what signers typed: an ISO alpha-2 or alpha-3 code, a name in English or
    Spanish (CLDR, through the names stored with each country), an ISO 3166-1 name or official name
    (pycountry), or an alias from seeds/country_aliases.csv. A name that could mean two countries is
    refused rather than guessed; so is anything else not listed."""

    CACHE_MAX = 20_000

    def __init__(self, aliases_file: Path = ALIASES_FILE):
        rows = db.session.execute(
            sa.select(Country.id, Country.alpha2, Country.alpha3, Country.name_en, Country.name_es)
        ).all()
        self.codes: dict[str, int] = {}
        self.alpha3: dict[int, str] = {}
        names: dict[str, set[int]] = {}

        def add(name: str | None, country_id: int | None) -> None:
            if name and country_id is not None:
                key = country_key(name)
                if key:
                    names.setdefault(key, set()).add(country_id)

        by_alpha3 = {}
        for country_id, alpha2, alpha3, name_en, name_es in rows:
            self.codes[alpha2.lower()] = country_id
            self.codes[alpha3.lower()] = country_id
            self.alpha3[country_id] = alpha3
            by_alpha3[alpha3] = country_id
            add(name_en, country_id)
            add(name_es, country_id)
        for iso in pycountry.countries:
            country_id = by_alpha3.get(iso.alpha_3)
            for attribute in ("name", "official_name", "common_name"):
                add(getattr(iso, attribute, None), country_id)
        refused: set[str] = set()
        if aliases_file.exists():
            with open(aliases_file, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    alpha3 = (row.get("alpha3") or "").strip().upper()
                    if alpha3:
                        add(row["alias"], by_alpha3.get(alpha3))
                    else:
                        refused.add(country_key(row["alias"]))
        # A key that names two countries is ambiguous: it stays unknown.
        self.names = {key: next(iter(ids)) for key, ids in names.items() if len(ids) == 1 and key not in refused}
        self._cache: dict[str, int | None] = {}

    def resolve(self, raw: str | None) -> int | None | bool:
        """The country's id; None when nothing was given; False when the value is not understood."""
        if raw is None:
            return None
        cached = self._cache.get(raw, _MISSING)
        if cached is not _MISSING:
            return cached
        text = raw.strip()
        if not text:
            result = None
        else:
            result = self.codes.get(text.lower()) if len(text) in (2, 3) else None
            if result is None:
                result = self.names.get(country_key(text), False)
        if len(self._cache) < self.CACHE_MAX:
            self._cache[raw] = result
        return result


# ---------------------------------------------------------------------------------------------------
# Dates


DATE_ORDERS = ("ymd", "dmy", "mdy")
_SLASHED = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")


def parse_signed_at(raw: str | None, order: str = "ymd") -> dt.datetime | None | bool:
    """When the person signed, in UTC. ISO 8601 is always understood; "03/04/2018" only with the order
    the user chose for the file (day-month-year or month-day-year), never guessed. A time without a zone
    is taken as UTC. None when empty, False when not understood."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None:
        match = _SLASHED.match(text)
        if not match:
            return False
        a, b, c, hour, minute, second = match.groups()
        try:
            if len(a) == 4:
                year, month, day = int(a), int(b), int(c)
            elif order == "dmy":
                day, month, year = int(a), int(b), int(c)
            elif order == "mdy":
                month, day, year = int(a), int(b), int(c)
            else:
                return False
            if year < 100:
                return False
            value = dt.datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0))
        except ValueError:
            return False
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
