"""GET /responses upgraded to a WebSocket: OpenAI's Responses WebSocket mode (`client.responses.connect()`).

The client sends `response.create` events (the create body plus `type`, optionally `stream_id`;
`stream` is implicit, `background` refused); each response's events come back as JSON text
frames, the same events as the SSE stream. Creates on one lane (`stream_id`, or the connection's
default lane) run one at a time, first in first out, as the spec says; different lanes run side by
side, at most MAX_LANES at once (then `websocket_stream_limit_reached`). A bad event answers an
`error` event (`status`, OpenAI's error object, the lane's `stream_id`) and the connection stays
usable. The upgrade request passes the same hooks as any route: API key, request log, metrics.

Library: flask-sock 0.7 over simple-websocket 1.1 (wsproto underneath), both maintained by
Miguel Grinberg. The route is an ordinary Flask view: under gunicorn's gevent worker it takes
over `gunicorn.socket`, so no second server, port or worker class is needed (gevent-websocket
is unmaintained; Flask-SocketIO speaks Socket.IO, not plain WebSocket frames).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import deque

from flask import Blueprint, current_app
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from askservice.errors import InvalidRequestError, ServiceError
from askservice.services.engine.events import Channel
from askservice.services.responses.connection import ConnectionResponses
from askservice.web.context import client_id, services
from askservice.web.jsonbody import loads
from askservice.web.schemas.responses import CreateResponse
from askservice.web.validation import parse

log = logging.getLogger("askservice.responses_ws")
bp = Blueprint("responses_ws", __name__)
sock = Sock()

MAX_LANES = 16
"""Lanes with work (running or queued) one connection may have at once."""
MAX_PENDING = 64
"""Creates one connection may have waiting on all its lanes."""
PING_SECONDS = 25
"""Pings keep idle connections open through proxies (Caddy, load balancers)."""
STREAM_ID = re.compile(r"[A-Za-z0-9_.-]{1,256}")


@bp.record_once
def _options(state) -> None:
    state.app.config.setdefault("SOCK_SERVER_OPTIONS", {"ping_interval": PING_SECONDS})


@sock.route("/responses", bp=bp)
def responses_socket(ws) -> None:
    """Serve one connection until the client closes it."""
    ws.max_message_size = current_app.config["MAX_CONTENT_LENGTH"]
    ws.sock = _SendAll(ws.sock)
    Session(ws, ConnectionResponses(services().responses, client_id())).serve()


class _SendAll:
    """The socket with `send` as `sendall` (simple-websocket calls `send`, which may write a part)."""

    def __init__(self, sock):
        self._sock = sock

    def send(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Session:
    """One connection: its lanes of queued creates, and one writer at a time on the socket."""

    def __init__(self, ws, responses: ConnectionResponses):
        self.ws = ws
        self.responses = responses
        self.lanes: dict[str | None, deque] = {}
        self.channels: set[Channel] = set()
        self.write = threading.Lock()
        self.closed = False

    def serve(self) -> None:
        try:
            while True:
                self.take(self.ws.receive())
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for channel in list(self.channels):
                channel.detach()  # the responses carry on, as an SSE stream's do when its client leaves

    def take(self, message: str | bytes) -> None:
        """Check one client event and queue it on its lane, or answer an error event."""
        stream_id = None
        try:
            event = loads(message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message)
            if not isinstance(event, dict):
                raise InvalidRequestError("The event must be a JSON object.", code="invalid_json")
            stream_id = event.get("stream_id")
            _check_event(event)
            params = parse(CreateResponse, event).params()
            lane = self.lanes.get(stream_id)
            if lane is None and len(self.lanes) >= MAX_LANES:
                raise InvalidRequestError("This WebSocket connection has reached its stream limit.",
                                          param="stream_id", code="websocket_stream_limit_reached")
            if sum(len(q) for q in self.lanes.values()) >= MAX_PENDING:
                raise InvalidRequestError(f"This WebSocket connection has {MAX_PENDING} responses waiting: "
                                          "wait for some to end.", param="type", code="websocket_queue_full")
        except ServiceError as exc:
            self.error(exc, stream_id if isinstance(stream_id, str) and STREAM_ID.fullmatch(stream_id) else None)
            return
        if lane is None:
            lane = self.lanes[stream_id] = deque([params])
            threading.Thread(target=self._lane, args=(stream_id, lane), daemon=True).start()
        else:
            lane.append(params)

    def _lane(self, stream_id: str | None, lane: deque) -> None:
        """Run a lane's creates one after the other; the lane goes when it is empty."""
        try:
            while lane and not self.closed:
                self._run(stream_id, lane[0])
                lane.popleft()
        finally:
            self.lanes.pop(stream_id, None)

    def _run(self, stream_id: str | None, params: dict) -> None:
        channel = Channel()
        try:
            self.responses.stream(params, channel)
        except ServiceError as exc:
            self.error(exc, stream_id)
            return
        except Exception:
            log.exception("response.create failed on a WebSocket")
            self.error(ServiceError("The server had an error while processing your request."), stream_id)
            return
        self.channels.add(channel)
        try:
            for batch in channel.batches():
                for _, data in batch:
                    self.send(data if stream_id is None else {**data, "stream_id": stream_id})
        except ConnectionClosed:
            channel.detach()
        finally:
            self.channels.discard(channel)

    def error(self, exc: ServiceError, stream_id: str | None) -> None:
        """Send the spec's `error` event (ResponseWsError) for a refused client event."""
        event = {"type": "error", "status": exc.status_code, **exc.to_dict()}
        try:
            self.send(event if stream_id is None else {**event, "stream_id": stream_id})
        except ConnectionClosed:
            pass

    def send(self, event: dict) -> None:
        with self.write:
            self.ws.send(json.dumps(event, separators=(",", ":")))


def _check_event(event: dict) -> None:
    if event.get("type") != "response.create":
        raise InvalidRequestError(f"Invalid 'type': {json.dumps(event.get('type'))}. The supported client event "
                                  "is 'response.create'.", param="type", code="invalid_value")
    stream_id = event.get("stream_id")
    if stream_id is not None and not (isinstance(stream_id, str) and STREAM_ID.fullmatch(stream_id)):
        raise InvalidRequestError("Invalid 'stream_id': 1 to 256 characters of A-Z, a-z, 0-9, '_', '.' or '-'.",
                                  param="stream_id", code="invalid_value")
    if event.get("background"):
        raise InvalidRequestError("background is not supported over WebSocket: use POST /v1/responses.",
                                  param="background", code="unsupported_parameter")
