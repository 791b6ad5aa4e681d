"""Safety for forms anyone may send without signing in (a joint statement's sign-on form; later a hosted
petition's). Nothing here depends on what the form collects:

- a one-time form token instead of the session-bound CSRF token: the form carries, signed with the app's
  key, the moment it was shown, what it was shown for (a petition's or a statement's slug) and a random
  nonce. A submission must bring a token this site signed for this form and this page, and each nonce is
  accepted once (its keyed hash is kept among the rate-limit rows as long as a token lives). Nothing of it
  rides on a cookie, so the form works where a browser sends none: inside another site's frame (a hosted
  petition's form embedded on the campaign's site), with third-party cookies blocked. Anonymous forms have
  no session a forged request could ride, which is what the CSRF token protects; staff forms keep it
  (docs/security.md says more);
- a honeypot: a field people never see (hidden by the style sheet, skipped by the keyboard and by screen
  readers) that bots fill in;
- a minimum time to fill: the form carries the moment it was shown, signed with the app's key, so that a
  form sent a second after it was drawn (or never drawn here) is refused, and so is one kept for days;
- rate limits per client address and per network (/24 for IPv4, /48 for IPv6), and per any other key the
  feature adds (an e-mail address), counted in the database so that every worker and server counts the
  same submissions;
- a body size limit applied before anything reads the body (the NUL check parses the form).

Each refusal is a `PublicFormRefused` (400) or `TooManySubmissions` (429) with a message for the person,
raised before the feature's service changes anything. A view does:

    @public_form("statement")                   # the body limit
    def sign(...):
        form = SomeForm(now=now, scope=slug)      # a PublicForm subclass with FORM_NAME = "statement"
        if form.validate_on_submit():
            try:
                public_forms.check(form, address=client_address(), now=now)
                ...the service...
                public_forms.count(form, address=client_address(), now=now)
            except DomainError as error:
                status = refusal(error, form)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, current_app, render_template, request
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField, StringField

from crm.core.forms import ConfirmForm
from crm.database import UTCDateTime, serialise, utcnow
from crm.errors import DomainError
from crm.extensions import csrf, db
from crm.forms import AppForm
from crm.translation import gettext
from crm.translation import lazy_gettext as _l
from crm.web import client_key, refusal
from crm.web import network_key as web_network_key

# The settings (crm/config.py reads each from the environment, with its default and what it means).
SETTINGS = (
    "PUBLIC_FORM_MIN_SECONDS",
    "PUBLIC_FORM_MAX_AGE_SECONDS",
    "PUBLIC_FORM_MAX_BYTES",
    "PUBLIC_FORM_WINDOW_SECONDS",
    "PUBLIC_FORM_ADDRESS_LIMIT",
    "PUBLIC_FORM_NETWORK_LIMIT",
)
# Rows older than this go as new ones come in: long past every window, and little is kept about who sent what.
RETENTION = dt.timedelta(days=1)
_SALT = "alcance.public-form"


class PublicFormRefused(DomainError):
    """A submission refused before anything is read from it: the form was not drawn by this site, was
    filled in by a program, or was sent too fast or too late."""

    status = 400


class TooManySubmissions(PublicFormRefused):
    status = 429


class PublicFormHit(db.Model):
    """One accepted submission of a public form, under each key it counts against."""

    __tablename__ = "public_form_hit"
    __table_args__ = (
        sa.CheckConstraint("length(trim(form)) > 0", name="form_not_blank"),
        sa.CheckConstraint("length(trim(key)) > 0", name="key_not_blank"),
        sa.Index("ix_public_form_hit_form_key", "form", "key", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(40))
    # "address:203.0.113.7", "network:203.0.113.0/24", a feature's own ("email:<hmac>"), or the nonce of
    # an accepted form's token ("nonce:<hmac>"), kept so that the token is not accepted twice.
    key: Mapped[str] = mapped_column(sa.String(120))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def setting(name: str) -> int:
    return int(current_app.config[name])


# --- The body size limit ------------------------------------------------------------------------------


def public_form(name: str):
    """Mark a view as a public form: its request body is limited to PUBLIC_FORM_MAX_BYTES before anything
    reads it (`limit_body`, which the app runs ahead of every before_request hook). Its form is protected
    by the one-time form token (`check`), not by the session-bound CSRF token, which a browser cannot send
    from inside another site's frame."""

    def decorator(view):
        view.public_form = name
        return csrf.exempt(view)

    return decorator


def limit_body(endpoint, values) -> None:
    """A URL value preprocessor (it runs before every before_request hook, CSRF's included, which parse
    the form): a public form's body larger than its limit is refused with 413 before it is read."""
    view = current_app.view_functions.get(endpoint or "")
    if getattr(view, "public_form", None) is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = setting("PUBLIC_FORM_MAX_BYTES")
    request.max_content_length = limit  # a body sent without a length is cut off here when it is read
    request.max_form_parts = 100
    if request.content_length is not None and request.content_length > limit:
        abort(413, gettext("The form sent is larger than this page accepts. Nothing was saved."))


