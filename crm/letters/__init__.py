"""Letters: composing outgoing letters from templates, tracking delivery, logging replies, attachments."""

from flask import Blueprint

bp = Blueprint("letters", __name__)

from crm.letters import routes  # noqa: E402,F401
