from tests.conftest import sign_in


def test_healthz_reports_database(client, database):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.json["dialect"] == database[0]


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_sign_in_and_home(client, make_user):
    user = make_user("admin")
    sign_in(client, user)
    assert client.get("/").status_code == 200
