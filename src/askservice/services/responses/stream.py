"""The events of background responses, kept in the store so that any worker can replay and follow them.

`StoredEvents` is the Events sink of a background response: each event goes at once to the live
channel (if a client streams the create) and into a buffer that is written as one batch item
`resp#ID`/`seq#<first sequence number>` every FLUSH_SECONDS, or sooner when FLUSH_EVENTS wait:
a 1,000-delta answer costs tens of writes, not a thousand. Retention: the last MAX_KEPT_EVENTS
events of a response (older batches are deleted as new ones are written) and all of them go
with the response when it is deleted.

`follow()` reads the batches after a sequence number, then polls for new ones every
POLL_SECONDS until the response has ended and every event of it was read: from any worker or
machine, whether the worker that writes the events is alive or not.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterator

from askservice.errors import InvalidRequestError
from askservice.services.engine.events import Events
from askservice.services.keys import RESPONSE_EVENTS as EVENT
from askservice.store.base import Store

log = logging.getLogger("askservice.responses")
FLUSH_SECONDS = 0.2
FLUSH_EVENTS = 256
MAX_KEPT_EVENTS = 20_000
POLL_SECONDS = 0.1
READ_PAGE = 100
TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})
END_GRACE_SECONDS = 4 * FLUSH_SECONDS + 0.5
"""How long a follower waits for the last event of a response whose end is already written."""


def _sk(sequence: int) -> str:
    return f"{EVENT}{sequence:010d}"


class StoredEvents(Events):
    """Write a response's events to the store in batches, and pass them on to `live` as they come."""

    def __init__(self, store: Store, pk: str, live: Events | None = None):
        self.store = store
        self.pk = pk
        self.live = live or Events()
        self._buffer: list[dict] = []
        self._written: list[tuple[str, int]] = []  # (sk, events) of the batches kept
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._flusher = threading.Thread(target=self._flush_loop, name=f"events-{pk}", daemon=True)
        self._flusher.start()

    def emit(self, name: str, data: dict) -> None:
        with self._lock:
            self._buffer.append(data)
            full = len(self._buffer) >= FLUSH_EVENTS
        if full:
            self._wake.set()
        self.live.emit(name, data)

    def close(self) -> None:
        """Write what is left (before the stream's readers are told it ended), then close `live`."""
        self._closed = True
        self._wake.set()
        self._flusher.join()
        self.live.close()

    def _flush_loop(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self._flush()
            if self._closed:
                self._flush()
                return

    def _flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if not batch:
            return
        sk = _sk(batch[0]["sequence_number"])
        for attempt in range(3):
            try:
                self.store.put({"pk": self.pk, "sk": sk, "events": batch, "last": batch[-1]["sequence_number"]})
                break
            except Exception:  # a store hiccup: try again; a reader sees the gap filled later
                log.exception("%s: writing events failed (try %d)", self.pk, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        else:
            return  # not written: nothing to keep track of (the live stream had every event)
        self._written.append((sk, len(batch)))
        while sum(n for _, n in self._written) - self._written[0][1] >= MAX_KEPT_EVENTS:
            old, _ = self._written.pop(0)
            self.store.delete(self.pk, old)


def follow(store: Store, pk: str, starting_after: int | None, ended: Callable[[], bool]) -> Iterator[dict]:
    """Yield the stored events after `starting_after`, then new ones as they are written, until
    `ended()` says the response is over and nothing newer is stored.

    Raises InvalidRequestError (before yielding) when the events after the cursor are no longer kept."""
    wanted = 0 if starting_after is None else starting_after + 1
    first = store.query(pk, EVENT, limit=1)
    if wanted > 0 and first.items and first.items[0]["events"][0]["sequence_number"] > wanted:
        raise InvalidRequestError(
            f"Events up to {first.items[0]['events'][0]['sequence_number'] - 1} are no longer kept: "
            f"starting_after must be at least {first.items[0]['events'][0]['sequence_number'] - 1}.",
            param="starting_after", code="invalid_value",
        )
    return _follow(store, pk, wanted, ended)


def _follow(store: Store, pk: str, wanted: int, ended: Callable[[], bool]) -> Iterator[dict]:
    after, over_since = None, None
    while True:
        over = ended()
        page = store.query(pk, EVENT, after=after, limit=READ_PAGE)
        for batch in page.items:
            after = batch["sk"]
            for event in batch["events"]:
                if event["sequence_number"] >= wanted:
                    wanted = event["sequence_number"] + 1
                    yield event
                if event["type"] in TERMINAL:
                    return
        if page.has_more:
            continue
        if over:  # the end is written just before its last event: wait that long for it
            over_since = over_since or time.monotonic()
            if time.monotonic() - over_since > END_GRACE_SECONDS:
                return  # ended without a lifecycle event (cancelled), or its worker died
        time.sleep(POLL_SECONDS)
