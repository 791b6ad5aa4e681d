"""The form that subscribes a URL to events."""

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.outreach.forms import CheckboxesField
from crm.translation import lazy_gettext as _l
from crm.webhooks.models import SUBSCRIBABLE

EVENT_LABELS = {
    "meeting.logged": _l("A meeting is logged"),
    "position.changed": _l("A position is recorded"),
    "letter.delivered": _l("A letter is delivered"),
    "follow_up.overdue": _l("A follow-up falls due"),
    "signatures.totals_changed": _l("Signature totals change"),
    "webhook.test": _l("Test event"),
}


class SubscriptionForm(AppForm):
    url = StringField(
        _l("Address (URL)"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("Where each event is posted, e.g. https://example.org/alcance-events"),
    )
    events = CheckboxesField(
        _l("Events"),
        choices=[(event, EVENT_LABELS[event]) for event in SUBSCRIBABLE],
        validators=[DataRequired(message=_l("Choose at least one event."))],
    )
    submission_key = SubmissionKeyField()