def init_app(app) -> None:
    app.url_value_preprocessor(limit_body)


# --- The form: a honeypot and a signed start time -----------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


@dataclass(frozen=True)
class Stamp:
    """What a form's token says: when the form was shown, and its one-time nonce."""

    shown_at: dt.datetime
    nonce: str


def stamp(form_name: str, now: dt.datetime | None = None, *, scope: str = "") -> str:
    """The token of a form being shown: signed, the form's name, what it is shown for (`scope`: the
    petition's or statement's slug), the moment, and a new random nonce."""
    return _serializer().dumps([form_name, scope, int((now or utcnow()).timestamp()), secrets.token_urlsafe(16)])


def read_stamp(form_name: str, scope: str, value: str | None) -> Stamp | None:
    """The token's moment and nonce, or None if this site did not sign it for this form and this scope."""
    if not value or len(value) > 400:
        return None
    try:
        name, signed_scope, seconds, nonce = _serializer().loads(value)
    except (BadSignature, ValueError, TypeError):
        return None
    if (
        name != form_name
        or signed_scope != scope
        or not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not isinstance(nonce, str)
        or not 16 <= len(nonce) <= 64
    ):
        return None
    try:
        return Stamp(dt.datetime.fromtimestamp(seconds, dt.UTC), nonce)
    except (OverflowError, OSError, ValueError):
        return None


def shown_at(form_name: str, value: str | None, scope: str = "") -> dt.datetime | None:
    """When the form carrying `value` was shown, or None if this site did not sign it for this form."""
    read = read_stamp(form_name, scope, value)
    return None if read is None else read.shown_at


def _nonce_key(nonce: str) -> str:
    return hashed_key("nonce", nonce)


