"""Sign-in and sign-out pages."""
from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from crm.accounts import bp
from crm.accounts.forms import LoginForm
from crm.accounts.services import authenticate
from crm.audit import services as audit
from crm.extensions import db
from crm.web import flash_message


def safe_next(target: str | None) -> str:
    """Only a relative path of this app: never another host, scheme or a protocol-relative //host."""
    if not target:
        return url_for("core.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("core.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is None:
            form.password.errors.append(gettext("E-mail or password is wrong."))
            return render_template("accounts/login.html", form=form), 401
        language = session.get("language")
        session.clear()  # a new session at sign-in
        if language:
            session["language"] = language
        login_user(user)
        return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    audit.record("auth.logout", actor=current_user, entity=current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash_message(gettext("You have signed out."), "info")
    return redirect(url_for("accounts.login"))
