"""The JSON API, and webhooks that petition platforms call."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from crm.api import routes  # noqa: E402,F401
