"""Letter pages over HTTP: each form with good and bad input, permissions, stale saves, escaping."""

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from crm.core.submissions import new_key
from crm.extensions import db
from crm.letters import letter_templates, services
from crm.letters.models import Letter, LetterAttachment, LetterTemplate
from crm.outreach.models import OutreachRecord
from tests.conftest import count_rows
from tests.letters import (
    FIXTURES,
    attachments_dir,  # noqa: F401  (fixture)
    build_outreach,
    compose,
    sent_letter,
    templates,  # noqa: F401  (fixture)
)

TEMPLATE = "First letter / Primera carta"
SCRIPT = '<script>alert("x")</script>'


@pytest.fixture
def world(app, signed_in, templates):
    """A volunteer signed in, assigned to the outreach record with France."""
    volunteer = signed_in("volunteer")
    world = build_outreach(assignee=volunteer)
    world.user = volunteer
    db.session.commit()
    return world


def draft(world):
    letter = compose(world, world.user)
    db.session.commit()
    return letter


def reload(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def page_of(response) -> str:
    return response.get_data(as_text=True)


# --- composing ------------------------------------------------------------------------------------


def test_compose_offers_templates_recipients_and_languages(client, world):
    page = page_of(client.get(f"/outreach/{world.record.id}/letters/new"))
    assert TEMPLATE in page and "Jeanne Dupont — Ambassador, Embassy of France in Spain" in page
    assert "Embassy of France in Spain (no named recipient)" in page
    assert ">Spanish<" in page and ">English<" in page and ">French<" not in page


def test_compose_makes_a_draft_in_the_recipients_language(client, world):
    world.contact.language = "en"
    db.session.commit()
    response = client.post(
        f"/outreach/{world.record.id}/letters/new",
        data={
            "submission_key": new_key(),
            "template": TEMPLATE,
            "recipient": f"contact-{world.contact.id}",
            "language": "",
        },
    )
    assert response.status_code == 302
    letter = db.session.scalars(sa.select(Letter)).one()
    assert response.headers["Location"].endswith(f"/letters/{letter.id}")
    assert letter.language == "en" and "Excellency" in letter.body
    page = page_of(client.get(response.headers["Location"]))
    assert "Draft composed" in page and "Jeanne Dupont" in page and "Draft" in page


@pytest.mark.parametrize(
    "data,message",
    [
        ({"template": "Nonexistent", "recipient": "contact-{contact}", "language": ""}, "Not a valid choice"),
        ({"template": TEMPLATE, "recipient": "contact-999999", "language": ""}, "Not a valid choice"),
        ({"template": TEMPLATE, "recipient": "contact-{contact}", "language": "pt"}, "Not a valid choice"),
        ({"template": TEMPLATE, "recipient": "contact-{contact}", "language": "xx"}, "Not a valid choice"),
        ({"template": TEMPLATE, "recipient": "", "language": ""}, "This field is required"),
    ],
)
def test_bad_compose_input_is_refused_beside_the_field(client, world, data, message):
    data = {key: value.format(contact=world.contact.id) for key, value in data.items()}
    response = client.post(f"/outreach/{world.record.id}/letters/new", data={**data, "submission_key": new_key()})
    assert response.status_code == 400
    assert message in page_of(response) and 'class="error"' in page_of(response)
    assert count_rows(Letter) == 0


def test_compose_when_there_are_no_templates_points_to_them(client, app, signed_in):
    volunteer = signed_in("volunteer")
    world = build_outreach(assignee=volunteer)
    db.session.commit()
    page = page_of(client.get(f"/outreach/{world.record.id}/letters/new"))
    assert "There are no letter templates yet" in page and "/letter-templates" in page


# --- permissions ----------------------------------------------------------------------------------


def letter_urls(letter_id, record_id):
    return {
        "get": [
            f"/letters/{letter_id}",
            f"/letters/{letter_id}/preview",
            f"/letters/{letter_id}/print",
            f"/letters/{letter_id}/edit",
            f"/letters/{letter_id}/reply",
            f"/outreach/{record_id}/letters",
            f"/outreach/{record_id}/letters/new",
        ],
        "post": [
            f"/letters/{letter_id}/edit",
            f"/letters/{letter_id}/sent",
            f"/letters/{letter_id}/delivered",
            f"/letters/{letter_id}/acknowledged",
            f"/letters/{letter_id}/reply",
            f"/letters/{letter_id}/attachments",
            f"/outreach/{record_id}/letters/new",
        ],
    }


def test_unknown_ids_are_404(client, world):
    urls = letter_urls(987654, 987654)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert client.post(url, data={}).status_code == 404, url
    letter = draft(world)
    assert client.get(f"/letters/{letter.id}/attachments/987654").status_code == 404


def test_another_volunteers_record_is_404_everywhere(client, app, make_user, signed_in, templates):
    owner = make_user("volunteer")
    world = build_outreach(assignee=owner)
    letter = compose(world, owner)
    db.session.commit()
    signed_in("volunteer")  # not the assignee
    urls = letter_urls(letter.id, world.record.id)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert client.post(url, data={"sent_on": "2018-06-01", "channel": "post"}).status_code == 404, url
    assert reload(Letter, letter.id).sent_on is None


def test_a_manager_may_read_and_change_any_record(client, app, make_user, signed_in, templates):
    world = build_outreach()
    letter = compose(world, make_user())
    db.session.commit()
    signed_in("manager")
    assert client.get(f"/letters/{letter.id}").status_code == 200
    response = client.post(
        f"/letters/{letter.id}/sent", data={"version": letter.version, "channel": "email", "sent_on": "2018-06-01"}
    )
    assert response.status_code == 302


def test_signing_in_is_required(client, app, make_user, templates):
    world = build_outreach()
    letter = compose(world, make_user())
    db.session.commit()
    response = client.get(f"/letters/{letter.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the letter page, preview, print --------------------------------------------------------------


def test_script_in_subject_and_body_comes_back_escaped(client, world):
    letter = draft(world)
    response = client.post(
        f"/letters/{letter.id}/edit",
        data={
            "version": letter.version,
            "subject": f"Hello {SCRIPT}",
            "recipient_name": SCRIPT,
            "language": "en",
            "body": f"Line one {SCRIPT}\n\n<img src=x onerror=alert(1)>",
        },
    )
    assert response.status_code == 302
    for url in (
        f"/letters/{letter.id}",
        f"/letters/{letter.id}/preview",
        f"/letters/{letter.id}/print",
        f"/outreach/{world.record.id}/letters",
    ):
        page = page_of(client.get(url))
        assert SCRIPT not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;alert(" in page, url


def test_preview_and_print_show_the_merged_letter_without_inline_code(client, world):
    letter = draft(world)
    preview = page_of(client.get(f"/letters/{letter.id}/preview"))
    assert "Jeanne Dupont<br>Ambassador<br>Embassy of France in Spain" in preview
    printed = client.get(f"/letters/{letter.id}/print")
    page = page_of(printed)
    assert printed.status_code == 200
    assert f'<html lang="{letter.language}">' in page and "css/print.css" in page and "css/app.css" not in page
    assert "Excelentísimo(a) señor(a):" in page
    # The letter's page loads only the app's own script files (drafts, choices); the printed letter none.
    assert "<script" not in page
    for response in (client.get(f"/letters/{letter.id}"), printed):
        assert not re.search(r"<script(?! src=\"/static/js/)", page_of(response)) and "style=" not in page_of(response)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/static/css/print.css").status_code == 200


def test_letter_dates_are_shown_localised(client, app, signed_in, templates):
    volunteer = signed_in("volunteer", language="es")
    world = build_outreach(assignee=volunteer)
    letter = compose(world, volunteer)
    services.mark_sent(letter, "post", dt.date(2018, 6, 1), volunteer)
    db.session.commit()
    # Babel's medium form, as every date on every page.
    assert "1 jun 2018" in page_of(client.get(f"/letters/{letter.id}"))


def test_a_sent_letter_lists_its_files_as_uploaded_and_its_replies_by_the_day_they_came(client, world):
    letter = compose(world, world.user)
    services.mark_sent(letter, "post", dt.date(2018, 6, 1), world.user)
    for name, size, minute in (("scan.pdf", 2048, 10), ("acuse.jpg", 5000, 5)):
        db.session.add(
            LetterAttachment(
                letter_id=letter.id,
                filename=name,
                content_type="application/pdf",
                size_bytes=size,
                sha256="c" * 64,
                storage_key=f"{letter.id}-{name}",
                uploaded_at=dt.datetime(2018, 6, 2, 9, minute, tzinfo=dt.UTC),
            )
        )
    for subject, day in (("Second answer", dt.date(2018, 7, 20)), ("First answer", dt.date(2018, 7, 2))):
        db.session.add(
            Letter(
                outreach_id=world.record.id,
                direction="incoming",
                in_reply_to_id=letter.id,
                subject=subject,
                received_on=day,
            )
        )
    db.session.commit()
    page = page_of(client.get(f"/letters/{letter.id}"))
    files = re.findall(r'attachments/\d+">([^<]+)</a></td>\s*<td class="num">([^<]+)</td>\s*<td>([^<]+)</td>', page)
    # In the order they were attached (scan.pdf first), each with its size in whole KB, rounded up.
    assert [(name, size) for name, size, _ in files] == [("scan.pdf", "2 KB"), ("acuse.jpg", "5 KB")]
    assert [uploaded for _, _, uploaded in files] == ["2 Jun 2018, 9:10\u202fam", "2 Jun 2018, 9:05\u202fam"]
    replies = re.findall(r'<li><a href="/letters/\d+">([^<]+)</a> · ([^<]+)</li>', page)
    assert replies == [("First answer", "2 Jul 2018"), ("Second answer", "20 Jul 2018")]


# --- editing a draft ------------------------------------------------------------------------------


def test_edit_a_draft(client, world):
    letter = draft(world)
    form = page_of(client.get(f"/letters/{letter.id}/edit"))
    assert f'name="version" type="hidden" value="{letter.version}"' in form
    response = client.post(
        f"/letters/{letter.id}/edit",
        data={
            "version": letter.version,
            "subject": "A shorter subject",
            "recipient_name": "H.E. Jeanne Dupont",
            "language": "es",
            "body": "Texto nuevo.",
        },
    )
    assert response.status_code == 302
    saved = reload(Letter, letter.id)
    assert (saved.subject, saved.body, saved.recipient_name) == (
        "A shorter subject",
        "Texto nuevo.",
        "H.E. Jeanne Dupont",
    )


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"subject": "x" * 301}, "Field cannot be longer than 300 characters"),
        ({"subject": ""}, "This field is required"),
        ({"language": "de"}, "Not a valid choice"),
        ({"recipient_name": "y" * 301}, "Field cannot be longer than 300 characters"),
        ({"version": ""}, "This form is out of date"),
    ],
)
def test_bad_draft_input_is_refused_and_kept(client, world, changes, message):
    letter = draft(world)
    data = {
        "version": letter.version,
        "subject": "Typed subject",
        "recipient_name": "",
        "language": "es",
        "body": "Typed body text",
        **changes,
    }
    response = client.post(f"/letters/{letter.id}/edit", data=data)
    page = page_of(response)
    assert response.status_code == 400 and message in page
    assert "Typed body text" in page
    assert reload(Letter, letter.id).subject != "Typed subject"


