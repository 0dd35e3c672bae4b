"""POST /v1/ask streamed as SSE through gunicorn: relay without buffering, errors, disconnects (the
last also for /v1/chat/completions, which shares the relay)."""

import json
import socket
import time

import pytest
import requests

AUTH = {"Authorization": "Bearer key-a"}


def open_stream(service, body: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(service.url("/v1/ask"), json=body, headers={**AUTH, **(headers or {})}, stream=True, timeout=10)


def events(response: requests.Response) -> list:
    """Return the `data:` payloads of a whole stream (JSON decoded, `[DONE]` as is)."""
    out = []
    for line in response.iter_lines():
        if line.startswith(b"data: "):
            out.append("[DONE]" if line == b"data: [DONE]" else json.loads(line[6:]))
    return out


def test_stream_relays_every_chunk_then_done_with_no_buffering_headers(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"content": "one two three four", "chunks": 4}, match=mark)
    with open_stream(ask_service, {"question": mark, "stream": True}, headers={"X-Request-Id": mark}) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
        assert response.headers["X-Request-Id"] == mark
        received = events(response)
    assert received[-1] == "[DONE]" and len(received) == 1 + 4 + 1 + 1
    assert all(e["object"] == "chat.completion.chunk" for e in received[:-1])
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in received[:-1]) == "one two three four"
    assert upstream.requests(match=mark)[0]["body"]["stream"] is True


def test_accept_event_stream_streams_without_the_flag(ask_service, upstream):
    mark = upstream.marker()
    with open_stream(ask_service, {"question": mark}, headers={"Accept": "text/event-stream"}) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert events(response)[-1] == "[DONE]"


def test_the_first_chunk_arrives_before_the_upstream_finished(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b c d e", "delay": 0.3}, match=mark)
    with open_stream(ask_service, {"question": mark, "stream": True}) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith(b"data: "))
        assert json.loads(first[6:])["choices"][0]["delta"]["role"] == "assistant"
        record = upstream.requests(match=mark)[0]
        assert record["outcome"] == "streaming" and record["chunks_sent"] < 7
        assert [line for line in lines if line.startswith(b"data: ")][-1] == b"data: [DONE]"


def test_a_cut_after_the_stream_began_is_an_error_event_then_done(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b c d", "cut_after": 2}, match=mark)
    with open_stream(ask_service, {"question": mark, "stream": True}) as response:
        assert response.status_code == 200
        received = events(response)
    assert len(received) == 4 and received[-1] == "[DONE]"
    assert received[-2]["error"]["type"] == "upstream_error" and set(received[-2]["error"]) == {"message", "type", "param", "code"}


def test_a_gap_longer_than_the_timeout_is_an_error_event_then_done(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b", "delay": 2.0}, match=mark)
    with open_stream(ask_service, {"question": mark, "stream": True}) as response:
        received = events(response)
    assert received[-2]["error"]["code"] == "upstream_timeout" and received[-1] == "[DONE]"


def test_faults_before_the_first_chunk_keep_their_status(ask_service, upstream):
    mark = upstream.marker()
    upstream.script({"status": 429, "retry_after": "5"}, {"status": 500}, {"latency": 2.5}, match=mark)
    statuses = []
    for _ in range(3):
        with open_stream(ask_service, {"question": mark, "stream": True}) as response:
            assert response.headers["Content-Type"] == "application/json"
            statuses.append((response.status_code, response.headers.get("Retry-After")))
    assert statuses == [(429, "5"), (502, None), (504, None)]


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/chat/completions"])
def test_a_client_that_disconnects_closes_the_upstream_connection_within_a_second(ask_service, upstream, path):
    # Given an upstream that drips a chunk every second (slower than the 1 s we allow)
    mark = upstream.marker()
    upstream.script({"content": "x " * 30, "delay": 1.0}, match=mark)
    question = {"question": mark} if path == "/v1/ask" else {"model": "m", "messages": [{"role": "user", "content": mark}]}
    body = json.dumps({**question, "stream": True}).encode()
    with socket.create_connection(("127.0.0.1", ask_service.port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-a\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        received = b""
        while b"data: " not in received:
            received += sock.recv(65536)
        assert upstream.requests(match=mark)[0]["outcome"] == "streaming"
    # When the client goes away, then the upstream sees its connection close within a second
    closed_at = time.time()
    deadline = time.monotonic() + 5
    while upstream.requests(match=mark)[0]["ended_at"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    record = upstream.requests(match=mark)[0]
    assert record["outcome"] == "disconnected" and record["ended_at"] - closed_at < 1.0
    assert record["chunks_sent"] < 4
