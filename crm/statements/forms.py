"""Forms of joint statements: the public sign-on form (formats only; whether the statement is open and
who may sign are the services' rules), the statement's own form, and the moderators' forms."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from crm.campaigns.models import CAMPAIGN_LANGUAGES
from crm.core.forms import plain_text, strip, with_wording
from crm.core.public_forms import PublicForm
from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.statements.services import Wording
from crm.translation import lazy_gettext as _l
from crm.web import VersionField

KIND_LABELS = {"organisation": _l("An organisation"), "individual": _l("A person, in my own name")}
STATEMENT_SIGNATURE_STATUS_LABELS = {
    "unconfirmed": _l("Waiting for the e-mail link"),
    "confirmed": _l("To moderate"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
    "merged": _l("Merged into another"),
}


def web_address(value):
    """ "amnesty.org" is read as https://amnesty.org."""
    if isinstance(value, str) and value and not re.match(r"^[a-z][a-z0-9+.-]*:", value, re.IGNORECASE):
        return "https://" + value
    return value


def website(form, field) -> None:
    """A web address the public list can link to: http or https, a host with a dot, nothing else hidden in it."""
    value = field.data or ""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        raise ValidationError(_l("This is not a web address.")) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or "." not in host
        or "@" in parts.netloc
        or any(char.isspace() for char in value)
        or not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", parts.netloc)
    ):
        raise ValidationError(_l("Give the organisation's website, for example https://example.org"))


class SignForm(PublicForm):
    """Sign a statement: who signs, for whom, where they are, and how they may be listed."""

    FORM_NAME = "statement"

    kind = RadioField(_l("Who signs"), choices=list(KIND_LABELS.items()), default="organisation")
    organisation = StringField(
        _l("Organisation"),
        filters=[strip],
        validators=[Optional(), Length(max=300), plain_text],
        render_kw={"autocomplete": "organization"},
    )
    country = SelectField(_l("Country"), choices=[], validators=[DataRequired(_l("Choose the country."))])
    website = StringField(
        _l("Website"),
        filters=[strip, web_address],
        validators=[Optional(), Length(max=500), plain_text, website],
        render_kw={"type": "url", "placeholder": "https://", "autocomplete": "url", "inputmode": "url"},
    )
    signer_name = StringField(
        _l("Your name"),
        filters=[strip],
        validators=[DataRequired(_l("Give your name.")), Length(max=200), plain_text],
        render_kw={"autocomplete": "name"},
    )
    signer_role = StringField(
        _l("Your role"),
        filters=[strip],
        validators=[Optional(), Length(max=200), plain_text],
        description=_l("For example: director, coordinator, board member."),
        render_kw={"autocomplete": "organization-title"},
    )
    email = StringField(
        _l("Work e-mail"),
        filters=[strip],
        validators=[
            DataRequired(_l("Give your e-mail address: the link to confirm is sent there.")),
            Length(max=254),
            Email(_l("This is not an e-mail address.")),
        ],
        description=_l("At your organisation's domain if it has one. Never published."),
        render_kw={"type": "email", "autocomplete": "email", "inputmode": "email"},
    )
    listing = RadioField(
        _l("How may we list you?"),
        choices=[
            ("named", _l("By name")),
            ("withheld", _l('As "an organisation in <country>, name withheld for its safety"')),
            ("unlisted", _l("Not at all: count the signature only")),
        ],
        default="named",
    )
    publish_logo = BooleanField(_l("Our logo may be published beside our name"))
    consent = BooleanField(
        _l(
            "I agree that the campaign keeps these details to verify and list this signature, and I may "
            "sign for the organisation named."
        ),
        validators=[InputRequired(_l("Tick the box to let the campaign keep these details, or do not sign."))],
    )

    def set_countries(self, countries, language: str) -> None:
        self._countries = {country.alpha3: country for country in countries}
        self.country.choices = [("", "—")] + [(c.alpha3, c.name(language)) for c in countries]

    def set_individuals(self, allowed: bool, language: str) -> None:
        if not allowed:
            self.kind.choices = [("organisation", KIND_LABELS["organisation"])]
        self._individuals = allowed

    @property
    def chosen_country(self):
        return self._countries.get(self.country.data)


@with_wording(rows=12)
class StatementForm(AppForm):
    opens_on = DateField(_l("Opens on"), validators=[Optional()], description=_l("Empty: open now."))
    closes_on = DateField(
        _l("Closes on"), validators=[Optional()], description=_l("The last day to sign. Empty: no end.")
    )
    individuals_may_sign = BooleanField(_l("Individuals may sign too (listed apart from organisations)"))
    version = VersionField()

    def wordings(self) -> dict:
        return {
            language: Wording(
                getattr(self, f"title_{language}").data or "", getattr(self, f"body_{language}").data or ""
            )
            for language in CAMPAIGN_LANGUAGES
        }

    def wording_fields(self):
        return [
            (getattr(self, f"title_{language}"), getattr(self, f"body_{language}")) for language in CAMPAIGN_LANGUAGES
        ]

    @staticmethod
    def initial(statement) -> dict:
        data = {
            "opens_on": statement.opens_on,
            "closes_on": statement.closes_on,
            "individuals_may_sign": statement.individuals_may_sign,
            "version": statement.version,
        }
        for text in statement.texts:
            data[f"title_{text.language}"], data[f"body_{text.language}"] = text.title, text.body
        return data


class NewStatementForm(StatementForm):
    submission_key = SubmissionKeyField()


class DecisionForm(AppForm):
    """Approve or reject one signature, as the moderator saw it."""

    version = VersionField()
    reason = TextAreaField(
        _l("Reason (kept for the team, never shown to the signer)"),
        filters=[strip],
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2},
    )


class MergeForm(AppForm):
    version = VersionField()
    survivor = SelectField(
        _l("The signature that stands for both"), coerce=str, choices=[], validators=[DataRequired()]
    )