def test_a_stale_draft_save_is_refused_and_keeps_what_was_typed(client, world, make_user):
    letter = draft(world)
    opened_version = letter.version
    services.update_draft(
        letter,
        subject="Someone else's subject",
        body="Their text",
        recipient_name=None,
        language="es",
        actor=make_user("coordinator"),
        expected_version=opened_version,
    )
    db.session.commit()
    response = client.post(
        f"/letters/{letter.id}/edit",
        data={
            "version": opened_version,
            "subject": "My subject",
            "recipient_name": "",
            "language": "es",
            "body": "My careful paragraph.",
        },
    )
    page = page_of(response)
    assert response.status_code == 409
    assert "Someone else saved this record after you opened it" in page
    assert 'value="My subject"' in page and "My careful paragraph." in page
    assert "What is saved now" in page and "Their text" in page
    saved = reload(Letter, letter.id)
    assert (saved.subject, saved.body) == ("Someone else's subject", "Their text")


def test_a_sent_letter_cannot_be_edited(client, world):
    letter = sent_letter(world, world.user)
    db.session.commit()
    response = client.get(f"/letters/{letter.id}/edit")
    assert response.status_code == 302
    assert "can no longer change" in page_of(client.get(response.headers["Location"]))


def test_discard_a_draft_with_its_files(client, world, attachments_dir):
    from crm.audit.models import AuditEvent

    letter = draft(world)
    pdf = (FIXTURES / "reply.pdf").read_bytes()
    client.post(
        f"/letters/{letter.id}/attachments",
        data={"submission_key": new_key(), "attachments": (io.BytesIO(pdf), "annex.pdf")},
        content_type="multipart/form-data",
    )
    [stored] = list(attachments_dir.iterdir())
    letter_id, subject, version = letter.id, letter.subject, reload(Letter, letter.id).version
    assert "Discard draft" in page_of(client.get(f"/letters/{letter_id}"))
    refused = client.post(f"/letters/{letter_id}/discard", data={"version": version})
    assert refused.status_code == 400 and "Tick the box to confirm" in page_of(refused)
    assert reload(Letter, letter_id) is not None and stored.exists()

    response = client.post(f"/letters/{letter_id}/discard", data={"version": version, "confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/outreach/{world.record.id}")
    assert reload(Letter, letter_id) is None and count_rows(LetterAttachment) == 0 and not stored.exists()
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "letter.discard")).all()
    assert event.entity_id == str(letter_id) and event.actor_id == world.user.id
    assert event.before["attachments"] == ["annex.pdf"] and event.before["subject"] == subject


