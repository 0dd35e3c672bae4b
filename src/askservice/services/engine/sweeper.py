"""Each worker's sweeper: a background greenlet that calls every registered sweep once a period.

It starts lazily (the worker's first request) and holds only weak references to the sweeps'
owners, so that services that are dropped (tests build many apps) take their sweeper along.
A sweep that fails is logged and tried again next period.
"""

from __future__ import annotations

import logging
import random
import threading
import weakref
from typing import Callable

log = logging.getLogger("askservice.sweeper")


class Sweeper:
    """Call `sweeps` (bound methods) every `period` seconds, jittered; stop on `close()` or when they are gone."""

    def __init__(self, period: float, sweeps: list[Callable[[], int]]):
        self.period = max(0.2, period)
        self._sweeps = [weakref.WeakMethod(sweep) for sweep in sweeps]
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def ensure(self) -> None:
        """Start the sweeper unless it runs already (or was closed)."""
        if self._closed.is_set() or (self._thread is not None and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop sweeping."""
        self._closed.set()

    def _run(self) -> None:
        while not self._closed.wait(self.period * random.uniform(0.8, 1.2)):
            alive = False
            for ref in self._sweeps:
                sweep = ref()
                if sweep is None:
                    continue
                alive = True
                try:
                    sweep()
                except Exception:  # keep sweeping: a store hiccup must not end the sweeper
                    log.exception("sweep %s failed", getattr(sweep, "__qualname__", sweep))
                del sweep  # hold no reference while asleep
            if not alive:
                return
