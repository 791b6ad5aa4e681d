"""Forms for signing in, the second step, the account page and password reset. Formats only: the
password policy and the codes are checked by the services."""

from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.translation import lazy_gettext as _l

LANGUAGE_CHOICES = [("en", "English"), ("es", "Español")]
# Long enough for any policy message to be the service's, short enough to refuse a flood.
PASSWORD_INPUT_MAX = 1024


def _code_field(label, **kwargs):
    return StringField(
        label,
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false", **kwargs},
    )


class LoginForm(AppForm):
    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=128)], render_kw={"autocomplete": "current-password"}
    )
    submit = SubmitField(_l("Sign in"))


class SecondFactorForm(AppForm):
    code = _code_field(_l("Code from your authenticator app"), inputmode="numeric", autofocus=True)


class RecoveryCodeForm(AppForm):
    code = _code_field(_l("Recovery code"), autofocus=True)


class ReauthenticateForm(AppForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password", "autofocus": True},
    )


def _new_password_field():
    return PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        description=_l(
            "At least 12 characters. A few unrelated words make a good one. Not a common "
            "password, and not your name or e-mail address."
        ),
        render_kw={"autocomplete": "new-password"},
    )


def _confirm_field():
    return PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(AppForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = _new_password_field()
    confirm = _confirm_field()


class EnrolForm(AppForm):
    code = _code_field(_l("Code shown by the app"), inputmode="numeric")


class LanguageForm(AppForm):
    language = SelectField(
        _l("Language"),
        choices=LANGUAGE_CHOICES,
        validators=[DataRequired()],
        description=_l("Of the interface and of every e-mail Alcance sends you."),
    )


class ApiTokenForm(AppForm):
    """A personal access token for the JSON API (crm/api/tokens.py checks the choices again)."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l('What uses it, so that you know which one to revoke: "delivery spreadsheet".'),
    )
    scope = SelectField(
        _l("May"),
        choices=[("read", _l("Read")), ("write", _l("Read and write"))],
        validators=[DataRequired()],
    )
    days = SelectField(
        _l("Works for"),
        choices=[(7, _l("7 days")), (30, _l("30 days")), (90, _l("90 days")), (365, _l("a year"))],
        coerce=int,
        default=90,
    )
    submission_key = SubmissionKeyField()


class ForgotPasswordForm(AppForm):
    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email", "autofocus": True},
    )


class ResetPasswordForm(AppForm):
    new_password = _new_password_field()
    confirm = _confirm_field()
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"},
    )


class AcceptInvitationForm(AppForm):
    name = StringField(
        _l("Your name"), validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "name"}
    )
    new_password = _new_password_field()
    confirm = _confirm_field()
