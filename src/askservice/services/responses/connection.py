"""One WebSocket connection's view of the Responses service: `store: false` responses it created
stay continuable by `previous_response_id` on that connection only, for its life.

OpenAI keeps the latest unstored responses of a WebSocket connection in memory so that a client
may chain them without storing anything; so does this view (the last KEEP of them, a plain LRU;
an older one is then a 404 like any unknown id). Nothing of them reaches the store, another
connection, or HTTP. Stored responses resolve through the service as they always do.

The hook: `Responses._prepare` asks `self._earlier(owner, previous_id)` for the items a
continuation starts from. This view is a shallow copy of the service (the same store, upstream,
leases and executors) whose `_earlier` looks in the connection's memory first. When the lead adds
a public `earlier` hook to `Responses.stream`, `stream` here becomes a plain call.
"""

from __future__ import annotations

import copy
from collections import OrderedDict

from askservice.errors import InvalidRequestError
from askservice.services.engine.events import Events
from askservice.services.responses.items import stored_input
from askservice.services.responses.service import Responses

KEEP = 64
"""Unstored responses a connection remembers (the oldest is forgotten first)."""
ENDS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ConnectionResponses:
    """Start responses for one connection; remember its `store: false` ones for continuations."""

    def __init__(self, responses: Responses, owner: str):
        self.owner = owner
        self.unstored: OrderedDict[str, list[dict]] = OrderedDict()
        self.running: set[str] = set()
        self._read: tuple[str | None, list[dict]] | None = None
        self._view = copy.copy(responses)
        self._view._earlier = self._earlier  # type: ignore[method-assign]
        self._service_earlier = responses._earlier

    def stream(self, params: dict, events: Events) -> None:
        """Start a response whose events go to `events` (Responses.stream, continuing this
        connection's unstored responses too); errors in the request raise before it starts."""
        if not params["store"]:
            previous_id = params.get("previous_response_id")
            earlier = self._earlier(self.owner, previous_id)
            events = _Remember(events, self, [*earlier, *stored_input(params["input"], earlier)])
            self._read = (previous_id, earlier)  # read once: _prepare asks again
        try:
            self._view._prepare(self.owner, params, events).start()
        finally:
            self._read = None

    def _earlier(self, owner: str, previous_id: str | None) -> list[dict]:
        if previous_id in self.running:
            raise InvalidRequestError(f"Previous response '{previous_id}' is still in_progress: wait for it to end.",
                                      param="previous_response_id", code="invalid_value")
        if self._read is not None and self._read[0] == previous_id:
            return self._read[1]
        if previous_id is not None and previous_id in self.unstored:
            self.unstored.move_to_end(previous_id)
            return list(self.unstored[previous_id])
        return self._service_earlier(owner, previous_id)

    def remember(self, response: dict, items: list[dict]) -> None:
        """Keep an ended unstored response's chain (its earlier items, input and output)."""
        self.running.discard(response["id"])
        self.unstored[response["id"]] = [*items, *response["output"]]
        while len(self.unstored) > KEEP:
            self.unstored.popitem(last=False)


class _Remember(Events):
    """Pass events on; at an unstored response's end, remember its chain on the connection."""

    def __init__(self, events: Events, connection: ConnectionResponses, items: list[dict]):
        self.events, self.connection, self.items = events, connection, items
        self.response_id: str | None = None

    def emit(self, name: str, data: dict) -> None:
        response = data.get("response")
        if name == "response.created" and response:
            self.response_id = response["id"]
            self.connection.running.add(self.response_id)
        elif name in ENDS and response:
            self.connection.remember(response, self.items)
        self.events.emit(name, data)

    def close(self) -> None:
        self.connection.running.discard(self.response_id)
        self.events.close()
