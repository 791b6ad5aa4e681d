"""Home, language switch and /healthz."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from crm.accounts.services import set_language as save_language
from crm.campaigns.services import campaign_overview, first_steps
from crm.core.submissions import saved_key
from crm.dashboard.services import may_view_dashboard
from crm.extensions import db
from crm.i18n import current_language
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


# What the main menu's links depend on (templates/core/_menu.html), besides the language: these abilities,
# and whether the reader may see the dashboards (its own rule, crm.dashboard.services.may_view_dashboard).
MENU_ABILITIES = ("view_all", "assign", "manage_users", "manage_webhooks", "view_audit", "read_outbox")


@bp.app_template_global("main_menu")
def main_menu(user) -> Markup:
    """The main menu's links for `user`: the same for everyone of the same abilities and language, so made
    once per app for each (the layout asked the router and the translations for twenty links on every
    page). It names no record and no reader."""
    may = {ability: can(user, ability) for ability in MENU_ABILITIES}
    may["view_dashboard"] = may_view_dashboard(user)
    key = (current_language(), request.script_root, *may.values())
    menus = current_app.extensions.setdefault("alcance_menus", {})
    menu = menus.get(key)
    if menu is None:
        menu = menus[key] = Markup(render_template("core/_menu.html", may=may))
    return menu


@bp.app_context_processor
def _saved_submission():
    return {"saved_submission_key": saved_key}
