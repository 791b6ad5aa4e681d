"""The access log never writes the credential a link carries (password reset, calendar feed)."""
from flask import url_for

from crm.serving import redact

SECRET = "Zq8s3cr3tT0kenValue"
# Tokens that are not credentials: a staged upload is found only for the signed-in user who uploaded it.
NOT_CREDENTIALS = {"signatures.preview", "signatures.discard"}


def test_every_route_with_a_token_in_its_url_is_redacted(app):
    """A route added later with a token in its path and no redaction fails here."""
    token_rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments
                   and rule.endpoint not in NOT_CREDENTIALS]
    assert {rule.endpoint for rule in token_rules} == {"accounts.reset_password", "reminders.calendar_feed",
                                                       "accounts.accept_invitation"}
    with app.test_request_context():
        for rule in token_rules:
            path = url_for(rule.endpoint, **{name: SECRET if name == "token" else "x" for name in rule.arguments})
            for logged in (path, f"GET {path}?utm=1 HTTP/1.1", "/alcance" + path):
                assert SECRET not in redact(logged), (rule.rule, redact(logged))
                assert "[redacted]" in redact(logged)


def test_other_paths_are_logged_as_they_are():
    for path in ("/reminders/calendar/revoke", "/calendar", "/outreach/12/meetings/3.ics", "/password/reset",
                 "/admin/users/invite",
                 "/countries?q=calendar/x.ics"):
        assert redact(path) == path