def test_a_sent_letter_cannot_be_discarded(client, world):
    letter = sent_letter(world, world.user)
    db.session.commit()
    assert "Discard draft" not in page_of(client.get(f"/letters/{letter.id}"))
    response = client.post(f"/letters/{letter.id}/discard", data={"version": letter.version, "confirm": "y"})
    assert response.status_code == 400 and "it stays in the record" in page_of(response)
    assert reload(Letter, letter.id) is not None


# --- sent, delivered, acknowledged ----------------------------------------------------------------


def test_mark_sent_delivered_acknowledged(client, world):
    letter = draft(world)
    response = client.post(
        f"/letters/{letter.id}/sent",
        data={"version": letter.version, "channel": "hand_delivery", "sent_on": "2018-06-01"},
    )
    assert response.status_code == 302
    letter = reload(Letter, letter.id)
    assert (letter.channel, letter.sent_on) == ("hand_delivery", dt.date(2018, 6, 1))
    assert reload(OutreachRecord, world.record.id).stage == "contacted"
    response = client.post(
        f"/letters/{letter.id}/delivered", data={"version": letter.version, "delivered_on": "2018-06-01"}
    )
    assert response.status_code == 302
    letter = reload(Letter, letter.id)
    assert letter.delivered_on == dt.date(2018, 6, 1) and letter.signatures_snapshot_at is not None
    response = client.post(
        f"/letters/{letter.id}/acknowledged", data={"version": letter.version, "acknowledged_on": "2018-06-05"}
    )
    assert response.status_code == 302
    page = page_of(client.get(f"/letters/{letter.id}"))
    assert "Acknowledged" in page and "Signatures delivered with this letter" in page
    assert "Log a reply" in page


