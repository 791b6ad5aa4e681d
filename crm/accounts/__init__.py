"""Accounts: sign-in, sign-out and the users command line."""
from flask import Blueprint

bp = Blueprint("accounts", __name__)

from crm.accounts import routes  # noqa: E402,F401
