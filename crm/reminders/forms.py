"""Forms for reminder preferences and the outbox."""

from __future__ import annotations

from wtforms import BooleanField, SelectField
from wtforms.validators import InputRequired

from crm.forms import AppForm
from crm.translation import lazy_gettext as _l

LANGUAGE_CHOICES = [("en", "English"), ("es", "Español")]


class PreferencesForm(AppForm):
    reminders_enabled = BooleanField(_l("E-mail me when a follow-up I own falls due"))
    digest_enabled = BooleanField(_l("E-mail me a daily digest of my follow-ups and meetings"))
    digest_hour = SelectField(
        _l("Digest hour"),
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        validators=[InputRequired()],
        description=_l("In your time zone. Managers get the weekly report on Mondays at this hour."),
    )
    weekly_report_enabled = BooleanField(_l("E-mail me the weekly report"))
    timezone = SelectField(_l("Time zone"), validators=[InputRequired()])
    language = SelectField(
        _l("Language"),
        choices=LANGUAGE_CHOICES,
        validators=[InputRequired()],
        description=_l("Of the interface and of every e-mail Alcance sends you."),
    )

    def __init__(self, *args, timezones=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [(name, name.replace("_", " ")) for name in timezones]
