"""Forms for letters and letter templates: formats, lengths and choices. Rules that look at the letter
(delivered not before sent, ...) are the services' and come back beside the same fields."""

from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.letters.models import LETTER_CHANNELS, LETTER_LANGUAGES, SUBJECT_MAX
from crm.translation import lazy_gettext as _l
from crm.web import VersionField

BODY_MAX = 50_000

LANGUAGE_LABELS = {
    "es": _l("Spanish"),
    "en": _l("English"),
    "fr": _l("French"),
    "pt": _l("Portuguese"),
}

CHANNEL_LABELS = {
    "email": _l("E-mail"),
    "post": _l("Postal mail"),
    "hand_delivery": _l("Hand delivery"),
    "web_form": _l("Web form"),
    "fax": _l("Fax"),
    "other": _l("Other"),
}

LETTER_STATUS_LABELS = {
    "draft": _l("Draft"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "acknowledged": _l("Acknowledged"),
    "received": _l("Reply received"),
}

LANGUAGE_CHOICES = [(code, LANGUAGE_LABELS[code]) for code in LETTER_LANGUAGES]
CHANNEL_CHOICES = [(code, CHANNEL_LABELS[code]) for code in LETTER_CHANNELS]


def _version_field(form_id: str, required: bool = True) -> VersionField:
    # Several forms share the letter page: each version field gets its own id.
    missing = _l("This form is out of date: reload the page and try again.")
    return VersionField(id=f"{form_id}-version", validators=[InputRequired(missing) if required else Optional()])


class ComposeForm(AppForm):
    template = SelectField(_l("Template"), choices=[], validators=[DataRequired()])
    recipient = SelectField(_l("To"), choices=[], validators=[DataRequired()])
    language = SelectField(
        _l("Language of the letter"),
        choices=[],
        validators=[Optional()],
        description=_l("By default, the recipient's own language when the template is written in it."),
    )
    submission_key = SubmissionKeyField()
    submit = SubmitField(_l("Compose draft"))


class DraftForm(AppForm):
    version = _version_field("draft")
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX)])
    recipient_name = StringField(_l("Recipient's name"), validators=[Optional(), Length(max=300)])
    language = SelectField(_l("Language of the letter"), choices=LANGUAGE_CHOICES, validators=[DataRequired()])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=BODY_MAX)], render_kw={"rows": 24})
    submit = SubmitField(_l("Save draft"))


class DiscardForm(AppForm):
    version = _version_field("discard")
    confirm = BooleanField(
        _l("Yes, discard this draft"), id="discard-confirm", validators=[DataRequired(_l("Tick the box to confirm."))]
    )
    submit = SubmitField(_l("Discard draft"))


class SentForm(AppForm):
    version = _version_field("sent")
    channel = SelectField(_l("Sent by"), choices=CHANNEL_CHOICES, validators=[DataRequired()])
    sent_on = DateField(_l("Sent on"), validators=[InputRequired()])
    submit = SubmitField(_l("Mark sent"))


class DeliveredForm(AppForm):
    version = _version_field("delivered")
    delivered_on = DateField(
        _l("Delivered on"),
        validators=[InputRequired()],
        description=_l("The signature totals of this moment are kept with the letter."),
    )
    submit = SubmitField(_l("Mark delivered"))


class AcknowledgedForm(AppForm):
    version = _version_field("acknowledged")
    acknowledged_on = DateField(_l("Receipt acknowledged on"), validators=[InputRequired()])
    submit = SubmitField(_l("Mark acknowledged"))


class AttachmentForm(AppForm):
    attachments = FileField(
        _l("File"), validators=[FileRequired()], description=_l("PDF, image (PNG, JPEG, GIF, WebP) or office document.")
    )
    submission_key = SubmissionKeyField()
    submit = SubmitField(_l("Attach"))


class ReplyForm(AppForm):
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    channel = SelectField(_l("Received by"), choices=[("", "—")] + CHANNEL_CHOICES, validators=[Optional()])
    language = SelectField(_l("Language of the reply"), choices=[("", "—")] + LANGUAGE_CHOICES, validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX)])
    body = TextAreaField(_l("Text or summary"), validators=[Optional(), Length(max=BODY_MAX)], render_kw={"rows": 12})
    attachments = MultipleFileField(
        _l("Files"),
        description=_l("Optional: the reply itself, scanned or as received. PDF, images or office documents."),
    )
    submission_key = SubmissionKeyField()
    submit = SubmitField(_l("Log reply"))


class TemplateForm(AppForm):
    version = _version_field("template", required=False)  # empty for a new template
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("The same name in each language makes them one letter in several languages."),
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=BODY_MAX)], render_kw={"rows": 24})
    submit = SubmitField(_l("Save template"))


class NewTemplateForm(TemplateForm):
    submission_key = SubmissionKeyField()
