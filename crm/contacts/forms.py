"""Forms for the office and contact pages: field formats and choices. Rules that span records (duplicates,
post dates, versions) are checked in crm.contacts.services, .offices and .merging."""

import re

from babel import Locale
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, InputRequired, Length, Optional, Regexp

from crm.contacts.models import OFFICE_KINDS
from crm.contacts.services import normalise
from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.translation import lazy_gettext as _l
from crm.web import VersionField

KIND_LABELS = {
    "embassy": _l("Embassy"),
    "consulate": _l("Consulate"),
    "ministry": _l("Ministry"),
    "permanent_mission": _l("Permanent mission"),
    "parliament": _l("Parliament"),
    "other": _l("Other"),
}

CONTACT_STATUS_LABELS = {
    "active": _l("Active"),
    "inactive": _l("Inactive"),
    "all": _l("All"),
}

# Languages a contact is most often written to in; a stored code outside this list is kept as a choice.
LANGUAGES = (
    "es",
    "en",
    "fr",
    "pt",
    "de",
    "it",
    "nl",
    "sv",
    "no",
    "da",
    "fi",
    "pl",
    "cs",
    "el",
    "tr",
    "ru",
    "ar",
    "he",
    "zh",
    "ja",
    "ko",
)

PHONE = re.compile(r"^\+?[0-9 ().\-/]{3,40}(\s*(ext\.?|x)\s*[0-9]{1,8})?$", re.IGNORECASE)


def strip(value):
    return value.strip() if isinstance(value, str) else value


def _email_field():
    """An optional e-mail address: offices and contacts have one of the same format."""
    return StringField(
        _l("E-mail"),
        filters=[strip],
        validators=[Optional(), Length(max=254), Email()],
        render_kw={"type": "email", "autocomplete": "off"},
    )


def _phone_field(label, description="", **attributes):
    """An optional phone number, of an office or a contact; `attributes` are the input's HTML attributes
    besides its type."""
    return StringField(
        label,
        filters=[strip],
        validators=[Optional(), Length(max=64), Regexp(PHONE, message=_l("Use digits, spaces and + ( ) - . / only."))],
        description=description,
        render_kw={"type": "tel", **attributes},
    )


def office_label(office, language: str) -> str:
    return f"{office.name} — {office.city} ({office.country.name(language)})"


def language_name(code: str | None, language: str) -> str:
    """A language code as its name in the reader's language ("fr" is "francés" in Spanish)."""
    if not code:
        return ""
    try:
        name = Locale.parse(code).get_display_name(language)
    except (ValueError, TypeError, LookupError):
        return code
    return f"{name[:1].upper()}{name[1:]}" if name else code


class _Filters(AppForm):
    """A GET form of filters. A value that is not valid is dropped rather than shown as an error."""

    class Meta:
        csrf = False

    def apply(self):
        self.validate()
        for field in self:
            if field.errors:
                field.data = field.default
                field.errors = []
        return self


class OfficeFilterForm(_Filters):
    q = StringField(_l("Name, city or country"), filters=[strip], validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Kind"), choices=[("", _l("Any"))] + [(k, KIND_LABELS[k]) for k in OFFICE_KINDS], validators=[Optional()]
    )
    country = SelectField(_l("Government"), choices=[("", _l("Any"))], validators=[Optional()])
    host = SelectField(_l("Located in"), choices=[("", _l("Any"))], validators=[Optional()])
    status = SelectField(
        _l("Status"), choices=list(CONTACT_STATUS_LABELS.items()), default="active", validators=[Optional()]
    )

    def set_countries(self, countries, language: str) -> None:
        choices = sorted(((c.alpha3, c.name(language)) for c in countries), key=lambda item: normalise(item[1]))
        self.country.choices = [("", _l("Any"))] + choices
        self.host.choices = [("", _l("Any"))] + choices


class ContactFilterForm(_Filters):
    q = StringField(_l("Name, e-mail or title"), filters=[strip], validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"), choices=list(CONTACT_STATUS_LABELS.items()), default="active", validators=[Optional()]
    )


class VersionForm(AppForm):
    """A confirmation with the version of the record the user saw."""

    version = VersionField()


