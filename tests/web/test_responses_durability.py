"""Stored responses outlive their workers, their clients and the service: killed workers, disconnects, restarts."""

from __future__ import annotations

import os
import signal

import pytest
import requests

from tests.conftest import BACKENDS, backend_env
from tests.servers import wait_until, worker_pids
from tests.web.support import api, sdk_on


@pytest.mark.parametrize("background", [False, True])
def test_a_killed_worker_leaves_its_response_failed(runs_short_service, upstream, background):
    sdk = sdk_on(runs_short_service)
    marker = upstream.marker()
    upstream.script({"content": " ".join(["slow"] * 60), "delay": 0.5}, match=marker)
    body = {"model": "m", "input": f"long {marker}", "stream": True, "background": background}
    answer = api(runs_short_service, "POST", "/responses", json=body, stream=True)
    lines = answer.iter_lines()
    created = next(line for line in lines if line.startswith(b"data:"))
    response_id = requests.compat.json.loads(created[5:])["response"]["id"]
    wait_until(lambda: upstream.requests(match=marker), timeout=10, what="the upstream call")
    assert sdk.responses.retrieve(response_id).status == "in_progress"
    old = worker_pids(runs_short_service.pid)
    for pid in old:
        os.kill(pid, signal.SIGKILL)  # mid-response, no goodbye
    answer.close()

    wait_until(lambda: set(worker_pids(runs_short_service.pid)) - set(old), timeout=20, what="respawned workers")
    wait_until(lambda: requests.get(runs_short_service.url("/v1/health"), timeout=2).ok, timeout=20, what="health")
    store = runs_short_service.open_store()
    try:  # nobody reads it: the sweep of a new worker fails it within its lease bound
        item = wait_until(lambda: (lambda i: i if i["status"] != "in_progress" else None)(
            store.get(f"resp#{response_id}", "meta")), timeout=15, what="the sweep")
    finally:
        store.close()
    assert item["status"] == "failed" and "gsi1pk" not in item
    response = sdk.responses.retrieve(response_id)
    assert response.status == "failed" and response.error.code == "server_error"
    assert all(item.status == "incomplete" for item in response.output)


def test_a_client_that_disconnects_does_not_lose_its_response(runs_short_service, upstream):
    sdk = sdk_on(runs_short_service)
    marker = upstream.marker()
    words = " ".join(f"w{i}" for i in range(8))
    upstream.script({"content": words, "delay": 0.1}, match=marker)
    answer = api(runs_short_service, "POST", "/responses", json={"model": "m", "input": f"bye {marker}", "stream": True},
                 stream=True)
    seen = []
    for line in answer.iter_lines():
        if line.startswith(b"data:"):
            seen.append(requests.compat.json.loads(line[5:]))
            if seen[-1]["type"] == "response.output_text.delta":
                break
    answer.close()  # gone after the first delta

    response_id = seen[0]["response"]["id"]
    done = wait_until(lambda: (lambda r: r if r.status != "in_progress" else None)(sdk.responses.retrieve(response_id)),
                      timeout=15, what="the response to end")
    assert done.status == "completed" and done.output_text == words


def test_any_worker_continues_a_chain_at_once(runs_short_service, upstream):
    marker = upstream.marker()
    previous = None
    for turn in range(6):  # each call on a new connection: the workers take them as they come
        body = {"model": "m", "input": f"turn {turn} {marker}", **({"previous_response_id": previous} if previous else {})}
        answer = requests.post(runs_short_service.url("/v1/responses"), json=body, timeout=30,
                               headers={"Authorization": "Bearer test-key", "Connection": "close"})
        assert answer.status_code == 200, answer.text
        previous = answer.json()["id"]
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == [f"turn {t} {marker}" for t in range(6)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_chain_continues_after_a_restart(request, backend, start_service, upstream, tmp_path):
    env = {"UPSTREAM_BASE_URL": upstream.base_url, "STORE_URL": f"sqlite:///{tmp_path}/responses.db",
           "BLOB_URL": f"file://{tmp_path}/blobs", **backend_env(request, backend)}
    marker = upstream.marker()
    first = start_service(env)
    response = sdk_on(first).responses.create(model="m", input=f"remember {marker}")
    first.stop()

    second = start_service(env)
    follow = sdk_on(second).responses.create(model="m", input="again", previous_response_id=response.id)
    assert follow.status == "completed"
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert sent == [{"role": "user", "content": f"remember {marker}"},
                    {"role": "assistant", "content": f"echo: remember {marker}"}, {"role": "user", "content": "again"}]
