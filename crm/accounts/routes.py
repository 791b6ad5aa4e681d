"""Sign-in (password, then the second factor), sign-out, the account page and password reset.

A refused password or code is kept although the page answers with an error (crm.web.keep_changes, said
before crm.web.refusal): it counts towards the throttle, and the audit log says it happened."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from crm.accounts import devices, invitations, password_reset, services, sessions, timing, twofactor
from crm.accounts.errors import FailedAttempt, WrongCode
from crm.accounts.forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    ChangePasswordForm,
    EnrolForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    ReauthenticateForm,
    RecoveryCodeForm,
    ResetPasswordForm,
    SecondFactorForm,
)
from crm.api import tokens as api_tokens
from crm.audit import services as audit
from crm.core import submissions
from crm.core.forms import ConfirmForm
from crm.database import utcnow
from crm.errors import DomainError
from crm.translation import gettext
from crm.web import client_address, flash_message, form_status, keep_changes, refusal, safe_next

bp = Blueprint("accounts", __name__)

# Run before every request of the app, not only this blueprint's: the session time-outs first, then the
# gate that keeps a user who must enrol a second factor on the enrolment page.
bp.before_app_request(sessions.enforce_session_lifetime)
bp.before_app_request(sessions.require_two_factor_enrolment)


# --- Signing in and out -------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.sign_in_with_password(
            form.email.data, form.password.data, client_address(), device=devices.presented(form.email.data)
        )
        if result.outcome in ("throttled", "failed"):
            keep_changes()
            throttled = result.outcome == "throttled"
            form.password.errors.append(
                services.too_many_attempts_message() if throttled else gettext("E-mail or password is wrong.")
            )
            return render_template("accounts/login.html", form=form), 429 if throttled else 401
        target = safe_next(request.args.get("next"))
        if result.outcome == "second_factor":
            sessions.begin_second_step(result.user, target)
            return redirect(url_for("accounts.second_factor"))
        sessions.start(result.user)
        return devices.remember(
            redirect(url_for("accounts.two_factor_setup") if twofactor.enrolment_needed(result.user) else target),
            result.user.email,
        )
    return render_template("accounts/login.html", form=form), form_status(form)


def _second_step(form, method: str, template: str, wrong: str):
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    user = sessions.pending_user()
    if user is None:
        flash_message(gettext("Please sign in again: the page was open too long."), "info")
        return redirect(url_for("accounts.login"))
    if form.validate_on_submit():
        result = services.sign_in_second_step(
            user, form.code.data, client_address(), method=method, device=devices.presented(user.email)
        )
        if result.outcome != "signed_in":
            keep_changes()
            throttled = result.outcome == "throttled"
            form.code.errors.append(services.too_many_attempts_message() if throttled else wrong)
            return render_template(template, form=form), 429 if throttled else 401
        target = sessions.pending_next()
        sessions.start(user)
        if method == "recovery_code":
            flash_message(
                gettext(
                    "You have %(count)s recovery codes left. Make new ones on your account page "
                    "if you are running out.",
                    count=twofactor.recovery_codes_left(user),
                ),
                "info",
            )
        return devices.remember(redirect(target), user.email)
    return render_template(template, form=form), form_status(form)


@bp.route("/login/2fa", methods=["GET", "POST"])
def second_factor():
    return _second_step(
        SecondFactorForm(),
        "totp",
        "accounts/second_factor.html",
        gettext("The code is wrong or was already used. Wait for the next code and try again."),
    )


@bp.route("/login/recovery", methods=["GET", "POST"])
def recovery_sign_in():
    return _second_step(
        RecoveryCodeForm(),
        "recovery_code",
        "accounts/recovery_sign_in.html",
        gettext("That recovery code is wrong or was already used."),
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = current_user._get_current_object()
    audit.record("auth.logout", actor=user, entity=user)
    # The session cookie is signed, not stored: only a new session token makes a copy of it (taken from
    # this browser before sign-out) worthless. That ends the user's other sessions too.
    user.end_all_sessions()
    sessions.end()
    flash_message(gettext("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


# --- The account page -----------------------------------------------------------------------------------


def _account_page(*, password_form=None, language_form=None, token_form=None, status: int = 200):
    user = current_user._get_current_object()
    return render_template(
        "accounts/account.html",
        token_form=token_form or ApiTokenForm(formdata=None),
        tokens=api_tokens.tokens_of(user),
        now=utcnow(),
        password_form=password_form or ChangePasswordForm(formdata=None),
        language_form=language_form or LanguageForm(formdata=None, language=user.language),
        confirm=ConfirmForm(),
        two_factor_required=twofactor.two_factor_required(user),
        codes_left=twofactor.recovery_codes_left(user) if user.has_two_factor else 0,
    ), status


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/tokens", methods=["POST"])
@login_required
@sessions.fresh_login_required
def create_api_token():
    """The token is shown on this answer only: it is not kept, so a reload or a repeat cannot show it again."""
    form = ApiTokenForm()
    user = current_user._get_current_object()
    if not form.validate_on_submit():
        return _account_page(token_form=form, status=400)
    if (repeat := submissions.repeat_of(form)) is not None:
        return repeat
    try:
        token, secret = api_tokens.create(
            user, name=form.name.data, scope=form.scope.data, days=form.days.data, now=utcnow()
        )
    except DomainError as error:
        return _account_page(token_form=form, status=refusal(error, form))
    submissions.led_to(form, url_for("accounts.account"))
    return render_template("accounts/api_token_created.html", token=token, secret=secret)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id):
    user = current_user._get_current_object()
    token = api_tokens.token_of(user, token_id)
    if token is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        api_tokens.revoke(token, actor=user, now=utcnow())
        flash_message(gettext("The token “%(name)s” no longer works.", name=token.name), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if not form.validate_on_submit():
        return _account_page(password_form=form, status=400)
    try:
        services.change_password(
            user,
            form.current_password.data,
            form.new_password.data,
            client_address(),
            device=devices.presented(user.email),
        )
    except FailedAttempt as error:
        keep_changes()
        return _account_page(password_form=form, status=refusal(error, form, beside="current_password"))
    except DomainError as error:
        return _account_page(password_form=form, status=refusal(error, form, beside="new_password"))
    sessions.renew(user)
    flash_message(gettext("Your password has been changed. You have been signed out everywhere else."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/language", methods=["POST"])
@login_required
def set_language():
    form = LanguageForm()
    if not form.validate_on_submit():
        return _account_page(language_form=form, status=400)
    services.set_language(current_user._get_current_object(), form.language.data)
    session["language"] = form.language.data
    with force_locale(form.language.data):
        flash_message(gettext("Language saved."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/confirm", methods=["GET", "POST"])
@login_required
def reauthenticate():
    form = ReauthenticateForm()
    if form.validate_on_submit():
        try:
            services.confirm_password(
                current_user._get_current_object(),
                form.password.data,
                client_address(),
                device=devices.presented(current_user.email),
            )
        except FailedAttempt as error:
            keep_changes()
            refusal(error, form, beside="password")
        else:
            sessions.mark_fresh()
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/reauthenticate.html", form=form), form_status(form)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
@sessions.fresh_login_required
def two_factor_setup():
    user = current_user._get_current_object()
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = twofactor.confirm_enrolment(user, form.code.data)
        except DomainError as error:
            refusal(error, form, beside="code")
        else:
            sessions.renew(user)
            return render_template("accounts/recovery_codes.html", codes=codes, enrolled=True)
    secret = twofactor.pending_secret(user)
    # The key shown is kept even when the code sent was refused: the next code is checked against it.
    keep_changes()
    uri = twofactor.provisioning_uri(user, secret)
    return render_template(
        "accounts/two_factor_setup.html",
        form=form,
        uri=uri,
        qr=twofactor.qr_code(uri),
        key=twofactor.grouped(secret),
        required=twofactor.two_factor_required(user),
    ), form_status(form)


@bp.route("/account/two-factor/disable", methods=["POST"])
@login_required
@sessions.fresh_login_required
def disable_two_factor():
    user = current_user._get_current_object()
    if ConfirmForm().validate_on_submit():
        try:
            twofactor.disable(user)
        except DomainError as error:
            refusal(error)
        else:
            sessions.renew(user)
            flash_message(gettext("Two-step sign-in is off. You have been signed out everywhere else."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/recovery-codes", methods=["POST"])
@login_required
@sessions.fresh_login_required
def regenerate_recovery_codes():
    user = current_user._get_current_object()
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("accounts.account"))
    try:
        codes = twofactor.regenerate_recovery_codes(user)
    except DomainError as error:
        refusal(error)
        return redirect(url_for("accounts.account"))
    sessions.renew(user)
    return render_template("accounts/recovery_codes.html", codes=codes, enrolled=False)


# --- Password reset -------------------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # A known address costs more work than an unknown one: both answer after the same time. All of
        # it is written inside the timed block; only the commit (crm.web.finish_transaction) comes after.
        with timing.no_sooner_than(current_app.config["PASSWORD_RESET_ANSWER_SECONDS"]):
            try:
                made = password_reset.request_reset(form.email.data, client_address())
            except FailedAttempt as error:
                keep_changes()
                refusal(error, form, beside="email")
            else:
                if made:
                    password_reset.queue_reset_mail(*made)
                    password_reset.deliver_after_response()
        if not form.errors:
            flash_message(
                gettext(
                    "If an account uses that address, we have sent it a link to choose a new password. "
                    "The link works once, for an hour."
                ),
                "info",
            )
            return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form), form_status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    record = password_reset.find_valid(token)
    if record is None:
        return render_template("accounts/reset_invalid.html"), 404
    needs_code = record.user.has_two_factor
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            if needs_code and not (form.code.data or "").strip():
                raise WrongCode(gettext("Type a code from your authenticator app, or a recovery code."))
            password_reset.reset_password(record, form.new_password.data, form.code.data, client_address())
        except FailedAttempt as error:
            keep_changes()
            refusal(error, form, beside="code")
        except DomainError as error:
            refusal(error, form, beside="new_password")
        else:
            if current_user.is_authenticated:
                sessions.end()
            flash_message(gettext("Your password has been changed. Sign in with your new password."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, needs_code=needs_code), form_status(form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    """The invitee chooses their password. A link that is not (or no longer) valid is not found."""
    invitation = invitations.find_valid(token, now=utcnow())
    if invitation is None:
        return render_template("accounts/invitation_invalid.html"), 404
    form = AcceptInvitationForm(name=invitation.user.name)
    if form.validate_on_submit():
        try:
            user = invitations.accept(invitation, name=form.name.data, password=form.new_password.data, now=utcnow())
        except DomainError as error:
            refusal(error, form, beside="new_password")
        else:
            if current_user.is_authenticated:
                sessions.end()
            message = gettext("Welcome. Sign in with your e-mail and the password you chose.")
            if twofactor.two_factor_required(user):
                message += " " + gettext("Your role also needs a second factor: you will set it up next.")
            flash_message(message, "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation), form_status(form)
