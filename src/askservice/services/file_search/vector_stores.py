"""Vector stores of a client and their files, kept in the `vs#ID` partition of the store.

    vs#ID   meta            the store: name, metadata, expiry, file_counts, usage_bytes, and
                            `generation`; owner index `<client>#vector_store` / ID
    vs#ID   file#FILE_ID    a vector-store file: status, last_error, chunking, attributes, and
                            `chunks_blob`; owner index `keys.INGESTING` while it is ingested
    vs#ID   batch#ID        a file batch (its files carry `batch_id`; see `batches`)
    file#FILE_ID  vs#ID     membership, so that deleting a file reaches every store holding it

Files change together with the store's counters (`contents`); ingestion runs in the background
(`ingestion`); search goes through `search`.

Deleting a store goes in two steps (`deletion`): the mark, after which every route answers 404
for it, searches and runs skip it, and no file can be added or finish in it; then its files
(membership, chunks, item), its batches, and last its item are removed. A dead deleter's
leftovers are swept (`sweep`).
"""

from __future__ import annotations

import time
from typing import Any

from askservice import ids
from askservice.blobs.base import BlobStore
from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services import keys
from askservice.services.crud import objects
from askservice.services.engine.leases import Leases
from askservice.services.file_search import deletion
from askservice.services.file_search.chunking import AUTO
from askservice.services.file_search.contents import Contents, busy_store, gone, missing_store
from askservice.services.file_search.files import FilesService
from askservice.services.file_search.index import unpack
from askservice.services.file_search.ingestion import Ingestor
from askservice.store.base import ABSENT, Check, ConditionFailed, Operation, Page, Put, Store, Update
from askservice.store.conflicts import retry_on_conflict

DAY = 86400
ACTIVE_EVERY = 60  # seconds between last_active_at writes caused by searches
STORE_WRITE_TRIES = 60
"""Tries of a conditional write of a store item (modify, the deletion mark): it races the file counters."""


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


def to_object(meta: dict) -> dict:
    """Return the spec's VectorStoreObject for a store item."""
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


def file_object(item: dict) -> dict:
    """Return the spec's VectorStoreFileObject for a vector-store file item."""
    return {
        "id": item["id"], "object": "vector_store.file", "usage_bytes": item.get("usage_bytes", 0),
        "created_at": item["created_at"], "vector_store_id": item["vector_store_id"], "status": item["status"],
        "last_error": item.get("last_error"), "chunking_strategy": item["chunking_strategy"],
        "attributes": item.get("attributes") or {},
    }


