"""The public board of responses: per campaign, what each target government has publicly said on each
demand, published entry by entry by a manager, and nothing internal."""

from flask import Blueprint

bp = Blueprint("board", __name__)

from crm.board import routes  # noqa: E402,F401
