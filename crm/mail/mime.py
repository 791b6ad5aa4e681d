"""A queued message written as the bytes a mail server receives. The sweep writes the MIME itself: the
headers that repeat (sender, recipients, languages, kinds) are folded by the standard library's SMTP
policies (RFC 2047 words, or UTF-8 under SMTPUTF8) and kept; the subject, which seldom repeats, and the
bodies are written by plain string and byte operations. Flask-Mail's builder (and the email package's
generator, which it uses) cost the sweep more than the mail server did; Flask-Mail still holds the
settings and the connection (crm/mail/services.py)."""

from __future__ import annotations

import binascii
import datetime as dt
import email.policy
import functools
import secrets
import time
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr

from flask_mail import BadHeaderError

# RFC 5322 2.1.1: a line has at most 998 octets. A body with a longer line (or a byte a 7-bit or
# 8-bit body may not carry) is written quoted-printable.
MAX_LINE = 998
PLAIN, HTML = "plain", "html"
# Folded headers and envelope addresses kept for the messages to come: senders, recipients, languages
# and kinds repeat from message to message and from batch to batch.
CACHED = 4096
# A header line should have at most 78 characters (RFC 5322 2.1.1).
LINE = 78
# An encoded word of 42 bytes is 68 characters (56 of base64): "Subject: " and one fit in 78.
ENCODED_WORD_BYTES = 42


@functools.lru_cache(maxsize=CACHED)
def envelope_address(address: str | tuple[str, str]) -> str:
    """The bare address of a sender or recipient (a string or a (name, address) pair), its domain in
    IDNA (ASCII) form; only a local part outside ASCII still needs SMTPUTF8."""
    bare = address[1] if isinstance(address, tuple) else parseaddr(address)[1] or address
    local, at, domain = bare.rpartition("@")
    if at and not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}{at}{domain}" if at else bare


def _header_address(address: str | tuple[str, str], utf8: bool) -> Address:
    name, bare = address if isinstance(address, tuple) else parseaddr(address)
    # By parts: parsing an addr_spec refuses a local part outside ASCII even under the SMTPUTF8 policy.
    local, _, domain = bare.rpartition("@")
    if not utf8 and not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return Address(display_name=name or "", username=local, domain=domain)


def _folded_at_spaces(line: str) -> str:
    """A header line of single spaces between words, folded before spaces into lines of at most 78
    characters where its words allow (RFC 5322 2.2.3): unfolding gives back the line as it was."""
    if len(line) <= LINE:
        return line
    first, *words = line.split(" ")
    lines, current = [], first
    for word in words:
        if len(current) + 1 + len(word) > LINE and current != first:
            lines.append(current)
            current = ""
        current = f"{current} {word}"
    lines.append(current)
    return "\r\n".join(lines)


def _encoded_words(text: str) -> bytes:
    """`text` as RFC 2047 encoded words (UTF-8, base64) of whole characters, one a line: each line,
    "Subject: " or the folding space included, within 78 characters."""
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + ENCODED_WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # not within a character
            end -= 1
        words.append(b"=?utf-8?b?" + binascii.b2a_base64(data[start:end], newline=False) + b"?=")
        start = end
    return b"\r\n ".join(words)


@functools.lru_cache(maxsize=CACHED)
def _folded(name: str, value: str | tuple[str, str], utf8: bool) -> bytes:
    """A header folded by the standard library's SMTP policy: RFC 2047 words in ASCII, or UTF-8."""
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    if name in ("From", "To"):
        value = [_header_address(value, utf8)]
    header = policy.header_store_parse(name, value)[1]
    return header.fold(policy=policy).encode("utf-8" if utf8 else "ascii")


def _has_newline(*values: str | None) -> bool:
    return any(value and ("\n" in value or "\r" in value) for value in values)


