"""The meeting log on a phone: attendees ticked in lists, "our side" starting with the person logging, a
diplomat met for the first time added in the same submit, one position per demand chosen by a button."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.contacts import services as contacts
from crm.contacts.models import Contact
from crm.core.submissions import FormSubmission, new_key
from crm.extensions import db
from crm.outreach.models import Meeting, Position

HELD_AT = "2026-11-30T10:00"  # a fixed day in the past: the form refuses meetings not yet held


def _data(campaign, **extra):
    # Each call is a new form, with the new key the page gives it.
    data = {
        "held_at": HELD_AT,
        "summary": "Met the political counsellor",
        f"stance_{campaign.demands[2].id}": "non_committal",
        "submission_key": new_key(),
    }
    data.update(extra)
    return data


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_attendees_are_boxes_to_tick_and_positions_are_buttons(
    client, signed_in, campaign, make_record, make_office, make_contact
):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    make_contact(make_office("FRA"))
    db.session.commit()
    page = client.get(f"/outreach/{record.id}/meetings/new").get_data(as_text=True)
    assert re.search(r'<input id="contacts-0" name="contacts" type="checkbox" value="\d+">', page)
    assert "<select multiple" not in page
    demand = campaign.demands[2]
    assert f'<input checked id="stance_{demand.id}-0" name="stance_{demand.id}" type="radio" value="">' in page
    assert f'name="stance_{demand.id}" type="radio" value="acted"' in page
    # The rarely used fields are folded, after the ones used every time: our side (the person logging,
    # already ticked) and the rest.
    assert (
        page.index('name="summary"')
        < page.index(f'name="stance_{demand.id}"')
        < page.index("<summary>Our side: ")
        < page.index('name="staff"')
        < page.index("<summary>More: where, outcome, next step, joint meeting")
        < page.index('name="outcome"')
        < page.index('name="next_note"')
    )
    assert re.search(r'<details class="fold our-side">\s*<summary>Our side: [^<]+</summary>', page)


def test_our_side_starts_with_the_person_logging_and_leaves_out_the_admins(client, signed_in, make_user, make_record):
    make_user("admin", name="Aaron Admin")
    colleague = make_user("volunteer", name="Beatriz Colega")
    user = signed_in("coordinator", name="Zoe Coordinadora")
    record = make_record("FRA")
    db.session.commit()
    page = client.get(f"/outreach/{record.id}/meetings/new").get_data(as_text=True)
    staff = re.findall(r'name="staff" type="checkbox" value="(\d+)"', page)
    assert staff[0] == str(user.id) and str(colleague.id) in staff
    assert "Aaron Admin" not in page.split('name="staff"', 1)[1].split("</fieldset>", 1)[0]
    assert f'checked id="staff-0" name="staff" type="checkbox" value="{user.id}"' in page
    # Folded, the list says who is ticked: in the common case, the person logging and nobody else.
    assert "<summary>Our side: Zoe Coordinadora</summary>" in page


def test_a_diplomat_met_for_the_first_time_is_added_in_the_same_submit(
    client, signed_in, campaign, make_record, make_office
):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    office = make_office("FRA")
    db.session.commit()
    response = client.post(
        f"/outreach/{record.id}/meetings/new",
        data=_data(
            campaign,
            office=office.id,
            staff=[user.id],
            new_contact_name="Camille Nouvelle",
            new_contact_title="Political counsellor",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = db.session.scalars(sa.select(Meeting)).one()
    [contact] = meeting.contacts
    assert (contact.name, contact.title, contact.office_id) == ("Camille Nouvelle", "Political counsellor", office.id)
    assert [(p.title, p.started_on.isoformat()) for p in contact.posts] == [("Political counsellor", "2026-11-30")]
    created = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "contact.create")).one()
    assert created.actor_id == user.id and created.entity_id == str(contact.id)
    assert db.session.scalars(sa.select(Position.stance)).all() == ["non_committal"]


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"new_contact_name": "Camille Nouvelle"}, "Choose the office of the person met for the first time."),
        (
            {"new_contact_name": "jean  EXEMPLE", "office": "OFFICE"},
            "Already on file at this office: Jean Exemple. Tick them among the attendees instead.",
        ),
        ({"new_contact_name": "x" * 201, "office": "OFFICE"}, "200"),
    ],
)
def test_a_new_contact_that_cannot_be_added_saves_nothing(
    client, signed_in, campaign, make_record, make_office, make_contact, extra, message
):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    office = make_office("FRA")
    make_contact(office)
    db.session.commit()
    data = _data(campaign, **{k: (office.id if v == "OFFICE" else v) for k, v in extra.items()})
    response = client.post(f"/outreach/{record.id}/meetings/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert (_count(Meeting), _count(Position), _count(Contact)) == (0, 0, 1)


def test_the_contact_service_refuses_a_duplicate_by_name(app, make_office, make_contact, make_user):
    office = make_office("FRA")
    make_contact(office, name="Jean Exemple")
    actor = make_user("volunteer")
    with pytest.raises(contacts.ContactError) as refused:
        contacts.add_contact_met(
            actor=actor, office=office, name="Jéan Exemple", title=None, met_on=dt.date(2026, 11, 30)
        )
    assert "Jean Exemple" in str(refused.value)
    with pytest.raises(contacts.ContactError):
        contacts.add_contact_met(actor=actor, office=None, name="Someone", title=None, met_on=dt.date(2026, 11, 30))
    assert _count(Contact) == 1


def test_the_same_form_sent_twice_logs_one_meeting(client, signed_in, campaign, make_record):
    """A save retried after the connection dropped (or a second tap) carries the form's key again."""
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    db.session.commit()
    page = client.get(f"/outreach/{record.id}/meetings/new").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([A-Za-z0-9_-]{32})"', page).group(1)
    first = client.post(f"/outreach/{record.id}/meetings/new", data=_data(campaign, submission_key=key))
    # The page the save leads to names the key it was saved with, for the script that keeps drafts.
    assert f'data-saved-key="{key}"' in client.get(first.headers["Location"]).get_data(as_text=True)
    again = client.post(f"/outreach/{record.id}/meetings/new", data=_data(campaign, submission_key=key))
    meeting = db.session.scalars(sa.select(Meeting)).one()
    assert first.headers["Location"] == again.headers["Location"] == f"/meetings/{meeting.id}"
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This form was already sent and saved; it was not saved again." in shown
    assert f'data-saved-key="{key}"' in shown
    assert _count(Position) == 1


