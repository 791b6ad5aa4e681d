"""Dates and times read the same way on every page and in every e-mail: Babel's medium format in the
reader's language ("2 Dec 2026", "2 dic 2026"), and moments in the reader's own time zone."""

import datetime as dt

import pytest
from flask import render_template_string

from crm import clock
from crm.i18n import show_date, show_datetime, user_zone

LATE_EVENING_UTC = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)


def test_a_day_reads_in_the_medium_form_of_each_language_never_the_us_short_form():
    assert show_date(dt.date(2026, 12, 2), "en") == "2 Dec 2026"
    assert show_date(dt.date(2026, 12, 2), "es") == "2 dic 2026"


def test_a_moment_is_shown_in_the_readers_time_zone():
    toronto, madrid = (
        user_zone(type("U", (), {"timezone": "America/Toronto"})),
        user_zone(type("U", (), {"timezone": "Europe/Madrid"})),
    )
    assert show_datetime(LATE_EVENING_UTC, "en", toronto) == "2 Dec 2026, 6:30\u202fpm"
    assert show_datetime(LATE_EVENING_UTC, "es", madrid) == "3 dic 2026, 0:30"
    # The day of a moment is the reader's day too.
    assert show_date(LATE_EVENING_UTC, "es", madrid) == "3 dic 2026"


def test_a_naive_moment_from_sqlite_counts_as_utc_and_an_unknown_zone_as_utc():
    nobody = type("U", (), {"timezone": "Mars/Olympus_Mons"})
    assert user_zone(nobody).key == "UTC"
    assert show_datetime(LATE_EVENING_UTC.replace(tzinfo=None), "en", user_zone(nobody)) == "2 Dec 2026, 11:30\u202fpm"


def test_pages_e_mails_and_services_read_the_zone_by_one_rule():
    assert user_zone is clock.user_zone


def test_the_page_filters_use_the_signed_in_users_language_and_zone(app, make_user):
    user = make_user("volunteer", language="es")
    user.timezone = "Europe/Madrid"
    with app.test_request_context("/"):
        from flask_login import login_user

        login_user(user)
        shown = render_template_string(
            "{{ moment|datetime }} / {{ day|date }} / {{ day|month }}",
            moment=LATE_EVENING_UTC,
            day=dt.date(2026, 12, 2),
        )
        # A pattern of one's own is refused, never silently ignored: one rule shows every date.
        with pytest.raises(TypeError):
            render_template_string("{{ day|date('MMMM y') }}", day=dt.date(2026, 12, 2))
    assert shown == "3 dic 2026, 0:30 / 2 dic 2026 / diciembre de 2026"


def test_the_same_day_reads_the_same_each_time_in_each_language():
    days = [dt.date(2026, 12, 2), dt.date(2026, 12, 2), dt.date(2027, 1, 31)]
    assert [show_date(day, "en") for day in days] == ["2 Dec 2026", "2 Dec 2026", "31 Jan 2027"]
    assert [show_date(day, "es") for day in days] == ["2 dic 2026", "2 dic 2026", "31 ene 2027"]


def test_templates_speak_the_requests_language_and_a_language_forced_for_part_of_it(app, make_user):
    from flask_babel import force_locale
    from flask_login import login_user

    words = "{{ _('Stage') }} · {{ ngettext('%(num)s country', '%(num)s countries', 2) }}"
    with app.test_request_context("/"):
        login_user(make_user("volunteer", language="es"))
        assert render_template_string(words) == "Etapa · 2 países"
        with force_locale("en"):  # an e-mail to someone who reads English, sent during the request
            assert render_template_string(words) == "Stage · 2 countries"
        assert render_template_string(words) == "Etapa · 2 países"
    english = make_user("volunteer", language="en")
    with app.app_context(), app.test_request_context("/"):  # another request: its own context
        login_user(english)
        assert render_template_string(words) == "Stage · 2 countries"


def test_a_templates_words_read_as_jinjas_gettext_writes_them(app, make_user):
    """_() in a template: the words as they are, a variable escaped in a page (not in a text e-mail), and
    every message taken as a format string, so a "%%" reads as one "%" with or without variables."""
    from flask_login import login_user

    with app.test_request_context("/"):
        login_user(make_user("volunteer", language="es"))
        assert render_template_string("{{ _('Stage') }}") == "Etapa"
        assert render_template_string("{{ _('<b>%(who)s</b>', who='<i>') }}") == "<b>&lt;i&gt;</b>"
        assert render_template_string("{{ _('50%% of %(who)s', who='a&b') }} {{ _('all 100%%') }}") == (
            "50% of a&amp;b all 100%"
        )
        text = app.jinja_env.from_string("{% autoescape false %}{{ _('%(who)s: %%', who='<i>') }}{% endautoescape %}")
        assert text.render() == "<i>: %"


def test_a_stance_reads_as_a_badge_in_the_readers_language(app, make_user):
    from flask_babel import force_locale
    from flask_login import login_user

    with app.test_request_context("/"):
        login_user(make_user("volunteer", language="es"))
        assert render_template_string("{{ stance('supportive') }}") == (
            '<span class="stance stance-supportive">A favor</span>'
        )
        with force_locale("en"):
            assert render_template_string("{{ stance('non_committal') }}") == (
                '<span class="stance stance-non_committal">Non-committal</span>'
            )


def test_a_zone_changed_during_the_request_is_the_one_shown_after(app, make_user):
    """The reader's zone is found once per request, and again when it changes (their account page)."""
    from flask_login import login_user

    user = make_user("volunteer", language="en")
    user.timezone = "Europe/Madrid"
    with app.test_request_context("/"):
        login_user(user)
        assert render_template_string("{{ moment|datetime }}", moment=LATE_EVENING_UTC) == "3 Dec 2026, 12:30\u202fam"
        user.timezone = "America/Toronto"
        assert render_template_string("{{ moment|datetime }}", moment=LATE_EVENING_UTC) == "2 Dec 2026, 6:30\u202fpm"
