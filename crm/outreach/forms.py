"""Forms for outreach: stage, positions, meetings (with positions and a next step), follow-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crm import clock
from crm.core.forms import ConfirmForm
from crm.core.submissions import SubmissionKeyField
from crm.forms import AppForm
from crm.outreach.models import STAGES, STANCES
from crm.translation import lazy_gettext as _l
from crm.vocabulary import STAGE_LABELS, STANCE_LABELS, lazy_label
from crm.web import VersionField, id_url, readers_today


def _not_future(form, field):
    if field.data and clock.not_begun_anywhere(field.data):
        raise ValidationError(_l("This date is in the future."))


class StageForm(AppForm):
    stage = SelectField(
        _l("Stage"), choices=[(s, lazy_label(STAGE_LABELS, s)) for s in STAGES], validators=[DataRequired()]
    )
    version = VersionField()


class PositionForm(AppForm):
    demand = SelectField(_l("Demand"), coerce=int, validators=[InputRequired()])
    stance = SelectField(
        _l("Position"), choices=[(s, lazy_label(STANCE_LABELS, s)) for s in STANCES], validators=[DataRequired()]
    )
    stated_on = DateField(_l("Date"), default=readers_today, validators=[InputRequired(), _not_future])
    evidence = TextAreaField(
        _l("Evidence"),
        validators=[Optional(), Length(max=5000)],
        description=_l("A quote, or what was said and by whom."),
    )
    evidence_url = StringField(
        _l("Link to the evidence"), validators=[Optional(), Length(max=1000), URL(require_tld=True)]
    )
    submission_key = SubmissionKeyField()


class FollowUpForm(AppForm):
    note = TextAreaField(_l("Next step"), validators=[DataRequired(), Length(max=2000)])
    due_on = DateField(_l("Due"), validators=[InputRequired()])
    owner = SelectField(_l("Owner"), coerce=int, validators=[InputRequired()])
    submission_key = SubmissionKeyField()


class SnoozeForm(AppForm):
    until = DateField(_l("Snooze until"), validators=[InputRequired()])


SNOOZE_DAYS = 7  # what the Snooze form offers, from the reader's today


@dataclass(frozen=True)
class FollowUpActions:
    """A page's Done and Snooze forms for its follow-ups, made once: each row only puts in its follow-up's
    id (a list of fifty built two forms and asked the router twice on every row)."""

    done_url: Callable[[int], str]
    snooze_url: Callable[[int], str]
    done_fields: Markup
    snooze_fields: Markup
    until: str


def follow_up_actions(user) -> FollowUpActions:
    # The Done and the Snooze forms carry the same hidden field, the request's CSRF token (the snooze's day
    # is shown): it is written once, by one form, and the day in the date field's format (ISO 8601).
    fields = ConfirmForm().hidden_tag()
    return FollowUpActions(
        done_url=id_url("outreach.complete_follow_up", "follow_up_id"),
        snooze_url=id_url("outreach.snooze_follow_up", "follow_up_id"),
        done_fields=fields,
        snooze_fields=fields,
        until=(clock.today(user) + dt.timedelta(days=SNOOZE_DAYS)).isoformat(),
    )


class ClaimForm(AppForm):
    """A volunteer's "Take it" or "Ask for it": it creates a claim, so it is sent once. One form (one key)
    per record offered."""

    submission_key = SubmissionKeyField()


class FollowUpFilterForm(AppForm):
    class Meta:
        csrf = False

    scope = SelectField(_l("Whose"), choices=[("mine", _l("Mine")), ("all", _l("Everyone's"))], default="mine")
    status = SelectField(_l("Status"), choices=[("open", _l("Open and snoozed")), ("done", _l("Done"))], default="open")


# Dates use InputRequired, not DataRequired: DataRequired would replace "Not a valid date value"
# with "This field is required" and the user would not learn what was wrong.


class CheckboxesField(SelectMultipleField):
    """A multiple choice as a list of boxes to tick: a list box is hard to use on a touch screen."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MeetingFields(AppForm):
    """What a meeting is: shared by the form that logs one and the form that corrects one."""

    held_at = DateTimeLocalField(
        _l("When"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[InputRequired()]
    )
    office = SelectField(_l("Office"), coerce=int, validators=[Optional()])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=300)])
    contacts = CheckboxesField(_l("Attendees (their side)"), coerce=int, validators=[Optional()])
    staff = CheckboxesField(_l("Attendees (our side)"), coerce=int, validators=[Optional()])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=10000)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=5000)])
    confidential_notes = TextAreaField(
        _l("Confidential notes"),
        validators=[Optional(), Length(max=10000)],
        description=_l(
            "Encrypted in the database. Shown only on this meeting's page: never in the timeline, "
            "exports, e-mails or calendars."
        ),
    )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.held_at.data and clock.not_begun_anywhere(self.held_at.data.date()):
            self.held_at.errors.append(_l("Log a meeting once it has been held."))
            valid = False
        return valid


