"""Reminders: e-mail for due follow-ups, digests, the scheduler process and calendar feeds."""

from flask import Blueprint

bp = Blueprint("reminders", __name__)

from crm.reminders import routes  # noqa: E402,F401
