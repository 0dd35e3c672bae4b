"""A scripted OpenAI-compatible upstream: a real HTTP server (gevent pywsgi) for tests and benches.

Run it: `python -m tests.upstream --port N [--default '{"latency": 0.2}']`; tests get one per
session from the `upstream` fixture (an `UpstreamClient`), whose base URL ends in `/v1`.

OpenAI routes
    POST /v1/chat/completions   `chat.completion` JSON, or SSE `chat.completion.chunk` events and
                                `data: [DONE]` when `stream` is true; a last chunk with `usage`
                                (and `choices: []`) when `stream_options.include_usage` is true
    POST /v1/embeddings         hashed bag-of-words vectors (L2-normalised, `dimensions` or 256
                                long, `encoding_format` float or base64): texts that share words
                                are close, identical texts are identical
    GET  /v1/models             a list with `scripted-model`

With nothing scripted, a chat answer is deterministic: `echo: <last user message>` (streamed one
word a chunk); a request with a body that is not JSON gets a 400 in OpenAI's error shape.

Control API (JSON in and out)
    POST /_script    {"match": TEXT?, "model": NAME?, "responses": [SPEC, ...], "repeat": false}
                     queues responses for the chat requests that match: TEXT is a substring of
                     any message's text, of `user` or of an embeddings input; NAME equals
                     `model`. Matching requests take the responses in order; `repeat` keeps
                     serving the last one. Scripts are tried oldest first; give each test its
                     own marker (`UpstreamClient.marker()`) so parallel tests never share one.
    GET  /_requests?match=TEXT   the record of received requests (oldest first, last 10,000):
                     {seq, method, path, headers, body, client_port, received_at, outcome,
                     chunks_sent, ended_at}; `outcome` is "completed", "disconnected" (the client went away
                     mid-answer), "cut" (a scripted cut), "streaming" or "pending"
    POST /_reset     drop every script and record

A response SPEC (every key optional)
    content          the answer text (default: the echo answer)
    tool_calls       [{"name", "arguments": str | object, "id"?}], answered with
                     finish_reason "tool_calls"; streamed as a header delta then argument deltas
    chunks           how many pieces each text / arguments string is streamed in (default: words)
    delay            seconds between streamed chunks (0)
    latency          seconds before the status line: a slow first byte (0)
    cut_after        stream this many chunks, then drop the connection without `[DONE]`
    linger           seconds to keep a stream's body open after `[DONE]` before ending it
    status           an HTTP error status to answer with (e.g. 500, 429), OpenAI's error body
    retry_after      the Retry-After header sent with `status`
    raw              a body sent verbatim (status 200 and JSON unless `status` / `content_type`
                     say otherwise): a garbled answer, or a hand-written SSE stream
    finish_reason    overrides "stop" / "tool_calls"
    reasoning        reasoning text streamed first as `reasoning_content` deltas (a reasoning model's
                     thinking); a request with `logprobs: true` gets a logprob entry per content piece
    usage            overrides the computed usage object
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import math
import socket
import re
import struct
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from urllib.parse import parse_qs

import gevent
import requests
from gevent.pywsgi import WSGIHandler, WSGIServer
from gevent.socket import wait_read

from tests.servers import REPO, Process, free_port, wait_until

MODEL = "scripted-model"
DIMENSIONS = 256
RECORD_LIMIT = 10_000
SOCKET_KEY = "upstream.client_socket"
WORD = re.compile(r"[a-z0-9]+")


class Cut(Exception):
    """Raised inside a streamed body to drop the connection without ending the stream."""


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def searchable(body: dict) -> str:
    """Return the text a script's `match` is searched in."""
    parts = [_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)]
    inputs = body.get("input")
    parts += inputs if isinstance(inputs, list) else [inputs]
    parts.append(body.get("user"))
    return "\n".join(p for p in parts if isinstance(p, str))


