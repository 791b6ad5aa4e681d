"""Forms that create records are sent once: each carries a random submission key, and the key is
written in the same transaction as the record. A retried submit (the browser resent it after a lost
answer, a double click, or a draft kept on a phone sent again) finds its key and is sent where the first
submit led, instead of saving it again. This is the one mechanism for every form that creates a record.

In a view:

    if (repeat := submissions.repeat_of(form)) is not None:
        return repeat
    record = services.create_something(...)
    submissions.led_to(form, url_for("something.show", id=record.id))
    db.session.commit()
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa
from flask import abort, redirect, session
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField

from crm.database import UTCDateTime, utcnow
from crm.extensions import db
from crm.translation import gettext
from crm.web import flash_message

KEY_SHAPE = r"^[A-Za-z0-9_-]{20,64}$"
# Long past any retry, a draft kept on a phone for weeks without signal included; one short row per
# record created, so the table stays small.
RETENTION = dt.timedelta(days=90)
# Where a key is kept until its record exists (the same transaction then sets where it led).
_PENDING = "/"
# The key of the form just saved, for the next page to name (static/js/drafts.js then drops its draft).
SAVED_KEY = "saved_submission_key"


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
    again. A form sent without one (or with one it was not given) is refused with a clear 400: it was not
    sent by the page, and no field the user could correct is wrong."""

    def __init__(self, **kwargs):
        # A label of its own, never shown: without one, WTForms translates its name, loading its catalogue
        # from disk on each request that shows a form.
        kwargs.setdefault("label", "")
        super().__init__(default=new_key, **kwargs)

    def pre_validate(self, form):
        # raw_data: what was sent (data would be a new default key when nothing was).
        if not self.raw_data or not re.match(KEY_SHAPE, self.raw_data[0] or ""):
            abort(400, gettext("This form could not be read: open it again from the record."))


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


def repeated(key: str, user, location: str = _PENDING) -> str | None:
    """None the first time `key` is sent (it is now recorded, to be committed with what the form
    creates); for a repeat, where the first submit led."""
    if first_time(key, user, location):
        return None
    db.session.rollback()
    return where_it_went(key, user) or location


def repeat_of(form, user=None):
    """None the first time this form is sent (its key is now recorded, in the view's transaction); for
    a repeat, the answer: a redirect to where the first submit led, saying nothing new was saved."""
    user = user or current_user
    key = form.submission_key.data
    if first_time(key, user, _PENDING):
        return None
    db.session.rollback()
    earlier = where_it_went(key, user)
    if earlier is None:
        # Another user's key: not a form this user was given.
        abort(400, gettext("This form could not be read: open it again from the record."))

    session[SAVED_KEY] = form.submission_key.data
    flash_message(gettext("This form was already sent and saved; it was not saved again."), "info")
    return redirect(earlier)


def set_location(key: str, location: str) -> None:
    """Where the first submit with `key` led, in its transaction (before its commit)."""
    db.session.execute(sa.update(FormSubmission).where(FormSubmission.key == key).values(location=location[:500]))


def led_to(form, location: str) -> str:
    """Where the first submit of this form led (the record it created): a repeat is sent there. In the
    view's transaction, before its commit. Returns `location`."""
    set_location(form.submission_key.data, location)
    session[SAVED_KEY] = form.submission_key.data
    return location


def saved_key() -> str | None:
    """The key of the form saved by the request before this page (once): pages name it in
    `data-saved-key`, for a draft kept on a phone to know it was saved."""
    return session.pop(SAVED_KEY) if SAVED_KEY in session else None
