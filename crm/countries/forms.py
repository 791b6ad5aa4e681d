"""Forms for the country pages, and the words they show for Rome Statute facts."""

import datetime as dt

from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.countries.models import RS_STATUSES
from crm.countries.standing import Standing
from crm.forms import AppForm, FilterField
from crm.i18n import current_language, show_date
from crm.outreach.models import STAGES
from crm.translation import gettext
from crm.translation import lazy_gettext as _l
from crm.vocabulary import STAGE_LABELS, lazy_label


def status_label(status: str) -> str:
    return str(RS_STATUS_LABELS.get(status, status))


RS_STATUS_LABELS = {
    "state_party": _l("State Party"),
    "signatory": _l("Signatory"),
    "withdrawn": _l("Withdrawn"),
    "non_party": _l("Non-party"),
}


def standing_text(standing: Standing) -> str:
    """A state's standing in words, in the reader's language: "State Party — withdrawal takes effect
    24 Jul 2027", "Withdrawn since 27 Oct 2017", "Signatory"."""
    label = status_label(standing.status)
    if standing.withdrawing:
        return gettext(
            "%(status)s — withdrawal takes effect %(date)s",
            status=label,
            date=show_date(standing.withdrawal_takes_effect, current_language()),
        )
    if standing.withdrawal_took_effect:
        return gettext(
            "%(status)s since %(date)s",
            status=label,
            date=show_date(standing.withdrawal_took_effect, current_language()),
        )
    return label


def fact_in_words(field: str, text: str | None) -> str:
    """A fact's value as the history stores it (a status code, an ISO date or nothing), in words."""
    if not text:
        return gettext("not recorded")
    if field == "status":
        return status_label(text)
    try:
        return show_date(dt.date.fromisoformat(text), current_language())
    except ValueError:
        return text


FACT_LABELS = {
    "status": _l("Status"),
    "signature_date": _l("Signature"),
    "ratification_or_accession_date": _l("Ratification or accession"),
    "entry_into_force_date": _l("Entry into force"),
    "withdrawal_notified_date": _l("Withdrawal notified"),
    "withdrawal_effective_date": _l("Withdrawal effective"),
}


class FactCorrectionForm(AppForm):
    field = SelectField(
        _l("Fact"), choices=[(key, label) for key, label in FACT_LABELS.items()], validators=[DataRequired()]
    )
    status = SelectField(
        _l("New status"), choices=[("", "—")] + [(s, RS_STATUS_LABELS[s]) for s in RS_STATUSES], validators=[Optional()]
    )
    date = StringField(
        _l("New date (YYYY-MM-DD; empty to clear)"),
        validators=[Optional(), Length(max=10)],
        render_kw={"placeholder": "YYYY-MM-DD", "inputmode": "numeric"},
    )
    source = TextAreaField(
        _l("Source"),
        validators=[DataRequired(), Length(min=5, max=2000)],
        description=_l("Where this fact can be checked: document, page, date read."),
    )
    verified = BooleanField(_l("I checked this against the source"))
    submit = SubmitField(_l("Save correction"))


class CountryFilterForm(AppForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or code"), validators=[Optional(), Length(max=100)])
    status = FilterField(
        _l("Rome Statute"),
        choices=[("", _l("Any"))] + [(s, RS_STATUS_LABELS[s]) for s in RS_STATUSES],
        validators=[Optional()],
    )
    region = FilterField(_l("Region"), choices=[("", _l("Any"))], validators=[Optional()])
    campaign = FilterField(_l("Campaign target"), choices=[("", _l("Any"))], validators=[Optional()])
    stage = FilterField(
        _l("Stage"),
        choices=[("", _l("Any"))] + [(s, lazy_label(STAGE_LABELS, s)) for s in STAGES],
        validators=[Optional()],
    )
    assignee = FilterField(_l("Assigned to"), choices=[("", _l("Anyone"))], validators=[Optional()])
