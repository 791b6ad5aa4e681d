"""Gunicorn's settings for Alcance (`gunicorn -c python:crm.serving wsgi:app`, as `make run`, the Dockerfile
and deploy/systemd do): an access log that never writes the secrets some links carry, and the folder
where the workers keep their request figures for /metrics.

A password-reset link, an invitation link, a joint statement's or a hosted petition's confirmation and
withdrawal links and a
private calendar feed put their credential in the path, and the signature webhook takes its secret as
?key= (Action Network cannot set headers): a plain access log would keep working links (for as long as
they live), calendar feeds (until revoked) and the webhook's secret (until changed) on disk and in every
log shipper. The log writes `[redacted]` in their place, in the request line, the path, the query string
and the referrer. tests/security/test_access_log.py fails for a route with a `token` in its URL, or a
query parameter read by the app, that this does not classify.
"""

from __future__ import annotations

import gc
import os
import re
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# post_worker_init's threshold for the youngest generation: several times the objects a page holds while it is made.
YOUNG_COLLECTION_THRESHOLD = 20_000
# The credential's place in each such route (after any prefix the app is mounted under).
_SECRET_SEGMENTS = re.compile(
    r"(/password/reset/|/invitation/|/s/confirm/|/s/withdraw/|/sign/confirm/|/sign/withdraw/)[^/?#]+|(/calendar/)[^/?#]+(?=\.ics(?:$|[?#\s]))"
)
# Query parameters that carry a credential, wherever they appear (the webhook's ?key=).
SECRET_QUERY_PARAMETERS = frozenset({"key"})
_SECRET_PARAMETERS = re.compile(
    r"((?:^|[?&;])(?:" + "|".join(sorted(SECRET_QUERY_PARAMETERS)) + r")=)[^&;#\s]*", re.IGNORECASE
)


def redact(path: str) -> str:
    """`path` (or a request line, a query string or a whole URL holding one) with each credential
    replaced by [redacted]."""
    path = _SECRET_SEGMENTS.sub(lambda match: (match.group(1) or match.group(2)) + REDACTED, path)
    return _SECRET_PARAMETERS.sub(lambda match: match.group(1) + REDACTED, path)


class AccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        environ = dict(environ)
        for key in ("RAW_URI", "PATH_INFO", "QUERY_STRING", "HTTP_REFERER"):
            if environ.get(key):
                environ[key] = redact(environ[key])
        super().access(resp, req, environ, request_time)


def on_starting(server):
    """Before any worker starts: the folder where every worker keeps its request figures for /metrics
    (prometheus_client's multiprocess mode, crm/monitoring/metrics.py), emptied of a previous run's.
    Set here, in gunicorn's master only, so that no other process that imports this module (tests, the
    scheduler) turns that mode on."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="alcance-metrics-")
    Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def child_exit(server, worker):
    """A worker that ended keeps its counts; only its live gauges go."""
    from prometheus_client import multiprocess  # noqa: PLC0415  (only gunicorn's master needs it)

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Once a worker has loaded the app: everything alive now (the app, SQLAlchemy's mappers and compiled
    statements, Babel's locale data, the map's country shapes) lives as long as the worker, and is moved
    out of the garbage collector's sight (gc.freeze). Otherwise every full collection walks all of it again
    in the middle of some request: on the dashboard one request in ten or so waited 120 ms more for it.

    Then the youngest generation is collected after YOUNG_COLLECTION_THRESHOLD objects rather than Python's
    700: a page holds a few thousand rows and tuples until it is written (the dashboard some 2,600 at an
    organisation's size), and at 700 each request paid for four collections that walked them all, alive,
    for nothing (about 0.5 ms of the dashboard's). What a request leaves goes when it ends, freed by
    counting references; the collector is left the rare cycles, a few tens of objects a request."""
    gc.collect()
    gc.freeze()
    _, *older = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *older)


# Gunicorn reads these names from this module; the command line adds --workers and --bind.
logger_class = "crm.serving.AccessLogger"
accesslog = "-"
