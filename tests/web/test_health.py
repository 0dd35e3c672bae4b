"""Health, unknown routes and request ids, through gunicorn with gevent workers."""

import requests


def test_health_answers_on_both_prefixes(start_service):
    service = start_service()
    for prefix in ("/v1", "/api/v1"):
        response = requests.get(service.url(prefix + "/health"), timeout=5)
        assert response.status_code == 200
        assert response.json()["status"] == "ok" and response.json()["version"]


def test_unknown_route_and_method_use_openai_error_shape(start_service):
    service = start_service()
    missing = requests.get(service.url("/v1/nothing-here"), timeout=5)
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    wrong_method = requests.delete(service.url("/v1/health"), timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["type"] == "invalid_request_error"


def test_request_id_is_echoed_or_made(start_service):
    service = start_service()
    echoed = requests.get(service.url("/v1/health"), headers={"X-Request-Id": "abc-123"}, timeout=5)
    assert echoed.headers["X-Request-Id"] == "abc-123"
    made = requests.get(service.url("/v1/health"), timeout=5)
    assert len(made.headers["X-Request-Id"]) == 32
