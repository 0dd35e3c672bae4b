"""The Caddyfile with the real Caddy: it validates, and SSE passes through it chunk by chunk."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests

from tests.deploy.caddy import Caddy, timed_sse
from tests.deploy.conftest import system_tool
from tests.servers import REPO

CHUNKS, DELAY = 6, 0.2


@pytest.fixture(scope="module")
def caddy_bin():
    return system_tool("caddy")


@pytest.fixture(scope="module")
def proxied(caddy_bin, start_session_service, upstream, tmp_path_factory):
    """askservice (two gevent workers) and Caddy in front of it on the local plain-HTTP variant."""
    service = start_session_service({"UPSTREAM_BASE_URL": upstream.base_url, "UPSTREAM_MODEL": "scripted-model"})
    caddy = Caddy(caddy_bin, f"127.0.0.1:{service.port}", tmp_path_factory.mktemp("caddy"), ASKSERVICE_MAX_BODY_BYTES="100000")
    yield service, caddy
    caddy.stop()


@pytest.mark.parametrize(
    "env",
    [
        {"ASKSERVICE_SITE": "ask.example.com"},
        {"ASKSERVICE_SITE": "http://127.0.0.1:8080", "CADDY_BIND": "127.0.0.1", "CADDY_ADMIN": "off"},
    ],
    ids=["tls-domain", "local-http"],
)
def test_caddyfile_validates(caddy_bin, tmp_path, env):
    home = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [caddy_bin, "validate", "--config", str(REPO / "Caddyfile"), "--adapter", "caddyfile"],
        env={**home, **env}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Valid configuration" in done.stdout + done.stderr
    formatted = subprocess.run([caddy_bin, "fmt", str(REPO / "Caddyfile")], capture_output=True, text=True, timeout=30)
    assert formatted.stdout == (REPO / "Caddyfile").read_text()  # as `caddy fmt` writes it


def test_headers_and_body_limit_through_caddy(proxied):
    service, caddy = proxied
    response = requests.get(caddy.base_url + "/v1/health", headers={"X-Request-Id": "via-caddy"}, timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.headers["X-Request-Id"] == "via-caddy"  # passed both ways
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in response.headers
    question = "x" * 500_000  # under the app's own limit (1 MiB), over Caddy's (100 KB here)
    too_big = requests.post(caddy.base_url + "/v1/ask", json={"question": question}, timeout=10)
    assert too_big.status_code == 413  # refused by Caddy (ASKSERVICE_MAX_BODY_BYTES)


def test_sse_chunks_arrive_one_by_one_through_caddy(proxied, upstream):
    service, caddy = proxied
    mark = upstream.marker()
    words = [f"c{n}" for n in range(CHUNKS)]
    upstream.script({"content": " ".join(words), "chunks": CHUNKS, "delay": DELAY}, match=mark, repeat=True)
    body = {"question": f"sse {mark}", "stream": True}

    direct = timed_sse(service.url("/v1/ask"), body)
    proxied_stream = timed_sse(caddy.base_url + "/v1/ask", body)

    for stream in (direct, proxied_stream):
        assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.payloads[-1] == "[DONE]"
    assert _text(proxied_stream.payloads) == _text(direct.payloads) == words
    # one by one: every content event arrives about DELAY after the one before, none held back
    content = [t for p, t in zip(proxied_stream.payloads, proxied_stream.arrivals) if _delta(p)]
    gaps = [later - earlier for earlier, later in zip(content, content[1:])]
    assert len(gaps) == CHUNKS - 1 and min(gaps) > DELAY / 2, gaps
    print(f"TTFC direct {direct.arrivals[0] * 1000:.1f} ms, through Caddy {proxied_stream.arrivals[0] * 1000:.1f} ms")


def _delta(payload: str) -> str:
    if payload == "[DONE]":
        return ""
    return "".join(choice["delta"].get("content") or "" for choice in json.loads(payload)["choices"])


def _text(payloads: list[str]) -> list[str]:
    return "".join(_delta(p) for p in payloads).split()


def test_responses_websocket_through_caddy(proxied, upstream):
    """Caddy's reverse_proxy passes the WebSocket upgrade: the SDK's connect() works through it,
    and each event arrives as it is made (the deltas about DELAY apart)."""
    from openai import OpenAI

    _, caddy = proxied
    mark = upstream.marker()
    upstream.script({"content": "one two three", "chunks": 3, "delay": DELAY}, match=mark)
    client = OpenAI(base_url=caddy.base_url + "/v1", api_key="open", max_retries=0)
    arrivals = []
    with client.responses.connect() as connection:
        connection.response.create(model="scripted-model", input=f"ws {mark}")
        for event in connection:
            arrivals.append((event.type, time.monotonic()))
            if event.type == "response.completed":
                assert event.response.output_text == "one two three"
                break
    deltas = [t for kind, t in arrivals if kind == "response.output_text.delta"]
    assert len(deltas) == 3 and min(b - a for a, b in zip(deltas, deltas[1:])) > DELAY / 2
