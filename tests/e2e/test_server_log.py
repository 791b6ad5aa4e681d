"""The real server's access log (gunicorn with crm/serving.py, as `make run` serves) keeps no credential
from a password-reset link, a calendar feed's URL or the webhook's ?key=."""

import time
import urllib.error
import urllib.request

from tests.e2e.conftest import SERVER_LOG

SECRET = "Ab3dE5gH7jK9mN1pQ3sT5vW7"


def _get(url: str, **headers) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_access_log_redacts_reset_links_and_calendar_feeds(live_server):
    assert _get(f"{live_server}/calendar/{SECRET}.ics") == 404
    assert (
        _get(f"{live_server}/password/reset/{SECRET}?from=mail", Referer=f"{live_server}/calendar/{SECRET}.ics") == 404
    )  # no such link
    assert _get(f"{live_server}/api/petitions/nope/signatures?key={SECRET}&x=1") == 405  # the webhook: POST only
    _get(f"{live_server}/healthz")
    # Each gunicorn worker writes its own lines: wait until every request's line is in the file.
    expected = ("/healthz", "/password/reset/", "/calendar/", "/api/petitions/nope/signatures")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = SERVER_LOG["path"].read_text()
        if all(fragment in log for fragment in expected):
            break
        time.sleep(0.2)
    assert "/api/petitions/nope/signatures?key=[redacted]&x=1" in log
    assert "GET /calendar/[redacted].ics" in log and "GET /password/reset/[redacted]?from=mail" in log
    assert SECRET not in log
