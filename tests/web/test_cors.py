"""CORS_ORIGINS through gunicorn: allowed origins get the headers (preflight too), others none."""

import requests

ORIGIN = "https://app.example"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


def test_preflight_from_an_allowed_origin_needs_no_key(ask_service):
    response = requests.options(ask_service.url("/v1/ask"), headers=PREFLIGHT, timeout=5)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_answers_and_errors_carry_the_headers_and_expose_the_request_id(ask_service, upstream):
    ok = requests.post(
        ask_service.url("/v1/ask"), json={"question": upstream.marker()}, headers={"Origin": ORIGIN, "Authorization": "Bearer key-b"}, timeout=5
    )
    refused = requests.post(ask_service.url("/v1/ask"), json={}, headers={"Origin": ORIGIN}, timeout=5)
    for response, status in ((ok, 200), (refused, 401)):
        assert response.status_code == status and response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Expose-Headers"] == "X-Request-Id"


def test_an_origin_not_listed_gets_no_cors_headers(ask_service):
    response = requests.options(ask_service.url("/v1/ask"), headers={**PREFLIGHT, "Origin": "https://evil.example"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_without_cors_origins_there_are_no_cors_headers(bare_service):
    for response in (
        requests.options(bare_service.url("/v1/ask"), headers=PREFLIGHT, timeout=5),
        requests.get(bare_service.url("/v1/health"), headers={"Origin": ORIGIN}, timeout=5),
    ):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
