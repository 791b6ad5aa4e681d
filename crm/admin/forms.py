"""Forms for user administration and the audit log filter."""

from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from crm.accounts.models import LANGUAGES, ROLES
from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.translation import lazy_gettext as _l
from crm.vocabulary import ROLE_LABELS, lazy_label

LANGUAGE_LABELS = {"en": "English", "es": "Español"}


class UserForm(AppForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(
        _l("Role"), choices=[(r, lazy_label(ROLE_LABELS, r)) for r in ROLES], validators=[DataRequired()]
    )
    language = SelectField(
        _l("Language"), choices=[(code, LANGUAGE_LABELS[code]) for code in LANGUAGES], validators=[DataRequired()]
    )


class NewUserForm(UserForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("First password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("At least 12 characters. Give it to them in person; they change it."),
        render_kw={"autocomplete": "new-password"},
    )
    submission_key = SubmissionKeyField()


class AuditFilterForm(AppForm):
    class Meta:
        csrf = False

    action = StringField(
        _l("Action"),
        validators=[Optional(), Length(max=64)],
        description=_l("e.g. auth.login_failed, position.create, export"),
    )
    actor = StringField(_l("Who (e-mail)"), validators=[Optional(), Length(max=254)])
    entity_type = SelectField(_l("Record type"), validators=[Optional()])
    entity_id = StringField(_l("Record id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])


class PrivacySearchForm(AppForm):
    class Meta:
        csrf = False

    email = StringField(_l("The person's e-mail address"), validators=[DataRequired(), Email(), Length(max=254)])


class PrivacyEraseForm(AppForm):
    email = StringField(validators=[DataRequired(), Email(), Length(max=254)])
    reason = StringField(
        _l("Why"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("The request, how and when it was received."),
    )
    confirm = BooleanField(_l("I understand this cannot be undone"), validators=[DataRequired()])


class InviteForm(AppForm):
    """Whom to invite: they choose their own password from the e-mailed link."""

    email = StringField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(
        _l("Name"),
        validators=[Optional(), Length(max=200)],
        description=_l("Optional: they can correct it when they accept."),
    )
    role = SelectField(
        _l("Role"), choices=[(r, lazy_label(ROLE_LABELS, r)) for r in ROLES], validators=[DataRequired()]
    )
    submission_key = SubmissionKeyField()
    language = SelectField(
        _l("Language"), choices=[(code, LANGUAGE_LABELS[code]) for code in LANGUAGES], validators=[DataRequired()]
    )
