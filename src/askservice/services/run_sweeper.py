"""Each worker's sweeper: a background greenlet that calls `sweep()` every third of a lease.

It starts lazily (the worker's first request) and holds only a weak reference to what it
sweeps, so that an app that is dropped (tests build many) takes its sweeper along.
"""

from __future__ import annotations

import logging
import random
import threading
import weakref
from typing import Protocol

log = logging.getLogger("askservice.runs")


class Sweepable(Protocol):
    settings: object

    def sweep(self) -> int:
        """End the runs whose lease or wait ran out."""


class Sweeper:
    """Start once, sweep periodically (jittered), stop on `close()` or when the target is gone."""

    def __init__(self, target: Sweepable):
        self._target = weakref.ref(target)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def ensure(self) -> None:
        """Start the sweeper unless it runs already (or was closed)."""
        if self._closed.is_set() or (self._thread is not None and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="run-sweeper", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop sweeping."""
        self._closed.set()

    def _run(self) -> None:
        while True:
            target = self._target()
            if target is None:
                return
            period = max(0.2, target.settings.run_lease_seconds / 3)
            del target  # hold no reference while asleep
            if self._closed.wait(period * random.uniform(0.8, 1.2)):
                return
            target = self._target()
            if target is None:
                return
            try:
                target.sweep()
            except Exception:  # keep sweeping: a store hiccup must not end the sweeper
                log.exception("run sweep failed")
            del target
