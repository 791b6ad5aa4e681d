"""A developer learns the API from its own description: a valid OpenAPI 3.1 document and a readable page,
both from this origin, without a token."""

from openapi_spec_validator import validate


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert document["components"]["securitySchemes"]["token"] == {"type": "http", "scheme": "bearer"}
    assert "/api/v1/outreach/{outreach_id}" in document["paths"]


def test_errors_are_described_as_problem_details(client):
    document = client.get("/api/v1/openapi.json").get_json()
    not_found = document["components"]["responses"]["DEFAULT_ERROR"]
    assert all(
        "default" in operation["responses"]
        for path in document["paths"].values()
        for method, operation in path.items()
        if method != "parameters"
    )
    assert list(not_found["content"]) == ["application/problem+json"]


def test_the_reference_page_is_served_from_this_origin(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "GET /api/v1/outreach/{outreach_id}" in page
    assert "OutreachDetail" in page
    assert "https://" not in page and "http://" not in page
