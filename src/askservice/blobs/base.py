"""The BlobStore: bytes by key (file contents, large attributes), streamed both ways.

Keys are relative paths of `[A-Za-z0-9._-]` segments separated by `/`; anything else (`..`,
absolute paths, empty segments) raises ValueError. A missing key raises FileNotFoundError; a
backend that keeps failing after its retries raises `BlobsUnavailable` (a 503).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import BinaryIO, Iterator, Union

from askservice.errors import ServiceError

KEY = re.compile(r"^(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9._\-]+(?:/[A-Za-z0-9._\-]+)*$")
CHUNK_SIZE = 1 << 20


class BlobTooLarge(Exception):
    """An upload passed its `max_bytes`; nothing was kept."""


class BlobsUnavailable(ServiceError):
    """The blob backend kept failing (throttled, unreachable) after its retries."""

    status_code = 503
    error_type = "server_error"


def check_key(key: str) -> str:
    """Return `key` if it is a safe relative key, else raise ValueError."""
    if not KEY.match(key):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


class BlobStore(ABC):
    """Byte storage; backends: a local folder (`file://`) and S3 (`s3://BUCKET/PREFIX`)."""

    @abstractmethod
    def put(self, key: str, data: Union[bytes, BinaryIO], max_bytes: int | None = None) -> int:
        """Store `data` (bytes or a readable stream, read in chunks) under `key`; return its size.

        Atomic: readers see the old blob or the whole new one. Raises BlobTooLarge past
        `max_bytes`, leaving nothing behind."""

    @abstractmethod
    def get(self, key: str) -> Iterator[bytes]:
        """Yield the blob's bytes in chunks. Raises FileNotFoundError if missing."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Tell whether `key` holds a blob."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the blob if it exists (idempotent)."""

    def read(self, key: str) -> bytes:
        """Return the whole blob (for small blobs only)."""
        return b"".join(self.get(key))
