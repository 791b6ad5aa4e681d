"""Forms that create records are sent once: each carries a random submission key, and the key is
written in the same transaction as the record. A retried submit (the browser resent it after a lost
answer, or a double click) finds its key and is shown what was saved instead of saving it again."""
from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField
from wtforms.validators import InputRequired, Regexp

from crm.database import UTCDateTime, utcnow
from crm.extensions import db

KEY_SHAPE = r"^[A-Za-z0-9_-]{20,64}$"
# Long past any retry; short enough that the table stays small.
RETENTION = dt.timedelta(days=2)


class FormSubmission(db.Model):
    __tablename__ = "form_submission"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # Where the first submit led: a retry is sent there too.
    location: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def new_key() -> str:
    return secrets.token_urlsafe(24)


class SubmissionKeyField(HiddenField):
    """The form's submission key: a new one each time the form is shown, the same one when it is sent
    again. A form sent without one is refused."""

    def __init__(self, **kwargs):
        super().__init__(default=new_key, validators=[InputRequired(), Regexp(KEY_SHAPE)], **kwargs)


def first_time(key: str, user, location: str, *, now: dt.datetime | None = None) -> bool:
    """Record `key` for `user` in the current transaction, before what the form creates. False when
    the key was already used (then nothing must be created): also when another request with the same
    key is being saved at this moment (the unique key waits for it, then refuses)."""
    if not re.match(KEY_SHAPE, key or ""):
        raise ValueError("not a submission key")
    now = now or utcnow()
    if db.session.get(FormSubmission, key) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(FormSubmission(key=key, user_id=user.id, location=location[:500], created_at=now))
    except IntegrityError:
        return False
    db.session.execute(sa.delete(FormSubmission).where(FormSubmission.created_at < now - RETENTION))
    return True


def where_it_went(key: str, user) -> str | None:
    """Where the first submit with this key led, for the same user."""
    submission = db.session.get(FormSubmission, key)
    return submission.location if submission is not None and submission.user_id == user.id else None


def repeated(key: str, user, location: str) -> str | None:
    """None the first time `key` is sent (it is now recorded, to be committed with what the form
    creates); for a repeat, where the first submit led."""
    if first_time(key, user, location):
        return None
    db.session.rollback()
    return where_it_went(key, user) or location
