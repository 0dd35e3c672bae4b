"""Files: bytes in the blob store (`files/ID`), metadata in the store (`keys.file`).

An upload is streamed into the blob store and refused past MAX_FILE_BYTES or when empty; the
metadata is written only once the bytes are whole, and the blob is removed again if that write
fails, so a failed upload leaves nothing behind.

Deleting a file (or reading one whose `expires_after` passed) goes in two steps (`deletion`):
the mark, after which it answers 404 and no vector store can take it (adding a file checks its
version in the same transaction); then it leaves every vector store that holds it (through its
memberships), its bytes go, and its item last. A dead deleter's leftovers are swept (`sweep`).
"""

from __future__ import annotations

import time
from typing import BinaryIO, Iterator

from askservice import ids
from askservice.blobs.base import BlobStore, BlobTooLarge
from askservice.errors import ConflictError, InvalidRequestError, NotFoundError, PayloadTooLargeError
from askservice.services import keys
from askservice.services.engine.leases import Leases
from askservice.services.file_search import deletion
from askservice.services.file_search.contents import Contents
from askservice.store.base import ABSENT, Page, Store
from askservice.store.conflicts import retry_on_conflict

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILENAME = 512
MARK_TRIES = 10
"""Tries of the deletion mark: only another deletion of the same file races it."""


def blob_key(file_id: str) -> str:
    """Return the blob key of a file's bytes."""
    return f"files/{file_id}"


def to_object(item: dict) -> dict:
    """Return the spec's OpenAIFile for a file item."""
    obj = {
        "id": item["id"],
        "object": "file",
        "bytes": item["bytes"],
        "created_at": item["created_at"],
        "filename": item["filename"],
        "purpose": item["purpose"],
        "status": "processed",
    }
    if item.get("expires_at"):
        obj["expires_at"] = item["expires_at"]
    return obj


def _missing(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", param="file_id")


class FilesService:
    """Upload, list, read and delete a client's files."""

    def __init__(self, store: Store, blobs: BlobStore, contents: Contents, leases: Leases, max_file_bytes: int) -> None:
        self.store = store
        self.blobs = blobs
        self.contents = contents
        self.leases = leases
        self.max_file_bytes = max_file_bytes

    def create(self, owner: str, filename: str, stream: BinaryIO, purpose: str, expires_after: int | None = None) -> dict:
        """Store an upload and return its object; 400 for a bad purpose or empty file, 413 past the limit."""
        if purpose not in PURPOSES:
            raise InvalidRequestError(
                f"Invalid value for 'purpose': '{purpose}'. Supported values are: {', '.join(PURPOSES)}.",
                param="purpose", code="invalid_value",
            )
        filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not filename or len(filename) > MAX_FILENAME:
            raise InvalidRequestError("The uploaded file needs a file name (at most 512 characters).", param="file")
        file_id = ids.new_id("file-")
        key = blob_key(file_id)
        try:
            size = self.blobs.put(key, stream, max_bytes=self.max_file_bytes)
        except BlobTooLarge:
            raise PayloadTooLargeError(
                f"The file is larger than the maximum of {self.max_file_bytes} bytes.", param="file"
            ) from None
        if size == 0:
            self.blobs.delete(key)
            raise InvalidRequestError("The uploaded file is empty.", param="file", code="empty_file")
        now = int(time.time())
        pk, sk = keys.file(file_id)
        item = {
            "pk": pk, "sk": sk, "gsi1pk": keys.owned(owner, "file"), "gsi1sk": file_id,
            "id": file_id, "owner": owner, "bytes": size, "created_at": now, "filename": filename,
            "purpose": purpose,
        }
        if expires_after:
            item["expires_at"] = now + expires_after
        try:
            return to_object(self.store.put(item, condition=ABSENT))
        except BaseException:
            self.blobs.delete(key)
            raise

    def owned(self, owner: str, file_id: str) -> dict:
        """Return the client's file item, or raise NotFoundError (an expired file is deleted first)."""
        item = self.store.get(*keys.file(file_id)) if ids.is_valid(file_id, "file-") else None
        if item is None or item["owner"] != owner or item.get("deleted_at"):
            raise _missing(file_id)
        if _expired(item):
            try:
                self.purge(self.mark_deleted(owner, file_id))
            except NotFoundError:  # another reader is deleting it
                pass
            raise _missing(file_id)
        return item

    def get(self, owner: str, file_id: str) -> dict:
        """Return the client's file object, or raise NotFoundError."""
        return to_object(self.owned(owner, file_id))

    def list(self, owner: str, purpose: str | None, limit: int, order: str, after: str | None) -> Page:
        """Return a page of the client's file objects, optionally of one purpose."""
        where = {"purpose": purpose} if purpose else None
        page = self.store.query_index(keys.owned(owner, "file"), after=after, limit=limit, order=order, where=where)
        return Page([to_object(item) for item in page.items if not _expired(item)], page.has_more)

    def content(self, owner: str, file_id: str) -> tuple[dict, Iterator[bytes]]:
        """Return the file object and an iterator over its bytes."""
        item = self.owned(owner, file_id)
        return to_object(item), self.blobs.get(blob_key(file_id))

    def read(self, file_id: str) -> bytes:
        """Return a file's whole bytes (for ingestion)."""
        return self.blobs.read(blob_key(file_id))

    def delete(self, owner: str, file_id: str) -> dict:
        """Delete the file, its bytes, and its chunks in every vector store."""
        self.owned(owner, file_id)
        self.purge(self.mark_deleted(owner, file_id))
        return {"id": file_id, "object": "file", "deleted": True}

    def mark_deleted(self, owner: str, file_id: str) -> dict:
        """Take the first step of a deletion: mark the file in one conditional write and return it.

        From then on it answers 404 and no vector store takes it; `purge` (or the sweep) does the
        rest. NotFoundError if it is gone or marked already."""

        def mark(_: int) -> dict:
            item = self.store.get(*keys.file(file_id))
            if item is None or item["owner"] != owner or item.get("deleted_at"):
                raise _missing(file_id)
            marked = deletion.mark(self.leases, keys.DELETING_FILES, file_id)
            return self.store.update(item["pk"], item["sk"], set=marked, expected_version=item["version"])

        return retry_on_conflict(mark, MARK_TRIES, lambda: ConflictError("The file is busy; try again."))

    def sweep(self) -> int:
        """Finish the deletions that a dead worker left half done (marked over a lease ago); return how many."""
        return deletion.sweep(self.store, self.leases, keys.DELETING_FILES, self.purge)

    def purge(self, item: dict) -> None:
        """Remove a file marked deleted: from every vector store, then its bytes, then its item."""
        self.contents.leave_all(item["id"])
        self.blobs.delete(blob_key(item["id"]))
        self.store.delete(item["pk"], item["sk"])


def _expired(item: dict) -> bool:
    """Tell whether a file's `expires_after` has passed (it is then deleted when next read)."""
    return bool(item.get("expires_at")) and time.time() >= item["expires_at"]
