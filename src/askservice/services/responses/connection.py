"""One WebSocket connection's view of the Responses service: `store: false` responses it created
stay continuable by `previous_response_id` on that connection only, for its life.

OpenAI keeps the latest unstored responses of a WebSocket connection in memory so that a client
may chain them without storing anything; so does this view (the last KEEP of them, a plain LRU;
an older one is then a 404 like any unknown id). Nothing of them reaches the store, another
connection, or HTTP. Stored responses resolve through the service as they always do. A create
that continues a remembered response hands the service the items it continues (`earlier`), and
its input items with their ids already given, so the chain remembered is the one it used.
"""

from __future__ import annotations

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
        self.responses = responses
        self.owner = owner
        self.unstored: OrderedDict[str, list[dict]] = OrderedDict()
        self.running: set[str] = set()

    def stream(self, params: dict, events: Events) -> None:
        """Start a response whose events go to `events` (Responses.stream, continuing this
        connection's unstored responses too); errors in the request raise before it starts."""
        previous_id = params.get("previous_response_id")
        if previous_id in self.running:
            raise InvalidRequestError(f"Previous response '{previous_id}' is still in_progress: wait for it to end.",
                                      param="previous_response_id", code="invalid_value")
        earlier = None
        if previous_id is not None and previous_id in self.unstored:
            self.unstored.move_to_end(previous_id)
            earlier = list(self.unstored[previous_id])
        if not params["store"]:
            if earlier is None:
                earlier = self.responses.continued(self.owner, previous_id)
            params = {**params, "input": stored_input(params["input"], earlier)}  # ids given once, here
            events = _Remember(events, self, [*earlier, *params["input"]])
        self.responses.stream(self.owner, params, events, earlier)

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
