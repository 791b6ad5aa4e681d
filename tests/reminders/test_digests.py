"""The daily digest at each user's hour in their own time zone, the managers' weekly report, and mail in
the reader's language."""

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import flask_babel
import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations

from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.outreach.models import Position
from crm.reminders import jobs, services
from crm.reminders.models import ReminderPreference
from crm.signatures.models import Petition, Signature
from tests.reminders.conftest import text_and_html

# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]

UTC = dt.UTC
MADRID = ZoneInfo("Europe/Madrid")
# A Wednesday. Dates are fixed so that the digest's sections are exact.
DAY = dt.date(2031, 5, 14)


def at_madrid(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=MADRID).astimezone(UTC)


@pytest.fixture
def ana(make_user):
    user = make_user("coordinator", email="ana@example.org", name="Ana Coordinadora")
    user.timezone = "Europe/Madrid"
    db.session.add(ReminderPreference(user_id=user.id, digest_hour=9))
    db.session.flush()
    return user


def _digests():
    return db.session.scalars(
        sa.select(OutboundMessage).where(OutboundMessage.kind == "digest").order_by(OutboundMessage.id)
    ).all()


def test_the_digest_lists_overdue_today_upcoming_and_meetings_at_the_users_hour(
    smtp, ana, make_user, make_record, make_follow_up, make_meeting, make_office
):
    someone_else = make_user("volunteer")
    france = make_record("FRA", assignee=ana)
    germany = make_record("DEU", assignee=ana)
    make_follow_up(france, ana, DAY - dt.timedelta(days=3), note="Chase the embassy in Madrid")
    make_follow_up(germany, ana, DAY, note="Send the signature totals")
    make_follow_up(germany, ana, DAY + dt.timedelta(days=5), note="Prepare the meeting brief")
    make_follow_up(germany, ana, DAY + dt.timedelta(days=30), note="Far in the future")
    make_follow_up(france, ana, DAY - dt.timedelta(days=9), note="Finished long ago", status="done")
    make_follow_up(france, someone_else, DAY, note="Somebody else's step")
    make_follow_up(
        france,
        ana,
        DAY - dt.timedelta(days=20),
        note="Snoozed until Friday",
        status="snoozed",
        snoozed_until=DAY + dt.timedelta(days=2),
    )
    office = make_office("FRA", host="ESP", city="Madrid", name="Ambassade de France en Espagne")
    make_meeting([france], at_madrid(11), staff=[ana], office=office, summary="Hand over the letter")
    make_meeting([germany], at_madrid(11) - dt.timedelta(days=20), staff=[ana], summary="An old meeting")
    db.session.commit()

    someone_else.active = False  # only Ana's digest is under test
    db.session.commit()

    assert jobs.send_digests(at_madrid(8, 55)).delivery.sent == 0  # 08:55 in Madrid: not yet
    assert jobs.send_digests(at_madrid(9, 5)).delivery.sent == 1
    assert jobs.send_digests(at_madrid(9, 10)).delivery.sent == 0  # once a day
    assert jobs.send_digests(at_madrid(23, 50)).delivery.sent == 0

    [message] = smtp.mailbox.to("ana@example.org")
    assert message["Subject"] == "Your follow-ups for 14 May 2031"
    text, html = text_and_html(message)
    sections = re.split(r"\n(?=Overdue|Due today|Coming up this week|Meetings)", text)
    overdue, today, upcoming, meetings = (
        next(s for s in sections if s.startswith(t))
        for t in ("Overdue (1)", "Due today (1)", "Coming up this week (2)", "Meetings (1)")
    )
    assert "Chase the embassy in Madrid" in overdue and "France" in overdue
    assert "Send the signature totals" in today and "Germany" in today
    assert "Prepare the meeting brief" in upcoming and "Snoozed until Friday" in upcoming
    assert "Ambassade de France en Espagne" in meetings and "Hand over the letter" in meetings
    assert "11:00" in meetings  # shown in Madrid time
    for absent in ("Far in the future", "Finished long ago", "Somebody else's step", "An old meeting"):
        assert absent not in text and absent not in html
    assert "Chase the embassy in Madrid" in html and "Hand over the letter" in html

    assert jobs.send_digests(at_madrid(9, 5, day=DAY + dt.timedelta(days=1))).delivery.sent == 1
    assert len(smtp.mailbox.to("ana@example.org")) == 2


