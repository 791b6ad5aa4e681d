"""Benchmark: importing a petition export of N signature rows (default 1,000,000) into SQLite and PostgreSQL,
next to a raw bulk insert of the same rows into the same database, on the same run.

    .venv/bin/python bench/signatures_import.py                   # 1,000,000 rows, both databases
    .venv/bin/python bench/signatures_import.py --rows 100000 --databases sqlite

What is measured, per database:
  import   `imports.import_file` on the generated CSV (the code path of the page and of
           `flask signatures import`): decoding, CSV parsing, e-mail normalisation and HMAC, country
           names, dates, and INSERT ... ON CONFLICT DO NOTHING in chunks, in one transaction. The peak
           memory (RSS) of the importing process is reported at 10% and at 100% of the rows, to show that
           it does not grow with the file.
  raw      the rows the import wrote, read back, the table emptied, and inserted again with the driver's
           executemany of a plain INSERT (no parsing, hashing, or conflict handling), chunks of 5,000, one
           transaction. On PostgreSQL also COPY, its fastest bulk path.
The ratio import / raw is the figure. Every phase runs in its own process on a fresh scratch database
(a temporary SQLite file; a new PostgreSQL database beside TEST_DATABASE_URL's, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
# What signers type: codes, English and Spanish names, a few values no one can place.
COUNTRY_VALUES = [
    "ES",
    "España",
    "Spain",
    "US",
    "Estados Unidos",
    "EE. UU.",
    "CO",
    "Colombia",
    "Chile",
    "CL",
    "Argentina",
    "AR",
    "Perú",
    "PE",
    "México",
    "MX",
    "Canada",
    "CA",
    "Panamá",
    "Ecuador",
    "Italia",
    "Italy",
    "Portugal",
    "PT",
    "Deutschland",
    "Germany",
    "France",
    "Francia",
    "Reino Unido",
    "UK",
    "Venezuela",
    "VE",
    "Brasil",
    "República Dominicana",
    "Costa Rica",
    "",
    "",
    "Narnia",
    "Caracas",
    "Países Bajos",
]


def generate(path: Path, rows: int) -> None:
    """An Action Network-like export, streamed to disk."""
    rng = random.Random(2018)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("uuid,first_name,last_name,email,zip_code,country,created_at,can2_subscription_status\n")
        for i in range(rows):
            country = COUNTRY_VALUES[rng.randrange(len(COUNTRY_VALUES))]
            handle.write(
                f"{i:08x}-0000-4000-8000-000000000000,Nombre{i % 977},Apellido{i % 1231},"
                f"Signer.{i}.{rng.randrange(10**6)}@Example{i % 97}.org,{10000 + i % 89999},"
                f'"{country}",2018-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,'
                f"subscribed\n"
            )


def _app(url: str):
    os.environ.setdefault("ALCANCE_INSTANCE_PATH", tempfile.mkdtemp(prefix="alcance-bench-"))
    from crm import create_app
    from crm.config import normalise_database_url

    return create_app(
        {"SECRET_KEY": "benchmark-secret-key", "SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "TESTING": False}
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_prepare(url: str) -> dict:
    from crm.campaigns.models import Campaign
    from crm.countries.services import load_reference
    from crm.extensions import db
    from crm.signatures.petitions import create_petition

    app = _app(url)
    with app.app_context():
        db.create_all()
        load_reference()
        campaign = Campaign(slug="bench", name="Benchmark")
        db.session.add(campaign)
        db.session.flush()
        petition = create_petition(campaign, "Bench", platform="action_network")
        db.session.commit()
        return {"petition": petition.slug}


def child_import(url: str, petition_slug: str, path: str) -> dict:
    from crm.extensions import db
    from crm.signatures.imports import import_file
    from crm.signatures.petitions import petition_by_slug

    app = _app(url)
    with app.app_context():
        petition = petition_by_slug(petition_slug)
        start_rss = _rss_mb()
        checkpoints = {}
        total_lines = int(os.environ.get("BENCH_ROWS", "0"))

        def progress(rows):
            if total_lines and rows >= total_lines // 10 and "rss_at_10pct" not in checkpoints:
                checkpoints["rss_at_10pct"] = _rss_mb()

        started = time.perf_counter()
        with open(path, "rb") as handle:
            outcome = import_file(petition, handle, filename=Path(path).name, progress=progress)
        db.session.commit()
        seconds = time.perf_counter() - started
        record = outcome.record
        return {
            "seconds": seconds,
            "rows_read": record.rows_read,
            "rows_new": record.rows_new,
            "rows_duplicate": record.rows_duplicate,
            "rows_invalid": record.rows_invalid,
            "rows_per_second": record.rows_read / seconds,
            "rss_start_mb": start_rss,
            "rss_at_10pct_mb": checkpoints.get("rss_at_10pct"),
            "rss_end_mb": _rss_mb(),
        }


def child_raw(url: str) -> dict:
    """Read back what the import wrote, empty the table, insert the same rows again the plain way."""
    from crm.extensions import db

    app = _app(url)
    columns = (
        "campaign_id, petition_id, import_id, email_hash, country_id, signed_at, first_name, last_name, created_at"
    )
    results = {}
    with app.app_context():
        connection = db.engine.raw_connection()
        raw = connection.driver_connection
        dialect = db.engine.dialect.name
        cursor = raw.cursor()
        cursor.execute(f"SELECT {columns} FROM signature ORDER BY id")
        rows = cursor.fetchall()
        mark = "?" if dialect == "sqlite" else "%s"
        insert = f"INSERT INTO signature ({columns}) VALUES ({', '.join([mark] * 9)})"

        def empty():
            cursor.execute("DELETE FROM signature" if dialect == "sqlite" else "TRUNCATE signature")
            raw.commit()
            if dialect == "sqlite":
                cursor.execute("VACUUM")
            else:
                raw.autocommit = True
                cursor.execute("VACUUM ANALYZE signature")
                raw.autocommit = False

        empty()
        if dialect == "sqlite":
            cursor.execute("BEGIN")
        started = time.perf_counter()
        for k in range(0, len(rows), 5000):
            cursor.executemany(insert, rows[k : k + 5000])
        raw.commit()
        seconds = time.perf_counter() - started
        results["executemany"] = {"seconds": seconds, "rows_per_second": len(rows) / seconds, "rows": len(rows)}
        if dialect == "postgresql":
            empty()
            started = time.perf_counter()
            with cursor.copy(f"COPY signature ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
            seconds = time.perf_counter() - started
            results["copy"] = {"seconds": seconds, "rows_per_second": len(rows) / seconds, "rows": len(rows)}
        cursor.close()
        connection.close()
    return results


def _run_child(*args, env=None) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def bench_database(name: str, path: Path, rows: int, pg_url: str) -> dict:
    if name == "sqlite":
        folder = tempfile.mkdtemp(prefix="alcance-bench-db-")
        url = f"sqlite:///{folder}/bench.db"
        cleanup = None
    else:
        import psycopg

        admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
        database = f"alcance_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        url = admin.rsplit("/", 1)[0] + "/" + database

        def cleanup():
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    try:
        prepared = _run_child("prepare", url)
        imported = _run_child("import", url, prepared["petition"], str(path), env={"BENCH_ROWS": str(rows)})
        raw = _run_child("raw", url)
    finally:
        if cleanup:
            cleanup()
    return {"import": imported, "raw": raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = {"prepare": child_prepare, "import": child_import, "raw": child_raw}[kind](*rest)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="alcance-bench-") as folder:
        path = Path(folder) / "export.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        for name in args.databases.split(","):
            result = bench_database(name, path, args.rows, args.pg_url)
            imported, raw = result["import"], result["raw"]
            print(f"\n{name}")
            print(
                f"  import      {imported['rows_per_second']:>10,.0f} rows/s  ({imported['seconds']:.1f} s; "
                f"read {imported['rows_read']:,}, new {imported['rows_new']:,}, "
                f"duplicates {imported['rows_duplicate']:,}, invalid {imported['rows_invalid']:,})"
            )
            print(
                f"  peak memory {imported['rss_start_mb']:.0f} MB before, "
                f"{imported['rss_at_10pct_mb'] or 0:.0f} MB at 10% of the rows, {imported['rss_end_mb']:.0f} MB at the end"
            )
            for method, figures in raw.items():
                ratio = imported["rows_per_second"] / figures["rows_per_second"]
                print(
                    f"  raw {method:<11} {figures['rows_per_second']:>10,.0f} rows/s  ({figures['seconds']:.1f} s)"
                    f"  -> import at {ratio:.0%} of it"
                )
            print("  json " + json.dumps(result))


if __name__ == "__main__":
    main()
