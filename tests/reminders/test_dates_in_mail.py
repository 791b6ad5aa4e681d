"""Every date a user reads in an e-mail, subject and body, and in a letter's merge fields follows the pages'
rule: Babel's medium form in the reader's language ("2 Dec 2026", "2 dic 2026"), a moment shown as the
day it is in the reader's time zone. Calendars and CSV exports stay ISO 8601."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.accounts import invitations
from crm.extensions import db
from crm.letters import merge_fields
from crm.mail.models import OutboundMessage
from crm.reminders import services as reminders

UTC = dt.UTC
# Wednesday 2 December 2026, 02:30 UTC: still 1 December in Caracas (UTC-4).
MOMENT = dt.datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
pytestmark = pytest.mark.parametrize("clock", [MOMENT], indirect=True, ids=["2-dec-2026"])

DATES = {
    "en": ("30 Nov 2026", "2 Dec 2026", "1 Dec 2026", "25 Nov 2026"),
    "es": ("30 nov 2026", "2 dic 2026", "1 dic 2026", "25 nov 2026"),
}


def _reader(make_user, language, zone="UTC"):
    user = make_user("coordinator", language=language)
    user.timezone = zone
    db.session.flush()
    return user


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_due_reminder_gives_the_due_day_in_the_readers_form(clock, make_user, make_record, make_follow_up, language):
    owner = _reader(make_user, language)
    follow_up = make_follow_up(make_record("FRA", assignee=owner), owner, dt.date(2026, 11, 30))
    rendered = reminders.render_due_reminder(follow_up, clock.now())
    overdue, _, _, _ = DATES[language]
    assert overdue in rendered.text and overdue in rendered.html
    assert "November" not in rendered.text and "noviembre" not in rendered.text


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_digest_names_its_day_in_the_subject_and_lists_due_days(
    clock, make_user, make_record, make_follow_up, language
):
    owner = _reader(make_user, language)
    make_follow_up(make_record("DEU", assignee=owner), owner, dt.date(2026, 11, 30), note="Chase the embassy")
    rendered = reminders.render_digest(reminders.digest_for(owner, dt.date(2026, 12, 2)))
    overdue, day, _, _ = DATES[language]
    expected = {"en": f"Your follow-ups for {day}", "es": f"Sus seguimientos para el {day}"}[language]
    assert rendered.subject == expected
    assert day in rendered.text and overdue in rendered.text and overdue in rendered.html


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_weekly_report_gives_its_week_as_days_in_the_readers_zone(clock, make_user, language):
    manager = _reader(make_user, language, zone="America/Caracas")
    report = reminders.weekly_report(dt.datetime(2026, 11, 25, 12, tzinfo=UTC), clock.now())
    rendered = reminders.render_weekly_report(manager, report)
    _, _, caracas_today, start = DATES[language]
    # The week ends now: 2 December in UTC, still 1 December in Caracas.
    expected = {
        "en": f"Weekly report: {start} to {caracas_today}",
        "es": f"Informe semanal: del {start} al {caracas_today}",
    }[language]
    assert rendered.subject == expected
    assert caracas_today in rendered.text


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_invitation_gives_the_links_expiry_in_the_readers_form(app, clock, make_user, monkeypatch, language):
    monkeypatch.setitem(app.config, "INVITATION_MAX_AGE_HOURS", 7 * 24)
    invitations.invite(
        f"new-{language}@example.org", "volunteer", actor=make_user("admin"), now=clock.now(), language=language
    )
    db.session.flush()
    message = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.kind == "invitation")).one()
    expiry = {"en": "9 Dec 2026, 2:30\u202fam", "es": "9 dic 2026, 2:30"}[language]
    assert expiry in message.body_text and expiry in message.body_html, message.body_text
    assert "2026-12-09" not in message.body_text


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_chase_note_names_the_meeting_day_in_the_owners_form(clock, make_user, make_record, language):
    owner = _reader(make_user, language)
    record = make_record("FRA", assignee=owner)
    event = reminders._Event(record=record, letter=None, started_on=dt.date(2026, 11, 30))
    note = reminders._chase_note(event, owner)
    assert DATES[language][0] in note


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_letters_date_merge_field_is_the_medium_form_of_the_letters_language(clock, make_record, language):
    record = make_record("FRA")
    values = merge_fields.merge_values(record, language=language)
    # A letter's date is a day: today in UTC for a letter written without a sender.
    assert values["date"] == DATES[language][1]