class MessageWriter:
    """Writes the messages one SMTP connection sends. `eight_bit`: the server takes 8-bit bodies
    (8BITMIME); without it, a body outside ASCII goes quoted-printable. What repeats from message to
    message (folded headers, envelope addresses) is written once and kept (`CACHED`)."""

    def __init__(self, sender: str | tuple[str, str], *, eight_bit: bool):
        if _has_newline(*(sender if isinstance(sender, tuple) else (sender,))):
            raise BadHeaderError
        self.sender = sender
        self.envelope_sender = envelope_address(sender)
        self.eight_bit = eight_bit
        # Random for each writer: a body cannot have been written knowing it (and is checked anyway).
        self.boundary = f"=_alcance_{secrets.token_hex(16)}"
        self._date: tuple[int, bytes] = (-1, b"")

    def write(
        self,
        *,
        recipient: str | tuple[str, str],
        subject: str,
        message_id: str,
        text: str,
        html: str | None,
        headers: tuple[tuple[str, str], ...] = (),
        utf8: bool = False,
    ) -> tuple[bytes, list[str]]:
        """The message's bytes and the MAIL FROM options it needs. `utf8`: the message goes with
        SMTPUTF8 (RFC 6531/6532), its headers in UTF-8; otherwise in ASCII (RFC 2047 encoded words,
        domains in IDNA)."""
        name, address = recipient if isinstance(recipient, tuple) else (None, recipient)
        if _has_newline(name, address, subject, message_id) or any(_has_newline(n, v) for n, v in headers):
            raise BadHeaderError
        head = [
            _folded("From", self.sender, utf8),
            _folded("To", recipient, utf8),
            self._subject(subject, utf8),
            self._now(),
            # Chosen by new_message_id(): ASCII unless the sender's domain is not.
            b"Message-ID: " + message_id.encode("ascii") + b"\r\n"
            if message_id.isascii()
            else _folded("Message-ID", message_id, utf8),
            *(_folded(header, value, utf8) for header, value in headers),
            b"MIME-Version: 1.0\r\n",
        ]
        text_type, text_body = self._part(PLAIN, text)
        if html is None:
            parts = [text_type, b"\r\n", text_body]
        else:
            html_type, html_body = self._part(HTML, html)
            boundary = self.boundary.encode("ascii")
            while boundary in text_body or boundary in html_body:
                boundary = f"=_alcance_{secrets.token_hex(16)}".encode("ascii")
            # The line break before a delimiter belongs to the delimiter (RFC 2046 5.1.1): a body's own
            # last line break stays the body's.
            delimiter = b"\r\n--" + boundary + b"\r\n"
            parts = [
                b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n\r\n',
                delimiter[2:],
                text_type,
                b"\r\n",
                text_body,
                delimiter,
                html_type,
                b"\r\n",
                html_body,
                b"\r\n--" + boundary + b"--\r\n",
            ]
        payload = b"".join(head + parts)
        options = []
        if utf8:
            options.append("SMTPUTF8")
        if not payload.isascii():
            options.append("BODY=8BITMIME")
        return payload, options

    def _subject(self, subject: str, utf8: bool) -> bytes:
        """Most subjects differ from message to message, so they are written without the header parser:
        one in plain ASCII folded at its spaces, one with letters outside ASCII as RFC 2047 encoded
        words (as Flask-Mail wrote it). Anything else (control characters, double spaces, text that
        reads as an encoded word, UTF-8 for SMTPUTF8) goes through the parser."""
        if subject.isprintable() and "=?" not in subject:
            if subject.isascii() and "  " not in subject:
                return _folded_at_spaces("Subject: " + subject).encode("ascii") + b"\r\n"
            if not utf8:
                return b"Subject: " + _encoded_words(subject) + b"\r\n"
        return _folded("Subject", subject, utf8)

    def _now(self) -> bytes:
        second = int(time.time())
        if self._date[0] != second:
            moment = dt.datetime.fromtimestamp(second, dt.UTC)
            self._date = (second, f"Date: {format_datetime(moment)}\r\n".encode("ascii"))
        return self._date[1]

    def _part(self, subtype: str, content: str) -> tuple[bytes, bytes]:
        """A text part's headers and its body, its lines ended with CRLF."""
        data = content.encode("utf-8")
        lines = data.splitlines()  # CRLF, CR and LF alike, as the email package splits them
        longest = max(map(len, lines), default=0)
        if longest <= MAX_LINE and b"\0" not in data and (data.isascii() or self.eight_bit):
            encoding = "7bit" if data.isascii() else "8bit"
            body = b"\r\n".join(lines) + b"\r\n"
        else:
            encoding = "quoted-printable"
            body = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True).replace(b"\n", b"\r\n")
        head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n'
        return head.encode("ascii"), body
