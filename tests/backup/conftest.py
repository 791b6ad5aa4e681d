"""Installs for backup tests: each its own database (SQLite file or PostgreSQL scratch database) and its
own instance folder, so that an archive made from one is restored into another, as an operator would."""

from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.datastructures import FileStorage

from crm.extensions import db
from tests.conftest import make_app, require_database, scratch_postgres_database

PASSPHRASE = "a long passphrase for tests"
PDF = (Path(__file__).parent.parent / "letters" / "fixtures" / "reply.pdf").read_bytes()


@contextmanager
def install(kind: str, tmp_path: Path, monkeypatch, **config):
    """A new, empty install (no tables) on `kind` ("sqlite" or "postgresql")."""
    require_database(kind)
    folder = tmp_path / f"instance-{kind}-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    monkeypatch.setenv("ALCANCE_INSTANCE_PATH", str(folder))
    if kind == "sqlite":
        app = make_app("sqlite:///" + str(folder / "alcance.db"), None, **config)
        yield app
        with app.app_context():
            db.engine.dispose()
        return
    with scratch_postgres_database("alcance_backup") as url:
        app = make_app(url, None, **config)
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def installs(tmp_path, monkeypatch):
    """`installs("sqlite")` opens one more install for this test; all are removed afterwards."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield lambda kind, **config: stack.enter_context(install(kind, tmp_path, monkeypatch, **config))


def fill(app) -> None:
    """The demo, then at least one row in every table and a mid-size set of the rest, through the
    services where there is one: contacts, meetings, follow-ups, letters with an attachment, a petition
    with imported signatures and a tally, invitations, a second factor, recovery codes, reset links."""
    from crm.accounts import invitations, password_reset, twofactor
    from crm.accounts.models import LoginAttempt, User
    from crm.backup.models import record_run
    from crm.campaigns.models import Campaign
    from crm.contacts.models import Contact, Office
    from crm.core.submissions import FormSubmission
    from crm.countries.services import country_by_code, load_reference
    from crm.database import utcnow
    from crm.demo import load_demo
    from crm.letters import letter_templates
    from crm.letters import services as letters
    from crm.letters.models import Letter
    from crm.outreach import assignments
    from crm.outreach import services as outreach
    from crm.outreach.models import OutreachRecord
    from crm.reminders.models import ReminderPreference, ReplyClock
    from crm.signatures.imports import import_file
    from crm.signatures.petitions import create_petition
    from crm.signatures.tallies import record_tally

    with app.app_context():
        upgrade()
        load_reference()
        load_demo()
        letter_templates.load_default_templates()
        db.session.commit()
        now = utcnow()
        campaign = db.session.scalar(sa.select(Campaign))
        admin = User(email="admin@example.org", name="Admin Ñandú", role="admin", language="es")
        admin.set_password("correct horse battery staple")
        volunteer = User(email="vólunteer@exämple.org", name="Volunteer “quoted”", role="volunteer")
        volunteer.set_password("correct horse battery staple")
        db.session.add_all([admin, volunteer])
        db.session.flush()
        twofactor.enrol_by_command(admin)
        twofactor.replace_recovery_codes(admin, now=now)
        password_reset.request_reset(admin.email, "203.0.113.9", now=now)
        db.session.add(LoginAttempt(kind="failure", account="someone@example.org", address="198.51.100.7"))
        invitations.invite("invitee@example.org", "coordinator", actor=admin, now=now, language="es")
        db.session.add(ReminderPreference(user_id=admin.id, digest_hour=7, weekly_report_enabled=False))
        db.session.add(FormSubmission(key="k" * 40, user_id=admin.id, location="/outreach/1"))

        records = db.session.scalars(
            sa.select(OutreachRecord).where(OutreachRecord.campaign_id == campaign.id).order_by(OutreachRecord.id)
        ).all()
        free = next(record for record in records if record.assignee_id is None)
        campaign.claims_need_approval = True
        assignments.claim(free, volunteer)
        assignments.set_assignee([records[0]], volunteer, actor=admin)
        spain = country_by_code("ESP")
        for number in range(120):
            office = Office(
                country_id=records[number % len(records)].country_id,
                host_country_id=spain.id,
                kind="consulate",
                city=f"Ciudad {number}",
                name=f"Consulado {number} — «ñ»",
            )
            db.session.add(office)
            db.session.add(
                Contact(
                    office=office,
                    name=f"Contacto {number} Łódź 😀",
                    title="Consejera\npolítica",
                    personal_phone=f"+34 600 000 {number:03d}",
                )
            )
        db.session.flush()
        for number in range(150):
            record = records[number % len(records)]
            outreach.log_meeting(
                [record],
                actor=admin,
                held_at=now - dt.timedelta(days=number, microseconds=number),
                summary=f"Reunión {number}: “demandas”",
                confidential_notes=f"nota {number}",
            )
            outreach.add_follow_up(
                record,
                owner=admin,
                due_on=now.date() + dt.timedelta(days=number % 30),
                note=f"Llamar {number}",
                actor=admin,
            )
        letter = db.session.scalar(sa.select(Letter).order_by(Letter.id))
        letters.add_attachments(letter, [FileStorage(io.BytesIO(PDF), filename="respuesta.pdf")], admin)
        db.session.add(ReplyClock(outreach_id=letter.outreach_id, letter_id=letter.id, started_on=now.date()))
        petition = create_petition(campaign, "Firmas por Venezuela", actor=admin)
        rows = "".join(f"firmante{n}@example.org,{'ES' if n % 3 else 'VE'}\n" for n in range(400))
        import_file(petition, io.BytesIO(("email,country\n" + rows).encode()), filename="firmas.csv", actor=admin)
        # Signers on paper, by name and place, in countries with signers known by their address too.
        paper = create_petition(campaign, "Firmas en papel", actor=admin)
        named = "nombre completo;código postal;país\nPedro Gómez;28001;España\nRosa Pérez;1010;Venezuela\n"
        import_file(paper, io.BytesIO(named.encode()), filename="papel.csv", actor=admin, without_email=True)
        record_tally(petition, spain, 1234, now.date(), source="contado a mano", actor=admin)
        from crm.board import services as boards
        from crm.campaigns.models import CampaignTranslation
        from crm.outreach.models import Position

        db.session.add(
            CampaignTranslation(
                campaign_id=campaign.id,
                language="es",
                name="Justicia para Venezuela",
                description="Campaña de demostración «ñ»",
            )
        )
        from crm.api import tokens as api_tokens

        api_tokens.create(admin, name="Hoja de entregas «ñ»", scope="write", days=90, now=now)
        # A webhook subscription (added directly: its address is not resolved here), a queued test event
        # and one failed attempt in its log.
        from crm.webhooks import services as webhooks
        from crm.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

        hook = WebhookSubscription(
            url="https://hooks.example.org/alcance?equipo=ñ",
            events="meeting.logged",
            secret="whsec_ñ",
            created_by_id=admin.id,
        )
        db.session.add(hook)
        db.session.flush()
        webhooks.emit("meeting.logged", {"country": "FRA"}, now=now)
        db.session.flush()
        delivery = db.session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == hook.id))
        db.session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=now, status_code=503, error="HTTP 503"))
        boards.publish(campaign, actor=admin)
        boards.set_published(
            campaign,
            records={records[0].id},
            positions={db.session.scalar(sa.select(Position.id).order_by(Position.id))},
            actor=admin,
        )
        # A joint statement in two languages with signatures in several states, and a public form's counts.
        from crm.core import public_forms
        from crm.statements import services as statements

        statement = statements.create_statement(
            campaign,
            {
                "en": statements.Wording("In solidarity", "We stand with defenders.\nAll of them."),
                "es": statements.Wording("En solidaridad", "Nos solidarizamos «ñ»."),
            },
            actor=admin,
        )
        for number in range(3):
            signed = statements.sign(
                statement,
                statements.SignUp(
                    kind="organisation",
                    country=country_by_code("VEN"),
                    organisation=f"Organización {number} «ñ»",
                    website="https://ejemplo.org",
                    signer_name=f"Firmante {number}",
                    email=f"firmante{number}@ejemplo.org",
                    consent=True,
                ),
                language="es",
                now=now,
            ).signature
            if number:
                statements.confirm(signed, now=now)
            if number == 2:
                statements.approve(signed, actor=admin, now=now)
        public_forms.count("statement", address="203.0.113.9", now=now)
        from crm.statements.models import LetterStatement

        db.session.add(
            LetterStatement(
                letter_id=letter.id,
                statement_id=statement.id,
                attached_at=now,
                attached_by_id=admin.id,
                signatories=statements.delivered_list(statement),
                frozen_at=now,
            )
        )
        # A hosted petition's page, with a sign-up waiting for its link and one confirmed that kept its address
        # (an imported signer: it adds no signature).
        from crm.signatures import hosted

        signing = create_petition(campaign, "Firma aquí «ñ»", platform="hosted")
        hosted.set_page(
            signing,
            texts={"es": ("Firma «ñ»", "Tres exigencias.")},
            totals_by_country=True,
            frame_origins="https://campaña.example",
            actor=admin,
        )
        for number in range(2):
            signed = hosted.sign(
                signing,
                hosted.SignUp(
                    name=f"Persona {number} «ñ»",
                    email=f"firmante{number}@example.org",  # already imported: counted once
                    country=country_by_code("VEN"),
                    consent=True,
                    wants_contact=True,
                    postal_code="1010",
                ),
                language="es",
                now=now,
            )
            if number:
                hosted.confirm(signed.signature, now=now)
        # An import caught staging while the backup is taken.
        from crm.signatures.models import ErasedSigner, StagedImport, StagedSignature

        staging = StagedImport(petition_id=petition.id)
        db.session.add(staging)
        db.session.flush()
        db.session.add(StagedSignature(staged_import_id=staging.id, email_hash="e" * 64, country_id=spain.id))
        # A signer the privacy tools erased, kept out of later imports.
        db.session.add(ErasedSigner(email_hash="d" * 64))
        record_run(started=now, error="disk full", origin="schedule")
        db.session.commit()
        # The scheduler's record of its jobs' runs (commits itself).
        from crm.monitoring.services import record_job_run

        record_job_run("due-reminders", now, now)
        record_job_run("backup", now, now, error="BackupError: disk full")
        # The scheduler's record of its jobs' runs (commits itself).
        from crm.monitoring.services import record_job_run

        record_job_run("due-reminders", now, now)
        record_job_run("backup", now, now, error="BackupError: disk full")


def table_contents(app) -> dict[str, list[tuple]]:
    """Every table's rows, ordered by primary key, with values in one comparable form (moments in UTC), but for
    one number the database keeps itself."""
    from crm.backup.services import _data_tables, _order_by, _reflect

    def same(value):
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        return value

    def compared(table):
        # A campaign's figures_version, signatures_version and follow_ups_version are renewed by the database
        # as the restore writes its records anew: numbers naming the state of what they count
        # (crm.campaigns.models), not data that must come back.
        renewed = {("campaign", f"{name}_version") for name in ("figures", "signatures", "follow_ups")}
        return [column for column in table.columns if (table.name, column.name) not in renewed]

    with app.app_context(), db.engine.connect() as connection:
        return {
            table.name: [
                tuple(same(v) for v in row)
                for row in connection.execute(sa.select(*compared(table)).order_by(*_order_by(table)))
            ]
            for table in _data_tables(_reflect(connection))
        }


def attachment_files(app) -> dict[str, bytes]:
    folder = Path(app.instance_path) / "attachments"
    return {path.name: path.read_bytes() for path in folder.iterdir()} if folder.is_dir() else {}
