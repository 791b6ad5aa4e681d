"""The messages the sweep writes read, in any mail client, as they were queued: names, subjects and bodies
outside ASCII, lines of any length and any ending, to servers that take 8-bit mail and to those that do
not, and to addresses outside ASCII."""

import email
import email.policy
import email.utils

import pytest
from flask_mail import BadHeaderError

from crm.mail.mime import MessageWriter, envelope_address

SENDER = ("Alcance", "alcance@campaign.example.org")
HEADERS = (("Auto-Submitted", "auto-generated"), ("Content-Language", "es"), ("X-Alcance-Kind", "due_reminder"))
TEXT = "Hola, María:\n\nLlamar a la embajada de España — la carta 12.\n"
HTML = "<p>Hola, María:</p>\n<p>Llamar a la embajada de España — la carta 12.</p>\n"


def write(writer=None, **fields):
    values = dict(
        recipient=("María Núñez", "maria@example.org"),
        subject="Seguimiento: España — llamar a la embajada",
        message_id="<1.alcance@campaign.example.org>",
        text=TEXT,
        html=HTML,
        headers=HEADERS,
    )
    values.update(fields)
    return (writer or MessageWriter(SENDER, eight_bit=True)).write(**values)


def parse(payload: bytes):
    """As a mail client reads it, its lines ended as the reader's system ends them."""
    return email.message_from_bytes(payload.replace(b"\r\n", b"\n"), policy=email.policy.default)


def lines_end_in_crlf(payload: bytes) -> bool:
    return b"\n" not in payload.replace(b"\r\n", b"") and b"\r" not in payload.replace(b"\r\n", b"")


def test_a_spanish_reminder_reads_as_it_was_queued():
    payload, options = write()
    message = parse(payload)
    assert message["From"] == "Alcance <alcance@campaign.example.org>"
    assert message["To"] == "María Núñez <maria@example.org>"
    assert message["Subject"] == "Seguimiento: España — llamar a la embajada"
    assert message["Message-ID"] == "<1.alcance@campaign.example.org>"
    assert (message["Auto-Submitted"], message["Content-Language"]) == ("auto-generated", "es")
    assert message["X-Alcance-Kind"] == "due_reminder"
    assert email.utils.parsedate_to_datetime(message["Date"]).utcoffset().total_seconds() == 0
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == TEXT
    assert message.get_body(("html",)).get_content() == HTML
    assert message.defects == [] and all(part.defects == [] for part in message.walk())
    # Headers in ASCII (RFC 2047 words for the names and the subject), bodies in 8-bit UTF-8, declared.
    head = payload.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"Content-Transfer-Encoding: 8bit" in payload
    assert options == ["BODY=8BITMIME"] and lines_end_in_crlf(payload)


def test_english_mail_in_ascii_needs_no_8bit_option():
    payload, options = write(
        recipient="vera@example.org", subject="Follow-up due", text="Call the embassy.", html="<p>Call.</p>"
    )
    assert payload.isascii() and options == [] and b"Content-Transfer-Encoding: 7bit" in payload
    assert parse(payload).get_body(("plain",)).get_content() == "Call the embassy.\n"


def test_a_server_without_8bitmime_gets_quoted_printable_bodies_read_the_same():
    payload, options = write(MessageWriter(SENDER, eight_bit=False))
    assert payload.isascii() and options == []
    assert payload.count(b"Content-Transfer-Encoding: quoted-printable") == 2
    message = parse(payload)
    assert message.get_body(("plain",)).get_content() == TEXT
    assert message.get_body(("html",)).get_content() == HTML
    assert max(len(line) for line in payload.split(b"\r\n")) <= 78


def test_a_line_longer_than_mail_allows_is_written_quoted_printable_even_in_ascii():
    long_line = "Signatures: " + ", ".join(f"signer {n}" for n in range(200))
    payload, _ = write(text=long_line + "\n", html=None)
    assert len(long_line) > 998 and b"Content-Transfer-Encoding: quoted-printable" in payload
    assert max(len(line) for line in payload.split(b"\r\n")) <= 78
    assert parse(payload).get_content() == long_line + "\n"


def test_every_line_ending_arrives_as_a_line_and_is_sent_as_crlf():
    payload, _ = write(text="one\r\ntwo\rthree\nfour", html=None)
    assert lines_end_in_crlf(payload)
    assert parse(payload).get_content() == "one\ntwo\nthree\nfour\n"


def test_a_message_without_html_is_plain_text():
    payload, _ = write(html=None)
    message = parse(payload)
    assert message.get_content_type() == "text/plain" and message.get_content() == TEXT


def test_a_body_that_contains_the_boundary_does_not_split_the_message():
    writer = MessageWriter(SENDER, eight_bit=True)
    text = f"--{writer.boundary}\nstill the text\n--{writer.boundary}--\n"
    message = parse(write(writer, text=text)[0])
    assert message.get_body(("plain",)).get_content() == text
    assert message.get_body(("html",)).get_content() == HTML


def test_an_address_outside_ascii_is_written_in_utf8_for_smtputf8():
    payload, options = write(recipient=("María Pérez", "maría.pérez@bücher.example"), utf8=True)
    assert options == ["SMTPUTF8", "BODY=8BITMIME"]
    assert "To: María Pérez <maría.pérez@bücher.example>\r\n".encode() in payload
    assert parse(payload)["Subject"] == "Seguimiento: España — llamar a la embajada"


def test_a_domain_outside_ascii_is_written_in_idna_without_smtputf8():
    payload, _ = write(recipient=("Ana", "ana@bücher.example"), html=None, text="Hola")
    assert b"To: Ana <ana@xn--bcher-kva.example>\r\n" in payload
    assert envelope_address("Ana <ana@bücher.example>") == "ana@xn--bcher-kva.example"
    assert envelope_address("maría@bücher.example") == "maría@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "field",
    [
        {"subject": "Seguimiento\r\nBcc: everyone@example.org"},
        {"recipient": ("María\nBcc: everyone@example.org", "maria@example.org")},
        {"headers": (("Content-Language", "es\nBcc: everyone@example.org"),)},
    ],
    ids=["subject", "name", "header"],
)
def test_a_line_break_in_a_header_is_refused_not_sent(field):
    with pytest.raises(BadHeaderError):
        write(**field)


@pytest.mark.parametrize(
    "subject",
    [
        "Follow-up due: Spain, call the embassy",
        "Follow-up due: Saint Vincent and the Grenadines, call the ministry about the letter of 3 March",
        "Seguimiento pendiente: España, llamar a la embajada",
        "Seguimiento pendiente: Côte d’Ivoire, llamar al ministerio por la carta del 3 de marzo 📨 ñññññ",
    ],
    ids=["short", "long", "spanish", "long-spanish"],
)
def test_every_subject_reads_as_written_on_lines_of_at_most_78_characters(subject):
    payload, _ = write(subject=subject)
    head = payload.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in head.split(b"\r\n")) <= 78
    assert parse(payload)["Subject"] == subject
