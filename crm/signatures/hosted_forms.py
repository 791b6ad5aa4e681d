"""Forms of hosted petitions: the public signing form (formats only; the rules are crm/signatures/hosted.py)
and the coordinators' form for the page."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from crm.campaigns.models import CAMPAIGN_LANGUAGES
from crm.core.forms import plain_text, strip, with_wording
from crm.core.public_forms import PublicForm
from crm.forms import AppForm
from crm.translation import lazy_gettext as _l

HOSTED_STATUS_LABELS = {
    "pending": _l("Waiting for the e-mail link"),
    "held": _l("Held for review"),
    "confirmed": _l("Counted"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}


class HostedSignForm(PublicForm):
    """Sign a hosted petition: who, where they live, and the two consents (the second unticked)."""

    FORM_NAME = "petition"

    name = StringField(
        _l("Your name"),
        filters=[strip],
        validators=[DataRequired(_l("Give your name.")), Length(max=200), plain_text],
        render_kw={"autocomplete": "name"},
    )
    email = StringField(
        _l("E-mail"),
        filters=[strip],
        validators=[
            DataRequired(_l("Give your e-mail address: the link to confirm is sent there.")),
            Length(max=254),
            Email(_l("This is not an e-mail address.")),
        ],
        description=_l("Never published."),
        render_kw={"type": "email", "autocomplete": "email", "inputmode": "email"},
    )
    country = SelectField(_l("Country of residence"), choices=[], validators=[DataRequired(_l("Choose the country."))])
    postal_code = StringField(
        _l("Postal code (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=20), plain_text],
        render_kw={"autocomplete": "postal-code"},
    )
    consent = BooleanField(
        _l("Count my signature and deliver the total, with my country of residence, to governments."),
        validators=[InputRequired(_l("Tick the box to have your signature counted and delivered, or do not sign."))],
    )
    wants_contact = BooleanField(_l("The campaign may write to me again (optional)."))
    show_name = BooleanField(_l("Show my name among the signers (optional)."))

    def set_countries(self, countries, language: str) -> None:
        self._countries = {country.alpha3: country for country in countries}
        self.country.choices = [("", "—")] + [(c.alpha3, c.name(language)) for c in countries]

    @property
    def chosen_country(self):
        return self._countries.get(self.country.data)


@with_wording(rows=10)
class HostedPageForm(AppForm):
    totals_by_country = BooleanField(_l("Show the running total by country of residence"))
    frame_origins = TextAreaField(
        _l("Sites that may show the form in a frame"),
        filters=[strip],
        validators=[Optional(), Length(max=2000)],
        description=_l("One origin per line, for example https://campaign.example. Empty: no site."),
        render_kw={"rows": 3},
    )

    def texts(self) -> dict:
        return {
            language: (getattr(self, f"title_{language}").data, getattr(self, f"body_{language}").data)
            for language in CAMPAIGN_LANGUAGES
        }

    def text_fields(self):
        return [
            (getattr(self, f"title_{language}"), getattr(self, f"body_{language}")) for language in CAMPAIGN_LANGUAGES
        ]

    @staticmethod
    def initial(page) -> dict:
        data = {"totals_by_country": page.totals_by_country, "frame_origins": page.frame_origins or ""}
        for language, wording in (page.texts or {}).items():
            data[f"title_{language}"], data[f"body_{language}"] = wording.get("title"), wording.get("body")
        return data
