"""Accounts: sign-in with a second factor, sessions, the account page, password reset and the users
command line."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from crm.accounts import routes  # noqa: E402,F401
from crm.accounts.sessions import enforce_session_lifetime, require_two_factor_enrolment  # noqa: E402

# Run before every request of the app, not only this blueprint's: the session time-outs first, then the
# gate that keeps a user who must enrol a second factor on the enrolment page.
bp.before_app_request(enforce_session_lifetime)
bp.before_app_request(require_two_factor_enrolment)
