"""Leases: which worker is working on a store item, and until when.

An item under lease carries `lease_until_ms` and `lease_owner`. The holder renews the lease
every `renew_every` seconds while it works (a conditional write, so a holder that lost the item
notices); a lease that ran out means its worker died, and the sweeper of any worker settles the
item (a run is failed, an ingestion is queued again) within two lease periods. Runs and
vector-store ingestion use this one mechanism, with RUN_LEASE_SECONDS.
"""

from __future__ import annotations

import os
import socket
import time

from askservice.errors import ConflictError
from askservice.ids import new_id
from askservice.store.base import Item, Store
from askservice.store.conflicts import retry_on_conflict

RENEW_TRIES = 20
"""Tries of one renewal that loses races with other writers (a metadata update, a cancel)."""
FIELDS = ("lease_until_ms", "lease_owner")
"""The attributes of a lease, removed from an item when its work ends."""


def now_ms() -> int:
    """Return the current unix time in milliseconds."""
    return int(time.time() * 1000)


class Leases:
    """Grant and judge leases of `seconds` held by this process (`holder`: host, pid and a random tag)."""

    def __init__(self, seconds: float, holder: str | None = None):
        self.seconds = seconds
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{new_id('')[-6:]}"

    @property
    def renew_every(self) -> float:
        """Return how often a holder renews (a third of a lease: two renewals may fail before it lapses)."""
        return self.seconds / 3

    def grant(self) -> dict:
        """Return the attributes that give this process the lease for one period from now."""
        return {"lease_until_ms": now_ms() + int(self.seconds * 1000), "lease_owner": self.holder}

    @staticmethod
    def lapsed(item: dict) -> bool:
        """Tell whether the item's lease ran out (an item without a lease counts as lapsed)."""
        return (item.get("lease_until_ms") or 0) < now_ms()

    def renew(self, store: Store, key: tuple[str, str], working: str) -> Item | None:
        """Extend the lease of the item at `key` while its status is `working` (a conditional write).

        Return the item as it is now (None when it is gone): a holder that finds another status
        has lost the item, or was asked to stop."""

        def attempt(_: int) -> Item | None:
            item = store.get(*key)
            if item is None or item.get("status") != working:
                return item
            return store.update(item["pk"], item["sk"], set=self.grant(), expected_version=item["version"])

        return retry_on_conflict(attempt, RENEW_TRIES, lambda: ConflictError("The lease kept changing while renewed."))
