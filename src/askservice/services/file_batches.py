"""File batches: many files added to a vector store at once, tracked and cancelled together.

A batch is the item `vs#ID` / `batch#BATCH_ID`; its files are ordinary vector-store files that
carry `batch_id`, so the batch's counts are read from them and cancelling it cancels those still
in progress (ingestion that finishes later keeps the cancellation and drops its chunks).
"""

from __future__ import annotations

import time

from askservice import ids
from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services.vector_stores import VectorStoresService, empty_counts, vs_pk
from askservice.store.base import ABSENT, Page


class FileBatchesService:
    """Create, read, cancel and list the file batches of a client's vector stores."""

    def __init__(self, vector_stores: VectorStoresService) -> None:
        self.vector_stores = vector_stores

    def create(self, owner: str, vs_id: str, files: list[dict], chunking_strategy: dict | None,
               attributes: dict | None) -> dict:
        """Add many files at once; `files` are `{file_id, chunking_strategy?, attributes?}`."""
        vs = self.vector_stores
        vs.usable(owner, vs_id)
        for spec in files:
            vs.files.get(owner, spec["file_id"])
        batch_id = ids.new_id("vsfb_")
        vs.store.put({"pk": vs_pk(vs_id), "sk": f"batch#{batch_id}", "id": batch_id, "vector_store_id": vs_id,
                      "created_at": int(time.time()), "cancelled": False}, condition=ABSENT)
        for spec in files:
            own = spec.get("attributes")
            vs.add_file(owner, vs_id, spec["file_id"], spec.get("chunking_strategy") or chunking_strategy,
                        own if own is not None else attributes, batch_id)
        return self.get(owner, vs_id, batch_id)

    def item(self, owner: str, vs_id: str, batch_id: str) -> dict:
        """Return the batch item, or raise NotFoundError."""
        self.vector_stores.meta(owner, vs_id)
        found = ids.is_valid(batch_id, "vsfb_") and self.vector_stores.store.get(vs_pk(vs_id), f"batch#{batch_id}")
        if not found:
            raise NotFoundError(f"No such file batch: '{batch_id}'", param="batch_id")
        return found

    def get(self, owner: str, vs_id: str, batch_id: str) -> dict:
        """Return the spec's VectorStoreFileBatchObject (counts from the batch's files)."""
        batch = self.item(owner, vs_id, batch_id)
        counts = empty_counts()
        for item in self.vector_stores.query_all(vs_pk(vs_id), "file#", where={"batch_id": batch_id}):
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
        return {"id": batch_id, "object": "vector_store.files_batch", "created_at": batch["created_at"],
                "vector_store_id": vs_id, "status": status, "file_counts": counts}

    def cancel(self, owner: str, vs_id: str, batch_id: str) -> dict:
        """Cancel the batch's files that are still in progress."""
        vs = self.vector_stores
        batch = self.item(owner, vs_id, batch_id)
        if not batch["cancelled"]:
            pending = vs.query_all(vs_pk(vs_id), "file#", where={"batch_id": batch_id, "status": "in_progress"})
            if not pending and self.get(owner, vs_id, batch_id)["status"] != "in_progress":
                raise InvalidRequestError("This batch is no longer in progress and cannot be cancelled.")
            vs.store.update(batch["pk"], batch["sk"], set={"cancelled": True})
            for item in pending:
                vs.finish(vs_id, item["id"], "cancelled", {})
        return self.get(owner, vs_id, batch_id)

    def list_files(self, owner: str, vs_id: str, batch_id: str, limit: int, order: str, after: str | None,
                   before: str | None, status: str | None) -> Page:
        """Return a page of the batch's vector-store file items, optionally of one status."""
        self.item(owner, vs_id, batch_id)
        return self.vector_stores.list_files(owner, vs_id, limit, order, after, before, status, batch_id)
