"""Benchmark data: an organisation's history at its real size, in a database given by URL.

    .venv/bin/python bench/scale.py postgresql://postgres@127.0.0.1:5432/alcance_bench     # --scale 1
    .venv/bin/python bench/scale.py sqlite:////tmp/alcance-bench.db --scale 0.05
    .venv/bin/python bench/scale.py postgresql://postgres@127.0.0.1:5432/alcance_bench --create   # new DB

At --scale 1 (issue 14): 250 countries (the reference seeds), 21 campaigns, 3,500 outreach records,
20,000 contacts in 4,500 offices, 200,000 meetings and letters, 66,000 follow-ups, 1,000,000 signatures
and 426,000 audit events. --scale shrinks everything but the countries and the campaigns. The shapes are an
organisation's: a few busy countries (Spain, Colombia, the United States...) carry most of the meetings,
letters, contacts and signatures; names and cities have accents (Łódź, São Paulo, Nguyễn, Müller).

The database is brought to the newest migration and seeded with the reference data (as `flask setup`
does, without the demo), then every table is filled by bulk inserts: COPY on PostgreSQL, the driver's
executemany on SQLite. Rows are built as dicts by column name; `Bulk` fills any column a row leaves out
from the model's Python default, so a column added later with a default needs nothing here, and a key
for a column the schema does not have (yet) is dropped with a note (see `audit_event.campaign_id`).

Users who can sign in, each with the password BENCH_PASSWORD; admin and manager have a second factor
with the TOTP key BENCH_TOTP_SECRET (the test suite's):
    admin@bench.example.org, manager@bench.example.org, coordinator@bench.example.org,
    volunteer@bench.example.org (assigned about 377 outreach records at --scale 1: "My work").
What bench/pages.py needs (the busiest and a typical country, a campaign, a letter, a contact) is written
to <database>.json beside a SQLite file, or printed (and written to --facts) for PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import random
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PASSWORD = "correct horse battery staple"
BENCH_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the test suite's fixed key: benchmark data only
BENCH_DATA_KEY = "dGVzdC1rZXktZm9yLWVuY3J5cHRpb24tYXQtcmVzdCE="  # a fixed Fernet key, benchmark data only
BENCH_SECRET_KEY = "benchmark-secret-key-not-for-production"
UTC = dt.UTC

FULL = {
    "campaigns": 21,
    "outreach": 3500,
    "offices": 4500,
    "contacts": 20000,
    "meetings": 100000,
    "letters": 100000,
    "follow_ups": 66000,
    "signatures": 1000000,
    "audit_events": 426000,
    "volunteers": 40,
    "coordinators": 8,
}
# Where most of the work happens: a diaspora campaign's busiest governments, heaviest first.
BUSY = ("ESP", "COL", "USA", "ARG", "CHL", "PER", "MEX", "FRA", "DEU", "ITA", "CAN", "BRA", "ECU", "PAN", "GBR")
SIGNER_COUNTRIES = (
    "COL",
    "PER",
    "ESP",
    "USA",
    "CHL",
    "ARG",
    "ECU",
    "BRA",
    "MEX",
    "PAN",
    "ITA",
    "CAN",
    "DOM",
    "CRI",
    "URY",
    "PRT",
    "DEU",
    "FRA",
    "GBR",
    "VEN",
)
FIRST_NAMES = (
    "José",
    "María",
    "Łukasz",
    "François",
    "Zoë",
    "Søren",
    "Ólafur",
    "Ana",
    "João",
    "Chloé",
    "Jürgen",
    "Ștefan",
    "Ángel",
    "Inés",
    "Małgorzata",
    "Dvořák",
    "Ñusta",
    "Thị",
    "Hélène",
    "Piotr",
    "Carlos",
    "Emma",
    "Ahmed",
    "Yūko",
    "Renée",
    "Tomáš",
    "Björn",
    "Ewa",
    "Luis",
    "Camila",
)
LAST_NAMES = (
    "Muñoz",
    "Nguyễn",
    "Müller",
    "Gómez",
    "Brontë",
    "Đorđević",
    "Łęcka",
    "Çelik",
    "Pérez",
    "Hernández",
    "Dupont",
    "Smith",
    "Kowalski",
    "Sørensen",
    "Ibáñez",
    "Castaño",
    "Wójcik",
    "Andrés",
    "Núñez",
    "García",
    "Oñate",
    "Jiménez",
    "Rodríguez",
    "Ferrão",
    "Schröder",
    "Lefèvre",
    "Ødegaard",
    "Ruiz",
)
TITLES = (
    "Ambassador",
    "Deputy Head of Mission",
    "First Secretary",
    "Second Secretary",
    "Counsellor",
    "Consul General",
    "Political Officer",
    "Human Rights Attaché",
    "Director for the Américas",
    "Desk Officer, Venezuela",
    "Press Attaché",
    "Chargé d'affaires",
)
CITIES = (
    "Madrid",
    "Bogotá",
    "Washington",
    "Buenos Aires",
    "Santiago",
    "Lima",
    "Ciudad de México",
    "París",
    "Berlín",
    "Roma",
    "Ottawa",
    "Brasília",
    "Quito",
    "Panamá",
    "Londres",
    "Łódź",
    "São Paulo",
    "Zürich",
    "Reykjavík",
    "Montréal",
    "Córdoba",
    "Málaga",
    "Kraków",
    "Genève",
    "Düsseldorf",
    "Québec",
    "Bruxelles",
    "La Haya",
    "Nueva York",
    "Miami",
    "Barcelona",
    "Medellín",
    "Cúcuta",
    "Valparaíso",
    "Porto Alegre",
)
ACTIONS = (
    "outreach.update",
    "outreach.stage",
    "meeting.create",
    "letter.create",
    "follow_up.done",
    "position.create",
    "contact.update",
    "outreach.assign",
    "letter.deliver",
    "follow_up.create",
)


def scaled(scale: float) -> dict:
    return {
        key: max(1, round(value * scale)) if key not in ("campaigns", "volunteers", "coordinators") else value
        for key, value in FULL.items()
    }


def ascii_fold(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .replace("ł", "l")
        .replace("Ł", "L")
        .replace("đ", "d")
        .replace("Đ", "D")
        .replace("ø", "o")
        .lower()
    )


class Bulk:
    """Bulk inserts by table name, rows as dicts. Values go through each column's own bind processing
    (UTC timestamps, JSON, booleans), so what lands is what the ORM would have written."""

    def __init__(self, engine):
        from crm.extensions import db

        self.engine = engine
        self.dialect = engine.dialect
        self.metadata = db.metadata
        self.noted: set[tuple[str, str]] = set()
        self.counts: dict[str, int] = {}

    def _defaults(self, table):
        defaults = {}
        for column in table.columns:
            default = column.default
            if default is None or not (default.is_scalar or default.is_callable):
                continue
            defaults[column.name] = (
                (lambda d=default: d.arg(None)) if default.is_callable else (lambda d=default: d.arg)
            )
        return defaults

    def insert(self, table_name: str, rows, chunk: int = 20000) -> int:
        table = self.metadata.tables[table_name]
        defaults = self._defaults(table)
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return 0
        rows = itertools.chain([first], rows)
        # A generated key the rows do not give is left to the database.
        columns = [
            column
            for column in table.columns
            if column.name in first
            or not (
                column.primary_key and column.autoincrement in (True, "auto") and len(table.primary_key.columns) == 1
            )
        ]
        processors = [column.type._cached_bind_processor(self.dialect) for column in columns]
        names = [column.name for column in columns]
        known = set(names)
        total = 0
        batch = []
        raw = self.engine.raw_connection()
        try:
            for row in rows:
                for key in row.keys() - known:
                    if (table_name, key) not in self.noted:
                        self.noted.add((table_name, key))
                        print(f"  note: {table_name} has no column {key} (yet): left out", flush=True)
                values = []
                for name, processor in zip(names, processors, strict=True):
                    if name in row:
                        value = row[name]
                    elif name in defaults:
                        value = defaults[name]()
                    else:
                        value = None
                    values.append(processor(value) if processor is not None and value is not None else value)
                batch.append(values)
                if len(batch) >= chunk:
                    self._write(raw, table_name, names, batch)
                    total += len(batch)
                    batch = []
            if batch:
                self._write(raw, table_name, names, batch)
                total += len(batch)
            raw.commit()
        finally:
            raw.close()
        self.counts[table_name] = self.counts.get(table_name, 0) + total
        return total

    def _write(self, raw, table_name, names, batch):
        quoted = ", ".join(f'"{name}"' for name in names)
        cursor = raw.cursor()
        if self.dialect.name == "postgresql":
            with cursor.copy(f'COPY "{table_name}" ({quoted}) FROM STDIN') as copy:
                for values in batch:
                    copy.write_row(values)
        else:
            marks = ", ".join("?" for _ in names)
            cursor.executemany(f'INSERT INTO "{table_name}" ({quoted}) VALUES ({marks})', batch)
        cursor.close()

    def reset_sequences(self):
        if self.dialect.name != "postgresql":
            return
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for table in self.metadata.sorted_tables:
                if (
                    "id" in table.columns
                    and table.columns["id"].autoincrement in (True, "auto")
                    and table.columns["id"].primary_key
                ):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f'GREATEST((SELECT max(id) FROM "{table.name}"), 1))'
                    )
            raw.commit()
        finally:
            raw.close()


def weighted_countries(countries: list, rng: random.Random) -> list[float]:
    """A weight per country: the busy ones heavily, the rest on a long tail."""
    weights = []
    for country in countries:
        if country.alpha3 in BUSY:
            weights.append(60.0 / (1 + BUSY.index(country.alpha3)) + 4)
        else:
            weights.append(rng.choice((0.15, 0.3, 0.5, 1.0)))
    return weights


def build(url: str, scale: float, seed: int = 14) -> dict:
    os.environ.setdefault("ALCANCE_INSTANCE_PATH", tempfile.mkdtemp(prefix="alcance-bench-"))
    from flask_migrate import upgrade

    from crm import create_app
    from crm.accounts.models import User
    from crm.config import normalise_database_url
    from crm.countries.models import Country
    from crm.countries.services import load_reference
    from crm.database import fold
    from crm.extensions import db

    sizes = scaled(scale)
    rng = random.Random(seed)
    app = create_app(
        {
            "SECRET_KEY": BENCH_SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "DATA_ENCRYPTION_KEYS": [BENCH_DATA_KEY],
            "TESTING": False,
        }
    )
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        load_reference()
        from crm.letters.letter_templates import load_default_templates

        load_default_templates()
        db.session.commit()
        # Plain rows, not ORM objects: reading an expired object would open a transaction (and, on
        # SQLite, take the write lock) under the bulk inserts.
        countries = db.session.execute(
            db.select(Country.id, Country.alpha2, Country.alpha3, Country.name_en, Country.name_es).order_by(Country.id)
        ).all()
        by_code = {c.alpha3: c for c in countries}
        db.session.commit()  # end the session's transaction: on SQLite it holds the write lock
        bulk = Bulk(db.engine)
        now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        history_start = dt.datetime(2018, 5, 20, tzinfo=UTC)
        span = (now - history_start).total_seconds()

        def moment(r: random.Random = rng, recent_bias: float = 1.0) -> dt.datetime:
            return history_start + dt.timedelta(seconds=span * (r.random() ** (1 / recent_bias)))

        # --- Users: the four who sign in, then the staff records are assigned to.
        probe = User(email="probe@example.org", name="probe")
        probe.set_password(BENCH_PASSWORD)
        password_hash = probe.password_hash
        users = [
            ("admin@bench.example.org", "Admin Bench", "admin", "en", "UTC", True),
            ("manager@bench.example.org", "Mánager Bench", "manager", "es", "Europe/Madrid", True),
            ("coordinator@bench.example.org", "Coordinadora Bench", "coordinator", "es", "Europe/Madrid", False),
            ("volunteer@bench.example.org", "Voluntaria Bench", "volunteer", "es", "America/Bogota", False),
        ]
        for i in range(sizes["coordinators"] - 1):
            users.append(
                (
                    f"coordinator{i}@bench.example.org",
                    f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    "coordinator",
                    rng.choice(("en", "es")),
                    "Europe/Madrid",
                    False,
                )
            )
        for i in range(sizes["volunteers"] - 1):
            users.append(
                (
                    f"volunteer{i}@bench.example.org",
                    f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    "volunteer",
                    rng.choice(("en", "es")),
                    "America/Santiago",
                    False,
                )
            )
        user_rows = []
        for uid, (email, name, role, language, zone, two_factor) in enumerate(users, start=1):
            row = {
                "id": uid,
                "email": email,
                "name": name,
                "role": role,
                "language": language,
                "timezone": zone,
                "password_hash": password_hash,
                "password_changed_at": now,
            }
            if two_factor:
                row.update(totp_secret=BENCH_TOTP_SECRET, totp_enabled_at=now)  # encrypted by the column type
            user_rows.append(row)
        bulk.insert("user", user_rows)
        coordinators = [r["id"] for r in user_rows if r["role"] == "coordinator"]
        volunteers = [r["id"] for r in user_rows if r["role"] == "volunteer"]
        staff = [r["id"] for r in user_rows]
        the_volunteer = 4

        # --- Campaigns, demands, petitions.
        campaign_rows, demand_rows, petition_rows = [], [], []
        demand_ids: dict[int, list[int]] = {}
        demand_id = 0
        for cid in range(1, sizes["campaigns"] + 1):
            year = 2018 + (cid - 1) % 9
            campaign_rows.append(
                {
                    "id": cid,
                    "slug": f"campaign-{cid:02d}-{year}",
                    "name": f"Campaña {cid}: Justicia para Venezuela {year}",
                    "name_es": f"Campaña {cid} {year}",
                    "description": "Benchmark campaign.",
                    "starts_on": dt.date(year, 1 + cid % 12, 1),
                    "default_coordinator_id": coordinators[cid % len(coordinators)],
                    "archived_at": now if cid <= 3 else None,
                    "created_at": moment(),
                }
            )
            demand_ids[cid] = []
            for ordinal in range(1, 4):
                demand_id += 1
                demand_ids[cid].append(demand_id)
                demand_rows.append(
                    {
                        "id": demand_id,
                        "campaign_id": cid,
                        "ordinal": ordinal,
                        "code": f"demand-{ordinal}",
                        "title": f"Demanda {ordinal}: acción número {ordinal}",
                        "description": "Que el gobierno actúe.",
                    }
                )
            petition_rows.append(
                {
                    "id": cid,
                    "campaign_id": cid,
                    "slug": f"petition-{cid:02d}",
                    "name": f"Petición {cid}",
                    "platform": "action_network",
                    "language": "es",
                }
            )
        bulk.insert("campaign", campaign_rows)
        bulk.insert("demand", demand_rows)
        bulk.insert(
            "demand_translation",
            (
                {"demand_id": d["id"], "language": lang, "title": f"{d['title']} ({lang})"}
                for d in demand_rows
                for lang in ("en", "fr")
            ),
        )
        bulk.insert("petition", petition_rows)

        # --- Outreach: each campaign works with ~167 governments, the busy ones always.
        weights = weighted_countries(countries, rng)
        per_campaign = sizes["outreach"] // sizes["campaigns"]  # each campaign at least one, below
        outreach_rows = []
        outreach_by_country: dict[int, list[int]] = {}
        country_weight = {c.id: w for c, w in zip(countries, weights, strict=True)}
        for cid in range(1, sizes["campaigns"] + 1):
            wanted = max(1, per_campaign + (1 if cid <= sizes["outreach"] % sizes["campaigns"] else 0))
            chosen = {by_code[code].id for code in BUSY[:wanted] if code in by_code}
            pool = [c.id for c in countries]
            while len(chosen) < min(wanted, len(pool)):
                chosen.add(rng.choices(pool, weights)[0])
            for country_id in sorted(chosen)[: max(wanted, 1)]:
                oid = len(outreach_rows) + 1
                assignee = (
                    the_volunteer if rng.random() < 0.108 else (rng.choice(volunteers) if rng.random() < 0.85 else None)
                )
                outreach_rows.append(
                    {
                        "id": oid,
                        "campaign_id": cid,
                        "country_id": country_id,
                        "stage": rng.choice(
                            (
                                "not_started",
                                "contacted",
                                "meeting_requested",
                                "meeting_held",
                                "responded",
                                "committed",
                                "closed",
                            )
                        ),
                        "assignee_id": assignee,
                        "coordinator_id": rng.choice(coordinators),
                        "priority": rng.choice((1, 2, 2, 3)),
                        "next_follow_up_on": (now + dt.timedelta(days=rng.randint(-30, 60))).date()
                        if rng.random() < 0.6
                        else None,
                        "created_at": moment(),
                        "updated_at": moment(recent_bias=3),
                    }
                )
                outreach_by_country.setdefault(country_id, []).append(oid)
        bulk.insert("outreach_record", outreach_rows)
        outreach_ids = [r["id"] for r in outreach_rows]
        outreach_weights = [country_weight[r["country_id"]] for r in outreach_rows]
        outreach_campaign = {r["id"]: r["campaign_id"] for r in outreach_rows}
        outreach_country = {r["id"]: r["country_id"] for r in outreach_rows}
        outreach_assignee = {r["id"]: r["assignee_id"] for r in outreach_rows}
        bulk.insert(
            "assignment",
            (
                {
                    "outreach_id": r["id"],
                    "assignee_id": r["assignee_id"],
                    "changed_by_id": r["coordinator_id"],
                    "changed_at": r["created_at"],
                    "reason": "assigned",
                }
                for r in outreach_rows
                if r["assignee_id"]
            ),
        )

        # --- Offices: each government's ministry, embassies and consulates, busy countries with many.
        office_rows, seen = [], set()
        offices_of: dict[int, list[int]] = {}
        country_ids = [c.id for c in countries]
        for country in countries:  # every government has its foreign ministry
            key = (country.id, "ministry", country.id, "Capital")
            seen.add(key)
            office_rows.append(
                {
                    "id": len(office_rows) + 1,
                    "country_id": country.id,
                    "kind": "ministry",
                    "name": f"Ministerio de Asuntos Exteriores — {country.name_es}",
                    "city": "Capital",
                    "host_country_id": country.id,
                    "email": f"info@mfa.{country.alpha2.lower()}.example",
                }
            )
        while len(office_rows) < sizes["offices"]:
            government = rng.choices(country_ids, weights)[0]
            kind = rng.choice(("embassy", "embassy", "consulate", "permanent_mission", "parliament"))
            host = rng.choices(country_ids, weights)[0]
            city = rng.choice(CITIES)
            key = (government, kind, host, city)
            if key in seen:
                continue
            seen.add(key)
            name = f"{kind.replace('_', ' ').title()} of {government} in {city}"
            office_rows.append(
                {
                    "id": len(office_rows) + 1,
                    "country_id": government,
                    "kind": kind,
                    "name": name,
                    "city": city,
                    "host_country_id": host,
                    "phone": f"+34 91 {rng.randint(1000000, 9999999)}",
                }
            )
        for row in office_rows:
            offices_of.setdefault(row["country_id"], []).append(row["id"])
        names_by_id = {c.id: c for c in countries}
        for row in office_rows:  # readable names: "Embassy of Spain in Łódź"
            if row["kind"] != "ministry":
                row["name"] = row["name"].replace(
                    f" of {row['country_id']} ", f" of {names_by_id[row['country_id']].name_en} "
                )
        bulk.insert("office", office_rows)
        office_ids = [r["id"] for r in office_rows]
        office_weights = [country_weight[r["country_id"]] for r in office_rows]

        # --- Contacts and their posts.
        contact_rows, post_rows = [], []
        contacts_of_country: dict[int, list[int]] = {}
        office_country = {r["id"]: r["country_id"] for r in office_rows}
        for cid in range(1, sizes["contacts"] + 1):
            office = office_ids[cid - 1] if cid <= len(office_ids) else rng.choices(office_ids, office_weights)[0]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name = f"{first} {last}" if rng.random() < 0.8 else f"{first} {rng.choice(LAST_NAMES)} {last}"
            title = rng.choice(TITLES)
            email = f"{ascii_fold(first)}.{ascii_fold(last)}{cid}@mfa.example"
            contact_rows.append(
                {
                    "id": cid,
                    "office_id": office,
                    "name": name,
                    "title": title,
                    "email": email,
                    # what the app's write event keeps (left out where the schema has no such column)
                    "search_text": "\n".join(fold(v) for v in (name, email, title)),
                    "phone": f"+1 202 555 {cid % 10000:04d}",
                    "personal_phone": None,
                    "language": rng.choice(("es", "en", "fr", "pt")),
                    "active": rng.random() < 0.9,
                    "created_at": moment(),
                }
            )
            started_on = moment().date()
            post_rows.append({"contact_id": cid, "office_id": office, "title": title, "started_on": started_on})
            contacts_of_country.setdefault(office_country[office], []).append(cid)
        # A few carry an (encrypted) personal phone, as the real data does.
        for row in rng.sample(contact_rows, max(1, len(contact_rows) // 50)):
            row["personal_phone"] = f"+58 412 {rng.randint(1000000, 9999999)}"  # encrypted by the column
        bulk.insert("contact", contact_rows)
        bulk.insert("post", post_rows)

        # --- Positions: each record's stance on its campaign's demands, with some history.
        def positions():
            pid = 0
            for r in outreach_rows:
                for demand in demand_ids[r["campaign_id"]]:
                    for _ in range(rng.choice((0, 1, 1, 2, 3))):
                        pid += 1
                        yield {
                            "id": pid,
                            "campaign_id": r["campaign_id"],
                            "outreach_id": r["id"],
                            "demand_id": demand,
                            "stance": rng.choice(("unknown", "opposed", "non_committal", "supportive", "acted")),
                            "stated_on": moment().date(),
                            "evidence": "Declaración pública.",
                            "recorded_by_id": rng.choice(staff),
                            "recorded_at": moment(),
                        }

        bulk.insert("position", positions())

        def contact_near(country_id):
            pool = contacts_of_country.get(country_id)
            return rng.choice(pool) if pool else rng.randint(1, len(contact_rows))

        # --- Meetings, with their records, contacts and staff.
        meeting_rows, meeting_outreach, meeting_contact, meeting_staff = [], [], [], []
        for mid in range(1, sizes["meetings"] + 1):
            oid = rng.choices(outreach_ids, outreach_weights)[0]
            country_id = outreach_country[oid]
            held = moment(recent_bias=2)
            meeting_rows.append(
                {
                    "id": mid,
                    "office_id": rng.choice(offices_of.get(country_id, office_ids)),
                    "held_at": held,
                    "location": rng.choice(CITIES),
                    "summary": f"Reunión sobre la campaña con {rng.choice(LAST_NAMES)}.",
                    "outcome": rng.choice((None, "Se comprometieron a estudiarlo.", "Sin respuesta.")),
                    "confidential_notes": None,
                    "created_by_id": rng.choice(staff),
                    "created_at": held,
                }
            )
            meeting_outreach.append({"meeting_id": mid, "outreach_id": oid})
            if rng.random() < 0.05:  # a joint meeting with the same government on another campaign
                others = [o for o in outreach_by_country[country_id] if o != oid]
                if others:
                    meeting_outreach.append({"meeting_id": mid, "outreach_id": rng.choice(others)})
            contacts = {contact_near(country_id) for _ in range(rng.choice((1, 1, 2)))}
            meeting_contact.extend({"meeting_id": mid, "contact_id": c} for c in contacts)
            meeting_staff.append({"meeting_id": mid, "user_id": rng.choice(staff)})
        for row in rng.sample(meeting_rows, max(1, len(meeting_rows) // 20)):
            row["confidential_notes"] = "Nota confidencial de la reunión."  # encrypted by the column
        bulk.insert("meeting", meeting_rows)
        bulk.insert("meeting_outreach", meeting_outreach)
        bulk.insert("meeting_contact", meeting_contact)
        bulk.insert("meeting_staff", meeting_staff)
        del meeting_rows, meeting_contact, meeting_staff

        # --- Letters: outgoing, some delivered with their frozen totals, some replies.
        letter_rows = []
        for lid in range(1, sizes["letters"] + 1):
            oid = rng.choices(outreach_ids, outreach_weights)[0]
            sent = moment(recent_bias=2).date()
            incoming = lid > 1 and rng.random() < 0.2
            delivered = None if incoming or rng.random() < 0.3 else sent + dt.timedelta(days=rng.randint(0, 5))
            row = {
                "id": lid,
                "outreach_id": oid,
                "direction": "incoming" if incoming else "outgoing",
                "channel": rng.choice(("email", "post", "hand_delivery")),
                "language": "es",
                "recipient_contact_id": contact_near(outreach_country[oid]),
                "subject": f"Carta sobre la situación en Venezuela nº {lid}",
                "body": "Excelencia: le escribimos en nombre de la campaña. " * 4,
                "sent_on": None if incoming else sent,
                "delivered_on": delivered,
                "received_on": sent if incoming else None,
                "created_by_id": rng.choice(staff),
                "created_at": dt.datetime.combine(sent, dt.time(10), UTC),
            }
            if delivered:
                row.update(
                    signatures_total=rng.randint(100, 50000),
                    signatures_resident=rng.randint(0, 100),
                    signatures_by_country={"ESP": rng.randint(0, 100), "COL": rng.randint(0, 100)},
                    signatures_snapshot_at=row["created_at"],
                )
            letter_rows.append(row)
        bulk.insert("letter", letter_rows)
        letter_sample = letter_rows[len(letter_rows) // 2]
        del letter_rows

        # --- Follow-ups: most done, a working set open around today.
        def follow_ups():
            for fid in range(1, sizes["follow_ups"] + 1):
                oid = rng.choices(outreach_ids, outreach_weights)[0]
                owner = outreach_assignee[oid] or rng.choice(staff)
                status = "open" if rng.random() < 0.15 else ("snoozed" if rng.random() < 0.05 else "done")
                created = moment(recent_bias=2)
                due = (
                    (now + dt.timedelta(days=rng.randint(-20, 40))).date()
                    if status != "done"
                    else (created + dt.timedelta(days=rng.randint(1, 30))).date()
                )
                yield {
                    "id": fid,
                    "campaign_id": outreach_campaign[oid],
                    "outreach_id": oid,
                    "owner_id": owner,
                    "due_on": due,
                    "note": f"Llamar a la embajada por la carta {fid}",
                    "status": status,
                    "snoozed_until": due + dt.timedelta(days=7) if status == "snoozed" else None,
                    "completed_at": created + dt.timedelta(days=3) if status == "done" else None,
                    # reminders already went out for the open ones: the bench measures pages, not mail
                    "reminder_sent_at": now if status != "done" else None,
                    "created_by_id": rng.choice(staff),
                    "created_at": created,
                }

        bulk.insert("follow_up", follow_ups())

        # --- Signatures: a few campaigns gather most; signers live in the diaspora's countries.
        signer_countries = [by_code[c].id for c in SIGNER_COUNTRIES if c in by_code]
        signer_weights = [1.0 / (1 + i) ** 0.7 for i in range(len(signer_countries))]
        campaign_weights = [1.0 / cid**1.2 for cid in range(1, sizes["campaigns"] + 1)]
        bulk.insert(
            "signature_import",
            (
                {
                    "id": cid,
                    "petition_id": cid,
                    "filename": f"export-{cid}.csv",
                    "format": "action_network",
                    "rows_read": 0,
                    "rows_new": 0,
                    "imported_by_id": 1,
                    "imported_at": now,
                }
                for cid in range(1, sizes["campaigns"] + 1)
            ),
        )

        def signatures():
            for sid in range(1, sizes["signatures"] + 1):
                cid = rng.choices(range(1, sizes["campaigns"] + 1), campaign_weights)[0]
                roll = rng.random()
                country = (
                    None
                    if roll < 0.04
                    else (rng.choices(signer_countries, signer_weights)[0] if roll < 0.9 else rng.choice(country_ids))
                )
                yield {
                    "id": sid,
                    "campaign_id": cid,
                    "petition_id": cid,
                    "import_id": cid,
                    "email_hash": hashlib.sha256(b"%d" % sid).hexdigest(),
                    "country_id": country,
                    "signed_at": moment(recent_bias=0.7),
                    "created_at": now,
                }

        bulk.insert("signature", signatures(), chunk=50000)

        # --- Audit events: every change of the last years. campaign_id is left out where the schema
        # has no such column yet (issue 14's other half adds it).
        def audit_events():
            for _event in range(1, sizes["audit_events"] + 1):
                oid = rng.choices(outreach_ids, outreach_weights)[0]
                actor = rng.choice(staff)
                yield {
                    "occurred_at": moment(recent_bias=2),
                    "actor_id": actor,
                    "actor_label": users[actor - 1][0],
                    "action": rng.choice(ACTIONS),
                    "entity_type": "outreach_record",
                    "entity_id": str(oid),
                    "campaign_id": outreach_campaign[oid],
                    "before": {"stage": "contacted"},
                    "after": {"stage": "meeting_requested"},
                    "ip_address": "127.0.0.1",
                }

        bulk.insert("audit_event", audit_events(), chunk=50000)
        bulk.reset_sequences()

        # The app keeps signature counts per petition, country and day, and summed per petition and country
        # and per campaign and day (crm/signatures/counts.py), which the bulk inserts above bypass: all
        # rebuilt from the signatures just written (rebuild_counts writes the sums too).
        from crm.signatures import counts

        print("  rebuilding signature counts (crm.signatures.counts.rebuild_counts)", flush=True)
        counts.rebuild_counts()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            raw = db.engine.raw_connection()
            raw.driver_connection.autocommit = True
            raw.cursor().execute("VACUUM ANALYZE")
            raw.close()
        else:
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")

        busiest = max(outreach_by_country, key=lambda c: country_weight[c])
        typical = sorted(outreach_by_country, key=lambda c: len(outreach_by_country[c]))[len(outreach_by_country) // 2]
        busiest_campaign = 1 + max(range(sizes["campaigns"]), key=lambda i: campaign_weights[i] if i >= 3 else 0)
        facts = {
            "scale": scale,
            "dialect": db.engine.dialect.name,
            "seconds": round(time.perf_counter() - started, 1),
            "rows": bulk.counts,
            "password": BENCH_PASSWORD,
            "totp_secret": BENCH_TOTP_SECRET,
            "secret_key": BENCH_SECRET_KEY,
            "data_key": BENCH_DATA_KEY,
            "users": {role: f"{role}@bench.example.org" for role in ("admin", "manager", "coordinator", "volunteer")},
            "busiest_country": names_by_id[busiest].alpha3,
            "typical_country": names_by_id[typical].alpha3,
            "campaign": campaign_rows[busiest_campaign - 1]["slug"],
            "letter_id": letter_sample["id"],
            "contact_id": contact_rows[len(contact_rows) // 3]["id"],
            "search": "munoz",
            "volunteer_records": sum(1 for r in outreach_rows if r["assignee_id"] == the_volunteer),
        }
        assert fold("Muñoz") == "munoz"
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="database URL (sqlite:////path or postgresql://...)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--create", action="store_true", help="PostgreSQL: drop and create the database first")
    parser.add_argument("--facts", help="write what bench/pages.py needs to this JSON file")
    args = parser.parse_args()
    if args.create:
        create_database(args.url)
    facts = build(args.url, args.scale, args.seed)
    text = json.dumps(facts, indent=2)
    print(text)
    target = args.facts or (args.url.split("sqlite:///", 1)[1] + ".json" if args.url.startswith("sqlite") else None)
    if target:
        Path(target).write_text(text)


def create_database(url: str) -> None:
    """A fresh database at `url` (PostgreSQL: dropped and created; SQLite: the file removed)."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    base, name = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
