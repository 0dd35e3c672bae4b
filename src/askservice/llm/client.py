"""The OpenAI-compatible upstream: chat completions (JSON and streamed) and embeddings.

One pooled `requests.Session` per process, sized to the concurrency of a gevent worker. Its
adapter owns the pool, the TLS settings, the proxy and the retry policy; requests go straight to
the adapter's connection pool, because building a `requests.Response` (headers copied, cookies
extracted) costs a quarter of a relayed request's client-side CPU. The timeout
(UPSTREAM_TIMEOUT) bounds the connect and every wait for the next bytes, so the first byte and
each gap between streamed chunks. Only connect errors are retried (nothing was sent). Every
failure leaves as an askservice error (see `llm/errors.py`).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import Any, Iterator

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import HTTPError
from urllib3.util import Timeout
from urllib3.util.retry import Retry

from askservice import metrics
from askservice.errors import ServiceError, UpstreamBadGatewayError
from askservice.llm.errors import ERROR_BODY_LIMIT, from_exception, from_status

POOL_SIZE = 2000  # a gevent worker serves up to worker_connections (2000) requests at once
CONNECT_RETRIES = 2
READ_SIZE = 65_536
DRAIN_SECONDS = 0.25  # after [DONE]: time left for the body's end before the connection is dropped
STREAM_KIND = "chat_completions_stream"  # metrics label: the kind of a streamed chat request

_sessions: dict[int, requests.Session] = {}


def session() -> requests.Session:
    """Return this process's pooled session (a forked worker builds its own)."""
    pid = os.getpid()
    current = _sessions.get(pid)
    if current is None:
        _sessions.clear()
        current = _sessions[pid] = _new_session()
    return current


def _new_session() -> requests.Session:
    http = requests.Session()
    # Proxies and the CA bundle are resolved once per client, not from the environment on
    # every request (that lookup costs more than the rest of a request's overhead).
    http.trust_env = False
    retry = Retry(
        total=CONNECT_RETRIES, connect=CONNECT_RETRIES, read=False, redirect=0, status=0, other=0,
        allowed_methods=None, backoff_factor=0.05, raise_on_status=False,
    )
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_SIZE, max_retries=retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def _kind(path: str, body: dict) -> str:
    return path.strip("/").replace("/", "_") + ("_stream" if body.get("stream") else "")


def _counted(kind: str, error: ServiceError) -> ServiceError:
    metrics.upstream_error(kind, type(error).__name__)
    return error


def _discard(response: BaseHTTPResponse) -> None:
    """Close an answer not read to its end: its connection cannot be reused."""
    response.close()
    response.release_conn()


@dataclass(frozen=True)
class Completion:
    """A `chat.completion` answer: the bytes as received and their parsed object."""

    raw: bytes
    data: dict[str, Any]


