"""The managers' dashboard: who has responded to what, on a map and in tables, with exports."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from crm.dashboard import routes  # noqa: E402,F401
