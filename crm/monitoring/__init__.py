"""What an operator watches: /metrics for Prometheus (requests, the mail queue, scheduled jobs) and the
record of each scheduled job's last run."""

from flask import Blueprint

bp = Blueprint("monitoring", __name__)

from crm.monitoring import routes  # noqa: E402,F401
