"""Files: bytes in the blob store (`files/ID`), metadata in the store (`file#ID` / `meta`).

An upload is streamed into the blob store and refused past MAX_FILE_BYTES or when empty; the
metadata is written only once the bytes are whole, and the blob is removed again if that write
fails, so a failed upload leaves nothing behind. Deleting a file also removes it from every
vector store that holds it (through `on_delete`, the vector-store service's cascade).
"""

from __future__ import annotations

import time
from typing import BinaryIO, Callable, Iterator

from askservice import ids
from askservice.blobs.base import BlobStore, BlobTooLarge
from askservice.errors import InvalidRequestError, NotFoundError, PayloadTooLargeError
from askservice.store.base import ABSENT, Page, Store

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILENAME = 512


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


class FilesService:
    """Upload, list, read and delete a client's files."""

    def __init__(self, store: Store, blobs: BlobStore, max_file_bytes: int) -> None:
        self.store = store
        self.blobs = blobs
        self.max_file_bytes = max_file_bytes
        self.on_delete: list[Callable[[str, str], None]] = []

    def create(self, owner: str, filename: str, stream: BinaryIO, purpose: str, expires_after: int | None = None) -> dict:
        """Store an upload and return its item; 400 for a bad purpose or empty file, 413 past the limit."""
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
        item = {
            "pk": f"file#{file_id}", "sk": "meta", "gsi1pk": f"{owner}#file", "gsi1sk": file_id,
            "id": file_id, "owner": owner, "bytes": size, "created_at": now, "filename": filename,
            "purpose": purpose,
        }
        if expires_after:
            item["expires_at"] = now + expires_after
        try:
            return self.store.put(item, condition=ABSENT)
        except BaseException:
            self.blobs.delete(key)
            raise

    def get(self, owner: str, file_id: str) -> dict:
        """Return the client's file item, or raise NotFoundError."""
        item = self.store.get(f"file#{file_id}", "meta") if ids.is_valid(file_id, "file-") else None
        if item is not None and item["owner"] == owner and _expired(item):
            self._remove(owner, item)
            item = None
        if item is None or item["owner"] != owner:
            raise NotFoundError(f"No such File object: {file_id}", param="file_id")
        return item

    def owned(self, owner: str, file_id: str) -> dict:
        """TEMPORARY shim of branch r-crud (the lead drops it for the files engineer's `owned`): `get`."""
        return self.get(owner, file_id)

    def list(self, owner: str, purpose: str | None, limit: int, order: str, after: str | None) -> Page:
        """Return a page of the client's files, optionally of one purpose."""
        where = {"purpose": purpose} if purpose else None
        page = self.store.query_index(f"{owner}#file", after=after, limit=limit, order=order, where=where)
        return Page([item for item in page.items if not _expired(item)], page.has_more)

    def content(self, owner: str, file_id: str) -> tuple[dict, Iterator[bytes]]:
        """Return the file item and an iterator over its bytes."""
        item = self.get(owner, file_id)
        return item, self.blobs.get(blob_key(file_id))

    def read(self, file_id: str) -> bytes:
        """Return a file's whole bytes (for ingestion)."""
        return self.blobs.read(blob_key(file_id))

    def delete(self, owner: str, file_id: str) -> dict:
        """Delete the file, its bytes, and its chunks in every vector store."""
        self._remove(owner, self.get(owner, file_id))
        return {"id": file_id, "object": "file", "deleted": True}

    def _remove(self, owner: str, item: dict) -> None:
        for cascade in self.on_delete:
            cascade(owner, item["id"])
        self.store.delete(item["pk"], "meta")
        self.blobs.delete(blob_key(item["id"]))


def _expired(item: dict) -> bool:
    """Tell whether a file's `expires_after` has passed (it is then deleted when next read)."""
    return bool(item.get("expires_at")) and time.time() >= item["expires_at"]