@pytest.mark.parametrize(
    "data,message,field_id",
    [
        ({"channel": "post", "sent_on": "2018-13-45"}, "Not a valid date value", "sent_on"),
        ({"channel": "post", "sent_on": "01/06/2018"}, "Not a valid date value", "sent_on"),
        ({"channel": "post", "sent_on": ""}, "This field is required", "sent_on"),
        ({"channel": "pigeon", "sent_on": "2018-06-01"}, "Not a valid choice", "channel"),
        ({"channel": "post", "sent_on": "2999-01-01"}, "This date is in the future", "sent_on"),
    ],
)
def test_bad_sent_input_is_refused_beside_the_field(client, world, data, message, field_id):
    letter = draft(world)
    response = client.post(f"/letters/{letter.id}/sent", data={"version": letter.version, **data})
    page = page_of(response)
    assert response.status_code == 400
    assert f'<p class="error" id="{field_id}-error">{message}' in page
    assert reload(Letter, letter.id).sent_on is None
    assert reload(OutreachRecord, world.record.id).stage == "not_started"


def test_wtforms_own_messages_come_in_the_readers_language(client, signed_in, templates):
    volunteer = signed_in("volunteer", language="es")
    world = build_outreach(assignee=volunteer)
    letter = compose(world, volunteer)
    db.session.commit()
    bad = {"version": letter.version, "channel": "pigeon", "sent_on": "2018-13-45"}
    page = page_of(client.post(f"/letters/{letter.id}/sent", data=bad))
    assert '<p class="error" id="sent_on-error">No es una fecha válida.' in page
    assert '<p class="error" id="channel-error">Opción inválida.' in page
    volunteer.language = "en"
    db.session.commit()
    page = page_of(client.post(f"/letters/{letter.id}/sent", data=bad))
    assert '<p class="error" id="sent_on-error">Not a valid date value.' in page
    assert '<p class="error" id="channel-error">Not a valid choice.' in page


