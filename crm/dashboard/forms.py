"""The dashboard's filter form and the words it shows for responses and logged actions."""

from functools import lru_cache

from flask import current_app
from markupsafe import Markup
from wtforms.validators import Optional

from crm.countries.forms import RS_STATUS_LABELS
from crm.countries.models import RS_STATUSES
from crm.forms import AppForm, FilterField
from crm.outreach.models import STAGES
from crm.translation import lazy_gettext as _l
from crm.vocabulary import STAGE_LABELS, lazy_label
from crm.web import Keyed

RESPONSE_LABELS = {
    "not_target": _l("Not a target"),
    "no_answer": _l("No answer"),
    "responded": _l("Responded"),
    "supportive": _l("Supportive"),
    "acted": _l("Acted"),
}

# The audit log's actions on outreach, as the "recent changes" list words them.
ACTION_LABELS = {
    "outreach.stage": _l("Stage changed"),
    "outreach.update": _l("Record edited"),
    "assignment.change": _l("Assignment changed"),
    "position.create": _l("Position recorded"),
    "meeting.create": _l("Meeting logged"),
    "meeting.update": _l("Meeting corrected"),
    "follow_up.create": _l("Follow-up added"),
    "follow_up.complete": _l("Follow-up done"),
    "follow_up.snooze": _l("Follow-up snoozed"),
    "letter.compose": _l("Letter written"),
    "letter.update": _l("Letter edited"),
    "letter.sent": _l("Letter sent"),
    "letter.delivered": _l("Letter delivered"),
    "letter.acknowledged": _l("Letter acknowledged"),
    "letter.reply": _l("Reply received"),
    "letter.attachment": _l("Attachment added"),
}


def response_label(response: str) -> str:
    return str(RESPONSE_LABELS.get(response, response))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


class MatrixFilterForm(AppForm):
    """Narrows the countries x demands matrix (and its export). Read from the query string."""

    class Meta:
        csrf = False

    status = FilterField(
        _l("Rome Statute"),
        choices=[("", _l("Any"))] + [(s, RS_STATUS_LABELS[s]) for s in RS_STATUSES],
        validators=[Optional()],
    )
    region = FilterField(_l("Region"), choices=[("", _l("Any"))], validators=[Optional()])
    response = FilterField(
        _l("Response"),
        choices=[("", _l("Any"))]
        + [(r, RESPONSE_LABELS[r]) for r in ("no_answer", "responded", "supportive", "acted")],
        validators=[Optional()],
    )
    stage = FilterField(
        _l("Stage"),
        choices=[("", _l("Any"))] + [(s, lazy_label(STAGE_LABELS, s)) for s in STAGES],
        validators=[Optional()],
    )
    assignee = FilterField(_l("Assigned to"), choices=[("", _l("Any"))], validators=[Optional()])

    def filters(self) -> dict[str, str]:
        """The filters that passed validation; a bad value is ignored, not an error page."""
        return {
            name: self[name].data
            for name in ("status", "region", "response", "stage", "assignee")
            if self[name].data and not self[name].errors
        }


FILTERS = ("response", "stage", "assignee", "status", "region")


def filter_fields(form: MatrixFilterForm) -> Markup:
    """The filter's fields (FILTERS, in that order) as the forms' `field` macro draws them, one a line.

    Written once for each set of what they show: each field's label, choices, value and errors, plain
    values (the choices' words in the reader's language). The fields are a function of those alone; a
    page's filters stay the same from one visit to the next until the staff, the areas, the language or
    what is asked for changes, each of which makes another set. Drawn through the template, some hundred
    options cost about half a millisecond a page."""
    key = tuple(
        (
            name,
            str(form[name].label.text),
            form[name].data,
            tuple(map(str, form[name].errors)),
            tuple((value, str(words)) for value, words, *_ in form[name].choices),
        )
        for name in FILTERS
    )
    return _filter_fields(Keyed(key, form))


@lru_cache(maxsize=32)
def _filter_fields(keyed: Keyed) -> Markup:
    field = current_app.jinja_env.get_template("_macros/forms.html").module.field
    return Markup("\n    ").join(field(keyed.value[name]) for name in FILTERS)
