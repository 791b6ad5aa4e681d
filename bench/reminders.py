"""Benchmark: the reminder sweep's messages/s next to a plain smtplib loop, to the same local SMTP server.

    .venv/bin/python bench/reminders.py                        # 2,000 reminders, SQLite and PostgreSQL
    .venv/bin/python bench/reminders.py --messages 5000 --databases postgresql

Per database, on a fresh scratch database brought to the newest migration (a temporary SQLite file; a new
PostgreSQL database beside TEST_DATABASE_URL's, dropped afterwards): N open follow-ups fall due, owned by
50 volunteers (each the assignee of one government's record), and `services.queue_due_reminders` queues
one reminder each (timed, not the figure). Then:

  sweep  `mailer.deliver_pending`, what the scheduler's due-reminder job runs: claim a batch, check each
         message is still wanted, send the batch over one SMTP connection, record every outcome in one
         transaction (messages, and the follow-ups' reminder times), until the queue is empty.
  raw    the same messages sent by a plain `smtplib.SMTP.sendmail` loop over one connection: no database,
         no claims, and the messages written beforehand. They are the bytes the sweep sends (written by the
         sweep's own code, `crm.mail.mime`, for the same server), with the recipients' names, to the same
         envelope addresses with the same MAIL FROM options; the connection is opened before the clock
         starts. So the plain loop pays for the SMTP exchange alone, and the sweep for everything else too.
         It runs once just before the sweep and once just after (the load of a shared machine drifts), and
         the faster of the two is the figure.

A second raw figure counts the writing of those messages as well as their sending: the sweep does both for
each message, the plain loop only sends.

The SMTP server is aiosmtpd's Sink (it accepts and forgets) in its own process on a loopback port, so that
it does not share a Python interpreter with either sender. The figure is sweep ÷ raw; the goal is 50 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
UTC = dt.UTC


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the SMTP server did not start")


def raw_loop(port: int, sender: str, payloads: list) -> tuple[float, float]:
    """Seconds a plain smtplib loop takes to send these messages over one connection, opened (EHLO
    included) before the clock starts, and the seconds of this process's CPU it used."""
    connection = smtplib.SMTP("127.0.0.1", port, timeout=10)
    connection.ehlo()
    started, cpu = time.perf_counter(), time.process_time()
    for recipient, payload, options in payloads:
        connection.sendmail(sender, [recipient], payload, options)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.quit()
    return seconds, cpu


