"""The access log never writes the credential a link carries (password reset, calendar feed)."""

from flask import url_for

from crm.serving import redact

SECRET = "Zq8s3cr3tT0kenValue"
# Tokens that are not credentials: a staged upload is found only for the signed-in user who uploaded it.
NOT_CREDENTIALS = {"signatures.preview", "signatures.discard"}


def test_every_route_with_a_token_in_its_url_is_redacted(app):
    """A route added later with a token in its path and no redaction fails here."""
    token_rules = [
        rule for rule in app.url_map.iter_rules() if "token" in rule.arguments and rule.endpoint not in NOT_CREDENTIALS
    ]
    assert {rule.endpoint for rule in token_rules} == {
        "accounts.reset_password",
        "reminders.calendar_feed",
        "accounts.accept_invitation",
        "statements.confirm",
        "statements.withdraw",
        "hosted.confirm",
        "hosted.withdraw",
    }
    with app.test_request_context():
        for rule in token_rules:
            path = url_for(rule.endpoint, **{name: SECRET if name == "token" else "x" for name in rule.arguments})
            for logged in (path, f"GET {path}?utm=1 HTTP/1.1", "/alcance" + path):
                assert SECRET not in redact(logged), (rule.rule, redact(logged))
                assert "[redacted]" in redact(logged)


def test_other_paths_are_logged_as_they_are():
    for path in (
        "/reminders/calendar/revoke",
        "/calendar",
        "/outreach/12/meetings/3.ics",
        "/password/reset",
        "/admin/users/invite",
        "/countries?q=calendar/x.ics",
        "/s/a-statement",
        "/s/a-statement?lang=es",
        "/statements/3/signatories.csv",
    ):
        assert redact(path) == path


# Query parameters the app reads that are not credentials. A new parameter must be classified: added here,
# or to crm/serving.py's SECRET_QUERY_PARAMETERS when it carries a secret.
NOT_CREDENTIAL_PARAMETERS = {
    "campaign",
    "demand",
    "lang",
    "letter",
    "months",
    "next",
    "office",
    "page",
    "sent",
    "status",
}


def _query_parameters_read_by_the_app() -> set[str]:
    """Every name the code reads from request.args by name: request.args.get("x"), request.args["x"],
    "x" in request.args."""
    import ast
    from pathlib import Path

    import crm

    def is_args(node) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "args"
            and isinstance(node.value, ast.Name)
            and node.value.id == "request"
        )

    names = set()
    for source in Path(crm.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and is_args(node.func.value)
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
            elif isinstance(node, ast.Subscript) and is_args(node.value) and isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
            elif (
                isinstance(node, ast.Compare)
                and any(is_args(c) for c in node.comparators)
                and isinstance(node.left, ast.Constant)
            ):
                names.add(node.left.value)
    return names


def test_every_query_parameter_the_app_reads_is_classified():
    """A route added later that takes a secret in its query string, and is not redacted, fails here."""
    from crm.serving import SECRET_QUERY_PARAMETERS

    read = _query_parameters_read_by_the_app()
    assert "key" in read  # the webhook's secret, the reason this test exists
    assert read - NOT_CREDENTIAL_PARAMETERS <= SECRET_QUERY_PARAMETERS, read - NOT_CREDENTIAL_PARAMETERS


def test_a_statements_confirmation_and_withdrawal_links_are_redacted():
    for kind in ("confirm", "withdraw"):
        for logged in (
            f"/s/{kind}/{SECRET}",
            f"GET /s/{kind}/{SECRET} HTTP/1.1",
            f"https://alcance.example/s/{kind}/{SECRET}?lang=es",
            f"/alcance/s/{kind}/{SECRET}#top",
        ):
            assert SECRET not in redact(logged), logged
            assert f"/s/{kind}/[redacted]" in redact(logged)


def test_a_hosted_petitions_confirmation_and_withdrawal_links_are_redacted():
    for kind in ("confirm", "withdraw"):
        for logged in (
            f"/sign/{kind}/{SECRET}",
            f"GET /sign/{kind}/{SECRET} HTTP/1.1",
            f"https://alcance.example/sign/{kind}/{SECRET}?lang=es",
            f"/alcance/sign/{kind}/{SECRET}#top",
        ):
            assert SECRET not in redact(logged), logged
            assert f"/sign/{kind}/[redacted]" in redact(logged)


def test_the_webhook_secret_in_the_query_string_is_redacted():
    path = f"/api/petitions/action-network/signatures?key={SECRET}"
    for logged in (
        path,
        f"POST {path} HTTP/1.1",
        f"key={SECRET}",
        f"https://alcance.example{path}&x=1",
        f"/api/petitions/p/signatures?utm=1&KEY={SECRET}#frag",
    ):
        assert SECRET not in redact(logged), logged
        assert "key=[redacted]" in redact(logged).lower()
    assert redact("/countries?monkey=1&turnkey=2") == "/countries?monkey=1&turnkey=2"


def test_the_access_logger_redacts_the_query_string():
    """What gunicorn writes for %(q)s (QUERY_STRING) and %(r)s (RAW_URI), with the default format."""
    import logging

    from gunicorn.config import Config

    from crm.serving import AccessLogger

    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '"%(r)s" %(q)s %(U)s')
    logger = AccessLogger(config)
    logger.access_log.handlers = [handler]
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/api/petitions/p/signatures?key={SECRET}",
        "PATH_INFO": "/api/petitions/p/signatures",
        "QUERY_STRING": f"key={SECRET}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }

    class Response:
        status, headers, sent, response_length = "202 Accepted", [], 0, 0

    logger.access(Response(), [], environ, __import__("datetime").timedelta(seconds=0.01))
    assert records and SECRET not in records[0], records
    assert "key=[redacted]" in records[0]
