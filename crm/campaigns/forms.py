"""Forms for setting a campaign up: formats and choices only; the rules live in services."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.campaigns.models import TRANSLATED_LANGUAGES
from crm.campaigns.services import CampaignWording, DemandWording, wordings_of
from crm.core.submissions import SubmissionKeyField
from crm.countries.forms import RS_STATUS_LABELS
from crm.countries.models import RS_STATUSES
from crm.forms import AppForm
from crm.translation import lazy_gettext as _l

LANGUAGE_CHOICES = [("en", _l("English")), ("es", _l("Spanish"))]


class DemandFields(Form):
    """One demand's wording; a row left wholly blank on the new-campaign page is skipped."""

    label = StringField(_l("Short label (English)"), validators=[Optional(), Length(max=300)])
    text = TextAreaField(_l("Full text (English)"), validators=[Optional()])
    label_es = StringField(_l("Short label (Spanish)"), validators=[Optional(), Length(max=300)])
    text_es = TextAreaField(_l("Full text (Spanish)"), validators=[Optional()])

    def wording(self) -> DemandWording:
        return DemandWording(
            label=self.label.data, text=self.text.data, label_es=self.label_es.data, text_es=self.text_es.data
        )

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.label, self.text, self.label_es, self.text_es))


class DescriptionForm(AppForm):
    name = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    name_es = StringField(_l("Name (Spanish)"), validators=[Optional(), Length(max=200)])
    slug = StringField(
        _l("Slug"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("Its address: lower-case letters, digits and hyphens, such as justice-2025."),
    )
    description = TextAreaField(_l("Short description (English)"), validators=[Optional()])
    description_es = TextAreaField(_l("Short description (Spanish)"), validators=[Optional()])
    starts_on = DateField(_l("Start date"), validators=[Optional()])
    letter_language = SelectField(_l("Default letter language"), choices=LANGUAGE_CHOICES, default="en")

    def values(self) -> dict:
        values = {
            name: getattr(self, name).data for name in ("name", "slug", "description", "starts_on", "letter_language")
        }
        # One name_<language> and description_<language> field pair per translated language.
        values["translations"] = {
            language: CampaignWording(
                getattr(self, f"name_{language}").data, getattr(self, f"description_{language}").data
            )
            for language in TRANSLATED_LANGUAGES
        }
        return values

    @staticmethod
    def data_of(campaign) -> dict:
        """The translated fields' values for `campaign`, to fill the form with."""
        data = {}
        for language, wording in wordings_of(campaign).items():
            data[f"name_{language}"], data[f"description_{language}"] = wording.name, wording.description
        return data


class NewCampaignForm(DescriptionForm):
    demands = FieldList(FormField(DemandFields), min_entries=3, max_entries=20)
    submission_key = SubmissionKeyField()

    def wordings(self) -> list[DemandWording]:
        return [entry.form.wording() for entry in self.demands if not entry.form.is_blank()]


class DemandForm(AppForm, DemandFields):
    label = StringField(_l("Short label (English)"), validators=[DataRequired(), Length(max=300)])


class NewDemandForm(DemandForm):
    submission_key = SubmissionKeyField()


class SettingsForm(AppForm):
    reply_days = IntegerField(
        _l("Reply period (days)"),
        validators=[InputRequired(), NumberRange(1, 3650)],
        description=_l("Days after a delivered letter or a meeting before the assignee is asked to chase the reply."),
    )
    stall_days = IntegerField(
        _l("Days before a record counts as stalled"), validators=[InputRequired(), NumberRange(1, 3650)]
    )
    claims_need_approval = BooleanField(_l("Volunteers' claims need a coordinator's approval"))
    default_coordinator = SelectField(_l("Coordinates by default"), coerce=int, default=0)


class ConfirmedForm(AppForm):
    """A change that cannot be undone from the page: the box must be ticked."""

    confirm = BooleanField(_l("Yes, I am sure"), validators=[DataRequired(_l("Tick the box to confirm."))])


class MoveForm(AppForm):
    step = SelectField(choices=[("-1", "up"), ("1", "down")], validators=[DataRequired()])


class TargetsForm(AppForm):
    submission_key = SubmissionKeyField()
    region = SelectField(_l("UN M49 region or sub-region"), default="")
    rome_status = SelectField(
        _l("Rome Statute status"),
        default="",
        choices=[("", _l("Any"))] + [(s, RS_STATUS_LABELS[s]) for s in RS_STATUSES],
    )
    names = TextAreaField(
        _l("Countries, by name or code"),
        description=_l("In English or Spanish, separated by commas or one per line: Alemania, FRA, Reino Unido."),
    )
