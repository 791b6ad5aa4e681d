"""Countries: the reference table of states, their regions and Rome Statute status."""

from flask import Blueprint

bp = Blueprint("countries", __name__, url_prefix="/countries")

from crm.countries import routes  # noqa: E402,F401
