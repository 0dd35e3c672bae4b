"""Deleting in two steps, safe at every point of a crash: one conditional mark, then the removal of the parts.

The mark is one conditional write on the object's item: `deleted_at`, a lease (`engine.leases`),
and its owner-index entry moved from `<client>#<kind>` to the kind's deletion partition (keys.DELETING_FILES,
keys.DELETING_VECTOR_STORES), so that the object leaves its owner's lists and answers 404 at once. The
deleting request then removes the parts, the item last. If its worker dies midway, any worker's
sweep finds the item in that partition and removes the rest once the mark's lease lapsed
(within about two leases).
"""

from __future__ import annotations

import time
from typing import Callable

from askservice.services.engine.leases import Leases
from askservice.store.base import Store


def mark(leases: Leases, partition: str, object_id: str) -> dict:
    """Return the attributes that mark an object deleted (the object is listed in `partition` by its id)."""
    return {"deleted_at": int(time.time()), "gsi1pk": partition, "gsi1sk": object_id, **leases.grant()}


def sweep(store: Store, leases: Leases, partition: str, purge: Callable[[dict], None]) -> int:
    """Purge every item marked in `partition` whose mark's lease lapsed (its deleter died); return how many."""
    finished = 0
    for item in store.query_all(partition, index=True):
        if leases.lapsed(item):
            purge(item)
            finished += 1
    return finished
