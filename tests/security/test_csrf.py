"""With CSRF protection on (as in production), every POST without a token is refused and changes
nothing. The routes come from the permission matrix, which covers every route."""

import pytest

from crm.audit.models import AuditEvent
from crm.extensions import db
from tests.conftest import count_rows, sign_in
from tests.test_permission_matrix import MATRIX, world  # noqa: F401  (the fixture)

# Machine-to-machine endpoints authenticate otherwise (a per-petition secret), not by a browser session.
NOT_BROWSER_FORMS = {"api.push_signatures", "api_petitions.push_signatures_v1"}
# Anonymous public forms carry a one-time form token instead (crm/core/public_forms.py), which works inside
# another site's frame where no session cookie is sent; without it they are refused as firmly.
PUBLIC_FORMS = {"hosted.sign", "statements.public"}


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_every_post_without_a_token_is_refused(app, client, world, make_user):  # noqa: F811
    admin = make_user("admin")
    db.session.commit()
    sign_in(client, admin)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        posts = [
            (endpoint, build)
            for (endpoint, method), (build, _) in MATRIX.items()
            if method == "POST" and endpoint not in NOT_BROWSER_FORMS
        ]
        assert len(posts) > 30
        events = count_rows(AuditEvent)
        for endpoint, build in sorted(posts, key=lambda row: row[0] == "accounts.logout"):
            response = client.post(build(world), data={"name": "changed", "stage": "closed"})
            assert response.status_code == 400, f"{endpoint}: {response.status_code}"
            expected = "could not be read" if endpoint in PUBLIC_FORMS else "Form expired"
            assert expected in response.get_data(as_text=True), endpoint
        assert count_rows(AuditEvent) == events  # nothing was done
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_post_with_a_valid_token_goes_through(app, client, csrf_on):
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"csrf_token": token, "email": "nobody@example.org", "password": "x" * 12})
    assert response.status_code == 401  # reached the form: a wrong password, not a CSRF error
