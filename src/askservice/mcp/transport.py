"""MCP's streamable HTTP transport: each JSON-RPC message is one POST; the answer is JSON or SSE.

Requests accept `application/json` and `text/event-stream`; the server answers a request with
either one JSON message or an event stream carrying it (and maybe notifications first), and a
notification with 202. After `initialize` every request carries `Mcp-Session-Id` (when the
server gave one) and `MCP-Protocol-Version`; a 404 then means the session is gone. DELETE ends
the session.

The URL is checked by `netguard` once, on first use, and connections go to the addresses it
checked (a later DNS answer cannot swap them). Redirects are not followed, no proxy is used.
Each exchange is bounded by `timeout` from the POST to the answer's end (connect, every read),
and by MAX_ANSWER_BYTES. Header values are never logged nor put in an error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
import weakref
from typing import Any, Iterator
from urllib.parse import urlsplit

from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from askservice import netguard
from askservice.mcp.errors import McpError, SessionExpired

MAX_ANSWER_BYTES = 4 * 1024 * 1024
READ_SIZE = 65_536
POOL_SIZE = 4  # calls of one client may run in parallel greenlets
ERROR_EXCERPT = 300
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
SENDABLE_VALUE = re.compile(r"^[\t\x20-\x7e]*$")
SESSION_ID = re.compile(r"^[\x21-\x7e]{1,1024}$")  # visible ASCII, as the spec requires
RESERVED_HEADERS = frozenset(
    {"accept", "content-type", "content-length", "transfer-encoding", "host", "connection",
     "mcp-session-id", "mcp-protocol-version", "last-event-id"}
)


class _Pinned:
    """Connects to the addresses netguard checked, in order, instead of resolving the host again."""

    def __init__(self, *args, addresses: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._addresses = addresses

    def _new_conn(self) -> socket.socket:
        """Connect to the first address that takes it; a refused one passes to the next, a time-out ends it."""
        failure: Exception | None = None
        for address in self._addresses:
            self._dns_host = address
            try:
                return super()._new_conn()
            except NewConnectionError as exc:
                failure = exc
        raise failure or NewConnectionError(self, "no address to connect to")


class PinnedHTTPConnection(_Pinned, HTTPConnection):
    """A plain connection to checked addresses."""


class PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    """A TLS connection to checked addresses; the certificate is still checked against the host name."""


class _Made:
    """Remembers the connections a pool made, so that `abort` can cut those in use too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.made: weakref.WeakSet = weakref.WeakSet()

    def _new_conn(self):
        connection = super()._new_conn()
        self.made.add(connection)
        return connection

    def abort(self) -> None:
        """Shut every connection's socket down: a greenlet waiting on one of them wakes with an error."""
        for connection in list(self.made):
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class PinnedHTTPPool(_Made, HTTPConnectionPool):
    """A pool of PinnedHTTPConnection (its `addresses` keyword reaches each connection)."""

    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSPool(_Made, HTTPSConnectionPool):
    """A pool of PinnedHTTPSConnection."""

    ConnectionCls = PinnedHTTPSConnection


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """Return the caller's headers if every one is sendable and none is the transport's own."""
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            raise McpError("headers", "an MCP header name is not a valid HTTP header name")
        if name.lower() in RESERVED_HEADERS:
            raise McpError("headers", f"the MCP header {name} is set by the transport itself")
        if not isinstance(value, str) or not SENDABLE_VALUE.match(value):
            raise McpError("headers", f"the MCP header {name} has a value that is not a single line of text")
    return dict(headers)


