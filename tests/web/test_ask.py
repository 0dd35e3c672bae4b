"""POST /v1/ask as JSON through gunicorn: the relayed request and answer, faults, prefixes, logs."""

import json

import pytest
import requests

from tests.conftest import ASK_SETTINGS
from tests.servers import free_port, wait_until

AUTH = {"Authorization": "Bearer key-a"}


def ask(service, body: dict, path: str = "/v1/ask", headers: dict | None = None) -> requests.Response:
    return requests.post(service.url(path), json=body, headers={**AUTH, **(headers or {})}, timeout=10)


@pytest.fixture(scope="module")
def dead_upstream_service(start_session_service):
    """A service whose upstream port has nothing listening, and no UPSTREAM_MODEL."""
    return start_session_service({"UPSTREAM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}, workers=1)


def test_the_upstream_completion_comes_back_unchanged(ask_service, upstream):
    mark = upstream.marker()
    usage = {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8, "prompt_tokens_details": {"cached_tokens": 0}}
    upstream.script({"content": "Paris.", "usage": usage}, match=mark)
    response = ask(ask_service, {"question": f"Capital of France? {mark}"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    completion = response.json()
    assert completion["object"] == "chat.completion" and completion["id"].startswith("chatcmpl-")
    assert completion["choices"][0]["message"]["content"] == "Paris."
    assert completion["usage"] == usage and completion["system_fingerprint"] == "fp_scripted"
    assert list(completion) == ["id", "object", "created", "model", "choices", "usage", "system_fingerprint"]


def test_the_upstream_gets_prompt_recent_history_question_and_options(ask_service, upstream):
    mark = upstream.marker()
    history = [{"role": "user", "content": f"h{i}"} if i % 2 == 0 else {"role": "assistant", "content": f"h{i}"} for i in range(5)]
    body = {"question": f"next {mark}", "history": history, "user_id": "user-42", "client_id": "web", "temperature": 0.2, "max_tokens": 64}
    assert ask(ask_service, body).status_code == 200
    (record,) = upstream.requests(match=mark)
    sent = record["body"]
    assert [m["content"] for m in sent["messages"]] == ["You answer briefly.", "h2", "h3", "h4", f"next {mark}"]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user", "user"]
    assert (sent["model"], sent["user"], sent["temperature"], sent["max_tokens"], sent["stream"]) == (
        "default-model", "user-42", 0.2, 64, False
    )
    assert record["headers"]["Authorization"] == "Bearer upstream-secret"


def test_a_requested_model_wins_over_the_default(ask_service, upstream):
    mark = upstream.marker()
    assert ask(ask_service, {"question": mark, "model": "big-model"}).json()["model"] == "big-model"
    assert upstream.requests(match=mark)[0]["body"]["model"] == "big-model"


def test_both_prefixes_and_the_request_id(ask_service, upstream):
    mark = upstream.marker()
    for path in ("/v1/ask", "/api/v1/ask"):
        response = ask(ask_service, {"question": mark}, path=path, headers={"X-Request-Id": "req-77"})
        assert response.status_code == 200 and response.headers["X-Request-Id"] == "req-77"
    assert len(upstream.requests(match=mark)) == 2


def test_rate_limit_passes_retry_after_on(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"status": 429, "retry_after": "30"}, match=mark)
    response = ask(ask_service, {"question": mark})
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    assert response.json()["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize("status", [500, 503])
def test_upstream_5xx_is_a_502(ask_service, upstream, status):
    mark = upstream.marker()
    upstream.script({"status": status}, match=mark)
    response = ask(ask_service, {"question": mark})
    assert response.status_code == 502
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_a_garbled_answer_is_a_502(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"raw": "<html>proxy error</html>"}, match=mark)
    assert ask(ask_service, {"question": mark}).status_code == 502


def test_no_first_byte_within_the_timeout_is_a_504(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"latency": 2.5}, match=mark)
    response = ask(ask_service, {"question": mark})
    assert response.status_code == 504 and response.json()["error"]["code"] == "upstream_timeout"


def test_an_unreachable_upstream_is_a_502_and_no_model_a_400(dead_upstream_service):
    response = requests.post(dead_upstream_service.url("/v1/ask"), json={"question": "hi", "model": "m"}, timeout=10)
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_unreachable"
    response = requests.post(dead_upstream_service.url("/v1/ask"), json={"question": "hi"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["param"] == "model"


@pytest.mark.parametrize("stream", [False, True])
def test_no_upstream_configured_is_a_503_naming_the_variable(bare_service, stream):
    response = requests.post(bare_service.url("/v1/ask"), json={"question": "hi", "stream": stream}, timeout=10)
    assert response.status_code == 503 and response.headers["Content-Type"] == "application/json"
    assert "UPSTREAM_BASE_URL" in response.json()["error"]["message"]
    assert requests.get(bare_service.url("/v1/health"), timeout=5).status_code == 200


def test_the_log_line_has_ids_but_no_key_or_body(ask_service, upstream):
    mark = upstream.marker()
    response = ask(ask_service, {"question": f"secret question {mark}"}, headers={"X-Request-Id": mark})
    assert response.status_code == 200
    # the line is written once the response is done, just after the client has it
    lines = wait_until(
        lambda: [json.loads(line) for line in ask_service.log_text().splitlines() if mark in line], what="log line"
    )
    assert len(lines) == 1 and lines[0]["request_id"] == mark
    assert (lines[0]["method"], lines[0]["path"], lines[0]["status"], lines[0]["client_id"]) == ("POST", "/v1/ask", 200, "client-a")
    assert lines[0]["duration_ms"] >= 0
    log = ask_service.log_text()
    assert "secret question" not in log and "key-a" not in log and ASK_SETTINGS["UPSTREAM_API_KEY"] not in log
