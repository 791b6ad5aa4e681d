"""Every page asks the database the same number of questions however much data it shows: each page of the
permission matrix is counted on the demo (with the matrix's records) and again once those same records,
campaigns, governments, offices and petitions carry several times more outreach records, contacts,
meetings, letters, follow-ups, positions, signatures and audit events. A page whose count grows with the
data fails, each route on its own.

And each page lets what it read go once it is written: nothing of it (its template's context, the rows it
read) is left in a reference cycle for Python's garbage collector to find. A template that imports macros
"with context" does that: the dashboard's whole figures, some thousands of rows at an organisation's size,
waited for the collector, which walked them several times a request."""

from __future__ import annotations

import datetime as dt
import gc
import io

import jinja2.runtime
import pytest
import sqlalchemy as sa
import time_machine

from crm.accounts.models import User
from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, Demand, DemandTranslation
from crm.contacts.models import Contact, Office
from crm.countries.models import Country
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.demo import load_demo
from crm.extensions import db
from crm.letters import letter_templates
from crm.letters import services as letters
from crm.mail.models import OutboundMessage
from crm.outreach import services as outreach
from crm.outreach.models import OutreachRecord
from crm.signatures.imports import import_file
from crm.signatures.petitions import create_petition
from crm.signatures.push import push_signatures
from crm.signatures.tallies import record_tally
from tests.conftest import (
    CLOCKS,
    DEFAULT_CLOCK,
    TEST_PASSWORD,
    TEST_TOTP_SECRET,
    IsolatedClient,
    _BoundSession,
    sign_in,
)
from tests.factories import QueryCounter
from tests.test_permission_matrix import EXTRA_RULES, MATRIX, OK, build_world

ROLES = ("admin", "manager", "coordinator", "volunteer")
# Every page (GET) of the matrix, and the role that is shown it (or, for a page nobody is shown, an admin).
PAGES = {endpoint: (build, expected) for (endpoint, method), (build, expected) in MATRIX.items() if method == "GET"}
PAGES.update(
    {f"{endpoint} {rule}": (lambda w, rule=rule: rule, expected) for rule, (endpoint, expected) in EXTRA_RULES.items()}
)
TIMES = 4  # the scaled data holds this many times more of everything on the pages' subjects


def _role_for(expected: dict) -> str:
    return next(
        (role for role in ROLES if expected[role] == OK), "anonymous" if expected["anonymous"] == OK else "admin"
    )


class _Users:
    """Users made the way tests/conftest.py's make_user makes them (one password hash for all)."""

    def __init__(self):
        self.n = 0
        probe = User(email="x@example.org", name="x")
        probe.set_password(TEST_PASSWORD)
        self.hash = probe.password_hash

    def __call__(self, role="volunteer", *, name=None, **_ignored) -> User:
        self.n += 1
        user = User(
            email=f"pages-{role}{self.n}@example.org",
            name=name or f"{role.title()} {self.n}",
            role=role,
            language="en",
            active=True,
            password_hash=self.hash,
        )
        if role in ("admin", "manager"):
            user.totp_secret, user.totp_enabled_at = TEST_TOTP_SECRET, utcnow()
        db.session.add(user)
        db.session.flush()
        return user


