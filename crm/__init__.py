"""Alcance: an advocacy CRM. `create_app` builds the Flask application."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from crm.config import from_environment

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("ALCANCE_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    # The instance folder holds the keys, the SQLite database and uploads: the owner's alone.
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    if os.stat(app.instance_path).st_mode & 0o077:
        os.chmod(app.instance_path, 0o700)
    # Settings given by the caller win; the environment fills the rest. Applied before any extension
    # is initialised, so that (for example) MAIL_SUPPRESS_SEND in a test config takes effect.
    overrides = dict(config or {})
    app.config.update(from_environment(app.instance_path, skip_secret="SECRET_KEY" in overrides))
    app.config.update(overrides)

    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    register_request_hooks(app)
    register_error_handlers(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    from crm import models  # noqa: F401  (the whole schema, for Alembic and create_all)
    from crm.database import configure_sqlite
    from crm.extensions import babel, csrf, db, login_manager, mail, migrate
    from crm.i18n import select_locale, select_timezone

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    from crm.accounts.services import configure_login

    configure_login(login_manager)
    login_manager.init_app(app)


def register_blueprints(app: Flask) -> None:
    from crm.accounts.routes import bp as accounts_bp
    from crm.admin.routes import bp as admin_bp
    from crm.api.routes import bp as api_bp
    from crm.board.routes import bp as board_bp
    from crm.campaigns.routes import bp as campaigns_bp
    from crm.contacts.routes import bp as contacts_bp
    from crm.core.routes import bp as core_bp
    from crm.countries.routes import bp as countries_bp
    from crm.dashboard.routes import bp as dashboard_bp
    from crm.letters.routes import bp as letters_bp
    from crm.monitoring.routes import bp as monitoring_bp
    from crm.outreach import assignment_routes  # noqa: F401  (its views join the outreach blueprint)
    from crm.outreach.routes import bp as outreach_bp
    from crm.reminders.routes import bp as reminders_bp
    from crm.signatures.hosted_routes import bp as hosted_bp
    from crm.signatures.routes import bp as signatures_bp
    from crm.statements.routes import bp as statements_bp
    from crm.web import RecordIdConverter
    from crm.webhooks.routes import bp as webhooks_bp

    app.url_map.converters["int"] = RecordIdConverter  # before any route is added
    from crm.api.openapi import init_app as init_api

    init_api(app)  # first: its token check runs ahead of the session's hooks (crm/api/conventions.py)
    for blueprint in (
        core_bp,
        accounts_bp,
        countries_bp,
        contacts_bp,
        outreach_bp,
        letters_bp,
        signatures_bp,
        hosted_bp,
        reminders_bp,
        api_bp,
        dashboard_bp,
        admin_bp,
        webhooks_bp,
        campaigns_bp,
        board_bp,
        statements_bp,
        monitoring_bp,
    ):
        app.register_blueprint(blueprint)


def register_cli(app: Flask) -> None:
    from crm.accounts.cli import users_cli
    from crm.backup.cli import backup_cli
    from crm.board.cli import board_cli
    from crm.campaigns.cli import campaigns_cli
    from crm.cli import demo_cli, keys_cli, seed_cli, setup_command
    from crm.contacts.cli import contacts_cli
    from crm.countries.cli import countries_cli
    from crm.privacy.cli import privacy_cli
    from crm.reminders.cli import reminders_cli, scheduler_cli
    from crm.signatures import hosted_cli  # noqa: F401  (its command joins `flask petitions`)
    from crm.signatures.cli import petitions_cli, signatures_cli
    from crm.statements.cli import statements_cli

    for command in (
        users_cli,
        seed_cli,
        countries_cli,
        setup_command,
        keys_cli,
        privacy_cli,
        petitions_cli,
        signatures_cli,
        reminders_cli,
        scheduler_cli,
        campaigns_cli,
        demo_cli,
        contacts_cli,
        backup_cli,
        board_cli,
        statements_cli,
    ):
        app.cli.add_command(command)


def register_request_hooks(app: Flask) -> None:
    from crm.web import finish_transaction, refuse_unstorable_input, set_security_headers

    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the last `proxies` hops are believed: an address a client wrote into the header itself
        # is never taken as theirs.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    from crm.core import public_forms

    public_forms.init_app(app)  # a public form's body limit, ahead of every hook that reads the body
    app.before_request(refuse_unstorable_input)
    app.after_request(set_security_headers)
    app.after_request(finish_transaction)  # registered last, so it runs first: the page's one commit
    from crm.monitoring.metrics import init_app as count_requests

    count_requests(app)


def register_error_handlers(app: Flask) -> None:
    from crm.web import register_error_pages

    register_error_pages(app)


def register_template_helpers(app: Flask) -> None:
    from crm.i18n import register_filters
    from crm.web import id_markup, id_url, path_for

    register_filters(app)
    app.extensions["alcance_paths"] = {}  # crm.web.path_for
    app.jinja_env.globals.update(id_url=id_url, id_markup=id_markup, path_for=path_for)