def test_a_day_with_nothing_to_tell_sends_no_digest(smtp, ana):
    assert jobs.send_digests(at_madrid(10)).delivery.sent == 0
    [row] = _digests()
    assert row.status == "skipped" and row.sent_at is None
    assert smtp.messages == []


def test_users_who_turned_the_digest_off_get_none(smtp, ana, make_record, make_follow_up):
    make_follow_up(make_record(assignee=ana), ana, DAY)
    services.save_preferences(
        ana,
        actor=ana,
        reminders_enabled=True,
        digest_enabled=False,
        digest_hour=9,
        timezone="Europe/Madrid",
        language="en",
    )
    db.session.commit()
    assert jobs.send_digests(at_madrid(10)).delivery.sent == 0
    assert _digests() == []


def _spanish_catalogue(*pairs) -> Translations:
    catalogue = Catalog(locale="es")
    for msgid, msgstr in pairs:
        catalogue.add(msgid, msgstr)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer)


@pytest.fixture
def spanish(monkeypatch):
    """A Spanish catalogue with this feature's strings, whatever state the shipped one is in: proves
    that every mail is written through gettext in the reader's language."""
    catalogue = _spanish_catalogue(
        ("Follow-up due: %(country)s, %(next_step)s", "Vence un seguimiento: %(country)s, %(next_step)s"),
        ("Hello %(name)s,", "Hola, %(name)s:"),
        ("Next step", "Próximo paso"),
        ("Your follow-ups for %(date)s", "Tus seguimientos del %(date)s"),
        ("Overdue", "Vencidos"),
        ("Due today", "Vencen hoy"),
    )
    original = flask_babel.Domain.get_translations

    def get_translations(self):
        if str(flask_babel.get_locale()) == "es":
            return catalogue
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", get_translations)


def test_a_spanish_user_gets_spanish_mail(smtp, spanish, make_user, make_record, make_follow_up):
    luisa = make_user("coordinator", email="luisa@example.org", name="Luisa", language="es")
    luisa.timezone = "Europe/Madrid"
    sam = make_user("coordinator", email="sam@example.org", name="Sam", language="en")
    record = make_record("DEU")
    make_follow_up(record, luisa, DAY - dt.timedelta(days=1), note="Llamar a la embajada")
    make_follow_up(record, sam, DAY - dt.timedelta(days=1), note="Call the embassy")
    db.session.commit()

    assert jobs.send_due_reminders(at_madrid(9)).delivery.sent == 2
    [spanish_mail] = smtp.mailbox.to("luisa@example.org")
    assert spanish_mail["Subject"] == "Vence un seguimiento: Alemania, Llamar a la embajada"
    assert spanish_mail["Content-Language"] == "es"
    text, html = text_and_html(spanish_mail)
    assert text.startswith("Hola, Luisa:")
    assert "Próximo paso: Llamar a la embajada" in text
    assert "13 may 2031" in text  # the date, written the Spanish way (Babel's medium form)
    assert 'lang="es"' in html and "Próximo paso" in html
    [english_mail] = smtp.mailbox.to("sam@example.org")
    assert english_mail["Subject"] == "Follow-up due: Germany, Call the embassy"
    assert text_and_html(english_mail)[0].startswith("Hello Sam,")

    assert jobs.send_digests(at_madrid(10)).delivery.sent == 2
    digest = [m for m in smtp.mailbox.to("luisa@example.org") if m["Subject"] != spanish_mail["Subject"]][0]
    assert digest["Subject"] == "Tus seguimientos del 14 may 2031"
    assert "Vencidos (1)" in text_and_html(digest)[0]
    assert any(m["Subject"] == "Your follow-ups for 14 May 2031" for m in smtp.mailbox.to("sam@example.org"))