def _scale_up(world: dict, users: dict[str, User], times: int) -> None:
    """Several times more of what the pages show, on the same campaign, government, record, office,
    contact, petition and users the pages are asked about."""
    campaign = world["record"].campaign
    record, office, owner = world["record"], world["office"], world["owner"]
    staff = [owner, *users.values()]
    france = country_by_code("FRA")
    for n in range(times):
        demand = Demand(campaign=campaign, ordinal=10 + n, code=f"scaled-{n}", title=f"Scaled demand {n}")
        demand.translations.append(DemandTranslation(language="es", title=f"Exigencia {n}"))
        db.session.add(demand)
    # More campaigns, each with a record for the same government (the country page shows them all).
    records = [record]
    for n in range(times):
        other = Campaign(slug=f"scaled-{n}", name=f"Scaled campaign {n}")
        other.demands.append(Demand(ordinal=1, code="d1", title=f"Scaled campaign {n}'s demand"))
        db.session.add(other)
        db.session.flush()
        extra = OutreachRecord(campaign=other, country_id=france.id, assignee_id=staff[n % len(staff)].id)
        db.session.add(extra)
        records.append(extra)
    # More governments in the campaign, assigned to everyone who asks (My work, the board, follow-ups).
    countries = db.session.scalars(
        sa.select(Country)
        .where(~Country.id.in_(sa.select(OutreachRecord.country_id).where(OutreachRecord.campaign_id == campaign.id)))
        .order_by(Country.id)
        .limit(times * 6)
    ).all()
    for n, country in enumerate(countries):
        extra = OutreachRecord(
            campaign=campaign, country_id=country.id, assignee_id=staff[n % len(staff)].id, stage="contacted"
        )
        db.session.add(extra)
        records.append(extra)
    db.session.flush()
    # More offices and contacts for the government; contacts on the office.
    for n in range(times):
        db.session.add(
            Office(
                country_id=france.id,
                host_country_id=country_by_code("ITA").id,
                kind="embassy",
                city=f"City {n}",
                name=f"Scaled office {n}",
            )
        )
    contacts = [
        Contact(office=office, name=f"Scaled Contact {n}", title="Counsellor", email=f"scaled{n}@example.org")
        for n in range(times * 3)
    ]
    db.session.add_all(contacts)
    db.session.flush()
    demands = db.session.scalars(sa.select(Demand).where(Demand.campaign_id == campaign.id)).all()
    template = world["template"]
    # Meetings, letters, follow-ups and positions on every record, the matrix's record most of all.
    for index, each in enumerate(records):
        rounds = times * 3 if each is record else times
        for n in range(rounds):
            held = utcnow() - dt.timedelta(days=2 + n)
            meeting = outreach.log_meeting(
                [each],
                actor=owner,
                held_at=held,
                summary=f"Scaled meeting {index}-{n}",
                office=office,
                contacts=contacts[n % len(contacts) : n % len(contacts) + 2],
                staff=staff[:2],
            )
            outreach.add_follow_up(
                each,
                owner=staff[(index + n) % len(staff)],
                due_on=held.date(),
                note=f"Scaled step {index}-{n}",
                actor=owner,
                meeting=meeting,
            )
            if each.campaign_id == campaign.id:
                outreach.record_position(
                    each,
                    demands[n % len(demands)],
                    ("opposed", "supportive")[n % 2],
                    held.date(),
                    actor=owner,
                    evidence=f"Scaled evidence {n}",
                )
            if each is record:
                letter = letters.compose_letter(each, template_name=template.name, actor=owner, contact=contacts[0])
                if n % 2:
                    letters.mark_sent(letter, "email", held.date(), owner)
    # A joint meeting on several records.
    outreach.log_meeting(records[:3], actor=owner, held_at=utcnow() - dt.timedelta(days=1), summary="Joint")
    # Signatures: several petitions and files, countries known and not.
    petition = world["petition"]
    codes = ("ES", "FR", "DE", "IT", "CO", "")
    for n in range(times):
        target = petition if n % 2 == 0 else create_petition(campaign, f"Scaled petition {n}", actor=owner)
        rows = "".join(
            f"scaled{n}-{i}@example.org,{codes[i % len(codes)]},2018-0{1 + i % 9}-1{i % 9}\n" for i in range(150)
        )
        import_file(
            target, io.BytesIO(f"email,country,signed_at\n{rows}".encode()), filename=f"scaled{n}.csv", actor=owner
        )
        record_tally(target, country_by_code("ESP"), 500 + n, dt.date(2018, 6, 1), actor=owner)
    push_signatures(
        petition,
        [
            {
                "person": {
                    "email_addresses": [{"address": f"push{i}@example.org"}],
                    "postal_addresses": [{"country": "ES"}],
                }
            }
            for i in range(50)
        ],
    )
    # Audit events on the campaign's records and elsewhere; messages in the outbox; templates; claims.
    db.session.add_all(
        [
            AuditEvent(
                action="outreach.update",
                actor_id=owner.id,
                entity_type="outreach_record",
                entity_id=str(records[n % len(records)].id),
                campaign_id=campaign.id,
                after={"priority": 1},
            )
            for n in range(times * 50)
        ]
    )
    db.session.add_all(
        [
            AuditEvent(
                action="contact.update",
                actor_id=owner.id,
                entity_type="contact",
                entity_id=str(contacts[n % len(contacts)].id),
                after={"title": "x"},
            )
            for n in range(times * 50)
        ]
    )
    db.session.add_all(
        [
            OutboundMessage(
                kind="due_reminder",
                dedupe_key=f"scaled-{n}",
                recipient_id=owner.id,
                recipient_email=owner.email,
                language="en",
                subject=f"Reminder {n}",
                body_text="Text",
                body_html="<p>Text</p>",
                message_id=f"<scaled-{n}@example.org>",
            )
            for n in range(times * 10)
        ]
    )
    for n in range(times):
        letter_templates.save_template(
            None,
            name=f"scaled-{n}",
            language="en",
            subject="Subject {campaign_name}",
            body="Dear {recipient_name}",
            actor=owner,
        )
    # Joint statement signatures in every state, decided by several moderators, from several countries.
    from crm.statements import services as statements

    statement, moment = world["statement"], utcnow()
    for n in range(times * 6):
        details = statements.SignUp(
            kind="organisation",
            country=country_by_code(("VEN", "ESP", "COL", "FRA")[n % 4]),
            organisation=f"Scaled organisation {n}",
            website=f"https://scaled{n}.example.org",
            signer_name=f"Scaled signer {n}",
            email=f"scaled{n}@mail.example.com",
            listing=("named", "withheld", "unlisted")[n % 3],
            consent=True,
        )
        signature = statements.sign(statement, details, language="es", now=moment).signature
        if n % 6 == 5:
            continue  # waiting for its link
        statements.confirm(signature, now=moment)
        if n % 6 in (0, 1):
            statements.approve(signature, actor=staff[n % len(staff)], now=moment)
        elif n % 6 == 2:
            statements.reject(signature, "Not an organisation", actor=staff[n % len(staff)], now=moment)
        elif n % 6 == 3:
            statements.withdraw(signature, now=moment)
    # More statements, signed by organisations in the governments' countries; every government and position
    # on the public board.
    for n in range(times):
        more = statements.create_statement(
            campaign,
            {
                "en": statements.Wording(f"Scaled statement {n}", "Text"),
                "es": statements.Wording(f"Declaración {n}", "Texto"),
            },
            actor=owner,
        )
        for m, code in enumerate(("FRA", "DEU", "VEN")):
            details = statements.SignUp(
                kind="organisation",
                country=country_by_code(code),
                organisation=f"Scaled co-signer {n}-{m}",
                website=f"https://cosigner{n}-{m}.example.org",
                signer_name=f"Scaled co-signer's signer {n}-{m}",
                email=f"cosigner{n}-{m}@mail.example.com",
                listing=("named", "withheld")[m % 2],
                consent=True,
            )
            signature = statements.sign(more, details, language="en", now=moment).signature
            statements.confirm(signature, now=moment)
            statements.approve(signature, actor=owner, now=moment)
    _publish_everything(campaign, owner)
    from crm.outreach import assignments

    for each in records[len(records) - times :]:
        each.assignee_id = None
        assignments.claim(each, owner)
    db.session.commit()


