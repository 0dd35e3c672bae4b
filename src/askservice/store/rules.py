"""What every Store backend checks and computes the same way: item shapes, updates, page walks.

A page request (`order`, `after`, `before`, sk prefix) becomes a `Walk`: the exclusive key
bounds, the direction a backend reads keys in, and whether the page is reversed before it is
returned (a `before` page is read backwards from its cursor, then put back in `order`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from askservice.store.base import ABSENT, Check, Delete, Item, Operation, Page, Put, Update

KEYS = ("pk", "sk")
RESERVED = ("pk", "sk", "version")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Walk:
    """How to read one page: keys strictly between `start` and `end`, in one direction."""

    prefix: str
    start: str | None
    end: str | None
    ascending: bool
    reverse: bool
    limit: int

    def in_range(self, key: str) -> bool:
        """Tell whether `key` starts with the prefix and lies strictly between the bounds."""
        if not key.startswith(self.prefix):
            return False
        low, high = (self.start, self.end) if self.ascending else (self.end, self.start)
        return (low is None or key > low) and (high is None or key < high)


def plan(prefix: str, after: str | None, before: str | None, limit: int, order: str) -> Walk:
    """Return the walk that answers a page request (see `Store.query`)."""
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    for cursor in (after, before):
        if cursor is not None and not isinstance(cursor, str):
            raise ValueError("cursors must be strings")
    # In `order`, `after` bounds the side the walk leaves from and `before` the side it goes to;
    # with only `before`, the walk starts at `before` and goes backwards.
    backwards = before is not None and after is None
    ascending = (order == "asc") != backwards
    start, end = (before, None) if backwards else (after, before)
    return Walk(prefix=prefix, start=start, end=end, ascending=ascending, reverse=backwards, limit=limit)


def prefix_end(prefix: str) -> str:
    """Return the smallest string above every string that starts with `prefix` (non-empty)."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF or 0xD7FF <= last < 0xE000:
        raise ValueError(f"sk prefix cannot end with {prefix[-1]!r}")
    return prefix[:-1] + chr(last + 1)


def finish(items: list[Item], walk: Walk) -> Page:
    """Turn up to `limit + 1` items read along `walk` into the page the caller asked for."""
    page = items[: walk.limit]
    if walk.reverse:
        page.reverse()
    return Page(items=page, has_more=len(items) > walk.limit)


def check_item(item: Item) -> None:
    """Raise ValueError unless `item` has string pk/sk and a well-formed owner index key."""
    if not isinstance(item, dict):
        raise ValueError("an item is a dict")
    for key in KEYS:
        if not isinstance(item.get(key), str) or not item[key]:
            raise ValueError(f"item {key} must be a non-empty string")
    for key in ("gsi1pk", "gsi1sk"):
        if key in item and not (isinstance(item[key], str) and item[key]):
            raise ValueError(f"item {key} must be a non-empty string when present")
    if ("gsi1pk" in item) != ("gsi1sk" in item):
        raise ValueError("gsi1pk and gsi1sk go together")


def check_condition(condition: Any) -> None:
    """Raise ValueError unless `condition` is None, ABSENT or a version number."""
    if condition is None or condition == ABSENT:
        return
    if isinstance(condition, bool) or not isinstance(condition, int):
        raise ValueError(f"condition must be None, ABSENT or a version, not {condition!r}")


def check_where(where: Item | None) -> None:
    """Raise ValueError unless `where` maps attribute names to scalar JSON values."""
    for name, value in (where or {}).items():
        if not NAME.match(name):
            raise ValueError(f"where: bad attribute name {name!r}")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"where: {name} must be compared with a scalar")


def stored(item: Item, version: int) -> Item:
    """Return a copy of `item` as a store keeps it: at `version`."""
    out = dict(item)
    out["version"] = version
    return out


def new_version(condition: Any) -> int:
    """Return the version a put with `condition` writes."""
    return condition + 1 if isinstance(condition, int) and condition != ABSENT else 1


def check_update(values: Item | None, remove: Iterable[str]) -> tuple[Item, tuple[str, ...]]:
    """Validate an update's parts and return them normalised; keys and version cannot change."""
    values = dict(values or {})
    remove = tuple(remove)
    for name in list(values) + list(remove):
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"update: bad attribute name {name!r}")
        if name in RESERVED:
            raise ValueError(f"update: {name} cannot be changed")
    if values.keys() & set(remove):
        raise ValueError("update: an attribute cannot be both set and removed")
    for key in ("gsi1pk", "gsi1sk"):
        if key in values and not (isinstance(values[key], str) and values[key]):
            raise ValueError(f"update: {key} must be a non-empty string")
    return values, remove


def apply_update(item: Item, values: Item, remove: Iterable[str]) -> Item:
    """Return `item` with `values` written, `remove` dropped, and its version bumped."""
    out = {k: v for k, v in item.items() if k not in set(remove)}
    out.update(values)
    out["version"] = item["version"] + 1
    return out


def operation_key(op: Operation) -> tuple[str, str]:
    """Return the (pk, sk) an operation of a transaction touches."""
    if isinstance(op, Put):
        return op.item["pk"], op.item["sk"]
    if isinstance(op, (Update, Delete, Check)):
        return op.pk, op.sk
    raise ValueError(f"not a store operation: {op!r}")


def check_transaction(operations: list[Operation]) -> None:
    """Raise ValueError on an empty or oversized transaction, or one touching an item twice."""
    if not 1 <= len(operations) <= 100:
        raise ValueError("a transaction has 1 to 100 operations")
    for op in operations:
        if isinstance(op, Put):
            check_item(op.item)
            check_condition(op.condition)
        elif isinstance(op, Update):
            check_update(op.set, op.remove)
    keys = [operation_key(op) for op in operations]
    if len(set(keys)) != len(keys):
        raise ValueError("a transaction touches each item at most once")
