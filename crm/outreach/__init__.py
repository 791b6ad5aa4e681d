"""Outreach: each campaign's work with each government — positions, meetings, letters, follow-ups."""

from flask import Blueprint

bp = Blueprint("outreach", __name__)

from crm.outreach import assignment_routes, routes  # noqa: E402,F401