class VectorStoresService:
    """Vector stores of a client and their files."""

    def __init__(self, store: Store, blobs: BlobStore, files: FilesService, contents: Contents, ingestor: Ingestor,
                 leases: Leases) -> None:
        self.store = store
        self.blobs = blobs
        self.files = files
        self.contents = contents
        self.ingestor = ingestor
        self.leases = leases

    # vector stores

    def create(self, owner: str, name: str | None, file_ids: list[str], chunking_strategy: dict | None,
               expires_after: dict | None, metadata: dict | None) -> dict:
        """Create a store, then add `file_ids` to it (each is ingested in the background); return its object."""
        for file_id in file_ids:
            self.files.owned(owner, file_id)
        vs_id = ids.new_id("vs_")
        now = int(time.time())
        pk, sk = keys.vector_store(vs_id)
        item = {
            "pk": pk, "sk": sk, "gsi1pk": keys.owned(owner, "vector_store"), "gsi1sk": vs_id,
            "id": vs_id, "owner": owner, "name": name or "", "created_at": now, "last_active_at": now,
            "metadata": metadata or {}, "file_counts": empty_counts(), "usage_bytes": 0, "generation": 0,
        }
        if expires_after:
            item["expires_after"] = expires_after
        self.store.put(item, condition=ABSENT)
        for file_id in dict.fromkeys(file_ids):
            self.add_file(owner, vs_id, file_id, chunking_strategy, None)
        return to_object(self.owned(owner, vs_id))

    def owned(self, owner: str, vs_id: str, usable: bool = False) -> dict:
        """Return the client's vector store item, or raise NotFoundError (also once it is marked deleted).

        `usable`: an expired store raises InvalidRequestError (it can no longer be searched or take files)."""
        meta = self.store.get(*keys.vector_store(vs_id)) if ids.is_valid(vs_id, "vs_") else None
        if gone(meta) or meta["owner"] != owner:
            raise missing_store(vs_id)
        if usable and is_expired(meta):
            raise InvalidRequestError(
                f"Vector store '{vs_id}' has expired: it can no longer be searched or have files added.",
                param="vector_store_id")
        return meta

    def get(self, owner: str, vs_id: str) -> dict:
        """Return the spec's VectorStoreObject (and requeue files whose ingesting worker died)."""
        meta = self.owned(owner, vs_id)
        if meta["file_counts"]["in_progress"]:
            self.ingestor.reclaim(vs_id)
        return to_object(meta)

    def list(self, owner: str, limit: int, order: str, after: str | None, before: str | None) -> Page:
        """Return a page of the client's vector store objects."""
        page = self.store.query_index(keys.owned(owner, "vector_store"), after=after, before=before, limit=limit,
                                      order=order)
        return objects(page, to_object)

    def modify(self, owner: str, vs_id: str, changes: dict[str, Any]) -> dict:
        """Change name, metadata and expires_after (None removes the expiry); return the object."""
        set_ = {k: v for k, v in changes.items() if v is not None and k in ("name", "metadata", "expires_after")}
        remove = ["expires_after"] if "expires_after" in changes and changes["expires_after"] is None else []

        def attempt(_: int) -> dict:
            meta = self.owned(owner, vs_id)
            return self.store.update(meta["pk"], meta["sk"], set={**set_, "last_active_at": int(time.time())},
                                     remove=remove, expected_version=meta["version"])

        return to_object(retry_on_conflict(attempt, STORE_WRITE_TRIES, busy_store))

    def delete(self, owner: str, vs_id: str) -> dict:
        """Mark the store deleted, then remove its files' items, memberships and chunks, its batches, and it."""
        self.purge(self.mark_deleted(owner, vs_id))
        return {"id": vs_id, "object": "vector_store.deleted", "deleted": True}

    def mark_deleted(self, owner: str, vs_id: str) -> dict:
        """Take the first step of a deletion: mark the store in one conditional write and return its item.

        From then on every route answers 404 for it, searches and runs skip it, and no file can be
        added to it or finish in it; `purge` (or the sweep) does the rest."""

        def mark(_: int) -> dict:
            meta = self.owned(owner, vs_id)
            marked = deletion.mark(self.leases, keys.DELETING_VECTOR_STORES, vs_id)
            return self.store.update(meta["pk"], meta["sk"], set=marked, expected_version=meta["version"])

        return retry_on_conflict(mark, STORE_WRITE_TRIES, busy_store)

    def purge(self, meta: dict) -> None:
        """Remove what is left of a store marked deleted (its item `meta`): its files, its batches, then its item."""
        for item in self.store.query_all(meta["pk"], keys.FILE):
            self.contents.purge(item)
        self.store.delete_all(meta["pk"], keys.BATCH)
        self.store.delete(meta["pk"], meta["sk"])

    def sweep(self) -> int:
        """Finish the deletions that a dead worker left half done (marked over a lease ago); return how many."""
        return deletion.sweep(self.store, self.leases, keys.DELETING_VECTOR_STORES, self.purge)

    def touch(self, meta: dict) -> None:
        """Record activity (a search) at most once a minute; the expiry counts from it."""
        now = int(time.time())
        if now - meta.get("last_active_at", 0) >= ACTIVE_EVERY:
            try:
                self.store.update(meta["pk"], meta["sk"], set={"last_active_at": now})
            except ConditionFailed:  # deleted meanwhile
                pass

    # vector-store files

    def add_file(self, owner: str, vs_id: str, file_id: str, chunking_strategy: dict | None,
                 attributes: dict | None, batch_id: str | None = None) -> dict:
        """Add a file to the store (`in_progress`) and schedule its ingestion; an added file is returned as is.

        An expired store takes no files (InvalidRequestError)."""
        self.owned(owner, vs_id, usable=True)

        def build(meta: dict) -> list[Operation] | None:
            source = self.files.owned(owner, file_id)
            if self.contents.item(vs_id, file_id) is not None:
                return None
            pk, sk = keys.vector_store_file(vs_id, file_id)
            item = {
                "pk": pk, "sk": sk, "id": file_id, "vector_store_id": vs_id, "filename": source["filename"],
                "created_at": int(time.time()), "status": "in_progress", "last_error": None,
                "chunking_strategy": static_strategy(chunking_strategy), "attributes": attributes or {},
                "usage_bytes": 0, **self.ingestor.waiting(vs_id, file_id),
            }
            if batch_id:
                item["batch_id"] = batch_id
            member_pk, member_sk = keys.membership(file_id, vs_id)
            return [
                Put(item, ABSENT),
                Put({"pk": member_pk, "sk": member_sk, "owner": owner}),
                Check(source["pk"], source["sk"], expected_version=source["version"]),  # not being deleted
                self.contents.counts(meta, {"in_progress": 1, "total": 1}),
            ]

        if self.contents.change(vs_id, build):
            self.ingestor.submit(vs_id, file_id)
        return self.get_file(owner, vs_id, file_id)

    def get_file(self, owner: str, vs_id: str, file_id: str) -> dict:
        """Return the spec's VectorStoreFileObject."""
        return file_object(self._file(owner, vs_id, file_id))

    def file_content(self, owner: str, vs_id: str, file_id: str) -> list[str]:
        """Return the parsed text of a vector-store file, chunk by chunk (empty until it completes)."""
        item = self._file(owner, vs_id, file_id)
        return unpack(self.blobs.read(item["chunks_blob"]))[0] if item.get("chunks_blob") else []

    def list_files(self, owner: str, vs_id: str, limit: int, order: str, after: str | None, before: str | None,
                   status: str | None, batch_id: str | None = None) -> Page:
        """Return a page of the store's file objects, optionally of one status or batch."""
        self.owned(owner, vs_id)
        where = {k: v for k, v in (("status", status), ("batch_id", batch_id)) if v}
        page = self.store.query(keys.vector_store_pk(vs_id), keys.FILE, after=keys.cursor(keys.FILE, after),
                                before=keys.cursor(keys.FILE, before), limit=limit, order=order, where=where or None)
        return objects(page, file_object)

    def modify_file(self, owner: str, vs_id: str, file_id: str, attributes: dict | None) -> dict:
        """Replace a file's attributes (search filters see them at once)."""
        self._file(owner, vs_id, file_id)

        def build(meta: dict) -> list[Operation] | None:
            current = self.contents.item(vs_id, file_id)
            if current is None:
                raise _missing_file(vs_id, file_id)
            return [Update(current["pk"], current["sk"], set={"attributes": attributes or {}},
                           expected_version=current["version"]), self.contents.counts(meta, {}, changed=True)]

        self.contents.change(vs_id, build)
        return self.get_file(owner, vs_id, file_id)

    def delete_file(self, owner: str, vs_id: str, file_id: str) -> dict:
        """Remove a file from the store (the file itself stays); its chunks leave search at once."""
        self._file(owner, vs_id, file_id)
        self.contents.remove(vs_id, file_id)
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    def _file(self, owner: str, vs_id: str, file_id: str) -> dict:
        """Return the vector-store file item of the client's store, or raise NotFoundError."""
        self.owned(owner, vs_id)
        item = self.contents.item(vs_id, file_id)
        if item is None:
            raise _missing_file(vs_id, file_id)
        return item


def _missing_file(vs_id: str, file_id: str) -> NotFoundError:
    return NotFoundError(f"No file found with id '{file_id}' in vector store '{vs_id}'.", param="file_id")
