"""GET /metrics: guarded by API_KEYS, and counters that add up over every gunicorn worker."""

from __future__ import annotations

import time

import pytest
import requests

from askservice import create_app
from tests.conftest import ASK_API_KEYS, keys_env
from tests.servers import wait_until
from tests.web.support import api, per_worker_requests, samples, total

def test_metrics_need_a_key_when_api_keys_are_set(settings_for):
    http = create_app(settings_for(api_keys=ASK_API_KEYS)).test_client()
    assert http.get("/metrics").status_code == 401
    assert http.get("/v1/health").status_code == 200
    answer = http.get("/metrics", headers={"Authorization": "Bearer key-a"})
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    assert "askservice_http_requests_total" in answer.get_data(as_text=True)


@pytest.fixture(scope="module")
def service(start_session_service, upstream):
    """askservice with two gevent workers under plain gunicorn (no config file), keys for two clients."""
    return start_session_service(
        {
            "UPSTREAM_BASE_URL": upstream.base_url,
            "UPSTREAM_MODEL": "scripted-model",
            "API_KEYS": keys_env(ASK_API_KEYS),
        },
        workers=2,
    )


def call(service, method: str, path: str, key: str = "key-a", **kwargs) -> requests.Response:
    """`api` with an ask key, on a whole path (/v1/ask, /metrics)."""
    return api(service, method, path, key, prefix="", **kwargs)


def test_counters_add_up_across_two_workers(service, upstream):
    mark = upstream.marker()
    usage = {"client-a": [0, 0], "client-b": [0, 0], "team-x": [0, 0]}

    # Given JSON asks by two keys (one naming its own client_id), until both workers answered some
    asks = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (asks < 8 or len([n for n in per_worker_requests(service.pid).values() if n]) < 2):
        key = "key-a" if asks % 3 else "key-b"
        body = {"question": f"q{asks} {mark}"} | ({"client_id": "team-x"} if asks == 5 else {})
        answer = call(service, "POST", "/v1/ask", key, json=body)
        assert answer.status_code == 200, answer.text
        who = "team-x" if asks == 5 else ASK_API_KEYS[key]
        usage[who][0] += answer.json()["usage"]["prompt_tokens"]
        usage[who][1] += answer.json()["usage"]["completion_tokens"]
        asks += 1
    workers = per_worker_requests(service.pid)
    assert len([n for n in workers.values() if n]) == 2, workers

    # and a failing upstream call, and a slow stream watched while it is open
    upstream.script({"status": 500}, match=f"fail {mark}")
    assert call(service, "POST", "/v1/ask", json={"question": f"fail {mark}"}).status_code == 502
    upstream.script({"content": "a b c d", "chunks": 4, "delay": 0.3}, match=f"slow {mark}")
    with call(service, "POST", "/v1/ask", json={"question": f"slow {mark}", "stream": True}, stream=True) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        next(line for line in lines if line.startswith("data: "))
        during = samples(call(service, "GET", "/metrics").text)
        assert [line for line in lines if line.startswith("data: ")][-1] == "data: [DONE]"
    # and a run by client-b (assistant, thread and run in one go)
    assistant = call(service, "POST", "/v1/assistants", "key-b", json={"model": "scripted-model"}).json()
    run = call(
        service, "POST", "/v1/threads/runs", "key-b",
        json={"assistant_id": assistant["id"], "thread": {"messages": [{"role": "user", "content": f"run {mark}"}]}},
    ).json()
    run = wait_until(
        lambda: (r := call(service, "GET", f"/v1/threads/{run['thread_id']}/runs/{run['id']}", "key-b").json())["status"]
        == "completed" and r,
        timeout=20, what="the run completed",
    )
    usage["client-b"][0] += run["usage"]["prompt_tokens"]
    usage["client-b"][1] += run["usage"]["completion_tokens"]

    # Then /metrics, from whichever worker answers, counts what both did
    found = samples(call(service, "GET", "/metrics").text)
    assert total(found, "askservice_http_requests_total", route="/v1/ask", method="POST", status="200") == asks + 1
    assert total(found, "askservice_http_requests_total", route="/v1/ask", status="502") == 1
    assert total(found, "askservice_http_request_duration_seconds_count", route="/v1/ask") == asks + 2
    assert total(found, "askservice_upstream_requests_total") == len(upstream.requests(match=mark))
    assert total(found, "askservice_upstream_errors_total", kind="chat_completions", error="UpstreamBadGatewayError") == 1
    assert total(during, "askservice_sse_streams_open") == 1
    assert total(found, "askservice_sse_streams_open") == 0
    assert total(found, "askservice_sse_streams_total") == 1
    assert total(found, "askservice_runs_total", status="completed") == 1
    for client_id, (prompt, completion) in usage.items():
        assert total(found, "askservice_prompt_tokens_total", client_id=client_id) == prompt > 0
        assert total(found, "askservice_completion_tokens_total", client_id=client_id) == completion > 0
    # the sum is over both workers' files: each answered part of the requests
    # (a request is recorded once its response is done, so this /metrics lands just after the client has it)
    wait_until(
        lambda: sum(per_worker_requests(service.pid).values()) - 1 == total(found, "askservice_http_requests_total"),
        timeout=5, what="the per-worker files to hold every request but this /metrics",
    )


def test_responses_are_counted_by_status(service, upstream):
    before = total(samples(call(service, "GET", "/metrics").text), "askservice_responses_total", status="incomplete")
    marker = upstream.marker()
    upstream.script({"content": "cut", "finish_reason": "length"}, match=marker)
    answer = call(service, "POST", "/v1/responses", json={"model": "m", "input": f"x {marker}"})
    assert answer.json()["status"] == "incomplete"
    after = total(samples(call(service, "GET", "/metrics").text), "askservice_responses_total", status="incomplete")
    assert after == before + 1
