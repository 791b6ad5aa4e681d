"""The password policy: long enough, not too long, not one of the most common passwords, and not the
person's own name or e-mail. No composition rules (NIST SP 800-63B, OWASP ASVS 2.1)."""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from crm.errors import DomainError
from crm.translation import gettext

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "seeds" / "common_passwords.txt"
# A whole name or e-mail local part is refused from this length; a piece of one (a first name, the
# part before a dot) from the next, since shorter pieces are too common inside ordinary words.
MIN_PERSONAL_WHOLE = 3
MIN_PERSONAL_PIECE = 4


class PasswordRejected(DomainError):
    """The password does not meet the policy; the message says why, in the reader's language."""


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(_folded(line.rstrip("\r\n")) for line in handle if line.strip())


def _folded(text: str) -> str:
    """Lower case, no accents, no spaces: "José Pérez" and "jose perez" count as the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())


def _compact(text: str) -> str:
    return "".join(ch for ch in _folded(text) if ch.isalnum())


def _personal_parts(email: str | None, name: str | None) -> set[str]:
    wholes: set[str] = set()
    pieces: set[str] = set()
    if email and "@" in email:
        local = email.rsplit("@", 1)[0]
        wholes.add(_compact(local))
        pieces.update(_compact(piece) for piece in re.split(r"[.+_-]", local))
    if name:
        wholes.add(_compact(name))
        pieces.update(_compact(word) for word in name.split())
    return {part for part in wholes if len(part) >= MIN_PERSONAL_WHOLE} | {
        part for part in pieces if len(part) >= MIN_PERSONAL_PIECE
    }


def check_password(password: str, *, email: str | None = None, name: str | None = None) -> None:
    """Raise PasswordRejected when `password` may not be used by the person with this e-mail and name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(
            gettext("the password must have at least %(count)s characters", count=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(
            gettext("the password must have at most %(count)s characters", count=MAX_PASSWORD_LENGTH)
        )
    folded = _folded(password)
    if folded in common_passwords():
        raise PasswordRejected(gettext("this password is one of the most commonly used; choose another"))
    compact = _compact(password)
    if any(part in compact for part in _personal_parts(email, name)):
        raise PasswordRejected(gettext("the password must not contain your name or your e-mail address"))
