"""Cancelling a run: at once when nobody works on it, through `cancelling` when an executor does.

`queued` and `requires_action` runs become `cancelled` at once (open steps closed, a message
being written marked incomplete). An `in_progress` run becomes `cancelling` (a conditional
write): an executor on this worker is woken; on another worker its lease watcher sees it within
a watch interval. Either way the executor closes the upstream and ends the run `cancelled`.
"""

from __future__ import annotations

from askservice import metrics
from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services.crud import not_found
from askservice.services.engine.executor import CANCELLING, WORKING, Executors
from askservice.services.engine.state import as_conflict, change
from askservice.services.runs.records import run_object
from askservice.services.runs.settle import Settler
from askservice.store.base import Item, Store
from askservice.store.conflicts import retry_on_conflict

CANCEL_TRIES = 20
"""Tries of a cancel whose run changed state meanwhile (started, finished, asked for tool outputs)."""
WAITING = frozenset({"queued", "requires_action"})
"""The states in which no executor works on a run: a cancel ends it at once."""


class Canceller:
    """Cancel runs (and wake this worker's executor of a cancelled run)."""

    def __init__(self, store: Store, settler: Settler, executors: Executors) -> None:
        self.store = store
        self.settler = settler
        self.executors = executors

    def cancel(self, item: Item) -> dict:
        """Cancel the run `item` (as just read and settled); return its run object."""

        def attempt(n: int) -> dict:
            current = item if n == 0 else self.settler.settle(self.store.get(item["pk"], item["sk"]))
            if current is None:
                raise self._missing(item)
            return run_object(self._cancel(current))

        # a run that moved on meanwhile is looked at again where it is now
        return retry_on_conflict(as_conflict(attempt), CANCEL_TRIES, lambda: self._missing(item))

    def _cancel(self, item: Item) -> Item:
        status = item["status"]
        if status in WAITING:
            return self.settler.end(item, "cancelled", WAITING)
        if status == WORKING:
            item = change(self.store, item, {"status": CANCELLING}, allowed={WORKING})
            metrics.run_status(CANCELLING)
            self.executors.wake(item["id"])
            return item
        if status != CANCELLING:
            raise InvalidRequestError(f"Cannot cancel run with status '{status}'.", param="run_id")
        return item

    @staticmethod
    def _missing(item: Item) -> NotFoundError:
        return not_found("run", item["id"], "run_id")
