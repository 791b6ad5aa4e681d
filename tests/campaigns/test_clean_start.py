"""A clean start: `demo remove` takes the demo away and nothing else; ALCANCE_DEMO=0 sets up empty."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.accounts.models import User
from crm.campaigns import services as campaigns
from crm.campaigns import targets
from crm.campaigns.models import Campaign
from crm.contacts import offices
from crm.contacts import services as contacts
from crm.contacts.models import Contact, Office
from crm.countries.services import country_by_code
from crm.demo import DEMO_TEMPLATE, USERS, load_demo
from crm.extensions import db
from crm.letters.letter_templates import find_template, save_template
from crm.letters.models import LetterTemplate
from crm.outreach import services as outreach
from crm.outreach.models import OutreachRecord
from tests.conftest import count_rows, make_app


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def users_own_campaign(make_user):
    """A campaign of one's own, with work on it: targets, an office and contact added, a follow-up."""
    manager = make_user("manager")
    campaign = campaigns.create_campaign(
        name="Free elections",
        slug="free-elections",
        actor=manager,
        demands=[campaigns.DemandWording("Repudiate the election")],
    )
    targets.add_targets(campaign, actor=manager, names=["DEU", "BRA"])
    germany = next(r for r in campaign.outreach_records if r.country.alpha3 == "DEU")
    outreach.add_follow_up(germany, owner=manager, due_on=dt.date(2026, 3, 5), note="Call", actor=manager)
    office = offices.create_office(
        actor=manager,
        kind="embassy",
        name="Embajada de Alemania",
        city="Brasilia",
        country=country_by_code("DEU"),
        host_country=country_by_code("BRA"),
    )
    contacts.create_contact(actor=manager, office=office, name="Hanna Beispiel", started_on=dt.date(2026, 1, 1))
    db.session.commit()
    return campaign


def test_demo_remove_leaves_the_users_campaign_untouched(app, runner, make_user):
    users_own_campaign(make_user)
    before = table_counts()
    load_demo()
    db.session.commit()
    loaded = table_counts()
    assert loaded != before

    result = runner.invoke(args=["demo", "remove"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("demo campaign: removed\n")
    after = table_counts()
    # Everything as it was but the audit log, which is never rewritten: it keeps the demo's history (loaded
    # through the services) and gains one line saying the demo was removed.
    assert {name for name in after if after[name] != before[name]} == {"audit_event"}
    assert after["audit_event"] == loaded["audit_event"] + 1
    assert db.session.scalar(sa.select(User).where(User.email.in_([u[0] for u in USERS.values()]))) is None
    assert runner.invoke(args=["demo", "remove"]).output.startswith("demo campaign: not present\n")


def test_a_demo_person_the_users_work_refers_to_is_kept(app, runner, make_user):
    campaign = users_own_campaign(make_user)
    load_demo()
    db.session.commit()
    demo_coordinator = db.session.scalar(sa.select(User).where(User.email == "coordinator.demo@example.org"))
    record = next(r for r in campaign.outreach_records if r.country.alpha3 == "BRA")
    record.coordinator_id = demo_coordinator.id
    db.session.commit()
    result = runner.invoke(args=["demo", "remove"])
    assert "kept, because your own records refer to it: Chris Sample (demo)" in result.output
    assert db.session.get(OutreachRecord, record.id).coordinator_id == demo_coordinator.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1


def test_setup_with_alcance_demo_0_starts_empty(tmp_path, tmp_path_factory):
    app = make_app("sqlite:///" + str(tmp_path / "fresh.db"), tmp_path_factory)
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["setup"], env={"ALCANCE_DEMO": "0", "ALCANCE_ADMIN_PASSWORD": "a long enough passphrase"}
        )
        assert result.exit_code == 0, result.output
        assert "demo data loaded" not in result.output
        assert count_rows(Campaign) == 0 and count_rows(Office) == 0 and count_rows(Contact) == 0
        db.session.remove()
        result = app.test_cli_runner().invoke(args=["setup"], env={"ALCANCE_DEMO": "1"})
        assert "demo data loaded" in result.output
        assert count_rows(Campaign) == 1
        db.session.remove()
        db.engine.dispose()


def test_the_start_page_walks_an_admin_through_the_first_steps(client, signed_in, make_user):
    load_demo()
    db.session.commit()
    admin = signed_in("admin")
    page = client.get("/").get_data(as_text=True)
    for link in ('href="/campaigns/new"', 'href="/campaigns/manage"', 'href="/admin/users/invite"', 'href="/contacts"'):
        assert link in page
    campaign = campaigns.create_campaign(name="Own", slug="own", actor=admin, demands=[campaigns.DemandWording("One")])
    db.session.commit()
    assert "Start your own campaign" in client.get("/").get_data(as_text=True)
    targets.add_targets(campaign, actor=admin, names=["DEU"])
    db.session.commit()
    assert "Start your own campaign" not in client.get("/").get_data(as_text=True)


def test_volunteers_are_not_shown_the_first_steps(client, signed_in):
    signed_in("volunteer")
    assert "Start your own campaign" not in client.get("/").get_data(as_text=True)


def test_an_office_the_user_created_and_the_demo_reused_stays(app, runner, make_user):
    manager = make_user("manager")
    office = offices.create_office(
        actor=manager,
        kind="embassy",
        name="Embajada de Alemania en España",
        city="Madrid",
        country=country_by_code("DEU"),
        host_country=country_by_code("ESP"),
    )
    db.session.commit()
    load_demo()
    db.session.commit()
    assert runner.invoke(args=["demo", "remove"]).exit_code == 0
    assert db.session.get(Office, office.id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutreachRecord)) == 0


def test_the_demo_template_someone_rewrote_stays(app, runner, make_user):
    manager = make_user("manager")
    load_demo()
    template = find_template(DEMO_TEMPLATE, "es")
    save_template(
        template, name=DEMO_TEMPLATE, language="es", subject="Nuestra carta", body="Texto propio.", actor=manager
    )
    db.session.commit()
    result = runner.invoke(args=["demo", "remove"])
    assert "letter templates: 2" in result.output
    assert [t.language for t in db.session.scalars(sa.select(LetterTemplate))] == ["es"]
