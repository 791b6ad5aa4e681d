"""No letter page runs more queries because it shows more rows."""

import datetime as dt
import hashlib

import pytest

from crm.extensions import db
from crm.letters.models import Letter, LetterAttachment, LetterTemplate
from tests.letters import build_outreach, count_queries


@pytest.fixture
def staff(app, signed_in):
    return signed_in("coordinator")


def add_letters(world, n: int) -> list[Letter]:
    letters = []
    for i in range(n):
        letter = Letter(
            outreach_id=world.record.id,
            direction="outgoing",
            language="es",
            subject=f"Letter {i}",
            body="Text",
            recipient_contact_id=world.contact.id,
            recipient_office_id=world.office.id,
            recipient_name=world.contact.name,
            channel="post",
            sent_on=dt.date(2018, 6, 1),
        )
        letters.append(letter)
    db.session.add_all(letters)
    db.session.flush()
    for letter in letters[: n // 2]:
        db.session.add(
            LetterAttachment(
                letter_id=letter.id,
                filename="scan.pdf",
                content_type="application/pdf",
                size_bytes=10,
                sha256="a" * 64,
                storage_key=hashlib.sha1(f"{letter.id}".encode()).hexdigest(),
            )
        )
        db.session.add(
            Letter(
                outreach_id=world.record.id,
                direction="incoming",
                in_reply_to_id=letter.id,
                subject=f"Re: {letter.subject}",
                received_on=dt.date(2018, 7, 1),
                recipient_contact_id=world.contact.id,
                recipient_office_id=world.office.id,
            )
        )
    db.session.commit()
    return letters


def add_attachments_and_replies(letter, world, n: int) -> None:
    for i in range(n):
        db.session.add(
            LetterAttachment(
                letter_id=letter.id,
                filename=f"scan-{i}.pdf",
                content_type="application/pdf",
                size_bytes=1000 + i,
                sha256="b" * 64,
                storage_key=hashlib.sha1(f"{letter.id}-{i}".encode()).hexdigest(),
            )
        )
        db.session.add(
            Letter(
                outreach_id=world.record.id,
                direction="incoming",
                in_reply_to_id=letter.id,
                subject=f"Reply {i}",
                received_on=dt.date(2018, 7, 1),
                recipient_office_id=world.office.id,
            )
        )
    db.session.commit()


def test_the_letters_of_a_record(client, staff):
    counts = {}
    for n in (10, 200):
        world = build_outreach()
        add_letters(world, n)
        response, statements = count_queries(client, f"/outreach/{world.record.id}/letters")
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("<tr>") > min(n, client.application.config["ITEMS_PER_PAGE"])
        counts[n] = len(statements)
    assert counts[10] == counts[200], counts


def test_the_letter_page(client, staff):
    counts = {}
    for n in (10, 200):
        world = build_outreach()
        letter = add_letters(world, 1)[0]
        add_attachments_and_replies(letter, world, n)
        letter.signatures_by_country = {code: 1 for code in ("FRA", "ESP", "DEU", "ITA")[: 1 + n % 4]}
        letter.signatures_snapshot_at = letter.created_at
        db.session.commit()
        response, statements = count_queries(client, f"/letters/{letter.id}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and f"scan-{n - 1}.pdf" in page and f"Reply {n - 1}" in page
        counts[n] = len(statements)
    assert counts[10] == counts[200], counts


def test_the_templates_list(client, staff):
    counts = {}
    for n in (10, 200):
        db.session.query(LetterTemplate).delete()
        for i in range(n):
            db.session.add(
                LetterTemplate(
                    name=f"Template {i:03}", language=("es", "en")[i % 2], subject="S", body="B", updated_by_id=staff.id
                )
            )
        db.session.commit()
        response, statements = count_queries(client, "/letter-templates")
        assert response.status_code == 200 and f"Template {n - 1:03}" in response.get_data(as_text=True)
        counts[n] = len(statements)
    assert counts[10] == counts[200], counts


def test_the_composer(client, staff):
    from crm.contacts.models import Contact

    counts = {}
    for n in (10, 200):
        world = build_outreach()
        db.session.add_all([Contact(office=world.office, name=f"Diplomat {i}") for i in range(n)])
        db.session.add(LetterTemplate(name=f"T{n}", language="en", subject="S", body="B"))
        db.session.commit()
        response, statements = count_queries(client, f"/outreach/{world.record.id}/letters/new")
        assert response.status_code == 200 and f"Diplomat {n - 1}" in response.get_data(as_text=True)
        counts[n] = len(statements)
    assert counts[10] == counts[200], counts


def test_the_letter_page_loads_the_letter_with_what_it_shows_of_it(client, staff):
    world = build_outreach()
    letter = add_letters(world, 2)[1]
    letter.in_reply_to_id = None
    db.session.commit()
    response, statements = count_queries(client, f"/letters/{letter.id}")
    assert response.status_code == 200
    selects = [" ".join(s.split()) for s in statements if s.lstrip().upper().startswith("SELECT")]
    # The signed-in user; the letter with its record, campaign (and its name in other languages),
    # government, recipient and author; its files and replies, together; the joint statements going with
    # it and those that could. No relation is fetched on its own.
    assert len(selects) == 4, selects
