"""Home, language switch and /healthz."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from crm.accounts.services import set_language as save_language
from crm.campaigns.services import campaign_overview, first_steps
from crm.core.submissions import saved_key
from crm.extensions import db
from crm.permissions import can
from crm.web import safe_next

bp = Blueprint("core", __name__)


@bp.route("/")
@login_required
def home():
    steps = first_steps() if can(current_user, "manage_campaigns") else None
    return render_template("core/home.html", campaigns=campaign_overview(), first_steps=steps)


@bp.route("/language", methods=["POST"])
def set_language():
    language = request.form.get("language")
    if language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated and current_user.language != language:
            save_language(current_user._get_current_object(), language)
    target = request.form.get("next") or ""
    return redirect(safe_next(target) if target else url_for("core.home"))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is not usable (the 503 rolls back)
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(
        status="ok" if status == 200 else "degraded", database=database, dialect=db.engine.dialect.name
    ), status


@bp.app_context_processor
def _saved_submission():
    return {"saved_submission_key": saved_key}