class OfficeForm(VersionForm):
    kind = SelectField(
        _l("Kind"), choices=[("", "—")] + [(k, KIND_LABELS[k]) for k in OFFICE_KINDS], validators=[DataRequired()]
    )
    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[DataRequired(), Length(max=300)],
        description=_l("As the office calls itself, e.g. Embajada de Francia en España."),
    )
    country = SelectField(_l("Government it represents"), choices=[], validators=[DataRequired()])
    city = StringField(_l("City"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    host_country = SelectField(_l("Country it is in"), choices=[], validators=[DataRequired()])
    address = TextAreaField(_l("Address"), filters=[strip], validators=[Optional(), Length(max=1000)])
    email = _email_field()
    phone = _phone_field(_l("Phone"))
    website = StringField(
        _l("Website"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=500),
            Regexp(r"^https?://", flags=re.IGNORECASE, message=_l("Give the full address, starting with https://")),
            URL(message=_l("This is not a web address.")),
        ],
        render_kw={"type": "url", "placeholder": "https://"},
    )
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Optional(), Length(max=5000)])

    def set_countries(self, countries, language: str) -> None:
        self._countries = {country.alpha3: country for country in countries}
        choices = sorted(((c.alpha3, c.name(language)) for c in countries), key=lambda item: normalise(item[1]))
        self.country.choices = [("", "—")] + choices
        self.host_country.choices = [("", "—")] + choices

    @staticmethod
    def initial(office) -> dict:
        return {
            "kind": office.kind,
            "name": office.name,
            "country": office.country.alpha3,
            "city": office.city,
            "host_country": office.host_country.alpha3,
            "address": office.address,
            "email": office.email,
            "phone": office.phone,
            "website": office.website,
            "notes": office.notes,
            "version": office.version,
        }

    def office_values(self) -> dict:
        return {
            "kind": self.kind.data,
            "name": self.name.data,
            "city": self.city.data,
            "country": self._countries.get(self.country.data),
            "host_country": self._countries.get(self.host_country.data),
            "address": self.address.data,
            "email": self.email.data,
            "phone": self.phone.data,
            "website": self.website.data,
            "notes": self.notes.data,
        }


class NewOfficeForm(OfficeForm):
    submission_key = SubmissionKeyField()


class ContactForm(AppForm):
    name = StringField(
        _l("Name"), filters=[strip], validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "off"}
    )
    title = StringField(
        _l("Post"),
        filters=[strip],
        validators=[Optional(), Length(max=200)],
        description=_l("Their title, e.g. Consejera política."),
    )
    email = _email_field()
    phone = _phone_field(_l("Phone"))
    personal_phone = _phone_field(
        _l("Personal phone"), _l("Stored encrypted. Only if they gave it to you to use."), autocomplete="off"
    )
    language = SelectField(_l("Language to write to them in"), choices=[], validators=[Optional()])
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Optional(), Length(max=5000)])

    def set_languages(self, language: str, current: str | None = None) -> None:
        codes = list(LANGUAGES) + ([current] if current and current not in LANGUAGES else [])
        self.language.choices = [("", "—")] + sorted(
            ((code, language_name(code, language)) for code in codes), key=lambda item: normalise(item[1])
        )

    def contact_values(self) -> dict:
        return {
            "name": self.name.data,
            "title": self.title.data,
            "email": self.email.data,
            "phone": self.phone.data,
            "personal_phone": self.personal_phone.data,
            "language": self.language.data,
            "notes": self.notes.data,
        }


def _office_choices(field, offices, language: str) -> dict:
    by_id = {office.id: office for office in offices}
    field.choices = sorted(
        ((office.id, office_label(office, language)) for office in offices), key=lambda item: normalise(item[1])
    )
    return by_id


class ContactCreateForm(ContactForm):
    submission_key = SubmissionKeyField()
    office = SelectField(_l("Office"), coerce=int, choices=[], validators=[DataRequired()])
    started_on = DateField(_l("In this post since"), validators=[Optional()], description=_l("Leave empty for today."))
    create_anyway = BooleanField(_l("This is someone else: create the contact anyway"))

    def set_offices(self, offices, language: str) -> None:
        self._offices = _office_choices(self.office, offices, language)

    def chosen_office(self):
        return self._offices.get(self.office.data)


class ContactEditForm(ContactForm, VersionForm):
    @staticmethod
    def initial(contact) -> dict:
        return {
            "name": contact.name,
            "title": contact.title,
            "email": contact.email,
            "phone": contact.phone,
            "personal_phone": contact.personal_phone,
            "language": contact.language or "",
            "notes": contact.notes,
            "version": contact.version,
        }


class ContactDeactivateForm(VersionForm):
    ended_on = DateField(_l("Left their post on"), validators=[Optional()], description=_l("Leave empty for today."))


class MoveForm(VersionForm):
    office = SelectField(_l("Office"), coerce=int, choices=[], validators=[DataRequired()])
    title = StringField(_l("New post"), filters=[strip], validators=[Optional(), Length(max=200)])
    started_on = DateField(_l("In the new post since"), validators=[InputRequired()])

    def set_offices(self, offices, language: str) -> None:
        self._offices = _office_choices(self.office, offices, language)

    def chosen_office(self):
        return self._offices.get(self.office.data)


class MergeForm(AppForm):
    survivor_version = VersionField()
    merged_version = VersionField()


class ContactImportForm(AppForm):
    """Upload (then confirm) a CSV or vCard file of offices and contacts. Between the preview and the import
    the file waits on the server (crm/staging.py); the form carries only its token."""

    file = FileField(_l("CSV or vCard file"))
    file_format = SelectField(
        _l("Format"), choices=[("", _l("Detect from the file")), ("csv", "CSV"), ("vcard", "vCard")], default=""
    )
    duplicates = SelectField(
        _l("A contact already on file"),
        choices=[("skip", _l("Skip it")), ("merge", _l("Fill in its empty fields"))],
        default="skip",
    )
    staged = HiddenField()
    # Kept from the upload through the previews: the import it confirms is made once.
    submission_key = SubmissionKeyField()
