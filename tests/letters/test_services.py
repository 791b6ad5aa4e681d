"""Letter rules, tested without HTTP: merging, languages, signature totals, the letter's life and replies."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.campaigns.models import CampaignTranslation
from crm.errors import StaleRecord
from crm.extensions import db
from crm.letters import letter_templates, merge_fields, services
from crm.letters.errors import LetterError
from crm.letters.models import Letter, LetterTemplate
from crm.signatures.totals import totals_for
from tests.conftest import utc_today
from tests.letters import (
    add_petition,
    add_signatures,
    add_tally,
    build_outreach,
    compose,
    sent_letter,
    templates,  # noqa: F401  (fixture)
)

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")


def actions(action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


# --- merge fields ----------------------------------------------------------------------------------


def test_merge_fills_known_fields_and_drops_lines_that_come_out_empty():
    text = "{recipient_name}\n{recipient_title}\n{office_name}\n\nDear {recipient_name}, {{literal}}"
    merged = merge_fields.render_merge(text, {"recipient_name": "Ana", "recipient_title": "", "office_name": "Embassy"})
    assert merged == "Ana\nEmbassy\n\nDear Ana, {literal}"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("{__class__}", "{__class__}"),
        ("{recipient_name.__class__}", "{recipient_name.__class__}"),
        (
            "{recipient_name.__class__.__mro__[1].__subclasses__()}",
            "{recipient_name.__class__.__mro__[1].__subclasses__()}",
        ),
        ("{recipient_name!r:>{__init__}}", "{recipient_name!r:>{__init__}}"),
        ("{recipient_name[0]}", "{recipient_name[0]}"),
        ("{0}", "{0}"),
        ("{{recipient_name}}", "{recipient_name}"),
    ],
)
def test_merge_never_evaluates_anything(text, expected):
    class Exploding(str):
        def __getattribute__(self, name):
            raise AssertionError(f"attribute {name} was looked up")

    assert merge_fields.render_merge(text, {"recipient_name": Exploding("Ana")}) == expected


def test_unknown_fields_are_listed_once_in_order():
    assert merge_fields.unknown_fields("{date} {__class__} {recipient_name.__class__} {__class__} {{ok}}") == [
        "__class__",
        "recipient_name.__class__",
    ]
    assert merge_fields.unknown_fields("{date}\n{demands}") == []


@pytest.mark.parametrize(
    "subject,body,field_name",
    [
        ("Hello {recipient_nme}", "Body", "subject"),
        ("Hello", "Dear {recipient_name.__class__}", "body"),
        ("Hello", "{__class__}", "body"),
    ],
)
def test_saving_a_template_with_an_unknown_field_is_refused(app, subject, body, field_name):
    with pytest.raises(LetterError) as refused:
        letter_templates.save_template(None, name="Follow-up", language="en", subject=subject, body=body, actor=None)
    assert refused.value.field == field_name and "Unknown merge field" in str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LetterTemplate)) == 0


def test_template_names_are_unique_per_language(app, make_user):
    admin = make_user("admin")
    letter_templates.save_template(None, name="Thanks", language="en", subject="Thank you", body="Thanks.", actor=admin)
    letter_templates.save_template(None, name="Thanks", language="es", subject="Gracias", body="Gracias.", actor=admin)
    with pytest.raises(LetterError) as refused:
        letter_templates.save_template(None, name="Thanks", language="en", subject="Again", body="Again.", actor=admin)
    assert refused.value.field == "name"
    assert letter_templates.template_languages() == {"Thanks": ["es", "en"]}
    assert len(actions("letter_template.create")) == 2


def test_default_templates_are_added_once_and_never_overwritten(app, make_user):
    created = letter_templates.load_default_templates()
    assert sorted(t.language for t in created) == ["en", "es"]
    english = letter_templates.find_template("First letter / Primera carta", "en")
    letter_templates.save_template(
        english,
        name=english.name,
        language="en",
        subject="Edited {campaign_name}",
        body=english.body,
        actor=make_user("admin"),
        expected_version=english.version,
    )
    assert letter_templates.load_default_templates() == []
    assert letter_templates.find_template("First letter / Primera carta", "en").subject == "Edited {campaign_name}"
    for template in created:
        assert merge_fields.unknown_fields(template.subject + template.body) == []


def test_a_stale_template_save_is_refused(app, make_user):
    admin = make_user("admin")
    template = letter_templates.save_template(None, name="T", language="en", subject="S", body="B", actor=admin)
    with pytest.raises(StaleRecord):
        letter_templates.save_template(
            template,
            name="T",
            language="en",
            subject="S2",
            body="B",
            actor=admin,
            expected_version=template.version - 1,
        )


# --- composing ------------------------------------------------------------------------------------


def test_compose_in_english_fills_every_field(app, make_user, templates):
    world = build_outreach(contact_language="en")
    add_signatures(world.campaign, "FRA", 3)
    add_signatures(world.campaign, "ESP", 2)
    sender = make_user("volunteer", name="Luisa Muestra")
    letter = compose(world, sender, language="en")
    assert letter.language == "en" and letter.direction == "outgoing" and letter.sent_on is None
    assert letter.subject == "Justice for Venezuela: a request to the Government of France"
    body = letter.body
    from babel.dates import format_date

    assert body.startswith(format_date(utc_today(), "medium", locale="en_001") + "\n")  # "2 Dec 2026"
    assert "Jeanne Dupont\nAmbassador\nEmbassy of France in Spain" in body
    assert "1. Repudiate the election: Disregard the election of 20 May 2018.\n2. ICC referral" in body
    assert "supported to date by 5 signatories, 3 of whom reside in France" in body
    assert body.rstrip().endswith("Luisa Muestra\nOn behalf of Justice for Venezuela")
    assert "{" not in body
    assert letter.recipient_contact_id == world.contact.id and letter.recipient_office_id == world.office.id
    assert actions("letter.compose")[0].after["language"] == "en"


def test_compose_in_spanish_uses_spanish_names_demands_and_dates(app, make_user, templates):
    world = build_outreach(country="DEU", contact_language="es")
    add_signatures(world.campaign, "DEU", 1234)
    letter = compose(world, make_user(), language="es")
    assert letter.language == "es"
    assert letter.subject == "Justice for Venezuela: solicitud al Gobierno de Alemania"
    assert "1. Desconocer la elección: Desconocer la elección del 20 de mayo de 2018." in letter.body
    assert "2. ICC referral" in letter.body  # no Spanish wording yet: the original stands
    assert "1234 firmantes, 1234 de los cuales residen en Alemania" in letter.body.replace("\u00a0", "").replace(
        ".", ""
    )
    from babel.dates import format_date

    assert letter.body.startswith(format_date(utc_today(), "medium", locale="es") + "\n")  # "2 dic 2026"


def test_the_campaigns_name_is_merged_in_the_letters_language(app, make_user, templates):
    world = build_outreach(country="DEU", contact_language="es")
    world.campaign.translations.append(CampaignTranslation(language="es", name="Justicia para Venezuela"))
    db.session.flush()
    spanish, english = compose(world, make_user(), language="es"), compose(world, make_user(), language="en")
    assert spanish.subject == "Justicia para Venezuela: solicitud al Gobierno de Alemania"
    assert "Justice for Venezuela" not in spanish.body + spanish.subject
    assert english.body.rstrip().endswith("On behalf of Justice for Venezuela")
    assert "Justicia para Venezuela" not in english.body + english.subject


def test_language_defaults_to_the_contacts_then_to_a_language_the_template_has(app, make_user, templates):
    spanish_speaker = build_outreach(contact_language="es")
    assert compose(spanish_speaker, make_user()).language == "es"
    french_speaker = build_outreach(contact_language="fr")  # no French template: the first one there is
    assert compose(french_speaker, make_user()).language == "es"
    to_the_office = build_outreach(contact_language="en")
    letter = compose(to_the_office, make_user(), contact=False)
    assert letter.language == "es" and letter.recipient_contact_id is None
    assert "Ambassador" not in letter.body and "Embassy of France in Spain" in letter.body


def test_a_language_the_template_lacks_is_refused(app, make_user, templates):
    world = build_outreach()
    with pytest.raises(LetterError) as refused:
        compose(world, make_user(), language="pt")
    assert refused.value.field == "language"
    with pytest.raises(LetterError) as refused:
        compose(world, make_user(), language="xx")
    assert refused.value.field == "language"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0


def test_an_office_of_another_government_is_refused(app, make_user, templates):
    world, other = build_outreach(), build_outreach(country="DEU")
    with pytest.raises(LetterError) as refused:
        services.compose_letter(
            world.record, template_name="First letter / Primera carta", actor=make_user(), office=other.office
        )
    assert refused.value.field == "recipient"


def test_a_template_holding_code_is_merged_as_plain_text(app, make_user):
    # Saved behind the service's back (an old row, a direct import): composing still evaluates nothing.
    db.session.add(
        LetterTemplate(
            name="Odd",
            language="en",
            subject="{__class__}",
            body="{recipient_name.__class__} {__class__.__mro__} {recipient_name}",
        )
    )
    db.session.flush()
    world = build_outreach()
    letter = compose(world, make_user(), template="Odd")
    assert letter.subject == "{__class__}"
    assert letter.body == "{recipient_name.__class__} {__class__.__mro__} Jeanne Dupont"


# --- signature totals -----------------------------------------------------------------------------


def test_signature_totals_count_rows_and_let_a_tally_replace_them(app):
    world = build_outreach()
    petition = add_signatures(world.campaign, "FRA", 4)
    add_signatures(world.campaign, "ESP", 3, petition=petition)
    add_signatures(world.campaign, None, 2, petition=petition)  # country unknown: in the total only
    other = add_signatures(world.campaign, "FRA", 1)
    add_tally(petition, "ESP", 100)  # replaces the 3 rows of that petition in Spain
    add_tally(add_petition(world.campaign), "FRA", 10)
    elsewhere = build_outreach()
    add_signatures(elsewhere.campaign, "FRA", 50)  # another campaign's
    totals = totals_for(world.campaign, world.country)
    assert totals.total == 4 + 100 + 2 + 1 + 10
    assert totals.resident == 4 + 1 + 10
    assert totals.by_country == {"ESP": 100, "FRA": 15}
    assert other is not petition


# --- the letter's life ----------------------------------------------------------------------------


def test_marking_sent_advances_the_record_to_contacted(app, make_user, templates):
    world = build_outreach()
    actor = make_user()
    letter = compose(world, actor)
    services.mark_sent(letter, "email", dt.date(2018, 6, 1), actor, expected_version=letter.version)
    assert (letter.channel, letter.sent_on, world.record.stage) == ("email", dt.date(2018, 6, 1), "contacted")
    assert actions("letter.sent")[0].after == {"channel": "email", "sent_on": "2018-06-01"}
    assert actions("outreach.stage")[0].after["reason"] == "letter sent"


def test_sending_never_moves_a_record_back(app, make_user, templates):
    world = build_outreach()
    world.record.stage = "committed"
    sent_letter(world, make_user())
    assert world.record.stage == "committed"


@pytest.mark.parametrize("step", ["sent", "delivered", "acknowledged"])
def test_dates_in_the_future_are_refused(app, make_user, templates, step):
    world = build_outreach()
    actor = make_user()
    letter = compose(world, actor)
    if step != "sent":
        services.mark_sent(letter, "post", utc_today(), actor)
    if step == "acknowledged":
        services.mark_delivered(letter, utc_today(), actor)
    later = utc_today() + dt.timedelta(days=5)
    with pytest.raises(LetterError) as refused:
        {
            "sent": lambda: services.mark_sent(letter, "post", later, actor),
            "delivered": lambda: services.mark_delivered(letter, later, actor),
            "acknowledged": lambda: services.mark_acknowledged(letter, later, actor),
        }[step]()
    assert refused.value.field == f"{step}_on"


def test_delivered_before_sent_and_acknowledged_before_delivered_are_refused(app, make_user, templates):
    world = build_outreach()
    actor = make_user()
    letter = compose(world, actor)
    with pytest.raises(LetterError, match="sent first"):
        services.mark_delivered(letter, dt.date(2018, 6, 1), actor)
    services.mark_sent(letter, "post", dt.date(2018, 6, 10), actor)
    with pytest.raises(LetterError, match="delivered first"):
        services.mark_acknowledged(letter, dt.date(2018, 6, 12), actor)
    with pytest.raises(LetterError) as refused:
        services.mark_delivered(letter, dt.date(2018, 6, 9), actor)
    assert refused.value.field == "delivered_on" and letter.delivered_on is None
    services.mark_delivered(letter, dt.date(2018, 6, 10), actor)
    with pytest.raises(LetterError) as refused:
        services.mark_acknowledged(letter, dt.date(2018, 6, 9), actor)
    assert refused.value.field == "acknowledged_on"
    with pytest.raises(LetterError) as refused:
        services.mark_sent(letter, "post", dt.date(2018, 6, 11), actor)  # after its delivery
    assert refused.value.field == "sent_on"
    services.mark_acknowledged(letter, dt.date(2018, 6, 15), actor)
    assert services.letter_status(letter) == "acknowledged"


def test_bad_channel_is_refused(app, make_user, templates):
    world = build_outreach()
    letter = compose(world, make_user())
    with pytest.raises(LetterError) as refused:
        services.mark_sent(letter, "pigeon", utc_today(), None)
    assert refused.value.field == "channel" and letter.sent_on is None


def test_a_stale_version_is_refused(app, make_user, templates):
    world = build_outreach()
    letter = compose(world, make_user())
    with pytest.raises(StaleRecord):
        services.mark_sent(letter, "post", utc_today(), None, expected_version=letter.version + 1)
    with pytest.raises(StaleRecord):
        services.update_draft(
            letter,
            subject="x",
            body="y",
            recipient_name=None,
            language="en",
            actor=None,
            expected_version="not a number",
        )


def test_the_totals_are_frozen_at_delivery(app, make_user, templates):
    world = build_outreach()
    add_signatures(world.campaign, "FRA", 3)
    add_signatures(world.campaign, "DEU", 2)
    actor = make_user()
    letter = sent_letter(world, actor)
    assert letter.signatures_snapshot_at is None
    services.mark_delivered(letter, dt.date(2018, 6, 2), actor)
    db.session.flush()
    assert (letter.signatures_total, letter.signatures_resident) == (5, 3)
    assert letter.signatures_by_country == {"DEU": 2, "FRA": 3}
    taken_at = letter.signatures_snapshot_at
    assert taken_at is not None

    add_signatures(world.campaign, "FRA", 7)  # imported after the delivery
    services.mark_delivered(letter, dt.date(2018, 6, 3), actor)  # a corrected date
    db.session.expire_all()
    letter = db.session.get(Letter, letter.id)
    assert (letter.signatures_total, letter.signatures_resident) == (5, 3)
    assert letter.signatures_by_country == {"DEU": 2, "FRA": 3}
    assert letter.signatures_snapshot_at == taken_at
    assert totals_for(world.campaign, world.country).total == 12
    assert actions("letter.delivered")[0].after["signatures_total"] == 5


def test_a_draft_can_change_until_it_is_sent(app, make_user, templates):
    world = build_outreach()
    actor = make_user()
    letter = compose(world, actor)
    services.update_draft(
        letter,
        subject="  New   subject ",
        body="Text {recipient_name.__class__}",
        recipient_name="H.E. Jeanne Dupont",
        language="en",
        actor=actor,
        expected_version=letter.version,
    )
    assert (letter.subject, letter.body, letter.language) == ("New subject", "Text {recipient_name.__class__}", "en")
    assert set(actions("letter.update")[0].after) == {"subject", "body", "recipient_name", "language"}
    services.mark_sent(letter, "post", utc_today(), actor)
    with pytest.raises(LetterError, match="sent"):
        services.update_draft(letter, subject="Too late", body="x", recipient_name=None, language="en", actor=actor)


# --- replies --------------------------------------------------------------------------------------


def test_a_reply_links_to_the_original_and_advances_the_record(app, make_user, templates):
    world = build_outreach()
    actor = make_user()
    original = sent_letter(world, actor, on=dt.date(2018, 6, 1))
    reply = services.log_reply(
        original,
        dt.date(2018, 7, 2),
        "Re: Justice for Venezuela",
        "We take note.",
        actor,
        channel="post",
        language="fr",
    )
    db.session.flush()
    assert reply.direction == "incoming" and reply.in_reply_to_id == original.id
    assert reply.outreach_id == original.outreach_id and reply.received_on == dt.date(2018, 7, 2)
    assert reply.recipient_office_id == world.office.id
    assert original.replies == [reply]
    assert world.record.stage == "responded"
    assert actions("letter.reply")[0].after["in_reply_to_id"] == original.id


def test_a_reply_before_the_letter_was_sent_is_refused(app, make_user, templates):
    world = build_outreach()
    actor = make_user()
    draft = compose(world, actor)
    with pytest.raises(LetterError, match="sent"):
        services.log_reply(draft, utc_today(), "Re", None, actor)
    services.mark_sent(draft, "post", dt.date(2018, 6, 10), actor)
    with pytest.raises(LetterError) as refused:
        services.log_reply(draft, dt.date(2018, 6, 9), "Re", None, actor)
    assert refused.value.field == "received_on"
    reply = services.log_reply(draft, dt.date(2018, 6, 12), "Re", None, actor)
    with pytest.raises(LetterError):
        services.log_reply(reply, dt.date(2018, 6, 12), "Re: Re", None, actor)  # we answer replies by letter
    assert world.record.stage == "responded"
