"""supervisord.conf with the real supervisord: health, restart after a crash, graceful stop mid-stream."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import uuid

import gevent
import requests

from tests.servers import wait_until


def sse_payloads(response: requests.Response) -> list[str]:
    """Read a whole SSE response and return its `data:` payloads in order."""
    return [line[len("data: "):] for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")]


def test_health_supervisorctl_and_json_logs(supervised):
    request_id = f"ops-health-{uuid.uuid4().hex}"  # var/askservice.log may hold an earlier run's lines
    response = requests.get(supervised.base_url + "/v1/health", headers={"X-Request-Id": request_id}, timeout=5)
    assert response.status_code == 200
    wait_until(lambda: "RUNNING" in supervised.ctl("status", "askservice", check=False), timeout=10, what="RUNNING")
    socket_mode = stat.S_IMODE(os.stat(supervised.var / "supervisor.sock").st_mode)
    assert socket_mode == 0o770  # owner and group only

    def logged():
        lines = (supervised.var / "askservice.log").read_text().splitlines()
        return [json.loads(line) for line in lines if request_id in line]

    # the app's line (at the response's start) and gunicorn's access line (when the body is sent)
    records = wait_until(lambda: len(logged()) == 2 and logged(), timeout=5, what="two JSON log lines")
    assert {r.get("log") for r in records} == {None, "access"}
    assert all(r["path"] == "/v1/health" and r["status"] == 200 for r in records)


def test_a_killed_gunicorn_master_is_brought_back(supervised):
    old = supervised.master_pid()
    old_workers = children(old)
    assert len(old_workers) == 2
    os.kill(old, signal.SIGKILL)
    # the orphaned workers notice their parent is gone and leave; only then can a new master bind
    wait_until(lambda: all(_gone(pid) for pid in old_workers), timeout=15, what="the old workers gone")
    new = wait_until(lambda: (pid := supervised.master_pid()) not in (0, old) and pid, timeout=30, what="a new master")
    wait_until(lambda: len(children(new)) == 2 and supervised.healthy(), timeout=30, what="the new master serving")
    metrics = requests.get(supervised.base_url + "/metrics", timeout=5).text
    assert "askservice_http_requests_total" in metrics  # the new master's workers count again


def test_hup_swaps_the_workers_without_dropping_a_request(supervised, upstream):
    # Given an open stream and a steady trickle of requests
    mark = upstream.marker()
    upstream.script({"content": "a b c d e f", "chunks": 6, "delay": 0.25}, match=mark)
    master = supervised.master_pid()
    old_workers = set(children(master))
    with requests.Session() as http, http.post(
        supervised.base_url + "/v1/ask", json={"question": f"reload {mark}", "stream": True}, stream=True, timeout=30
    ) as response:
        lines = response.iter_lines(decode_unicode=True)
        next(line for line in lines if line.startswith("data: "))
        statuses: list[int] = []
        trickle = gevent.spawn(_trickle, supervised.base_url, statuses, seconds=2.5)

        # When the operator reloads (what `systemctl reload askservice` does)
        supervised.ctl("signal", "HUP", "askservice")

        # Then the stream ends normally, every request is answered, and new workers took over
        assert [line for line in lines if line.startswith("data: ")][-1] == "data: [DONE]"
    trickle.join(timeout=10)
    assert statuses and set(statuses) == {200}, statuses
    wait_until(
        lambda: len(new := set(children(master))) == 2 and not new & old_workers, timeout=20, what="new workers only"
    )
    assert supervised.master_pid() == master


def _trickle(base_url: str, statuses: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            statuses.append(requests.get(base_url + "/v1/health", timeout=5).status_code)
        except requests.ConnectionError as exc:
            statuses.append(repr(exc))
        gevent.sleep(0.05)


def test_sigterm_lets_an_open_stream_finish(supervised, upstream):
    # Given a stream that takes about 2 s (8 chunks, 0.25 s apart)
    mark = upstream.marker()
    words = [f"w{n}" for n in range(8)]
    upstream.script({"content": " ".join(words), "chunks": len(words), "delay": 0.25}, match=mark)
    http = requests.Session()
    response = http.post(
        supervised.base_url + "/v1/ask", json={"question": f"stream {mark}", "stream": True}, stream=True, timeout=30
    )
    assert response.status_code == 200
    lines = response.iter_lines(decode_unicode=True)
    first = next(line for line in lines if line.startswith("data: "))
    pid = supervised.master_pid()

    # When supervisord stops the service (SIGTERM) while the stream is still open
    stop = gevent.spawn(supervised.ctl, "stop", "askservice")
    wait_until(lambda: requests_refused(supervised.base_url), timeout=5, what="the listener closed")

    # Then the stream still runs to its end, and only then does gunicorn exit
    rest = [line[len("data: "):] for line in lines if line.startswith("data: ")]
    assert not stop.ready()  # gunicorn waited for the stream
    response.close()
    http.close()  # else the idle keep-alive connection holds the worker for `keepalive` (5) seconds
    stop.join(timeout=60)
    assert stop.successful(), stop.exception
    payloads = [first[len("data: "):], *rest]
    assert payloads[-1] == "[DONE]"
    text = "".join(
        choice["delta"].get("content") or ""
        for payload in payloads[:-1]
        for choice in json.loads(payload)["choices"]
    )
    assert text.split() == words
    assert upstream.requests(match=mark)[0]["outcome"] == "completed"
    assert "STOPPED" in supervised.ctl("status", "askservice", check=False)
    assert _gone(pid)

    supervised.ctl("start", "askservice")
    wait_until(supervised.healthy, timeout=30, what="health after the start")


def test_a_run_left_by_a_stopped_worker_is_failed_by_lease_recovery(supervised, upstream):
    # Given a run in progress, waiting for an upstream that answers only after 30 s
    mark = upstream.marker()
    upstream.script({"latency": 30}, match=mark)
    assistant = requests.post(supervised.base_url + "/v1/assistants", json={"model": "scripted-model"}, timeout=10).json()
    run = requests.post(
        supervised.base_url + "/v1/threads/runs",
        json={"assistant_id": assistant["id"], "thread": {"messages": [{"role": "user", "content": f"slow {mark}"}]}},
        timeout=10,
    ).json()
    url = f"{supervised.base_url}/v1/threads/{run['thread_id']}/runs/{run['id']}"
    wait_until(lambda: requests.get(url, timeout=5).json()["status"] == "in_progress", timeout=10, what="in_progress")

    # When the service stops (no request is open, so the workers leave at once) and starts again
    supervised.ctl("stop", "askservice")
    supervised.ctl("start", "askservice")
    wait_until(supervised.healthy, timeout=30, what="health after the start")

    # Then the run is not stuck: once its lease ran out, another worker failed it
    failed = wait_until(
        lambda: (r := requests.get(url, timeout=5).json())["status"] != "in_progress" and r, timeout=15, what="recovery"
    )
    assert failed["status"] == "failed" and failed["last_error"]["code"] == "server_error"


def requests_refused(base_url: str) -> bool:
    """Answer whether a new connection is refused (the listener is closed)."""
    try:
        requests.get(base_url + "/v1/health", timeout=2)
    except requests.ConnectionError:
        return True
    return False


def children(pid: int) -> list[int]:
    """Return the pids of the live child processes of `pid`."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split() if not _gone(int(child))]
    except FileNotFoundError:
        return []


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.startswith("Z")