class Transport:
    """One MCP server's endpoint; usable from several greenlets once opened."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float, allowed: netguard.Allowed):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise McpError("blocked", f"the MCP server URL {parts.scheme}://{parts.hostname or ''}/... has an invalid port") from None
        self.where = f"{parts.scheme}://{parts.hostname or ''}{f':{port}' if port else ''}{parts.path}"
        self.timeout = timeout
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._url = url
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = check_headers(headers)
        self._secrets = [v for v in self._headers.values() if len(v) >= 4]
        self._allowed = allowed
        self._pool: HTTPConnectionPool | None = None

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON-RPC request; return the response message with its id."""
        with self._exchange("POST", message) as (response, deadline):
            if response.status == 404 and self.session_id and message.get("method") != "initialize":
                raise SessionExpired(self.where)
            if response.status != 200:
                raise self._status_error(response, deadline)
            if message.get("method") == "initialize":
                self.session_id = self._session_id(response)
            kind = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
            if kind == "application/json":
                answers = [_json(self._read_all(response, deadline), self.where)]
            elif kind == "text/event-stream":
                answers = self._events(response, deadline)
            else:
                raise McpError("protocol", f"MCP server {self.where} answered with content type {kind or 'none'}")
            for answer in answers:
                found = _matching(answer, message["id"])
                if found is not None:
                    return found
        raise McpError("protocol", f"MCP server {self.where} ended its answer to {message['method']} without a result")

    def notify(self, message: dict[str, Any]) -> None:
        """POST a JSON-RPC notification; the server accepts it with 202 (any 2xx is taken)."""
        with self._exchange("POST", message) as (response, deadline):
            if not 200 <= response.status < 300:
                raise self._status_error(response, deadline)

    def delete_session(self) -> None:
        """End the session on the server; a server that does not allow it (405) keeps it until it expires."""
        if self.session_id:
            with self._exchange("DELETE", None) as (response, deadline):
                if not (200 <= response.status < 300 or response.status in (404, 405)):
                    raise self._status_error(response, deadline)
            self.session_id = None

    def abort(self) -> None:
        """Cut the exchanges in flight short (from another greenlet): they end as McpError."""
        if self._pool is not None:
            self._pool.abort()

    def close(self) -> None:
        """Drop the connections."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _session_id(self, response: BaseHTTPResponse) -> str | None:
        value = response.headers.get("mcp-session-id")
        if value is not None and not SESSION_ID.match(value):
            raise McpError("protocol", f"MCP server {self.where} gave a session id that is not visible ASCII")
        return value

    def _exchange(self, method: str, message: dict[str, Any] | None) -> "_Exchange":
        deadline = time.monotonic() + self.timeout
        pool = self._open_pool()
        headers = {**self._headers, "Accept": "application/json, text/event-stream"}
        if message is not None:
            headers["Content-Type"] = "application/json"
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        body = json.dumps(message).encode() if message is not None else None
        try:
            response = pool.urlopen(
                method, self._path, body=body, headers=headers, retries=False, redirect=False,
                preload_content=False, timeout=self._remaining(deadline), assert_same_host=False,
            )
        except (HTTPError, OSError) as exc:
            raise self._network_error(exc) from None
        return _Exchange(response, deadline, self)

    def _open_pool(self) -> HTTPConnectionPool:
        if self._pool is None:
            try:
                host, port, addresses = netguard.check_url(self._url, self._allowed)
            except netguard.Blocked as exc:
                raise McpError("blocked", f"MCP server {self.where} refused: {self.clean(str(exc))}") from None
            pinned = tuple(str(ip) for ip in addresses)
            if self._url.lower().startswith("https:"):
                ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")  # else the system's
                self._pool = PinnedHTTPSPool(host, port, maxsize=POOL_SIZE, ca_certs=ca, addresses=pinned)
            else:
                self._pool = PinnedHTTPPool(host, port, maxsize=POOL_SIZE, addresses=pinned)
        return self._pool

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise McpError("timeout", f"MCP server {self.where} did not answer within {self.timeout:g} s")
        return remaining

    def _read(self, response: BaseHTTPResponse, deadline: float) -> Iterator[bytes]:
        """Yield the body as it arrives, within the deadline and the size cap."""
        total = 0
        while True:
            sock = getattr(response.connection, "sock", None)
            if sock is not None:
                sock.settimeout(self._remaining(deadline))
            try:
                chunk = response.read1(READ_SIZE)
            except (HTTPError, OSError) as exc:
                raise self._network_error(exc) from None
            if not chunk:
                return
            total += len(chunk)
            if total > MAX_ANSWER_BYTES:
                raise McpError("protocol", f"MCP server {self.where} sent an answer over {MAX_ANSWER_BYTES} bytes")
            yield chunk

    def _read_all(self, response: BaseHTTPResponse, deadline: float) -> bytes:
        return b"".join(self._read(response, deadline))

    def _events(self, response: BaseHTTPResponse, deadline: float) -> Iterator[Any]:
        """Yield the JSON of each SSE event's data as the events arrive."""
        buffer, data = b"", []
        for chunk in self._read(response, deadline):
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if line.startswith(b"data:"):
                    data.append(line[6:] if line[5:6] == b" " else line[5:])
                elif not line and data:
                    yield _json(b"\n".join(data), self.where)
                    data = []

    def _status_error(self, response: BaseHTTPResponse, deadline: float) -> McpError:
        try:
            body = next(self._read(response, deadline), b"")[:4096]
        except McpError:
            body = b""
        detail = _error_detail(body)
        if response.status in (401, 403):
            hint = "authorization required or refused: check the headers given for this server"
            return McpError("http", f"MCP server {self.where} answered HTTP {response.status} ({hint})", response.status)
        suffix = f": {self.clean(detail)}" if detail else ""
        return McpError("http", f"MCP server {self.where} answered HTTP {response.status}{suffix}", response.status)

    def _network_error(self, exc: HTTPError | OSError) -> McpError:
        if isinstance(exc, NewConnectionError):
            reason = "connection refused" if "refused" in str(exc).lower() else "unreachable"
            return McpError("connect", f"cannot connect to MCP server {self.where}: {reason}")
        if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError, TimeoutError)):
            return McpError("timeout", f"MCP server {self.where} did not answer within {self.timeout:g} s")
        return McpError("connect", f"the connection to MCP server {self.where} failed ({type(exc).__name__})")

    def clean(self, text: str) -> str:
        """Shorten a text from elsewhere and blank out any header value it echoes."""
        text = text.replace(self._url, self.where)[:ERROR_EXCERPT]
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


class _Exchange:
    """One HTTP exchange: the open answer and its deadline; leaving it releases or drops the connection."""

    def __init__(self, response: BaseHTTPResponse, deadline: float, transport: Transport):
        self.response, self.deadline, self.transport = response, deadline, transport

    def __enter__(self) -> tuple[BaseHTTPResponse, float]:
        return self.response, self.deadline

    def __exit__(self, exc_type, *_) -> None:
        streamed = (self.response.headers.get("content-type") or "").startswith("text/event-stream")
        if exc_type is None and not streamed:
            self.response.drain_conn()  # a whole JSON answer or an empty one: the connection is reused
        else:
            self.response.close()  # an event stream may stay open, a failure may be cut: drop the connection
        self.response.release_conn()


def _json(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise McpError("protocol", f"MCP server {where} sent a message that is not JSON") from None


def _matching(answer: Any, request_id: int) -> dict[str, Any] | None:
    """Return the response to `request_id` in a message or a batch, else None (a notification, say)."""
    for message in answer if isinstance(answer, list) else [answer]:
        if isinstance(message, dict) and message.get("id") == request_id and ("result" in message or "error" in message):
            return message
    return None


def _error_detail(body: bytes) -> str:
    """The message of a JSON-RPC error body, else the start of the body as text."""
    try:
        error = json.loads(body).get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
    except (ValueError, AttributeError):
        pass
    return body.decode("utf-8", "replace").strip()