@pytest.mark.parametrize(
    "key,message",
    [
        ("not a key!", "This form could not be read: open it again from the record."),
        ("TAKEN", "This form could not be read: open it again from the record."),
    ],
)
def test_a_form_key_that_is_malformed_or_someone_elses_saves_nothing(
    client, signed_in, make_user, campaign, make_record, key, message
):
    other = make_user("volunteer")
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    theirs = Meeting(held_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), summary="Theirs", created_by_id=other.id)
    db.session.add(theirs)
    db.session.flush()
    db.session.add(FormSubmission(key="a" * 32, user_id=other.id, location=f"/meetings/{theirs.id}"))
    db.session.commit()
    response = client.post(
        f"/outreach/{record.id}/meetings/new", data=_data(campaign, submission_key="a" * 32 if key == "TAKEN" else key)
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert (_count(Meeting), _count(Position)) == (1, 0)


def test_confidential_notes_are_marked_never_to_be_kept_in_a_draft(client, signed_in, make_record):
    user = signed_in("volunteer")
    record = make_record("FRA", assignee=user)
    db.session.commit()
    page = client.get(f"/outreach/{record.id}/meetings/new").get_data(as_text=True)
    assert re.search(r'<textarea data-draft-skip id="confidential_notes"', page)
    assert 'data-draft="meeting:' in page and 'data-draft-skip id="summary"' not in page