class ChatStream:
    """An open streamed answer: iterate for chunk dicts, or `events()` for raw `data:` payloads.

    `close()` drops the upstream connection at once, from any greenlet; a consumer blocked on
    the next chunk then ends quietly. Reading to the end returns the connection to the pool.
    """

    def __init__(self, response: BaseHTTPResponse):
        self._response = response
        self._reading = False
        self._released = False
        self.closed = False
        self.usage_added = False  # the router asked for a usage chunk the caller did not ask for

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Drop the upstream connection (idempotent; safe while another greenlet reads)."""
        self.closed = True
        if self._released:
            return
        if self._reading:
            # The reader is inside the socket's buffered reader, which must not be closed under
            # it: shut the socket down instead; the reader wakes up and closes the rest.
            sock = getattr(self._response.connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        _discard(self._response)

    def _bound_drain(self) -> None:
        # After [DONE], only the end of the body is left: wait for it briefly, not for
        # UPSTREAM_TIMEOUT (the pool sets the socket's timeout again on its next request).
        sock = getattr(self._response.connection, "sock", None)
        if sock is not None:
            sock.settimeout(DRAIN_SECONDS)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for payload in self.events():
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise _counted(
                    STREAM_KIND, UpstreamBadGatewayError("The upstream sent a stream event that is not valid JSON.")
                ) from None
            if isinstance(chunk, dict) and chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise _counted(STREAM_KIND, UpstreamBadGatewayError(f"The upstream failed mid-stream: {message}"))
            yield chunk

    def events(self) -> Iterator[bytes]:
        """Yield each SSE `data:` payload as it arrives, up to `[DONE]` or the end."""
        raw, buffer, data_lines, done = self._response, b"", [], False
        try:
            while not self.closed:
                self._reading = True
                try:
                    received = raw.read1(READ_SIZE)
                except Exception as exc:
                    if self.closed or done:
                        return
                    raise from_exception(exc, started=True) from exc
                finally:
                    self._reading = False
                if not received:
                    break
                if done:
                    continue  # drain to the end so the connection can be reused
                *lines, buffer = (buffer + received).split(b"\n")
                for line in lines:
                    line = line.rstrip(b"\r")
                    if line.startswith(b"data:"):
                        data_lines.append(line[6:] if line[5:6] == b" " else line[5:])
                    elif not line and data_lines:
                        payload, data_lines = b"\n".join(data_lines), []
                        if payload == b"[DONE]":
                            done = True
                            self._bound_drain()
                            break
                        yield payload
            if self.closed:
                return
            if data_lines and not done and data_lines != [b"[DONE]"]:
                yield b"\n".join(data_lines)
            raw.release_conn()  # read to the end: the connection goes back to the pool
            self._released = self.closed = True
        finally:
            if not self._released:
                _discard(self._response)
                self.closed = True


class LLMClient:
    """Calls one OpenAI-compatible upstream; reusable from any greenlet of the process."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._stream_headers = {**self._headers, "Accept": "text/event-stream"}
        self._proxies = get_environ_proxies(self.base_url)
        self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._timeout = Timeout(connect=timeout, read=timeout)
        self._routes: dict[tuple[int, str, str, str], tuple] = {}

    def _route(self, method: str, path: str, headers: dict) -> tuple:
        """Return (pool, url, headers, retries) for a route, prepared once per process."""
        key = (os.getpid(), method, path, headers["Accept"])
        route = self._routes.get(key)
        if route is None or route[0].pool is None:  # new, or its pool was evicted (closed) since
            http = session()
            prepared = http.prepare_request(requests.Request(method, self.base_url + path, headers=headers))
            adapter = http.get_adapter(prepared.url)
            pool = adapter.get_connection_with_tls_context(prepared, self._verify, proxies=self._proxies)
            url = adapter.request_url(prepared, self._proxies)
            route = self._routes[key] = (pool, url, dict(prepared.headers), adapter.max_retries)
        return route

    def _send(self, path: str, body: dict | None, headers: dict) -> BaseHTTPResponse:
        """POST `body` as JSON (GET when it is None); return a 2xx answer unread, or raise its error."""
        kind = _kind(path, body or {})
        metrics.upstream_call(kind)
        method = "GET" if body is None else "POST"
        pool, url, base_headers, retries = self._route(method, path, headers)
        data = b"" if body is None else json.dumps(body).encode()
        try:
            response = pool.urlopen(
                method, url, body=data or None, headers={**base_headers, "Content-Length": str(len(data))},
                redirect=False, assert_same_host=False, preload_content=False, decode_content=False,
                retries=retries, timeout=self._timeout,
            )
        except (HTTPError, OSError) as exc:
            raise _counted(kind, from_exception(exc)) from exc
        if response.status // 100 == 2:
            return response
        try:
            detail = response.read(ERROR_BODY_LIMIT, decode_content=True)
        except Exception:  # the error body is a nicety; the status says enough
            detail = b""
        finally:
            _discard(response)
        raise _counted(kind, from_status(response.status, detail, response.headers.get("Retry-After")))

    def _json(self, path: str, body: dict | None) -> Completion:
        response = self._send(path, body, self._headers)
        try:
            raw = response.read(decode_content=True)
            data = json.loads(raw)
        except Exception as exc:
            _discard(response)
            raise _counted(_kind(path, body or {}), from_exception(exc, started=True)) from exc
        response.release_conn()
        if not isinstance(data, dict):
            raise UpstreamBadGatewayError("The upstream answered JSON that is not an object.")
        return Completion(raw, data)

    def chat(self, body: dict) -> Completion:
        """POST /chat/completions without streaming; return the completion as received."""
        return self._json("/chat/completions", {**body, "stream": False})

    def stream_chat(self, body: dict) -> ChatStream:
        """POST /chat/completions with `stream: true`; return once the upstream said 200."""
        response = self._send("/chat/completions", {**body, "stream": True}, self._stream_headers)
        if not response.headers.get("Content-Type", "").startswith("text/event-stream"):
            _discard(response)
            raise UpstreamBadGatewayError("The upstream did not answer the streamed request with an event stream.")
        return ChatStream(response)

    def embeddings(self, body: dict) -> Completion:
        """POST /embeddings; return the answer as received."""
        return self._json("/embeddings", body)

    def models(self) -> list[dict]:
        """GET /models: the model objects the upstream lists."""
        data = self._json("/models", None).data.get("data")
        if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
            raise UpstreamBadGatewayError("The upstream listed its models in an unknown shape.")
        return data

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """Return one embedding vector per text, in order."""
        data = self.embeddings({"model": model, "input": texts, "encoding_format": "float"}).data
        try:
            items = sorted(data["data"], key=lambda item: item["index"])
            vectors = [list(map(float, item["embedding"])) for item in items]
        except (KeyError, TypeError, ValueError):
            raise UpstreamBadGatewayError("The upstream answered embeddings in an unknown shape.") from None
        if len(vectors) != len(texts):
            raise UpstreamBadGatewayError(f"The upstream answered {len(vectors)} embeddings for {len(texts)} inputs.")
        return vectors