class PublicForm(AppForm):
    """A form anyone may send. Subclasses set FORM_NAME (the name the token and the rate limits count
    under) and render `homepage` inside an element of class "hp" (see _macros/public_forms.html). It is
    built with the `scope` its token is bound to (the page's slug)."""

    FORM_NAME = "public"

    class Meta:
        # The one-time form token (`started`, checked by `check`) stands in for the CSRF token: no session,
        # no cookie, so that the form can be sent from inside a frame on another site.
        csrf = False

    # The honeypot: hidden from people by the style sheet, out of the tab order and of the accessibility
    # tree, and named like something a bot fills in.
    homepage = StringField(_l("Leave this field empty"))
    started = HiddenField()

    def __init__(self, *args, now: dt.datetime | None = None, scope: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        # A form being drawn gets its token; one sent without it is refused by `check` (which then gives
        # it one, for the person to send it again).
        if not self.is_submitted():
            self.started.data = stamp(self.FORM_NAME, now, scope=scope)


def check(form: PublicForm, *, address: str | None, now: dt.datetime, also: tuple[Limit, ...] = ()) -> None:
    """Refuse a submission a person did not make, a token already used, or one over a rate limit; changes
    nothing. A form shown too long ago gets a new token, so that the person can send it again as it is."""
    if form.homepage.data:
        raise PublicFormRefused(
            gettext("This form could not be accepted. If you filled it in yourself, reload the page and send it again.")
        )
    read = read_stamp(form.FORM_NAME, form.scope, form.started.data)
    if read is None:
        form.started.data = stamp(form.FORM_NAME, now, scope=form.scope)
        raise PublicFormRefused(gettext("This form could not be read: reload the page and fill it in again."))
    age = (now - read.shown_at).total_seconds()
    if age < setting("PUBLIC_FORM_MIN_SECONDS"):
        raise PublicFormRefused(
            gettext("The form was sent faster than a person can fill it in. Check what you typed and send it again.")
        )
    if age > setting("PUBLIC_FORM_MAX_AGE_SECONDS"):
        form.started.data = stamp(form.FORM_NAME, now, scope=form.scope)
        raise PublicFormRefused(gettext("The form was open too long. Check what you typed and send it again."))
    if was_used(form.FORM_NAME, read.nonce):
        raise PublicFormRefused(
            gettext(
                "This form was already sent once, and a form is accepted once: nothing more was saved. To sign "
                "again, open the page again."
            )
        )
    if over_limit(form.FORM_NAME, [*client_limits(address), *also], now=now):
        raise TooManySubmissions(
            gettext(
                "Too many submissions from your connection or with this address. Wait an hour and try again; nothing was saved."
            )
        )


# --- Rate limits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    key: str
    most: int


def address_key(address: str | None) -> str | None:
    """The client as counted (crm.web.client_key)."""
    key = client_key(address)
    return None if key is None else f"address:{key}"


def network_key(address: str | None) -> str | None:
    """The client's network (crm.web.network_key)."""
    key = web_network_key(address)
    return None if key is None else f"network:{key}"


def client_limits(address: str | None) -> list[Limit]:
    limits = []
    if (key := address_key(address)) is not None:
        limits.append(Limit(key, setting("PUBLIC_FORM_ADDRESS_LIMIT")))
    if (key := network_key(address)) is not None:
        limits.append(Limit(key, setting("PUBLIC_FORM_NETWORK_LIMIT")))
    return limits


def hashed_key(kind: str, value: str) -> str:
    """A key for a value that is personal data (an e-mail address): only its HMAC-SHA-256 under the app's
    secret key is kept, so that the table cannot be checked against a list of known addresses."""
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    digest = hmac.new(secret, value.strip().lower().encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    return f"{kind}:{digest}"


def over_limit(form_name: str, limits: list[Limit], *, now: dt.datetime) -> bool:
    """True when any key has reached its limit within the window, in one query."""
    if not limits:
        return False
    # The check and the count that follows it as one step: submissions under the same key wait here.
    serialise(db.session, *(f"alcance.public:{form_name}:{limit.key}" for limit in limits))
    since = now - dt.timedelta(seconds=setting("PUBLIC_FORM_WINDOW_SECONDS"))
    counts = dict(
        db.session.execute(
            sa.select(PublicFormHit.key, sa.func.count())
            .where(
                PublicFormHit.form == form_name,
                PublicFormHit.key.in_([limit.key for limit in limits]),
                PublicFormHit.occurred_at > since,
            )
            .group_by(PublicFormHit.key)
        ).all()
    )
    return any(counts.get(limit.key, 0) >= limit.most for limit in limits)


def was_used(form_name: str, nonce: str) -> bool:
    """True when a submission with this nonce was accepted. Until this transaction ends, another one with
    the same nonce waits here, so that of two sent at once only one is accepted."""
    key = _nonce_key(nonce)
    serialise(db.session, f"alcance.public-nonce:{key}")
    return (
        db.session.execute(
            sa.select(sa.literal(True)).where(PublicFormHit.form == form_name, PublicFormHit.key == key).limit(1)
        ).first()
        is not None
    )


def retention() -> dt.timedelta:
    """How long a row is kept: past every window, and as long as a token whose nonce it keeps is valid."""
    return max(RETENTION, dt.timedelta(seconds=setting("PUBLIC_FORM_MAX_AGE_SECONDS")))


def count(form: PublicForm | str, *, address: str | None, now: dt.datetime, also: tuple[Limit, ...] = ()) -> None:
    """Count one accepted submission against every key, and use up its token's nonce, in the caller's
    transaction."""
    form_name = form if isinstance(form, str) else form.FORM_NAME
    keys = [limit.key for limit in client_limits(address)] + [limit.key for limit in also]
    if not isinstance(form, str) and (read := read_stamp(form_name, form.scope, form.started.data)) is not None:
        keys.append(_nonce_key(read.nonce))
    db.session.execute(sa.delete(PublicFormHit).where(PublicFormHit.occurred_at < now - retention()))
    db.session.add_all([PublicFormHit(form=form_name, key=key, occurred_at=now) for key in keys])
    db.session.flush()


def _answer_link(signature, act, template: str, context, *, done_as: str = "done", not_valid: str | None = None):
    """The page behind a link from an e-mail (confirm, withdraw), in the signer's language: it shows a
    button, and only the button (a POST) does `act`, since mail scanners open links; a refusal is shown on
    the page. `context()` gives the template's other values once `act` has run. Returns (html, status).
    No signature (the link's token found none) is a 404 that says `not_valid`."""
    if signature is None:
        abort(404, not_valid)
    with force_locale(signature.language):
        form = ConfirmForm()
        status, done = 200, False
        if form.validate_on_submit():
            try:
                act()
                done = True
            except DomainError as error:
                status = refusal(error, form)
        html = render_template(
            template, form=form, signature=signature, language=signature.language, **{done_as: done}, **context()
        )
    return html, status


# A public form's sign-ups are confirmed, then may be withdrawn, through links in an e-mail. `signups` is the
# feature's module of rules (crm.signatures.hosted, crm.statements.services): by_confirm_token, confirm,
# by_withdraw_token, withdraw and WITHDRAWABLE. `about(signature)` gives what the page says of what was signed.


def confirm_link(token: str, signups, template: str, about, *, not_valid: str):
    now = utcnow()
    signature = signups.by_confirm_token(token, now=now)
    return _answer_link(
        signature,
        lambda: signups.confirm(signature, now=now),
        template,
        lambda: about(signature),
        done_as="confirmed",
        not_valid=not_valid,
    )


def withdraw_link(token: str, signups, template: str, about):
    signature = signups.by_withdraw_token(token)
    return _answer_link(
        signature,
        lambda: signups.withdraw(signature, now=utcnow()),
        template,
        lambda: {**about(signature), "may_withdraw": signature.status in signups.WITHDRAWABLE},
    )