def test_delivered_before_sent_is_refused_and_nothing_is_saved(client, world):
    letter = sent_letter(world, world.user, on=dt.date(2018, 6, 10))
    db.session.commit()
    response = client.post(
        f"/letters/{letter.id}/delivered", data={"version": letter.version, "delivered_on": "2018-06-09"}
    )
    assert response.status_code == 400
    assert "cannot be delivered before it was sent" in page_of(response)
    assert 'id="delivered_on-error"' in page_of(response)
    saved = reload(Letter, letter.id)
    assert saved.delivered_on is None and saved.signatures_snapshot_at is None


def test_delivered_on_an_unsent_letter_is_refused(client, world):
    letter = draft(world)
    response = client.post(
        f"/letters/{letter.id}/delivered", data={"version": letter.version, "delivered_on": "2018-06-09"}
    )
    assert response.status_code == 400 and "Mark the letter sent first" in page_of(response)


def test_acknowledged_before_delivered_is_refused(client, world):
    letter = sent_letter(world, world.user, on=dt.date(2018, 6, 10))
    services.mark_delivered(letter, dt.date(2018, 6, 12), world.user)
    db.session.commit()
    response = client.post(
        f"/letters/{letter.id}/acknowledged", data={"version": letter.version, "acknowledged_on": "2018-06-11"}
    )
    assert response.status_code == 400
    assert "cannot be acknowledged before" in page_of(response)
    assert reload(Letter, letter.id).acknowledged_on is None
    response = client.post(
        f"/letters/{letter.id}/acknowledged", data={"version": letter.version, "acknowledged_on": "not a date"}
    )
    assert response.status_code == 400 and "Not a valid date value" in page_of(response)


def test_a_stale_status_form_is_refused(client, world, make_user):
    letter = draft(world)
    old_version = letter.version
    services.update_draft(
        letter, subject="Changed", body="x", recipient_name=None, language="es", actor=make_user("coordinator")
    )
    db.session.commit()
    response = client.post(
        f"/letters/{letter.id}/sent", data={"version": old_version, "channel": "fax", "sent_on": "2018-06-01"}
    )
    page = page_of(response)
    assert response.status_code == 409 and "Someone else saved this" in page
    assert '<option selected value="fax">' in page and 'value="2018-06-01"' in page
    assert reload(Letter, letter.id).sent_on is None


