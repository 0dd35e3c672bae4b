"""API_KEYS through gunicorn: 401s in OpenAI's shape, health stays open, the key names the client."""

import json

import pytest
import requests

from tests.conftest import ASK_API_KEYS
from tests.servers import wait_until


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer "}, "missing_api_key"),
        ({"Authorization": "Basic a2V5LWE6"}, "missing_api_key"),
        ({"Authorization": "Bearer key-c"}, "invalid_api_key"),
        ({"Authorization": "Bearer key-a-but-longer"}, "invalid_api_key"),
    ],
)
def test_a_missing_or_wrong_key_is_a_401(ask_service, upstream, headers, code):
    mark = upstream.marker()
    response = requests.post(ask_service.url("/api/v1/ask"), json={"question": mark}, headers=headers, timeout=5)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, None)
    assert upstream.requests(match=mark) == []


def test_health_needs_no_key(ask_service):
    for prefix in ("/v1", "/api/v1"):
        assert requests.get(ask_service.url(prefix + "/health"), timeout=5).status_code == 200


@pytest.mark.parametrize("key, client_id", sorted(ASK_API_KEYS.items()))
def test_the_key_resolves_the_client_and_is_not_forwarded(ask_service, upstream, key, client_id):
    mark = upstream.marker()
    response = requests.post(
        ask_service.url("/v1/ask"), json={"question": mark}, headers={"Authorization": f"bearer {key}", "X-Request-Id": mark}, timeout=5
    )
    assert response.status_code == 200
    # the line is written once the response is done, just after the client has it
    (line,) = wait_until(
        lambda: [json.loads(line) for line in ask_service.log_text().splitlines() if mark in line], what="log line"
    )
    assert line["client_id"] == client_id
    assert upstream.requests(match=mark)[0]["headers"]["Authorization"] == "Bearer upstream-secret"


def test_without_keys_access_is_open(bare_service):
    response = requests.post(bare_service.url("/v1/ask"), json={"question": "q"}, timeout=5)
    assert response.status_code == 503  # past auth: only the missing upstream stops it
