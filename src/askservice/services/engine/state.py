"""The conditional status change of a work item: the one way runs and responses move between states."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from askservice.store.base import ConditionFailed, Item, Operation, Store, Update
from askservice.store.conflicts import retry_on_conflict

T = TypeVar("T")
CHANGE_TRIES = 20
"""Tries of a status change that loses races with writers that leave the status alone (metadata, lease)."""


class StateChanged(Exception):
    """The item left the states a writer expected (cancelled, swept, finished elsewhere, deleted)."""

    def __init__(self, item: Item | None):
        super().__init__(item.get("status") if item else "deleted")
        self.item = item


def change(
    store: Store, item: Item, set: Item, remove: Iterable[str] = (), *, allowed: Iterable[str],
    also: Iterable[Operation] = (),
) -> Item:
    """Write `set`/`remove` on a work item (a run, a response) at its version, while its status is in `allowed`.

    `also`: writes that go in the same transaction (a step, a message), all or none. A
    concurrent writer (a metadata update, a lease renewal) only makes it re-read and retry; a
    status outside `allowed` (or a deleted item) raises StateChanged with the current item.
    """
    allowed, remove, also = frozenset(allowed), tuple(remove), list(also)

    def attempt(n: int) -> Item:
        current = item if n == 0 else store.get(item["pk"], item["sk"])
        if current is None or current.get("status") not in allowed:
            raise StateChanged(current)
        pk, sk, version = current["pk"], current["sk"], current["version"]
        if not also:
            return store.update(pk, sk, set=set, remove=remove, expected_version=version)
        store.transact([Update(pk, sk, set=set, remove=remove, expected_version=version), *also])
        written = {k: v for k, v in current.items() if k not in remove}
        written.update(set, version=current["version"] + 1)
        return written

    return retry_on_conflict(attempt, CHANGE_TRIES, lambda: StateChanged(store.get(item["pk"], item["sk"])))


def as_conflict(attempt: Callable[[int], T]) -> Callable[[int], T]:
    """Make a state change lost to a concurrent writer a conflict that `retry_on_conflict` retries."""

    def run(n: int) -> T:
        try:
            return attempt(n)
        except StateChanged as exc:
            raise ConditionFailed() from exc

    return run
