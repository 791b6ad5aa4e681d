"""/metrics: Prometheus's figures, for whoever holds the bearer token ALCANCE_METRICS_TOKEN. Without the
token configured the route does not exist (404)."""

import hashlib
import hmac

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from crm.monitoring.metrics import exposition

bp = Blueprint("monitoring", __name__)


def _holds_token(configured: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Digests of equal length, compared in constant time: neither the token nor its length leaks.
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(configured.encode()).digest()
    )


@bp.route("/metrics")
def metrics():
    configured = current_app.config.get("METRICS_TOKEN")
    if not configured:
        abort(404)
    if not _holds_token(configured):
        return Response(
            "A bearer token is required.\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain"
        )
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)