def _publish_everything(campaign: Campaign, owner: User) -> None:
    """Every government of the campaign and every position on its public board."""
    from crm.board import services as boards
    from crm.outreach.models import Position

    boards.set_published(
        campaign,
        records=set(db.session.scalars(sa.select(OutreachRecord.id).where(OutreachRecord.campaign_id == campaign.id))),
        positions=set(db.session.scalars(sa.select(Position.id).where(Position.campaign_id == campaign.id))),
        actor=owner,
    )


def _give_each_a_little(world: dict, users: dict[str, User]) -> None:
    """Before the first count, each user who asks has one record with a follow-up and a meeting, so that
    no page is counted empty first (an empty list skips the queries of its rows' relations)."""
    campaign, owner = world["record"].campaign, world["owner"]
    for n, (role, user) in enumerate(users.items()):
        country = country_by_code(("PRT", "BEL", "NLD", "SWE")[n])
        record = OutreachRecord(campaign=campaign, country_id=country.id, assignee_id=user.id, stage="contacted")
        db.session.add(record)
        db.session.flush()
        meeting = outreach.log_meeting(
            [record], actor=owner, held_at=utcnow() - dt.timedelta(days=3), summary=f"First meeting of {role}"
        )
        outreach.add_follow_up(
            record,
            owner=user,
            due_on=utcnow().date() - dt.timedelta(days=2),
            note=f"First step of {role}",
            actor=owner,
            meeting=meeting,
        )
        outreach.record_position(record, world["demand"], "opposed", utcnow().date(), actor=owner)
    # The matrix's record, government and petition: one of each thing their pages show.
    record, office, contact = world["record"], world["office"], world["contact"]
    meeting = outreach.log_meeting(
        [record],
        actor=owner,
        held_at=utcnow() - dt.timedelta(days=2),
        office=office,
        summary="First meeting",
        contacts=[contact],
        staff=[owner],
    )
    outreach.record_position(record, world["demand"], "supportive", utcnow().date(), actor=owner, meeting=meeting)
    record_tally(world["petition"], country_by_code("ESP"), 300, dt.date(2018, 6, 1), actor=owner)
    _publish_everything(campaign, owner)
    db.session.commit()


