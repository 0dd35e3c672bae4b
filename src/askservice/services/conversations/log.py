"""A conversation's items as a log in its partition: `item#<position>` items and `id#<item id>` pointers.

The meta item (`conv#ID` / `meta`) holds `length`, the position the next item takes. Appending
N items is one transaction: `Put` of each item and of its id pointer (both `ABSENT`) and
`Update(meta: length + N @version)`, so racing appends never interleave or lose items (the
loser re-reads the meta and tries again). The pointers make a lookup by id, and an `after`
cursor, one direct read.
"""

from __future__ import annotations

from itertools import islice
from typing import Callable, Iterator

from askservice.services import keys
from askservice.store.base import ABSENT, Operation, Put, Store, Update

MAX_APPEND = 49
"""Items per transaction: two writes each plus the meta's, within DynamoDB's 100 operations."""


def item_writes(conversation_id: str, start: int, items: list[dict]) -> list[Operation]:
    """Return the `Put`s (ABSENT) of `items` at positions from `start`, and of their id pointers."""
    writes: list[Operation] = []
    for position, item in enumerate(items, start):
        pk, sk = keys.conversation_item(conversation_id, position)
        writes.append(Put({"pk": pk, "sk": sk, "position": position, "item": item}, ABSENT))
        pk, sk = keys.item_pointer(conversation_id, item["id"])
        writes.append(Put({"pk": pk, "sk": sk, "position": position}, ABSENT))
    return writes


def write_new(store: Store, meta: dict, items: list[dict]) -> None:
    """Write a new conversation: its items (MAX_APPEND a transaction) first, its meta item (with
    `length`) in the last transaction, so that it appears whole or not at all."""
    chunks = [items[start:start + MAX_APPEND] for start in range(0, len(items), MAX_APPEND)] or [[]]
    for number, chunk in enumerate(chunks):
        last: list[Operation] = [Put(meta, ABSENT)] if number == len(chunks) - 1 else []
        store.transact(item_writes(meta["id"], number * MAX_APPEND, chunk) + last)


def append_operations(meta: dict, items: list[dict], set: dict | None = None) -> list[Operation]:
    """Return the writes that append `items` (at most MAX_APPEND, ids unique) after the meta's `length`.

    One transaction of them, with anything else the caller adds, appends all or nothing; it fails
    (`ConditionFailed`) when the meta changed since it was read, or an id is taken. `set`: more
    fields of the meta to set in the same write (e.g. `{"active_response": None}`)."""
    if len(items) > MAX_APPEND:
        raise ValueError(f"at most {MAX_APPEND} items are appended in one transaction")
    update = Update(meta["pk"], meta["sk"], set={**(set or {}), "length": meta["length"] + len(items)},
                    expected_version=meta["version"])
    return item_writes(meta["id"], meta["length"], items) + [update]


def recent_items(store: Store, meta: dict, keep: Callable[[list[dict]], bool] | None) -> list[dict]:
    """Return the conversation's items oldest first, read newest first a store page at a time.

    Items appended after `meta` was read are left out. After each page `keep(items read so far,
    oldest first)` says whether to read older ones (None: read them all)."""
    rows = store.query_all(keys.conversation_pk(meta["id"]), keys.CONVERSATION_ITEM, order="desc")
    read: list[dict] = []
    for page in _pages(rows, store.page_all):
        read.extend(row["item"] for row in page if row["position"] < meta["length"])
        if keep is not None and not keep(read[::-1]):
            break
    return read[::-1]


def _pages(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    """Group a `query_all` walk into its pages (taking `size` rows never reads the next page)."""
    while page := list(islice(rows, size)):
        yield page
