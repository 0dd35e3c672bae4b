"""Server-Sent Events responses: each event leaves as soon as it is produced, nothing buffers it.

`response()` sets the headers that keep proxies from buffering (Caddy, nginx) and, under gevent,
watches the client's socket so that a client that goes away is noticed at once (`on_disconnect`)
rather than at the next write. `guarded()` turns a failure after the stream began into an error
event, then ends the stream properly; `relay()` frames an upstream's payloads.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Callable, Iterable, Iterator

from flask import Response, request

from askservice import metrics
from askservice.errors import ServiceError
from askservice.llm import ChatStream

log = logging.getLogger("askservice.sse")
DONE = b"data: [DONE]\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data: bytes | dict, name: str | None = None) -> bytes:
    """Format one event; `data` is a JSON object or an already-encoded payload."""
    payload = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return (b"event: " + name.encode() + b"\n" if name else b"") + b"data: " + payload + b"\n\n"


def frames(batches: Iterable[list[tuple[str, dict]]]) -> Iterator[bytes]:
    """Yield each batch of (name, data) events as one write of named events."""
    for batch in batches:
        yield b"".join(event(data, name) for name, data in batch)


def guarded(events: Iterable[bytes], *, error_name: str | None = None, done: bytes = DONE) -> Iterator[bytes]:
    """Yield `events`; a failure becomes an `{"error": ...}` event; always end with `done`."""
    try:
        yield from events
    except ServiceError as exc:
        yield event(exc.to_dict(), error_name)
    except Exception:
        log.exception("stream failed")
        yield event(ServiceError("The server had an error while streaming the response.").to_dict(), error_name)
    yield done


def relay(stream: ChatStream, payloads: Iterable[bytes]) -> Response:
    """Return the SSE response relaying an upstream stream's payloads (its `events()`, maybe
    filtered) as they come, then `[DONE]`; the upstream connection is closed however it ends,
    at once when the client leaves."""

    def framed() -> Iterator[bytes]:
        try:
            for payload in payloads:
                yield b"data: " + payload + b"\n\n"
        finally:
            stream.close()

    return response(guarded(framed()), on_disconnect=stream.close)


def response(events: Iterable[bytes], on_disconnect: Callable[[], None] | None = None) -> Response:
    """Return a `text/event-stream` response that sends each item of `events` as it comes."""
    watcher = _watch_client(request.environ, on_disconnect) if on_disconnect else None

    def generate() -> Iterator[bytes]:
        metrics.stream_opened()
        try:
            yield from events
        finally:
            metrics.stream_closed()
            if watcher is not None:
                watcher.kill(block=False)

    return Response(generate(), mimetype="text/event-stream", headers=HEADERS)


def _watch_client(environ: dict, on_disconnect: Callable[[], None]):
    """Under gunicorn's gevent worker, call `on_disconnect` when the client closes its socket."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return None
    import gevent
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        return None
    return gevent.spawn(_wait_for_close, sock, on_disconnect)


def _wait_for_close(sock, on_disconnect: Callable[[], None]) -> None:
    from gevent.socket import wait_read

    try:
        wait_read(sock.fileno())
        gone = sock.recv(1, socket.MSG_PEEK) == b""  # data instead: a pipelined request, not a close
    except OSError:
        gone = True
    if gone:
        on_disconnect()
