"""Forms for petitions, imports, column mappings and tallies: formats and choices only."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm, FilterSelect
from crm.signatures.importers import COLUMN_ROLES, ENCODINGS, FORMATS
from crm.signatures.models import PLATFORMS
from crm.translation import lazy_gettext as _l
from crm.web import readers_today

PLATFORM_LABELS = {
    "action_network": "Action Network",
    "change_org": "Change.org",
    "openpetition": "OpenPetition",
    "generic": _l("Spreadsheet or other platform"),
    "other": _l("Other"),
    "hosted": _l("Hosted here (signed on this site)"),
}
FORMAT_LABELS = {
    code: (profile.label if code != "generic" else _l("Spreadsheet (choose the columns)"))
    for code, profile in FORMATS.items()
}
COLUMN_ROLE_LABELS = {
    "email": _l("E-mail address"),
    "country": _l("Country of residence"),
    "signed_at": _l("Date signed"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "full_name": _l("Full name"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
}
DATE_ORDER_LABELS = {
    "ymd": _l("Year first (2018-05-20)"),
    "dmy": _l("Day first (20/05/2018)"),
    "mdy": _l("Month first (05/20/2018)"),
}
LANGUAGE_CHOICES = [
    ("", "—"),
    ("es", _l("Spanish")),
    ("en", _l("English")),
    ("fr", _l("French")),
    ("pt", _l("Portuguese")),
    ("de", _l("German")),
    ("it", _l("Italian")),
]


class PetitionForm(AppForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200)], description=_l("For example: “Change.org, Spanish”.")
    )
    platform = SelectField(
        _l("Platform"),
        choices=[(p, PLATFORM_LABELS[p]) for p in PLATFORMS],
        default="generic",
        validators=[DataRequired()],
        widget=FilterSelect(),
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validators=[Optional()], widget=FilterSelect())
    submission_key = SubmissionKeyField()


class UploadForm(AppForm):
    file = FileField(_l("Export file (CSV or tab-separated)"), validators=[FileRequired()])
    format = SelectField(
        _l("Platform of the file"),
        validators=[Optional()],
        choices=[("", _l("Recognise from the header"))] + list(FORMAT_LABELS.items()),
    )
    encoding = SelectField(
        _l("Encoding"),
        validators=[Optional()],
        choices=[("", _l("Recognise"))] + [(e, e) for e in ENCODINGS],
        description=_l("Only if the file was refused for its encoding."),
    )


def mapping_form(header: list[str], data=None, **defaults):
    """A form with one choice per role among the file's columns."""

    class MappingForm(AppForm):
        date_order = SelectField(_l("Dates are written"), choices=list(DATE_ORDER_LABELS.items()), default="ymd")
        # Whether an e-mail column is needed is the service's rule (services.without_email_problem).
        without_email = BooleanField(
            _l("Count these signers by name and place"),
            description=_l(
                "Only for a file without e-mail addresses. Rows are told apart by full name, postal code (or "
                "city) and country, within this petition only: they cannot be matched with signers of other "
                "platforms, so the totals become a range."
            ),
        )

    columns = [("", _l("— not in this file —"))] + [(name, name) for name in header if name]
    for kind in COLUMN_ROLES:  # what a column holds (e-mail, country...), not a user's role
        setattr(MappingForm, kind, SelectField(COLUMN_ROLE_LABELS[kind], choices=columns, validators=[Optional()]))
    return MappingForm(formdata=data, **defaults)


class TallyForm(AppForm):
    country = SelectField(_l("Country"), coerce=int, validators=[InputRequired()])
    signers = IntegerField(_l("Signers"), validators=[InputRequired(), NumberRange(min=0, max=1_000_000_000)])
    as_of = DateField(_l("As of"), default=readers_today, validators=[InputRequired()])
    source = StringField(
        _l("Source"),
        validators=[Optional(), Length(max=500)],
        description=_l("Where the figure comes from: the platform's dashboard, an e-mail, ..."),
    )
    submission_key = SubmissionKeyField()


class TallyFileForm(AppForm):
    file = FileField(_l("Tallies (CSV with the columns country, signers, as_of)"), validators=[FileRequired()])
    submission_key = SubmissionKeyField()
