"""Settling runs nobody works on: a lease that ran out, a wait that expired, a cancel of a waiting run.

A run that should be working holds a lease (`lease_until_ms`); reading it (`settle`) or the
periodic sweep fails it with `server_error` once the lease ran out (its worker died), and a run
waiting in `requires_action` past `expires_at` becomes `expired`. Ending such a run also ends its
open steps and marks the message they were writing incomplete.
"""

from __future__ import annotations

import time
from typing import Iterable

from askservice import metrics
from askservice.services import keys
from askservice.services.engine.leases import Leases
from askservice.services.engine.state import StateChanged, change
from askservice.services.runs.records import ACTIVE, LEASED, finish_fields
from askservice.services.runs.steps import Steps
from askservice.store.base import Item, Store

LOST_WORKER = {"code": "server_error", "message": "The run stopped: the worker executing it went away."}


class Settler:
    """End the runs whose lease or wait ran out, and runs that end without an executor."""

    def __init__(self, store: Store, leases: Leases, steps: Steps) -> None:
        self.store = store
        self.leases = leases
        self.steps = steps

    def settle(self, item: Item | None) -> Item | None:
        """Fail a run whose lease ran out, expire one that waited too long; return it as it is now."""
        if item is None:
            return None
        status = item.get("status")
        try:
            if status in LEASED and self.leases.lapsed(item):
                return self.end(item, "failed", LEASED, last_error=LOST_WORKER)
            if status == "requires_action" and (item.get("expires_at") or 0) < time.time():
                return self.end(item, "expired", {"requires_action"})
        except StateChanged as exc:
            return exc.item
        return item

    def active_run(self, thread: Item) -> Item | None:
        """Return the thread's active run item (settled first), or None."""
        run_id = thread.get("active_run")
        if not run_id:
            return None
        run = self.settle(self.store.get(*keys.run(thread["id"], run_id)))
        return run if run is not None and run["status"] in ACTIVE else None

    def end(self, item: Item, status: str, allowed: Iterable[str], **extra) -> Item:
        """End a run that no executor works on (from one of `allowed`), closing its open steps."""
        fields, remove = finish_fields(status)
        fields.update(extra)
        item = change(self.store, item, fields, remove, allowed=allowed)
        metrics.run_status(status)
        self.steps.end_open(self.steps.load(item["id"]), status, extra.get("last_error"), f"run_{status}")
        return item

    def sweep(self) -> int:
        """End every active run whose lease or wait ran out; return how many were ended."""
        ended = 0
        for item in self.store.query_all(keys.ACTIVE_RUNS, index=True):
            fresh = self.settle(item)
            ended += fresh is not None and fresh.get("status") != item.get("status")
        return ended