# --- replies --------------------------------------------------------------------------------------


def test_log_a_reply_with_its_scan(client, world, attachments_dir):
    letter = sent_letter(world, world.user, on=dt.date(2018, 6, 1))
    db.session.commit()
    assert "Log a reply" in page_of(client.get(f"/letters/{letter.id}/reply"))
    with open(FIXTURES / "reply.pdf", "rb") as scan:
        response = client.post(
            f"/letters/{letter.id}/reply",
            data={
                "submission_key": new_key(),
                "received_on": "2018-07-02",
                "channel": "post",
                "language": "fr",
                "subject": "Réponse de l'Ambassade",
                "body": "Nous prenons note.",
                "attachments": [(scan, "réponse.pdf")],
            },
            content_type="multipart/form-data",
        )
    assert response.status_code == 302
    reply = db.session.scalars(sa.select(Letter).where(Letter.direction == "incoming")).one()
    assert response.headers["Location"].endswith(f"/letters/{reply.id}")
    assert (reply.in_reply_to_id, reply.received_on, reply.language) == (letter.id, dt.date(2018, 7, 2), "fr")
    assert reload(OutreachRecord, world.record.id).stage == "responded"
    page = page_of(client.get(f"/letters/{reply.id}"))
    assert "In reply to" in page and "réponse.pdf" in page and "Nous prenons note." in page
    assert "Réponse de l&#39;Ambassade" in page_of(client.get(f"/letters/{letter.id}"))


@pytest.mark.parametrize(
    "data,message,field_id",
    [
        ({"received_on": "2018-02-30"}, "Not a valid date value", "received_on"),
        ({"received_on": "2018-05-31"}, "A reply cannot arrive before the letter was sent", "received_on"),
        ({"subject": ""}, "This field is required", "subject"),
        ({"subject": "s" * 301}, "Field cannot be longer than 300 characters", "subject"),
        ({"channel": "telepathy"}, "Not a valid choice", "channel"),
        ({"language": "klingon"}, "Not a valid choice", "language"),
    ],
)
def test_bad_reply_input_is_refused_and_nothing_is_saved(client, world, data, message, field_id):
    letter = sent_letter(world, world.user, on=dt.date(2018, 6, 1))
    db.session.commit()
    response = client.post(
        f"/letters/{letter.id}/reply",
        data={
            "submission_key": new_key(),
            "received_on": "2018-07-02",
            "subject": "Re",
            "body": "Typed reply text",
            **data,
        },
    )
    page = page_of(response)
    assert response.status_code == 400
    assert f'id="{field_id}-error">{message}' in page and "Typed reply text" in page
    assert count_rows(Letter) == 1
    assert reload(OutreachRecord, world.record.id).stage == "contacted"


def test_a_reply_with_a_bad_file_saves_nothing(client, world, attachments_dir):
    letter = sent_letter(world, world.user, on=dt.date(2018, 6, 1))
    db.session.commit()
    with open(FIXTURES / "reply.pdf", "rb") as good, open(FIXTURES / "page-named-as.pdf", "rb") as bad:
        response = client.post(
            f"/letters/{letter.id}/reply",
            data={
                "submission_key": new_key(),
                "received_on": "2018-07-02",
                "subject": "Re",
                "attachments": [(good, "good.pdf"), (bad, "scan.pdf")],
            },
            content_type="multipart/form-data",
        )
    assert response.status_code == 400
    assert "scan.pdf is not a PDF" in page_of(response)
    assert count_rows(Letter) == 1 and count_rows(LetterAttachment) == 0
    assert not attachments_dir.exists() or not any(attachments_dir.iterdir())


# --- templates ------------------------------------------------------------------------------------


def test_volunteers_read_templates_but_may_not_edit_them(client, app, signed_in, templates):
    signed_in("volunteer")
    page = page_of(client.get("/letter-templates"))
    assert TEMPLATE in page and "{recipient_name}" in page and "New template" not in page
    template = db.session.scalars(sa.select(LetterTemplate)).first()
    assert client.get("/letter-templates/new").status_code == 404
    assert client.get(f"/letter-templates/{template.id}/edit").status_code == 404
    assert client.post("/letter-templates/defaults").status_code == 404