class MeetingForm(MeetingFields):
    """One form for a phone, right after the meeting. Position fields per demand are added by
    `meeting_form()` because they depend on the campaign."""

    joint_with = CheckboxesField(_l("Joint meeting with (other governments)"), coerce=int, validators=[Optional()])
    # Someone met for the first time, added as a contact of the chosen office in the same submit.
    new_contact_name = StringField(_l("Name of someone not on the list"), validators=[Optional(), Length(max=200)])
    new_contact_title = StringField(
        _l("Their post"), validators=[Optional(), Length(max=200)], description=_l("For example: Political counsellor")
    )
    next_note = TextAreaField(_l("Next step"), validators=[Optional(), Length(max=2000)])
    next_due = DateField(_l("Next step due"), validators=[Optional()])
    next_owner = SelectField(_l("Next step owner"), coerce=int, validators=[Optional()])
    # The same form sent twice (a lost answer, a draft sent again from the phone) logs one meeting.
    submission_key = SubmissionKeyField()

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.next_note.data and self.next_note.data.strip():
            if not self.next_due.data:
                self.next_due.errors.append(_l("Give the next step a due date."))
                valid = False
            if not self.next_owner.data:
                self.next_owner.errors.append(_l("Choose who owns the next step."))
                valid = False
        if self.new_contact_name.data and self.new_contact_name.data.strip() and not self.office.data:
            self.office.errors.append(_l("Choose the office of the person met for the first time."))
            valid = False
        return valid

    def stance_fields(self):
        return [field for field in self if field.name.startswith("stance_")]


def meeting_form(demands, language: str, **kwargs) -> MeetingForm:
    """A MeetingForm with one 'position stated' choice per demand of the campaign, as large buttons to tap
    (one per position, "Not stated" already chosen)."""

    class _Form(MeetingForm):
        pass

    choices = [("", _l("Not stated"))] + [(s, lazy_label(STANCE_LABELS, s)) for s in STANCES if s != "unknown"]
    for demand in demands:
        setattr(
            _Form,
            f"stance_{demand.id}",
            RadioField(
                f"{demand.ordinal}. {demand.text(language)[0]}", choices=choices, default="", validators=[Optional()]
            ),
        )
    return _Form(**kwargs)


class MeetingEditForm(MeetingFields):
    """Correcting a logged meeting. Positions stated and next steps are changed where they live (a new
    position keeps the history); the version refuses a save over someone else's."""

    version = VersionField()


class MeetingDeleteForm(AppForm):
    confirm = BooleanField(_l("Yes, delete this meeting"), validators=[DataRequired(_l("Tick the box to confirm."))])
    version = VersionField()


class RecordForm(AppForm):
    """Who works a record and how urgent it is. Carries the version it showed, so that a second editor
    cannot silently overwrite the first."""

    assignee = SelectField(_l("Assigned to"), coerce=int, validators=[Optional()])
    coordinator = SelectField(_l("Coordinator"), coerce=int, validators=[Optional()])
    priority = SelectField(
        _l("Priority"),
        coerce=int,
        choices=[(1, _l("High")), (2, _l("Normal")), (3, _l("Low"))],
        validators=[InputRequired()],
    )
    version = VersionField()


class BulkAssignForm(AppForm):
    """Assign or unassign the ticked records at once. Record ids come as a list of checkboxes."""

    # Starts on the empty choice: nobody is assigned (or unassigned) by a default left as it was.
    assignee = SelectField(
        _l("Assign the ticked records to"),
        default="",
        validators=[DataRequired(_l("Choose who to assign the records to."))],
    )
    # Unassigning is an explicit choice, and asks for this box.
    confirm_unassign = BooleanField(_l("Yes, leave the ticked records with nobody"))
    campaign = HiddenField()

    UNASSIGN = "unassign"


class ClaimDecisionForm(AppForm):
    decision = SelectField(choices=[("approve", _l("Approve")), ("reject", _l("Reject"))], validators=[DataRequired()])