def _measure(app, users: dict[str, User], world: dict) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Statements per page, asked by its role, once the page has been asked once (caches warm); and what
    was left of the page in reference cycles (the names of the types of the template contexts and rows
    among them)."""
    clients = {}
    for role in ("anonymous", *ROLES):
        clients[role] = app.test_client()
        if role != "anonymous":
            sign_in(clients[role], users[role])
    counts, cycles = {}, {}
    gc.collect()
    for name, (build, expected) in PAGES.items():
        client, url = clients[_role_for(expected)], build(world)
        client.get(url)
        with QueryCounter(db.engine) as counter:
            response = client.get(url)
        assert response.status_code < 500, f"{name} {url}: {response.status_code}"
        counts[name] = counter.statements
        cycles[name] = _left_in_cycles(lambda client=client, url=url: client.get(url))
    return counts, cycles


def _left_in_cycles(request) -> list[str]:
    """The template contexts and rows that `request` left in reference cycles. The collector is held off
    while it runs, so that everything it made is in the youngest generation, which is then collected alone
    (a full collection per page would take minutes)."""
    gc.collect(0)
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        request()
        gc.collect(0)
        return [type(thing).__qualname__ for thing in gc.garbage if isinstance(thing, (jinja2.runtime.Context, sa.Row))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.fixture(scope="module")
def measured(_app):
    """Statements per page on the demo and on the scaled data, in one transaction rolled back afterwards."""
    with _app.app_context(), time_machine.travel(CLOCKS[DEFAULT_CLOCK], tick=False):
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"class_": _BoundSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
        )
        previous_client = _app.test_client_class
        _app.test_client_class = IsolatedClient
        try:
            make_user = _Users()
            assert load_demo() is True
            # The demo and the matrix's records both have France's embassy in Madrid: one of them moves.
            db.session.execute(
                sa.update(Office)
                .where(Office.country_id == country_by_code("FRA").id, Office.city == "Madrid")
                .values(city="Madrid (demo)")
            )
            world = build_world(make_user)
            users = {role: make_user(role) for role in ROLES}
            _give_each_a_little(world, users)
            small, _ = _measure(_app, users, world)
            _scale_up(world, users, TIMES)
            large, cycles = _measure(_app, users, world)
            yield small, large, cycles
        finally:
            _app.test_client_class = previous_client
            db.session.remove()
            db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.mark.parametrize("page", list(PAGES))
def test_queries_per_page_do_not_grow_with_the_data(measured, page):
    small, large, _ = measured
    assert len(large[page]) <= len(small[page]), "\n".join(
        [
            f"{page}: {len(small[page])} statements on the demo, {len(large[page])} with {TIMES} times more data:",
            *(statement.split("\n")[0][:160] for statement in large[page]),
        ]
    )


@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_leaves_nothing_it_read_for_the_garbage_collector(measured, page):
    _, _, cycles = measured
    assert cycles[page] == [], f"{page} left {len(cycles[page])} template contexts and rows in reference cycles"
