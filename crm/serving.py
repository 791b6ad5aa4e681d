"""Gunicorn's settings for Alcance (`gunicorn -c python:crm.serving wsgi:app`, as `make run` does), and an
access log that never writes the secrets some links carry.

A password-reset link, an invitation link and a private calendar feed put their credential in the path: a
plain access log would keep working links (for as long as they live) and calendar feeds (until revoked) on
disk and in every log shipper. The log writes `[redacted]` in their place, in the request line, the path and the
referrer. tests/security/test_access_log.py fails for a route with a `token` in its URL that this misses.
"""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# The credential's place in each such route (after any prefix the app is mounted under).
_SECRET_SEGMENTS = re.compile(r"(/password/reset/|/invitation/)[^/?#]+|(/calendar/)[^/?#]+(?=\.ics(?:$|[?#\s]))")


def redact(path: str) -> str:
    """`path` (or a request line or a whole URL holding one) with each credential replaced by [redacted]."""
    return _SECRET_SEGMENTS.sub(lambda match: (match.group(1) or match.group(2)) + REDACTED, path)


class AccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        environ = dict(environ)
        for key in ("RAW_URI", "PATH_INFO", "HTTP_REFERER"):
            if environ.get(key):
                environ[key] = redact(environ[key])
        super().access(resp, req, environ, request_time)


# Gunicorn reads these names from this module; the command line adds --workers and --bind.
logger_class = "crm.serving.AccessLogger"
accesslog = "-"
