"""Password reset by e-mail: a random link kept only as a SHA-256, usable once, for an hour, and not
after the password changed another way. It does not get around the second factor: an account with
one must give a code (or a recovery code) on the reset form too."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask import after_this_request, current_app, render_template
from flask_babel import force_locale

from crm.accounts import throttle, twofactor
from crm.accounts.errors import AccountError, TooManyAttempts, WrongCode
from crm.accounts.models import PasswordResetToken, User
from crm.accounts.services import check_password_policy, find_by_email, replace_password, too_many_attempts_message
from crm.audit import services as audit
from crm.database import utcnow
from crm.encryption import token_hash
from crm.extensions import db
from crm.mail import services as mailer
from crm.mail.models import OutboundMessage
from crm.translation import gettext


def max_age() -> dt.timedelta:
    return dt.timedelta(seconds=int(current_app.config.get("PASSWORD_RESET_MAX_AGE_SECONDS", 60 * 60)))


def request_reset(email: str, address: str | None, *, now: dt.datetime | None = None) -> tuple[User, str] | None:
    """Make a reset link for the active account with this e-mail, if there is one. Returns the user and
    the token (to be e-mailed, never shown), or None. Requests are throttled per e-mail typed and per
    address, with the same answer whether or not the account exists."""
    now = now or utcnow()
    account = throttle.account_key(email)
    if throttle.is_throttled(account, address, kind="reset_request", now=now):
        audit.record("auth.password_reset_throttled", actor=account)
        raise TooManyAttempts(too_many_attempts_message())
    throttle.record("reset_request", account, address, now=now)
    user = find_by_email(account) if account else None
    if user is None or not user.is_active:
        audit.record("auth.password_reset_requested", actor=account, after={"sent": False})
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + max_age())
    )
    audit.record("auth.password_reset_requested", actor=user, entity=user, after={"sent": True})
    db.session.flush()
    return user, token


def find_valid(token: str, *, now: dt.datetime | None = None) -> PasswordResetToken | None:
    now = now or utcnow()
    if not token or len(token) > 128:
        return None
    record = db.session.scalar(sa.select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token)))
    if record is None or record.used_at is not None or record.expires_at <= now:
        return None
    user = record.user
    if not user.is_active or (user.password_changed_at is not None and record.created_at < user.password_changed_at):
        return None
    return record


def reset_password(
    record: PasswordResetToken,
    new_password: str,
    code: str | None,
    address: str | None,
    *,
    now: dt.datetime | None = None,
) -> User:
    """Set the new password through a valid link. With a second factor, `code` must be a current
    TOTP code or an unused recovery code."""
    now = now or utcnow()
    user = record.user
    check_password_policy(new_password, email=user.email, name=user.name)
    if user.has_two_factor:
        if throttle.is_throttled(user.email, address, now=now):
            audit.record("auth.login_throttled", actor=user, entity=user, after={"step": "password_reset"})
            raise TooManyAttempts(too_many_attempts_message())
        if twofactor.verify_second_factor(user, code or "", now=now) is None:
            throttle.record("failure", user.email, address, now=now)
            audit.record("auth.2fa_failed", actor=user, entity=user, after={"step": "password_reset"})
            raise WrongCode(gettext("The code is wrong or was already used."))
    consumed = db.session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.id == record.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != 1:
        raise AccountError(gettext("This link has already been used."))
    replace_password(user, new_password)
    audit.record("auth.password_reset", actor=user, entity=user)
    return user


# --- The e-mail ----------------------------------------------------------------------------------------


def reset_link(token: str) -> str:
    return mailer.external_url("accounts.reset_password", token=token)


def reset_message(user: User, token: str) -> mailer.Rendered:
    language = user.language if user.language in current_app.config.get("LANGUAGES", ["en"]) else "en"
    minutes = int(max_age().total_seconds() // 60)
    with force_locale(language):
        subject = gettext("Reset your Alcance password")
        values = {"user": user, "link": reset_link(token), "minutes": minutes, "language": language}
        text = render_template("accounts/email/password_reset.txt", **values)
        html = render_template("accounts/email/password_reset.html", subject=subject, **values)
    return mailer.Rendered(subject=subject, text=text, html=html, language=language)


# What the outbox keeps of a reset message once a mail server accepted it: the link is a credential.
SENT_BODY = "(A password-reset link was sent. It is not kept here.)"


def queue_reset_mail(user: User, token: str, *, now: dt.datetime | None = None) -> None:
    """Queue the message in the outbox, like all mail: retried while the mail server is down, kept for
    admins to read when there is none (MAIL_SERVER unset)."""
    mailer.queue(
        "password_reset", f"password_reset:{token_hash(token)}", user, reset_message(user, token), now=now or utcnow()
    )


def forget_sent_links() -> int:
    """Blank the bodies of reset messages a mail server has accepted (their links live in the mailbox
    now, not in our database). The development outbox keeps them: there, it is how they are read."""
    table = OutboundMessage.__table__
    result = db.session.execute(
        sa.update(table)
        .where(
            table.c.kind == "password_reset",
            table.c.status == "sent",
            table.c.transport == "smtp",
            table.c.body_text != SENT_BODY,
        )
        .values(body_text=SENT_BODY, body_html=None)
    )
    return result.rowcount or 0


def deliver_after_response() -> None:
    """Deliver queued reset messages once the response has gone out (the request committed them before,
    in crm.web.finish_transaction), so that how long the page takes says nothing about whether the
    account exists. A failure leaves the message queued for the next delivery run (the scheduler's); the
    visitor has their answer either way."""
    app = current_app._get_current_object()

    def deliver():
        with app.app_context():
            try:
                mailer.deliver_pending(kinds=("password_reset",))
                forget_sent_links()
                db.session.commit()
            except Exception:  # noqa: BLE001 - logged; the message stays queued
                app.logger.exception("password reset e-mail could not be delivered now; it stays queued")
            finally:
                db.session.remove()

    @after_this_request
    def _schedule(response):
        response.call_on_close(deliver)
        return response