def test_every_mail_template_marks_its_strings_for_translation():
    """No bare English sentence in the e-mail templates: text outside {{ }} and {% %} is only layout."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "templates" / "reminders" / "email"
    for path in folder.iterdir():
        stripped = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", path.read_text(), flags=re.S)
        stripped = re.sub(r"<[^>]*>", " ", stripped)
        words = re.findall(r"[A-Za-z]{3,}", stripped)
        assert words == [], f"{path.name}: untranslated text {words[:5]}"


def test_managers_get_a_weekly_report_of_replies_positions_and_signatures(
    smtp, campaign, make_user, make_record, make_letter
):
    make_user("manager", email="mara@example.org", name="Mara Manager")
    volunteer = make_user("volunteer")
    record = make_record("CAN")
    monday = dt.date(2031, 5, 12)
    now = dt.datetime.combine(monday, dt.time(9, 0), tzinfo=UTC)
    make_letter(record, direction="incoming", subject="Re: Three demands", received_on=monday - dt.timedelta(days=2))
    make_letter(record, direction="incoming", subject="An old reply", received_on=monday - dt.timedelta(days=40))
    demand = campaign.demands[2]
    other_demand = campaign.demands[0]
    for demand_, stance, days_ago in ((other_demand, "supportive", 30), (other_demand, "supportive", 2)):
        db.session.add(
            Position(
                campaign_id=campaign.id,
                outreach_id=record.id,
                demand_id=demand_.id,
                stance=stance,
                stated_on=monday - dt.timedelta(days=days_ago),
                recorded_at=now - dt.timedelta(days=days_ago),
            )
        )  # restated: not a change
    for stance, days_ago in (("non_committal", 60), ("supportive", 1)):
        db.session.add(
            Position(
                campaign_id=campaign.id,
                outreach_id=record.id,
                demand_id=demand.id,
                stance=stance,
                stated_on=monday - dt.timedelta(days=days_ago),
                recorded_at=now - dt.timedelta(days=days_ago),
            )
        )
    petition = Petition(campaign_id=campaign.id, slug="petition", name="Petition")
    db.session.add(petition)
    db.session.flush()
    for n, days_ago in enumerate((1, 1, 1, 20)):
        db.session.add(
            Signature(
                campaign_id=campaign.id,
                petition_id=petition.id,
                email_hash=f"{n:064x}",
                created_at=now - dt.timedelta(days=days_ago),
            )
        )
    db.session.commit()

    def weekly_sent(moment):
        return jobs.send_digests(moment).delivery.sent_by_kind.get("weekly_report", 0)

    assert weekly_sent(now - dt.timedelta(hours=2)) == 0  # Monday 07:00: before the manager's hour
    assert weekly_sent(now) == 1
    assert weekly_sent(now + dt.timedelta(days=2)) == 0  # once a week
    [report] = [m for m in smtp.mailbox.to("mara@example.org") if m["X-Alcance-Kind"] == "weekly_report"]
    assert report["Subject"] == "Weekly report: 5 May 2031 to 12 May 2031"
    text, html = text_and_html(report)
    assert "Governments that replied (1)" in text and "Re: Three demands" in text and "An old reply" not in text
    assert "Positions that changed (1)" in text and "Canada" in text and "Non-committal → Supportive" in text
    assert "New signatures (3)" in text and "Test campaign: 3" in text
    assert "Re: Three demands" in html
    assert not [m for m in smtp.mailbox.to(volunteer.email) if m["X-Alcance-Kind"] == "weekly_report"]
    assert weekly_sent(now + dt.timedelta(days=7)) == 1
