"""The BlobStore on a local folder: one file per key, written to a temp file then renamed.

Writes are not fsynced (like the SQLite store's commits, durability is left to the OS so that a
request never waits on the disk); a rename is atomic, so readers see the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, Union

from askservice.blobs.base import CHUNK_SIZE, BlobStore, BlobTooLarge, check_key


class LocalBlobStore(BlobStore):
    """Blobs as files under `root` (created if missing)."""

    def __init__(self, root: Union[str, Path]):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"invalid blob key: {key!r}")
        return path

    def put(self, key: str, data: Union[bytes, BinaryIO], max_bytes: int | None = None) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                size = _copy(data, out, max_bytes)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return size

    def get(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no blob {key!r}")
        return _chunks(path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _copy(data: Union[bytes, BinaryIO], out: BinaryIO, max_bytes: int | None) -> int:
    """Write `data` to `out` chunk by chunk; raise BlobTooLarge as soon as it passes `max_bytes`."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if max_bytes is not None and len(data) > max_bytes:
            raise BlobTooLarge(f"blob larger than {max_bytes} bytes")
        out.write(data)
        return len(data)
    size = 0
    while chunk := data.read(CHUNK_SIZE):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BlobTooLarge(f"blob larger than {max_bytes} bytes")
        out.write(chunk)
    return size


def _chunks(path: Path) -> Iterator[bytes]:
    """Yield the file's bytes; it is opened on the first read, so an unread iterator holds nothing."""
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk
