"""Letter templates: the wording of a letter, per language, with merge fields filled in when composing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import UTCDateTime, enum_check, utcnow
from crm.extensions import db

# Spanish and English first; French and Portuguese have room as soon as someone writes the templates.
LETTER_LANGUAGES = ("es", "en", "fr", "pt")


class LetterTemplate(db.Model):
    """One template in one language. Templates sharing a name are the same letter in other languages."""

    __tablename__ = "letter_template"
    __table_args__ = (
        sa.UniqueConstraint("name", "language"),
        enum_check("language", LETTER_LANGUAGES),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint("length(trim(subject)) > 0", name="subject_not_blank"),
        sa.CheckConstraint("length(trim(body)) > 0", name="body_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    language: Mapped[str] = mapped_column(sa.String(8))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    updated_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<LetterTemplate {self.name!r} {self.language}>"
