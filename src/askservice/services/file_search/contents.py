"""A vector store's contents: its file items, their memberships, and the store's counters, changed together.

    vs#ID         meta            the store: `file_counts`, `usage_bytes`, and `generation`, bumped
                                  whenever the searchable set of chunks changes
    vs#ID         file#FILE_ID    a vector-store file (`chunks_blob`: its packed chunks and vectors)
    file#FILE_ID  vs#ID           membership, so that deleting a file reaches every store holding it

Every change of a file's presence, status or attributes is one transaction with an Update of the
store item conditional on its version (retried on conflict), so counts never drift from the
files' states, and nothing changes in a store that is gone or marked deleted (`deleted_at`, see
`vector_stores`): that answers NotFoundError.
"""

from __future__ import annotations

from typing import Callable

from askservice.blobs.base import BlobStore
from askservice.errors import ConflictError, NotFoundError
from askservice.services import keys
from askservice.services.engine.leases import FIELDS as LEASE_FIELDS
from askservice.store.base import Delete, Operation, Store, Update
from askservice.store.conflicts import retry_on_conflict

CHANGE_TRIES = 60
"""Tries of one change of a store's contents: many files of one store finishing at once all update its item."""
INGESTION_FIELDS = ("gsi1pk", "gsi1sk", *LEASE_FIELDS, "lease_until")
"""What a file carries only while it is ingested (see `ingestion`), removed when it leaves `in_progress`."""


def gone(meta: dict | None) -> bool:
    """Tell whether a store item is missing or marked deleted."""
    return meta is None or bool(meta.get("deleted_at"))


def missing_store(vs_id: str) -> NotFoundError:
    """Return the 404 of a vector store that is not (or no longer) there."""
    return NotFoundError(f"No such vector store: '{vs_id}'", param="vector_store_id")


def busy_store() -> ConflictError:
    """Return the 409 of a write to a store item that kept losing its races."""
    return ConflictError("The vector store is busy; try again.")


class Contents:
    """Counted changes of vector-store files, and their removal when a store or a file goes away."""

    def __init__(self, store: Store, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

    def item(self, vs_id: str, file_id: str) -> dict | None:
        """Return a vector-store file item, or None."""
        return self.store.get(*keys.vector_store_file(vs_id, file_id))

    def change(self, vs_id: str, build: Callable[[dict], list[Operation] | None]) -> bool:
        """Apply `build(store item)` -> operations in one transaction, re-read and retried on conflict.

        Return False if `build` found nothing to do (None); NotFoundError if the store is gone or
        marked deleted; ConflictError after CHANGE_TRIES lost races."""

        def attempt(_: int) -> bool:
            meta = self.store.get(*keys.vector_store(vs_id))
            if gone(meta):
                raise missing_store(vs_id)
            ops = build(meta)
            if ops is None:
                return False
            self.store.transact(ops)
            return True

        return retry_on_conflict(attempt, CHANGE_TRIES, busy_store)

    def counts(self, meta: dict, delta: dict[str, int], usage: int = 0, changed: bool = False) -> Update:
        """Return the store item's update for files moving by `delta` (and `generation` + 1 if search `changed`)."""
        counts = dict(meta["file_counts"])
        for key, value in delta.items():
            counts[key] += value
        set_ = {"file_counts": counts, "usage_bytes": max(meta["usage_bytes"] + usage, 0)}
        if changed:
            set_["generation"] = meta["generation"] + 1
        return Update(meta["pk"], meta["sk"], set=set_, expected_version=meta["version"])

    def finish(self, vs_id: str, file_id: str, status: str, fields: dict) -> bool:
        """Move an `in_progress` file to `status` with `fields` (its ingestion lease and index entry go);
        False if it, or its store, is gone, or it is no longer in progress."""

        def build(meta: dict) -> list[Operation] | None:
            current = self.item(vs_id, file_id)
            if current is None or current["status"] != "in_progress":
                return None
            return [
                Update(current["pk"], current["sk"], set={"status": status, **fields}, remove=INGESTION_FIELDS,
                       expected_version=current["version"]),
                self.counts(meta, {"in_progress": -1, status: 1}, usage=fields.get("usage_bytes", 0),
                            changed=status == "completed"),
            ]

        try:
            return self.change(vs_id, build)
        except NotFoundError:
            return False

    def remove(self, vs_id: str, file_id: str) -> bool:
        """Take a file out of a live store (counted; its chunks leave search at once); False if it was not there."""
        removed: list[dict] = []

        def build(meta: dict) -> list[Operation] | None:
            removed.clear()
            current = self.item(vs_id, file_id)
            if current is None:
                return None
            removed.append(current)
            return [
                Delete(current["pk"], current["sk"], expected_version=current["version"]),
                Delete(*keys.membership(file_id, vs_id)),
                self.counts(meta, {current["status"]: -1, "total": -1}, usage=-current.get("usage_bytes", 0),
                            changed=current["status"] == "completed"),
            ]

        done = self.change(vs_id, build)
        for item in removed if done else ():
            self.drop_chunks(item)
        return done

    def purge(self, item: dict) -> None:
        """Delete a file of a store that is gone or being deleted (no counts to keep).

        Membership first, chunks next, the item last: a crash leaves the item, so the next purge finds the rest."""
        self.store.delete(*keys.membership(item["id"], item["vector_store_id"]))
        self.drop_chunks(item)
        self.store.delete(item["pk"], item["sk"])

    def leave_all(self, file_id: str) -> None:
        """Take a file out of every store that holds it (the file is being deleted)."""
        for member in self.store.query_all(keys.file_pk(file_id), keys.VECTOR_STORE):
            vs_id = member["sk"][len(keys.VECTOR_STORE):]
            try:
                if self.remove(vs_id, file_id):
                    continue
            except NotFoundError:  # the store is gone or being deleted
                pass
            item = self.item(vs_id, file_id)
            if item is not None:
                self.purge(item)
            self.store.delete(member["pk"], member["sk"])

    def drop_chunks(self, item: dict) -> None:
        """Delete the chunks blob of a vector-store file, if it has one."""
        if item.get("chunks_blob"):
            self.blobs.delete(item["chunks_blob"])
