"""Offices and contacts: the embassies, ministries and missions, and the people who work there."""
from flask import Blueprint

bp = Blueprint("contacts", __name__)

from crm.contacts import routes  # noqa: E402,F401
