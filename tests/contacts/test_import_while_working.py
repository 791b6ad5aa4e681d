"""A long contacts import keeps nobody waiting: the file is checked and matched without the write lock, then
written in one short transaction. Pages that read and forms that save answer at once while
`flask contacts import` runs in another process (SQLite, where one write lock serves the whole database);
an import that fails, while checking or while writing, writes nothing; and what others saved while the
file was being checked is taken into account when it is written."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.contacts import exchange
from crm.contacts.models import Contact, Office
from crm.extensions import db
from tests.conftest import TEST_PASSWORD, count_rows, make_app, sign_in

ROOT = Path(__file__).resolve().parents[2]
SECRET = "contacts-import-test-secret-key"
TODAY = dt.date(2026, 3, 2)
GOVERNMENTS = ("DEU", "FRA", "ITA", "PRT", "NLD", "BEL", "SWE", "NOR", "DNK", "AUT")


def _contacts_csv(rows: int, bad_last_row: bool = False) -> bytes:
    lines = ["name,email,office,government,city"]
    for n in range(rows):
        government = GOVERNMENTS[n % len(GOVERNMENTS)]
        lines.append(f"Person {n},person{n}@example.org,Embassy of {government},{government},Madrid")
    if bad_last_row:
        lines.append("Nobody,nobody@example.org,Embassy of Atlantis,Atlantis,Madrid")
    return ("\n".join(lines) + "\n").encode()


def table_counts() -> dict:
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def test_an_import_that_fails_while_writing_writes_nothing(app, runner, tmp_path, monkeypatch):
    path = tmp_path / "embassies.csv"
    path.write_bytes(_contacts_csv(1200))
    before = table_counts()
    written = []
    insert = exchange._DriverRows.insert

    def fails_at_the_audit_log(self, table, columns, rows):
        if table == "audit_event":
            raise RuntimeError("the disk filled up")  # after the offices, contacts and posts were written
        written.append(table)
        return insert(self, table, columns, rows)

    monkeypatch.setattr(exchange._DriverRows, "insert", fails_at_the_audit_log)
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code != 0
    assert written == ["contact", "post"]
    db.session.rollback()
    assert table_counts() == before


def test_a_file_refused_at_its_last_row_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "embassies.csv"
    path.write_bytes(_contacts_csv(1200, bad_last_row=True))
    before = table_counts()
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code != 0 and "row 1202: unknown government “Atlantis”" in result.output
    assert table_counts() == before


def test_what_others_saved_while_the_file_was_checked_is_taken_into_account(app, make_office, make_contact):
    rows = exchange.read_csv(_contacts_csv(3))
    plan = exchange.plan_import(rows)
    assert plan.report.contacts_added == 3 and plan.report.offices_added == 3
    # While the file was being checked, a colleague added the German embassy and the first person on it,
    # with the address the file has.
    germany = make_office("DEU", host="DEU", city="Madrid")
    make_contact(germany, name="Persona Cero").email = "person0@example.org"
    db.session.commit()
    report = exchange.write_import(plan, actor="cli", today=TODAY)
    db.session.commit()
    assert report.duplicates_skipped == ["Person 0"]
    assert (report.contacts_added, report.offices_added) == (2, 2)
    assert count_rows(Contact) == 3 and count_rows(Office) == 3


def _seeded_app(url: str, **extra):
    """An app on its own SQLite file (the other process must see what it commits), with the schema, the
    countries, a coordinator and the outreach record for Sweden."""
    from crm.accounts.models import User
    from crm.campaigns.models import Campaign
    from crm.countries.services import country_by_code, load_reference
    from crm.outreach.models import OutreachRecord

    app = make_app(url, None, SECRET_KEY=SECRET, **extra)
    with app.app_context():
        db.create_all()
        load_reference()
        user = User(email="coordinator@example.org", name="Cora", role="coordinator")
        user.set_password(TEST_PASSWORD)
        campaign = Campaign(slug="justicia", name="Justicia")
        db.session.add_all([user, campaign])
        db.session.flush()
        db.session.add(OutreachRecord(campaign=campaign, country_id=country_by_code("SWE").id, assignee_id=user.id))
        db.session.commit()
        db.session.remove()
    return app


def _import_process(url: str, instance: Path, path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "ALCANCE_INSTANCE_PATH": str(instance)}
    env.pop("FLASK_APP", None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "contacts", "import", str(path), "--progress"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_checking(process: subprocess.Popen) -> None:
    line = process.stderr.readline()
    assert re.match(r"\d+ rows checked", line), (line, process.communicate(timeout=120))


@pytest.mark.slow
def test_pages_and_forms_answer_while_a_long_contacts_import_runs_in_another_process(tmp_path):
    """`flask contacts import` of a long list runs in its own process for several seconds on SQLite. Before
    it, an import of a list whose last row is wrong fails and writes nothing. While the long one runs, a
    coordinator reads their work and a country page and saves a follow-up: each answers at once, none is
    "database is locked", and the import still adds every contact."""
    from crm.accounts.models import User
    from crm.outreach.models import FollowUp, OutreachRecord

    rows = 40_000
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    app = _seeded_app(url, SQLITE_BUSY_TIMEOUT_MS=5000)
    client = app.test_client()
    with app.app_context():
        sign_in(client, db.session.scalar(sa.select(User)))
        record_id = db.session.scalar(sa.select(OutreachRecord.id))
        db.session.remove()

    def ask(answers: list) -> None:
        for method, page in (
            ("GET", "/my-work"),
            ("GET", "/countries/SWE"),
            ("POST", f"/outreach/{record_id}/follow-ups/new"),
        ):
            begun = time.monotonic()
            if method == "GET":
                response = client.get(page)
            else:
                form = client.get(page).get_data(as_text=True)
                key = re.search(r'name="submission_key"[^>]*value="([^"]+)"', form).group(1)
                response = client.post(
                    page,
                    data={"owner": "1", "due_on": "2031-01-10", "note": f"Chase {len(answers)}", "submission_key": key},
                )
            answers.append((method, page, response.status_code, time.monotonic() - begun))

    for page in ("/my-work", "/countries/SWE", f"/outreach/{record_id}/follow-ups/new"):
        assert client.get(page).status_code == 200  # templates compiled before anything is timed
    answers: list = []
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_contacts_csv(rows // 4, bad_last_row=True))
    refused = _import_process(url, tmp_path / "instance", bad)
    try:
        _wait_until_checking(refused)
        ask(answers)
        _, errors = refused.communicate(timeout=300)
    finally:
        if refused.poll() is None:
            refused.kill()
        refused.wait(timeout=30)
    assert refused.returncode != 0 and "unknown government “Atlantis”" in errors
    with app.app_context():
        assert count_rows(Contact) == 0 and count_rows(Office) == 0
        db.session.remove()

    big = tmp_path / "big.csv"
    big.write_bytes(_contacts_csv(rows))
    started = time.monotonic()
    importer = _import_process(url, tmp_path / "instance", big)
    try:
        _wait_until_checking(importer)
        for _ in range(2):
            ask(answers)
            time.sleep(0.2)
        still_importing = importer.poll() is None
        output, errors = importer.communicate(timeout=300)
    finally:
        if importer.poll() is None:
            importer.kill()
        importer.wait(timeout=30)
    took = time.monotonic() - started
    assert importer.returncode == 0, errors
    assert f"contacts added: {rows}" in output
    for method, page, status, seconds in answers:
        assert status == (302 if method == "POST" else 200), (method, page, status)
        assert seconds < 1.5, (method, page, seconds, took, answers)
    assert still_importing, "the import ended before the pages were asked: make the file longer"
    with app.app_context():
        assert count_rows(Contact) == rows
        assert count_rows(FollowUp) == 3
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ("   ,a@example.org", "row 2: name missing"),
        ("Ana, not an address", "row 2: “not an address” is not an e-mail address"),
        ("Ana,a@b@example.org", "row 2: “a@b@example.org” is not an e-mail address"),
        ("A" * 201 + ",a@example.org", "row 2: the name is longer than 200 characters"),
    ],
)
def test_a_row_the_database_would_refuse_is_a_problem_of_the_file_not_an_error(app, cells, problem):
    before = table_counts()
    rows = exchange.read_csv(f"name,email,office,government,city\n{cells},Embassy,DEU,Madrid\n".encode())
    with pytest.raises(exchange.ImportRejected) as refused:
        exchange.import_contacts(rows, actor="cli", today=TODAY)
    assert refused.value.problems == [problem]
    db.session.rollback()
    assert table_counts() == before
