"""Core pages: the home page, language choice and the health check."""

from flask import Blueprint

bp = Blueprint("core", __name__)

from crm.core import routes  # noqa: E402,F401
