"""File batches: many files added to a vector store at once, tracked and cancelled together.

A batch is the item `keys.batch(VS_ID, BATCH_ID)`; its files are ordinary vector-store files that
carry `batch_id`, so the batch's counts are read from them and cancelling it cancels those still
in progress (ingestion that finishes later keeps the cancellation and drops its chunks).
"""

from __future__ import annotations

import time

from askservice import ids
from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services import keys
from askservice.services.file_search.contents import Contents
from askservice.services.file_search.files import FilesService
from askservice.services.file_search.vector_stores import VectorStoresService, empty_counts
from askservice.store.base import ABSENT, Check, Page, Put, Store


class FileBatchesService:
    """Create, read, cancel and list the file batches of a client's vector stores."""

    def __init__(self, store: Store, vector_stores: VectorStoresService, files: FilesService, contents: Contents) -> None:
        self.store = store
        self.vector_stores = vector_stores
        self.files = files
        self.contents = contents

    def create(self, owner: str, vs_id: str, files: list[dict], chunking_strategy: dict | None,
               attributes: dict | None) -> dict:
        """Add many files at once; `files` are `{file_id, chunking_strategy?, attributes?}`."""
        self.vector_stores.owned(owner, vs_id, usable=True)
        for spec in files:
            self.files.owned(owner, spec["file_id"])
        batch_id = ids.new_id("vsfb_")
        pk, sk = keys.batch(vs_id, batch_id)
        batch = {"pk": pk, "sk": sk, "id": batch_id, "vector_store_id": vs_id, "created_at": int(time.time()),
                 "cancelled": False}
        # with the store's version checked: a store marked deleted meanwhile keeps no stray batch
        self.contents.change(vs_id, lambda meta: [Put(batch, ABSENT),
                                                  Check(meta["pk"], meta["sk"], expected_version=meta["version"])])
        for spec in files:
            own = spec.get("attributes")
            self.vector_stores.add_file(owner, vs_id, spec["file_id"], spec.get("chunking_strategy") or chunking_strategy,
                                        own if own is not None else attributes, batch_id)
        return self.get(owner, vs_id, batch_id)

    def owned(self, owner: str, vs_id: str, batch_id: str) -> dict:
        """Return the batch item of the client's store, or raise NotFoundError."""
        self.vector_stores.owned(owner, vs_id)
        found = ids.is_valid(batch_id, "vsfb_") and self.store.get(*keys.batch(vs_id, batch_id))
        if not found:
            raise NotFoundError(f"No such file batch: '{batch_id}'", param="batch_id")
        return found

    def get(self, owner: str, vs_id: str, batch_id: str) -> dict:
        """Return the spec's VectorStoreFileBatchObject (counts from the batch's files)."""
        return self._object(self.owned(owner, vs_id, batch_id))

    def cancel(self, owner: str, vs_id: str, batch_id: str) -> dict:
        """Cancel the batch's files that are still in progress."""
        batch = self.owned(owner, vs_id, batch_id)
        if not batch["cancelled"]:
            pending = list(self._files(vs_id, batch_id, "in_progress"))
            if not pending and self._object(batch)["status"] != "in_progress":
                raise InvalidRequestError("This batch is no longer in progress and cannot be cancelled.")
            self.store.update(batch["pk"], batch["sk"], set={"cancelled": True})
            for item in pending:
                self.contents.finish(vs_id, item["id"], "cancelled", {})
        return self.get(owner, vs_id, batch_id)

    def list_files(self, owner: str, vs_id: str, batch_id: str, limit: int, order: str, after: str | None,
                   before: str | None, status: str | None) -> Page:
        """Return a page of the batch's vector-store file objects, optionally of one status."""
        self.owned(owner, vs_id, batch_id)
        return self.vector_stores.list_files(owner, vs_id, limit, order, after, before, status, batch_id)

    def _files(self, vs_id: str, batch_id: str, status: str | None = None):
        where = {"batch_id": batch_id, **({"status": status} if status else {})}
        return self.store.query_all(keys.vector_store_pk(vs_id), keys.FILE, where=where)

    def _object(self, batch: dict) -> dict:
        counts = empty_counts()
        for item in self._files(batch["vector_store_id"], batch["id"]):
            counts[item["status"]] += 1
            counts["total"] += 1
        if batch["cancelled"]:
            status = "cancelled"
        elif counts["in_progress"]:
            status = "in_progress"
        elif counts["failed"] and not counts["completed"]:
            status = "failed"
        else:
            status = "completed"
        return {"id": batch["id"], "object": "vector_store.files_batch", "created_at": batch["created_at"],
                "vector_store_id": batch["vector_store_id"], "status": status, "file_counts": counts}
