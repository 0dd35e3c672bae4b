"""Vector stores and their files, kept in the `vs#ID` partition of the store.

    vs#ID   meta            the store: name, metadata, expiry, file_counts, usage_bytes, and
                            `generation`, bumped whenever the searchable set of chunks changes
    vs#ID   file#FILE_ID    a vector-store file: status, last_error, chunking, attributes, and
                            `chunks_blob`, the blob of its packed chunks and vectors
    vs#ID   batch#ID        a file batch (its files carry `batch_id`; see `file_batches`)
    file#FILE_ID  vs#ID     membership, so that deleting a file reaches every store holding it

A file's status and the store's counters change together in one transaction conditional on
the meta item's version (retried on conflict), so counts never drift from the files' states.
Ingestion runs in the background (`ingestion.Ingestor`); search goes through `retrieval`.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

from askservice import ids
from askservice.blobs.base import BlobStore
from askservice.errors import ConflictError, InvalidRequestError, NotFoundError
from askservice.services.chunking import AUTO
from askservice.services.files import FilesService
from askservice.services.packing import unpack
from askservice.store.base import ABSENT, ConditionFailed, Delete, Operation, Page, Put, Store, Update

DAY = 86400
ACTIVE_EVERY = 60  # seconds between last_active_at writes caused by searches
TRIES = 60
LEASE = 300  # seconds an ingesting worker holds a file before another may take it over
RECLAIM_EVERY = 30


def vs_pk(vs_id: str) -> str:
    """Return the partition key of a vector store."""
    return f"vs#{vs_id}"


def empty_counts() -> dict[str, int]:
    """Return file_counts with every status at zero."""
    return {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}


def expires_at(meta: dict) -> int | None:
    """Return when a store expires: `expires_after.days` after its last activity (None: never)."""
    after = meta.get("expires_after")
    return meta["last_active_at"] + after["days"] * DAY if after else None


def is_expired(meta: dict) -> bool:
    """Tell whether a store has expired: it can no longer be searched or take files."""
    at = expires_at(meta)
    return at is not None and time.time() >= at


def static_strategy(strategy: dict | None) -> dict:
    """Return the stored (always static) form of a requested chunking strategy."""
    if not strategy or strategy.get("type") == "auto":
        return {"type": "static", "static": dict(AUTO)}
    return {"type": "static", "static": dict(strategy["static"])}


class VectorStoresService:
    """Vector stores of a client and their files."""

    def __init__(self, store: Store, blobs: BlobStore, files: FilesService) -> None:
        self.store = store
        self.blobs = blobs
        self.files = files
        self.schedule: Callable[[str, str], None] = lambda vs_id, file_id: None
        self._reclaimed: dict[str, float] = {}
        files.on_delete.append(self.remove_file_everywhere)

    # vector stores

    def create(self, owner: str, name: str | None, file_ids: list[str], chunking_strategy: dict | None,
               expires_after: dict | None, metadata: dict | None) -> dict:
        """Create a store, then add `file_ids` to it (each is ingested in the background)."""
        for file_id in file_ids:
            self.files.get(owner, file_id)
        vs_id = ids.new_id("vs_")
        now = int(time.time())
        item = {
            "pk": vs_pk(vs_id), "sk": "meta", "gsi1pk": f"{owner}#vector_store", "gsi1sk": vs_id,
            "id": vs_id, "owner": owner, "name": name or "", "created_at": now, "last_active_at": now,
            "metadata": metadata or {}, "file_counts": empty_counts(), "usage_bytes": 0, "generation": 0,
        }
        if expires_after:
            item["expires_after"] = expires_after
        self.store.put(item, condition=ABSENT)
        for file_id in dict.fromkeys(file_ids):
            self.add_file(owner, vs_id, file_id, chunking_strategy, None)
        return self.to_object(self.meta(owner, vs_id))

    def meta(self, owner: str, vs_id: str) -> dict:
        """Return the client's vector store item, or raise NotFoundError."""
        item = self.store.get(vs_pk(vs_id), "meta") if ids.is_valid(vs_id, "vs_") else None
        if item is None or item["owner"] != owner:
            raise NotFoundError(f"No such vector store: '{vs_id}'", param="vector_store_id")
        return item

    def usable(self, owner: str, vs_id: str) -> dict:
        """Return the client's vector store item, or raise NotFoundError, or InvalidRequestError if it expired."""
        meta = self.meta(owner, vs_id)
        if is_expired(meta):
            raise InvalidRequestError(
                f"Vector store '{vs_id}' has expired: it can no longer be searched or have files added.",
                param="vector_store_id")
        return meta

    def owned(self, owner: str, vs_id: str, usable: bool = False) -> dict:
        """TEMPORARY shim of branch r-crud (the lead drops it for the vector-stores engineer's `owned`):
        `usable(...)` when `usable`, else `meta(...)`."""
        return self.usable(owner, vs_id) if usable else self.meta(owner, vs_id)

    def get(self, owner: str, vs_id: str) -> dict:
        """Return the spec's VectorStoreObject (and requeue files a dead worker left in progress)."""
        meta = self.meta(owner, vs_id)
        if meta["file_counts"]["in_progress"]:
            self.reclaim(vs_id)
        return self.to_object(meta)

    def list(self, owner: str, limit: int, order: str, after: str | None, before: str | None) -> Page:
        """Return a page of the client's vector store items."""
        return self.store.query_index(f"{owner}#vector_store", after=after, before=before, limit=limit, order=order)

    def modify(self, owner: str, vs_id: str, changes: dict[str, Any]) -> dict:
        """Change name, metadata and expires_after (None removes the expiry); return the object."""
        meta = self.meta(owner, vs_id)
        set_ = {k: v for k, v in changes.items() if v is not None and k in ("name", "metadata", "expires_after")}
        remove = ["expires_after"] if "expires_after" in changes and changes["expires_after"] is None else []
        set_["last_active_at"] = int(time.time())
        return self.to_object(self.store.update(meta["pk"], "meta", set=set_, remove=remove))

    def delete(self, owner: str, vs_id: str) -> dict:
        """Delete the store, its files' chunks and its batches."""
        meta = self.meta(owner, vs_id)
        files = self.query_all(vs_pk(vs_id), "file#")
        self.store.delete(meta["pk"], "meta")
        for item in files:
            self.store.delete(f"file#{item['id']}", f"vs#{vs_id}")
            self._drop_chunks(item)
        self.store.delete_all(vs_pk(vs_id))
        return {"id": vs_id, "object": "vector_store.deleted", "deleted": True}

    def touch(self, meta: dict) -> None:
        """Record activity (a search) at most once a minute; the expiry counts from it."""
        now = int(time.time())
        if now - meta.get("last_active_at", 0) >= ACTIVE_EVERY:
            try:
                self.store.update(meta["pk"], "meta", set={"last_active_at": now})
            except ConditionFailed:  # deleted meanwhile
                pass

    def to_object(self, meta: dict) -> dict:
        """Return the spec's VectorStoreObject for a meta item."""
        counts = meta["file_counts"]
        expires_after = meta.get("expires_after")
        if is_expired(meta):
            status = "expired"
        else:
            status = "in_progress" if counts["in_progress"] else "completed"
        obj = {
            "id": meta["id"], "object": "vector_store", "created_at": meta["created_at"], "name": meta["name"],
            "usage_bytes": meta["usage_bytes"], "file_counts": dict(counts), "status": status,
            "expires_at": expires_at(meta), "last_active_at": meta["last_active_at"], "metadata": meta["metadata"],
        }
        if expires_after:
            obj["expires_after"] = expires_after
        return obj

    # vector-store files

    def add_file(self, owner: str, vs_id: str, file_id: str, chunking_strategy: dict | None,
                 attributes: dict | None, batch_id: str | None = None) -> dict:
        """Add a file to the store (`in_progress`) and schedule its ingestion; an added file is returned as is.

        An expired store takes no files (InvalidRequestError)."""
        self.usable(owner, vs_id)
        source = self.files.get(owner, file_id)
        item = {
            "pk": vs_pk(vs_id), "sk": f"file#{file_id}", "id": file_id, "vector_store_id": vs_id,
            "filename": source["filename"],
            "created_at": int(time.time()), "status": "in_progress", "last_error": None,
            "chunking_strategy": static_strategy(chunking_strategy), "attributes": attributes or {},
            "usage_bytes": 0,
        }
        if batch_id:
            item["batch_id"] = batch_id
        membership = {"pk": f"file#{file_id}", "sk": f"vs#{vs_id}", "owner": owner}

        def build(meta: dict, current: dict | None) -> list[Operation] | None:
            if current is not None:
                return None
            return [Put(item, ABSENT), Put(membership), self._counts(meta, {"in_progress": 1, "total": 1})]

        if self._apply(vs_id, file_id, build):
            self.schedule(vs_id, file_id)
        return self.get_file(owner, vs_id, file_id)

    def file_item(self, owner: str, vs_id: str, file_id: str) -> dict:
        """Return the vector-store file item, or raise NotFoundError."""
        self.meta(owner, vs_id)
        item = self.store.get(vs_pk(vs_id), f"file#{file_id}")
        if item is None:
            raise NotFoundError(f"No file found with id '{file_id}' in vector store '{vs_id}'.", param="file_id")
        return item

    def get_file(self, owner: str, vs_id: str, file_id: str) -> dict:
        """Return the spec's VectorStoreFileObject."""
        return file_object(self.file_item(owner, vs_id, file_id))

    def file_texts(self, owner: str, vs_id: str, file_id: str) -> list[str]:
        """Return the parsed text of a vector-store file, chunk by chunk (empty until it completes)."""
        item = self.file_item(owner, vs_id, file_id)
        return unpack(self.blobs.read(item["chunks_blob"]))[0] if item.get("chunks_blob") else []

    def list_files(self, owner: str, vs_id: str, limit: int, order: str, after: str | None, before: str | None,
                   status: str | None, batch_id: str | None = None) -> Page:
        """Return a page of the store's file items, optionally of one status or batch."""
        self.meta(owner, vs_id)
        where = {k: v for k, v in (("status", status), ("batch_id", batch_id)) if v}
        page = self.store.query(vs_pk(vs_id), "file#", after=_sk(after), before=_sk(before), limit=limit,
                                order=order, where=where or None)
        return page

    def update_attributes(self, owner: str, vs_id: str, file_id: str, attributes: dict | None) -> dict:
        """Replace a file's attributes (search filters see them at once)."""
        self.file_item(owner, vs_id, file_id)

        def build(meta: dict, current: dict | None) -> list[Operation] | None:
            if current is None:
                raise NotFoundError(f"No file found with id '{file_id}' in vector store '{vs_id}'.", param="file_id")
            return [Update(current["pk"], current["sk"], set={"attributes": attributes or {}},
                           expected_version=current["version"]), self._counts(meta, {}, changed=True)]

        self._apply(vs_id, file_id, build)
        return self.get_file(owner, vs_id, file_id)

    def remove_file(self, owner: str, vs_id: str, file_id: str) -> dict:
        """Remove a file from the store (the file itself stays); its chunks leave search at once."""
        self.file_item(owner, vs_id, file_id)
        removed: list[dict] = []

        def build(meta: dict, current: dict | None) -> list[Operation] | None:
            if current is None:
                return None
            removed[:] = [current]
            return [
                Delete(current["pk"], current["sk"], expected_version=current["version"]),
                Delete(f"file#{file_id}", f"vs#{vs_id}"),
                self._counts(meta, {current["status"]: -1, "total": -1}, usage=-current.get("usage_bytes", 0),
                             changed=current["status"] == "completed"),
            ]

        self._apply(vs_id, file_id, build)
        for item in removed:
            self._drop_chunks(item)
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    def remove_file_everywhere(self, owner: str, file_id: str) -> None:
        """Remove a file from every vector store that holds it (the file is being deleted)."""
        for member in self.query_all(f"file#{file_id}", "vs#"):
            try:
                self.remove_file(owner, member["sk"][3:], file_id)
            except NotFoundError:  # the store went away meanwhile
                self.store.delete(member["pk"], member["sk"])

    def finish(self, vs_id: str, file_id: str, status: str, fields: dict) -> bool:
        """Move an `in_progress` file to `status` with `fields`; False if it is gone or no longer in progress."""

        def build(meta: dict, current: dict | None) -> list[Operation] | None:
            if current is None or current["status"] != "in_progress":
                return None
            counts = {"in_progress": -1, status: 1}
            return [
                Update(current["pk"], current["sk"], set={"status": status, **fields}, expected_version=current["version"]),
                self._counts(meta, counts, usage=fields.get("usage_bytes", 0), changed=status == "completed"),
            ]

        try:
            return self._apply(vs_id, file_id, build)
        except NotFoundError:
            return False

    def claim(self, vs_id: str, file_id: str) -> dict | None:
        """Take the ingestion lease of an `in_progress` file; None if it is done or another worker holds it."""
        item = self.store.get(vs_pk(vs_id), f"file#{file_id}")
        if item is None or item["status"] != "in_progress" or item.get("lease_until", 0) > time.time():
            return None
        try:
            return self.store.update(item["pk"], item["sk"], set={"lease_until": int(time.time()) + LEASE},
                                     expected_version=item["version"])
        except ConditionFailed:
            return None

    def renew(self, item: dict) -> None:
        """Extend the ingestion lease of a file being ingested."""
        try:
            self.store.update(item["pk"], item["sk"], set={"lease_until": int(time.time()) + LEASE})
        except ConditionFailed:  # removed meanwhile; finishing will notice
            pass

    def reclaim(self, vs_id: str) -> None:
        """Queue here the `in_progress` files that no live worker is ingesting (their worker died).

        A file is orphaned when its lease ran out, or when no worker claimed it within LEASE of
        being added. Checked at most every RECLAIM_EVERY seconds per store and process."""
        now = time.time()
        if now - self._reclaimed.get(vs_id, 0) < RECLAIM_EVERY:
            return
        self._reclaimed[vs_id] = now
        for item in self.query_all(vs_pk(vs_id), "file#", where={"status": "in_progress"}):
            lease = item.get("lease_until")
            if (lease is not None and lease < now) or (lease is None and item["created_at"] + LEASE < now):
                self.schedule(vs_id, item["id"])

    # helpers

    def _counts(self, meta: dict, delta: dict[str, int], usage: int = 0, changed: bool = False) -> Update:
        counts = dict(meta["file_counts"])
        for key, value in delta.items():
            counts[key] += value
        set_ = {"file_counts": counts, "usage_bytes": max(meta["usage_bytes"] + usage, 0)}
        if changed:
            set_["generation"] = meta["generation"] + 1
        return Update(meta["pk"], "meta", set=set_, expected_version=meta["version"])

    def _apply(self, vs_id: str, file_id: str, build) -> bool:
        """Run `build(meta, file_item)` -> operations in a transaction, retried on conflict; False if it built none."""
        for attempt in range(TRIES):
            meta = self.store.get(vs_pk(vs_id), "meta")
            if meta is None:
                raise NotFoundError(f"No such vector store: '{vs_id}'", param="vector_store_id")
            ops = build(meta, self.store.get(vs_pk(vs_id), f"file#{file_id}"))
            if ops is None:
                return False
            try:
                self.store.transact(ops)
                return True
            except ConditionFailed:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConflictError("The vector store is busy; try again.")

    def query_all(self, pk: str, prefix: str, where: dict | None = None) -> list[dict]:
        """Return every item of partition `pk` under `prefix` (paged through 100 at a time)."""
        items, after = [], None
        while True:
            page = self.store.query(pk, prefix, after=after, limit=100, where=where)
            items.extend(page.items)
            if not page.has_more or not page.items:
                return items
            after = page.items[-1]["sk"]

    def _drop_chunks(self, item: dict) -> None:
        if item.get("chunks_blob"):
            self.blobs.delete(item["chunks_blob"])


def _sk(file_id: str | None) -> str | None:
    return f"file#{file_id}" if file_id else None


def file_object(item: dict) -> dict:
    """Return the spec's VectorStoreFileObject for a vector-store file item."""
    return {
        "id": item["id"], "object": "vector_store.file", "usage_bytes": item.get("usage_bytes", 0),
        "created_at": item["created_at"], "vector_store_id": item["vector_store_id"], "status": item["status"],
        "last_error": item.get("last_error"), "chunking_strategy": item["chunking_strategy"],
        "attributes": item.get("attributes") or {},
    }