def run(url: str, messages: int, port: int) -> dict:
    os.environ.setdefault("ALCANCE_INSTANCE_PATH", tempfile.mkdtemp(prefix="alcance-bench-"))
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from crm import create_app
    from crm.accounts.models import User
    from crm.campaigns.models import Campaign
    from crm.config import normalise_database_url
    from crm.countries.models import Country
    from crm.countries.services import load_reference
    from crm.database import utcnow
    from crm.extensions import db
    from crm.mail import services as mailer
    from crm.mail.mime import MessageWriter, envelope_address
    from crm.mail.models import OutboundMessage
    from crm.outreach.models import FollowUp, OutreachRecord
    from crm.reminders import services

    app = create_app(
        {
            "SECRET_KEY": "benchmark-secret-key",
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "TESTING": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_SUPPRESS_SEND": False,
            "MAIL_DEFAULT_SENDER": "alcance@campaign.example.org",
            "MAIL_TIMEOUT": 10,
        }
    )
    with app.app_context():
        upgrade()
        load_reference()
        campaign = Campaign(slug="bench", name="Benchmark")
        owners = [
            User(email=f"volunteer{i}@example.org", name=f"Volunteer Núñez {i}", role="volunteer") for i in range(50)
        ]
        db.session.add_all([campaign, *owners])
        db.session.flush()
        # Each volunteer works one government's record: a reminder goes only to an owner who may open the
        # record (crm/permissions.py), which for a volunteer means being its assignee.
        countries = db.session.scalars(sa.select(Country).order_by(Country.alpha3).limit(len(owners))).all()
        records = [
            OutreachRecord(campaign=campaign, country_id=country.id, assignee_id=owner.id)
            for country, owner in zip(countries, owners, strict=True)
        ]
        db.session.add_all(records)
        db.session.flush()
        now = utcnow()
        due = (now - dt.timedelta(days=1)).date()
        db.session.execute(
            sa.insert(FollowUp),
            [
                {
                    "outreach_id": records[i % len(owners)].id,
                    "owner_id": owners[i % len(owners)].id,
                    "due_on": due,
                    "note": f"Llamar a la embajada por la carta {i}",
                    "status": "open",
                    "created_at": now,
                    "version": 1,
                }
                for i in range(messages)
            ],
        )
        db.session.commit()

        started = time.perf_counter()
        queued = services.queue_due_reminders(now)
        db.session.commit()
        queue_seconds = time.perf_counter() - started

        # The raw loop's messages: the bytes the sweep sends (written by the same code, for a server with
        # the same extensions), read from the queue before the sweep. Writing them is timed apart: the
        # sweep does it, the plain loop does not.
        # Columns, not ORM objects: the session then holds what queueing left in it, as in the job.
        table = OutboundMessage.__table__
        rows = db.session.execute(
            sa.select(table, User.name.label("recipient_name"))
            .join(User, User.id == table.c.recipient_id)
            .order_by(table.c.id)
        ).all()
        probe = smtplib.SMTP("127.0.0.1", port, timeout=10)
        probe.ehlo()
        eight_bit = probe.has_extn("8bitmime")
        probe.quit()
        build_started = time.perf_counter()
        writer = MessageWriter(mailer._sender(), eight_bit=eight_bit)
        payloads = []
        for row in rows:
            claimed = mailer._Claimed(
                id=row.id,
                kind=row.kind,
                recipient_email=row.recipient_email,
                recipient_name=row.recipient_name,
                subject=row.subject,
                text=row.body_text,
                html=row.body_html,
                message_id=row.message_id,
                language=row.language,
                attempts=0,
                follow_up_id=None,
                for_date=None,
                claimed_until=now,
            )
            payload, options = writer.write(
                recipient=mailer._recipient(claimed),
                subject=claimed.subject,
                message_id=claimed.message_id,
                text=claimed.text,
                html=claimed.html,
                headers=mailer._headers(claimed),
            )
            payloads.append((envelope_address(row.recipient_email), payload, options))
        build_seconds = time.perf_counter() - build_started
        db.session.commit()

        raw_before, raw_cpu_before = raw_loop(port, writer.envelope_sender, payloads)
        started, cpu = time.perf_counter(), time.process_time()
        report = mailer.deliver_pending(now=now)
        sweep_seconds, sweep_cpu = time.perf_counter() - started, time.process_time() - cpu
        raw_after, raw_cpu_after = raw_loop(port, writer.envelope_sender, payloads)
        sent_rows = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboundMessage).where(OutboundMessage.status == "sent")
        )
        reminded = db.session.scalar(
            sa.select(sa.func.count()).select_from(FollowUp).where(FollowUp.reminder_sent_at.is_not(None))
        )
        db.session.remove()
    raw_seconds = min(raw_before, raw_after)
    raw_cpu = min(raw_cpu_before, raw_cpu_after)
    return {
        "queued": queued,
        "queue_seconds": queue_seconds,
        "sent": report.sent,
        "failed": report.failed,
        "sent_rows": sent_rows,
        "follow_ups_reminded": reminded,
        "sweep_seconds": sweep_seconds,
        "sweep_rate": report.sent / sweep_seconds,
        "raw_rate": len(payloads) / raw_seconds,
        "raw_seconds": raw_seconds,
        "raw_rates": [len(payloads) / raw_before, len(payloads) / raw_after],
        "built_and_raw_rate": len(payloads) / (build_seconds + raw_seconds),
        "message_bytes": sum(len(payload) for _, payload, _ in payloads) / len(payloads),
        # Milliseconds of this process's CPU a message (not the database server's, nor the SMTP server's).
        "sweep_cpu_ms": 1000 * sweep_cpu / max(report.sent, 1),
        "raw_cpu_ms": 1000 * raw_cpu / len(payloads),
        "write_cpu_ms": 1000 * build_seconds / len(payloads),
    }


def scratch(database: str):
    if database == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="alcance-bench-")) / "reminders.db"
        return "sqlite:///" + str(path), None
    import psycopg

    admin = (os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG).replace("postgresql+psycopg://", "postgresql://")
    name = f"alcance_bench_reminders_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.rsplit("/", 1)[0] + "/" + name, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    port = free_port()
    server = start_smtp(port)
    try:
        for database in args.databases.split(","):
            url, drop = scratch(database)
            try:
                # Each database in its own process: the app, its engine and Flask-Mail start clean.
                output = subprocess.run(
                    [sys.executable, __file__, "--child", url, str(args.messages), str(port)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            finally:
                if drop:
                    drop()
            result = json.loads(output.strip().splitlines()[-1])
            print(
                f"{database}: queued {result['queued']} in {result['queue_seconds']:.1f} s; "
                f"sweep sent {result['sent']} (failed {result['failed']}, rows sent {result['sent_rows']}, "
                f"follow-ups marked {result['follow_ups_reminded']}) at {result['sweep_rate']:.0f} messages/s "
                f"({result['sweep_seconds']:.1f} s); raw smtplib {result['raw_rate']:.0f} messages/s "
                f"(before and after the sweep: {result['raw_rates'][0]:.0f}, {result['raw_rates'][1]:.0f}) "
                f"({result['raw_seconds']:.1f} s); sweep ÷ raw = {100 * result['sweep_rate'] / result['raw_rate']:.0f} %; "
                f"raw counting the writing of the messages {result['built_and_raw_rate']:.0f} "
                f"messages/s, sweep ÷ that = {100 * result['sweep_rate'] / result['built_and_raw_rate']:.0f} %; "
                f"{result['message_bytes']:.0f} bytes a message; this process's CPU a message: sweep "
                f"{result['sweep_cpu_ms']:.2f} ms, raw {result['raw_cpu_ms']:.2f} ms, "
                f"writing {result['write_cpu_ms']:.2f} ms",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