def test_staff_who_edit_all_write_templates(client, app, signed_in):
    signed_in("coordinator")
    response = client.post("/letter-templates/defaults")
    assert response.status_code == 302 and count_rows(LetterTemplate) == 2
    response = client.post(
        "/letter-templates/new",
        data={
            "submission_key": new_key(),
            "version": "",
            "name": "Thanks after a meeting",
            "language": "pt",
            "subject": "Obrigado, {recipient_name}",
            "body": "Caro(a) {recipient_title},\n\n{demands}",
        },
    )
    assert response.status_code == 302
    template = db.session.scalars(sa.select(LetterTemplate).where(LetterTemplate.language == "pt")).one()
    assert template.subject == "Obrigado, {recipient_name}"
    page = page_of(client.get(f"/letter-templates/{template.id}/edit"))
    assert "Caro(a) {recipient_title}" in page
    response = client.post(
        f"/letter-templates/{template.id}/edit",
        data={
            "version": template.version,
            "name": template.name,
            "language": "pt",
            "subject": "Obrigado",
            "body": "Texto",
        },
    )
    assert response.status_code == 302
    assert reload(LetterTemplate, template.id).body == "Texto"
    assert client.get("/letter-templates/987654/edit").status_code == 404


@pytest.mark.parametrize(
    "data,message,field_id",
    [
        ({"body": "Dear {recipient_name.__class__}"}, "Unknown merge field: {recipient_name.__class__}", "body"),
        ({"subject": "About {__class__}"}, "Unknown merge field: {__class__}", "subject"),
        ({"subject": "x" * 301}, "Field cannot be longer than 300 characters", "subject"),
        ({"name": ""}, "This field is required", "name"),
        ({"language": "de"}, "Not a valid choice", "language"),
        ({"name": TEMPLATE, "language": "es"}, "There is already a template with this name", "name"),
    ],
)
def test_bad_templates_are_refused_beside_the_field(client, app, signed_in, templates, data, message, field_id):
    signed_in("admin")
    response = client.post(
        "/letter-templates/new",
        data={
            "submission_key": new_key(),
            "version": "",
            "name": "New one",
            "language": "en",
            "subject": "Subject",
            "body": "Body text here",
            **data,
        },
    )
    page = page_of(response)
    assert response.status_code == 400
    assert f'id="{field_id}-error">{message}' in page
    assert count_rows(LetterTemplate) == 2


def test_a_stale_template_save_keeps_the_typed_text(client, app, signed_in, templates):
    admin = signed_in("admin")
    template = letter_templates.find_template(TEMPLATE, "en")
    opened = template.version
    letter_templates.save_template(
        template,
        name=template.name,
        language="en",
        subject="Changed meanwhile",
        body=template.body,
        actor=admin,
        expected_version=opened,
    )
    db.session.commit()
    response = client.post(
        f"/letter-templates/{template.id}/edit",
        data={"version": opened, "name": template.name, "language": "en", "subject": "Mine", "body": "My new wording"},
    )
    assert response.status_code == 409
    assert "My new wording" in page_of(response) and "Changed meanwhile" in page_of(response)
    assert reload(LetterTemplate, template.id).subject == "Changed meanwhile"


def test_a_template_save_without_its_version_is_refused(client, app, signed_in, templates):
    """A crafted POST without the version field must not save over a change the sender never saw."""
    signed_in("admin")
    template = letter_templates.find_template(TEMPLATE, "en")
    subject = template.subject
    response = client.post(
        f"/letter-templates/{template.id}/edit",
        data={"name": template.name, "language": "en", "subject": "Mine", "body": "My new wording"},
    )
    assert response.status_code == 409 and "The form is out of date" in page_of(response)
    assert reload(LetterTemplate, template.id).subject == subject
