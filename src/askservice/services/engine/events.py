"""Where work announces its events: nowhere (work in the background) or a channel a stream reads.

A recorder calls `emit(name, data)` after each change is persisted; a streaming request reads
the channel until the work's end closes it. A reader that goes away detaches, and the work
carries on with nobody listening: a run is not lost with its client.
"""

from __future__ import annotations

import queue
from typing import Iterator

_END = object()


class Events:
    """Drop every event: the sink of a run nobody streams."""

    def emit(self, name: str, data: dict) -> None:
        """Announce one event (after what it tells is persisted)."""

    def close(self) -> None:
        """Say that no more events will come."""


class Channel(Events):
    """A queue of (name, data) events between the work and one streaming response."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._detached = False

    def emit(self, name: str, data: dict) -> None:
        if not self._detached:
            self._queue.put((name, data))

    def close(self) -> None:
        self._queue.put(_END)

    def detach(self) -> None:
        """Stop queueing: the reader went away."""
        self._detached = True

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[tuple[str, dict]]]:
        """Yield the events queued so far together, waiting for at least one: a burst leaves in one write."""
        while True:
            item = self._queue.get()
            if item is _END:
                return
            batch = [item]
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _END:
                    yield batch
                    return
                batch.append(item)
            yield batch
