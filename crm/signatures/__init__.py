"""Signatures: petitions, imports from petition platforms, tallies and totals by country of residence."""
from flask import Blueprint

bp = Blueprint("signatures", __name__)

from crm.signatures import routes  # noqa: E402,F401
