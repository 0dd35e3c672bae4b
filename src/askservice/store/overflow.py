"""Attributes too large for a backend's item, kept in the blob store behind a pointer.

Any backend whose items are size-limited can use it (DynamoDB does; SQLite has no limit). It works
on plain values: a pointer is the `bytes` value `b"blob:" + KEY`, a type no JSON value has, so it
is never mistaken for data (a backend stores it as its binary type; `where` never matches it).
An attribute whose JSON passes `OVERFLOW_BYTES` is moved out, and on a whole item also the
largest ones while the item passes `ITEM_BUDGET`. Blob keys are
`store/<sha256(pk NUL sk)[:32]>/<uuid>.json`, holding the value's compact UTF-8 JSON.

Writes list the blobs they wrote (`written`), so that a failed write removes them (`forget`), and
a successful one removes the blobs of the values it replaced (`keys` of the old pointers).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Callable, Iterable, TypeVar

from askservice.blobs.base import BlobStore
from askservice.store.base import Item, StoreUnavailable

OVERFLOW_BYTES = 32 * 1024
ITEM_BUDGET = 300 * 1024
POINTER = b"blob:"
KEPT = ("pk", "sk", "gsi1pk", "gsi1sk", "version")
"""Attributes that always stay in the item."""
T = TypeVar("T")


class Gone(Exception):
    """A pointer's blob vanished: a concurrent write replaced the attribute; read again."""


class Overflow:
    """Moves large attributes of the items of one store to `blobs`, and back."""

    def __init__(self, blobs: BlobStore):
        self.blobs = blobs

    def item(self, item: Item, written: list[str]) -> Item:
        """Return `item` with attributes past `OVERFLOW_BYTES`, then the largest while it passes `ITEM_BUDGET`, as pointers."""
        sizes = {k: _size(v) for k, v in item.items() if k not in KEPT}
        total = sum(sizes.values())
        out = dict(item)
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
            if size <= OVERFLOW_BYTES and total <= ITEM_BUDGET:
                break
            out[name] = self._move(item["pk"], item["sk"], item[name], written)
            total -= size
        return out

    def values(self, pk: str, sk: str, values: Item, written: list[str]) -> Item:
        """Return an update's `values` of item pk/sk with each one past `OVERFLOW_BYTES` as a pointer."""
        return {
            name: self._move(pk, sk, value, written) if name not in KEPT and _size(value) > OVERFLOW_BYTES else value
            for name, value in values.items()
        }

    def load(self, item: Item) -> Item:
        """Return `item` with its pointers replaced by their values; raise Gone if a blob vanished."""
        out = {}
        for name, value in item.items():
            if is_pointer(value):
                try:
                    value = json.loads(self.blobs.read(value[len(POINTER):].decode()))
                except FileNotFoundError:
                    raise Gone(name) from None
            out[name] = value
        return out

    def forget(self, keys: Iterable[str]) -> None:
        """Delete these blobs."""
        for key in keys:
            self.blobs.delete(key)

    def _move(self, pk: str, sk: str, value: Any, written: list[str]) -> bytes:
        digest = hashlib.sha256(f"{pk}\0{sk}".encode()).hexdigest()[:32]
        key = f"store/{digest}/{uuid.uuid4().hex}.json"
        self.blobs.put(key, json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        written.append(key)
        return POINTER + key.encode()


def is_pointer(value: Any) -> bool:
    """Tell whether an attribute value is a pointer to a blob."""
    return isinstance(value, bytes) and value.startswith(POINTER)


def keys(values: Iterable[Any]) -> set[str]:
    """Return the blob keys of the pointers among `values`."""
    return {value[len(POINTER):].decode() for value in values if is_pointer(value)}


def again(read: Callable[[], T], attempts: int = 3) -> T:
    """Run a read again when a pointer's blob vanished under it (a concurrent write replaced it)."""
    for attempt in range(attempts):
        try:
            return read()
        except Gone:
            if attempt == attempts - 1:
                raise StoreUnavailable("an item kept changing while it was read") from None
    raise AssertionError("unreachable")


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
