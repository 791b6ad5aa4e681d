"""Setting campaigns up: their description, demands, settings and target governments."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from crm.campaigns import routes  # noqa: E402,F401