def embed(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """Return a normalised signed-hash bag-of-words vector of `text`."""
    vector = [0.0] * dimensions
    for word in _words(text):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0
    return [v / norm for v in vector]


def _split(text: str, pieces: int | None) -> list[str]:
    if not text:
        return []
    if pieces is None:
        return re.findall(r"\s*\S+", text) or [text]
    size = max(1, math.ceil(len(text) / max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


class Scripts:
    """The queued responses, the record of requests, and matching between them."""

    def __init__(self, default: dict | None = None):
        self.default = default or {}
        self.lock = threading.Lock()
        self.scripts: list[dict] = []
        self.records: deque[dict] = deque(maxlen=RECORD_LIMIT)
        self.seq = itertools.count(1)

    def add(self, script: dict) -> None:
        responses = script.get("responses")
        if not isinstance(responses, list) or not responses:
            raise ValueError("responses must be a non-empty list")
        with self.lock:
            self.scripts.append({**script, "responses": list(responses)})

    def take(self, body: dict) -> dict:
        """Return the next scripted SPEC for a request, or the default one."""
        text = searchable(body)
        with self.lock:
            for script in self.scripts:
                if script.get("model") not in (None, body.get("model")):
                    continue
                if script.get("match") is not None and script["match"] not in text:
                    continue
                responses = script["responses"]
                if len(responses) > 1 or not script.get("repeat"):
                    spec = responses.pop(0)
                else:
                    spec = responses[0]
                if not responses:
                    self.scripts.remove(script)
                return spec
        return self.default

    def record(self, environ: dict, body) -> dict:
        entry = {
            "socket": environ.get(SOCKET_KEY),
            "seq": next(self.seq),
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "headers": {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")},
            "body": body,
            "client_port": int(environ.get("REMOTE_PORT") or 0),
            "received_at": time.time(),
            "outcome": "pending",
            "chunks_sent": 0,
            "ended_at": None,
        }
        if environ.get("CONTENT_TYPE"):
            entry["headers"]["Content-Type"] = environ["CONTENT_TYPE"]
        self.records.append(entry)
        return entry

    def find(self, match: str | None) -> list[dict]:
        records = list(self.records)
        if match is None:
            return [_public(r) for r in records]
        return [_public(r) for r in records if isinstance(r["body"], dict) and match in searchable(r["body"])]

    def reset(self) -> None:
        with self.lock:
            self.scripts.clear()
            self.records.clear()


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "socket"}


class Handler(WSGIHandler):
    """pywsgi's handler without Nagle's delay, handing the client socket to the app (to see it leave)."""

    def __init__(self, sock, address, server, rfile=None):
        super().__init__(sock, address, server, rfile)
        # Headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold the body back 40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get_environ(self):
        environ = super().get_environ()
        environ[SOCKET_KEY] = self.socket
        return environ


def _json(start_response, status: int, payload, headers: list | None = None):
    data = json.dumps(payload).encode()
    start_response(
        f"{status} {'OK' if status < 400 else 'Error'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))] + (headers or []),
    )
    return [data]


def _error(status: int, message: str, kind: str = "server_error", code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _usage(body: dict, output: str, spec: dict) -> dict:
    if "usage" in spec:
        return spec["usage"]
    prompt = len(_words(searchable({"messages": body.get("messages")})))
    completion = len(_words(output))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_calls(spec: dict) -> list[dict]:
    calls = []
    for i, call in enumerate(spec.get("tool_calls") or []):
        arguments = call.get("arguments", {})
        calls.append(
            {
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": call["name"], "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)},
                "index": i,
            }
        )
    return calls


def _answer(body: dict, spec: dict) -> str | None:
    if "content" in spec:
        return spec["content"]
    if spec.get("tool_calls"):
        return None
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    return "echo: " + (_text(users[-1].get("content")) if users else "")


def chat(body: dict, spec: dict, entry: dict, start_response):
    """Answer a chat completion per `spec`, as JSON or as an SSE stream."""
    content = _answer(body, spec)
    calls = _tool_calls(spec)
    finish = spec.get("finish_reason") or ("tool_calls" if calls else "stop")
    usage = _usage(body, (content or "") + " ".join(c["function"]["arguments"] for c in calls), spec)
    ident, created, model = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), body.get("model") or MODEL
    if not body.get("stream"):
        message = {"role": "assistant", "content": content, "refusal": None}
        if calls:
            message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
        entry["outcome"], entry["ended_at"] = "completed", time.time()
        return _json(
            start_response,
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
                "system_fingerprint": "fp_scripted",
            },
        )

    def chunk(delta: dict | None, finish_reason=None, **extra) -> bytes:
        obj = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model, "system_fingerprint": "fp_scripted"}
        obj["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        obj.update(extra)
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": "" if content is not None else None})]
    events += [chunk({"reasoning_content": piece}) for piece in _split(spec.get("reasoning") or "", spec.get("chunks"))]
    for piece in _split(content or "", spec.get("chunks")):
        event = chunk({"content": piece})
        if body.get("logprobs"):
            logprob = {"token": piece, "logprob": -0.5, "bytes": list(piece.encode()),
                      "top_logprobs": [{"token": piece, "logprob": -0.5, "bytes": list(piece.encode())}][:body.get("top_logprobs") or 0]}
            event = event.replace(b'"logprobs": null', b'"logprobs": ' + json.dumps({"content": [logprob]}).encode(), 1)
        events.append(event)
    for call in calls:
        head = {"index": call["index"], "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
        events.append(chunk({"tool_calls": [head]}))
        for piece in _split(call["function"]["arguments"], spec.get("chunks")):
            events.append(chunk({"tool_calls": [{"index": call["index"], "function": {"arguments": piece}}]}))
    events.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(chunk(None, usage=usage))
    events.append(b"data: [DONE]\n\n")
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
    return _stream(events, spec, entry)


def _stream(events: list[bytes], spec: dict, entry: dict):
    delay, cut_after = float(spec.get("delay") or 0), spec.get("cut_after")
    entry["outcome"] = "streaming"
    try:
        for n, event in enumerate(events):
            if cut_after is not None and n >= cut_after:
                entry["outcome"] = "cut"
                raise Cut(f"scripted cut after {cut_after} chunks")
            if n and delay and _client_left(entry.get("socket"), delay):
                entry["outcome"] = "disconnected"
                return
            yield event
            entry["chunks_sent"] = n + 1
        if spec.get("linger") and _client_left(entry.get("socket"), float(spec["linger"])):
            entry["outcome"] = "disconnected"
            return
        entry["outcome"] = "completed"
    except GeneratorExit:
        entry["outcome"] = "disconnected"
        raise
    finally:
        entry["ended_at"] = time.time()


def _client_left(sock, seconds: float) -> bool:
    """Wait `seconds`, returning early (True) if the client closes its connection meanwhile."""
    if sock is None:
        gevent.sleep(seconds)
        return False
    deadline = time.monotonic() + seconds
    try:
        wait_read(sock.fileno(), timeout=seconds)
        if sock.recv(1, socket.MSG_PEEK) == b"":
            return True
    except socket.timeout:
        return False
    except OSError:
        return True
    gevent.sleep(max(0.0, deadline - time.monotonic()))  # bytes of a next request: not a close
    return False


def embeddings(body: dict, start_response):
    """Answer `/v1/embeddings` with hashed bag-of-words vectors."""
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs:
        return _json(start_response, 400, _error(400, "'input' must be a string or a list", "invalid_request_error"))
    dimensions = int(body.get("dimensions") or DIMENSIONS)
    data = []
    for i, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(map(str, item if isinstance(item, list) else [item]))
        vector = embed(text, dimensions)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vector})
    tokens = sum(len(_words(t if isinstance(t, str) else str(t))) for t in inputs)
    return _json(
        start_response,
        200,
        {"object": "list", "data": data, "model": body.get("model") or MODEL, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
    )


def _scripted_fault(spec: dict, start_response):
    if "raw" in spec:
        data = spec["raw"].encode()
        content_type = spec.get("content_type", "application/json")
        start_response(f"{spec.get('status', 200)} Scripted", [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]
    status = int(spec["status"])
    headers = [("Retry-After", str(spec["retry_after"]))] if spec.get("retry_after") is not None else []
    kind = "rate_limit_error" if status == 429 else "server_error"
    return _json(start_response, status, _error(status, spec.get("error", f"scripted {status}"), kind), headers)


def make_app(scripts: Scripts):
    """Return the WSGI app of the scripted upstream around `scripts`."""

    def app(environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        raw = environ["wsgi.input"].read() if method == "POST" else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if path == "/_script" and method == "POST":
            try:
                scripts.add(body or {})
            except (ValueError, AttributeError) as exc:
                return _json(start_response, 400, _error(400, str(exc), "invalid_request_error"))
            return _json(start_response, 200, {"ok": True})
        if path == "/_requests" and method == "GET":
            match = parse_qs(environ.get("QUERY_STRING", "")).get("match", [None])[0]
            return _json(start_response, 200, {"data": scripts.find(match)})
        if path == "/_reset" and method == "POST":
            scripts.reset()
            return _json(start_response, 200, {"ok": True})
        if path == "/v1/models" and method == "GET":
            model = {"id": MODEL, "object": "model", "created": 1700000000, "owned_by": "askservice-tests"}
            return _json(start_response, 200, {"object": "list", "data": [model]})
        if path not in ("/v1/chat/completions", "/v1/embeddings") or method != "POST":
            return _json(start_response, 404, _error(404, f"no route {method} {path}", "invalid_request_error"))
        entry = scripts.record(environ, body)
        if not isinstance(body, dict):
            entry["outcome"] = "completed"
            return _json(start_response, 400, _error(400, "body is not a JSON object", "invalid_request_error"))
        spec = scripts.take(body)
        if spec.get("latency"):
            gevent.sleep(float(spec["latency"]))
        if "status" in spec or "raw" in spec:
            entry["outcome"], entry["ended_at"] = "completed", time.time()
            return _scripted_fault(spec, start_response)
        if path == "/v1/embeddings":
            entry["outcome"], entry["ended_at"] = "completed", time.time()
            return embeddings(body, start_response)
        return chat(body, spec, entry, start_response)

    return app


def serve(port: int, host: str = "127.0.0.1", default: dict | None = None) -> None:
    """Serve the scripted upstream until killed."""
    server = WSGIServer(
        (host, port), make_app(Scripts(default)), handler_class=Handler, log=None, error_log=None, backlog=2048
    )
    server.serve_forever()


class UpstreamClient:
    """Test-side handle on a running scripted upstream: script it, read what it received."""

    def __init__(self, root: str):
        self.root = root.rstrip("/")
        self.base_url = self.root + "/v1"
        self.http = requests.Session()

    @staticmethod
    def marker() -> str:
        """Return a fresh token to put in a test's question and script `match`."""
        return f"mk{uuid.uuid4().hex[:12]}"

    def script(self, *responses: dict, match: str | None = None, model: str | None = None, repeat: bool = False) -> None:
        """Queue `responses` for the requests that match."""
        payload = {"match": match, "model": model, "responses": list(responses), "repeat": repeat}
        self.http.post(self.root + "/_script", json=payload, timeout=5).raise_for_status()

    def requests(self, match: str | None = None) -> list[dict]:
        """Return the recorded requests whose text contains `match` (all when None)."""
        params = {"match": match} if match is not None else None
        response = self.http.get(self.root + "/_requests", params=params, timeout=5)
        response.raise_for_status()
        return response.json()["data"]

    def reset(self) -> None:
        """Drop every script and record (only for tests that own the upstream)."""
        self.http.post(self.root + "/_reset", timeout=5).raise_for_status()


class UpstreamProcess(Process):
    """The scripted upstream as a child process on a free loopback port."""

    def __init__(self, log_dir: Path, default: dict | None = None):
        self.port = free_port()
        args = [sys.executable, "-m", "tests.upstream", "--port", str(self.port)]
        if default is not None:
            args += ["--default", json.dumps(default)]
        super().__init__(args, cwd=REPO, log=log_dir / f"upstream-{self.port}.log")
        self.client = UpstreamClient(f"http://127.0.0.1:{self.port}")
        wait_until(self._ready, timeout=20, what=f"scripted upstream on {self.port}")

    def _ready(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"scripted upstream exited:\n{self.log_text()[-2000:]}")
        return requests.get(self.client.base_url + "/models", timeout=1).status_code == 200


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible upstream (tests and benches).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--default", type=json.loads, default=None, help="the SPEC served when nothing is scripted (JSON)")
    args = parser.parse_args()
    serve(args.port, args.host, args.default)


if __name__ == "__main__":
    main()
