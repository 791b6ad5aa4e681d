"""Letter templates: one letter in each language it is written in, with merge fields in its subject and
body; kept, checked and listed here, and the default ones loaded from seeds/letter_templates. Plain
functions; they flush, the caller commits."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.audit import services as audit
from crm.database import check_version, stale_record_message
from crm.errors import StaleRecord
from crm.extensions import db
from crm.i18n import _
from crm.letters.errors import LetterError, check_language
from crm.letters.merge_fields import unknown_fields
from crm.letters.models import LETTER_LANGUAGES, SUBJECT_MAX, LetterTemplate

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "seeds" / "letter_templates"


def template_languages() -> dict[str, list[str]]:
    """Each template name with the languages it is written in (in the order of LETTER_LANGUAGES)."""
    found: dict[str, list[str]] = {}
    for name, language in db.session.execute(
        sa.select(LetterTemplate.name, LetterTemplate.language).order_by(LetterTemplate.name)
    ):
        found.setdefault(name, []).append(language)
    return {name: sorted(langs, key=LETTER_LANGUAGES.index) for name, langs in found.items()}


def find_template(name: str, language: str) -> LetterTemplate | None:
    return db.session.scalar(
        sa.select(LetterTemplate).where(LetterTemplate.name == name, LetterTemplate.language == language)
    )


def save_template(
    template: LetterTemplate | None, *, name: str, language: str, subject: str, body: str, actor, expected_version=None
) -> LetterTemplate:
    """Create (template None) or change a template. Merge fields that do not exist are refused."""
    if template is not None:
        check_version(template, expected_version)
    name, subject, body = (name or "").strip(), (subject or "").strip(), (body or "").strip()
    if not name:
        raise LetterError(_("Give the template a name."), "name")
    check_language(language)
    for field_name, text in (("subject", subject), ("body", body)):
        if not text:
            raise LetterError(_("This field is required."), field_name)
        unknown = unknown_fields(text)
        if unknown:
            raise LetterError(
                _(
                    "Unknown merge field: %(fields)s. Use only the fields listed; write {{ and }} for a literal brace.",
                    fields=", ".join("{" + u + "}" for u in unknown),
                ),
                field_name,
            )
    if len(subject) > SUBJECT_MAX:
        raise LetterError(_("At most %(max)s characters.", max=SUBJECT_MAX), "subject")
    clash = db.session.scalar(
        sa.select(LetterTemplate.id).where(
            LetterTemplate.name == name,
            LetterTemplate.language == language,
            LetterTemplate.id != (template.id if template is not None else -1),
        )
    )
    if clash is not None:
        raise LetterError(_("There is already a template with this name in this language."), "name")
    fields = ("name", "language", "subject", "body")
    before = audit.snapshot(template, fields) if template is not None else None
    if template is None:
        template = LetterTemplate()
        db.session.add(template)
    template.name, template.language, template.subject, template.body = name, language, subject, body
    template.updated_by_id = getattr(actor, "id", None)
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleRecord(stale_record_message()) from None
    audit.record(
        "letter_template.update" if before else "letter_template.create",
        actor=actor,
        entity=template,
        before=before,
        after=audit.snapshot(template, fields),
    )
    return template


def read_default_template(path: Path) -> dict:
    """A default template file: `Name:` and `Subject:` header lines, a blank line, then the body."""
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    headers = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    language = path.name.split(".")[-2]
    return {"name": headers["name"], "language": language, "subject": headers["subject"], "body": body.strip()}


def load_default_templates(directory: Path = DEFAULT_TEMPLATES_DIR, *, actor=None) -> list[LetterTemplate]:
    """Add the default templates that are missing. Never overwrites a template staff have edited."""
    created = []
    for path in sorted(directory.glob("*.txt")):
        values = read_default_template(path)
        if find_template(values["name"], values["language"]) is None:
            created.append(save_template(None, actor=actor, **values))
    return created


def templates_list():
    return db.session.scalars(
        sa.select(LetterTemplate)
        .order_by(LetterTemplate.name, LetterTemplate.language)
        .options(selectinload(LetterTemplate.updated_by))
    ).all()
