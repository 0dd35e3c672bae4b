"""The checks and page walks of `Store` (store/base.py), written once for every backend.

The limits are DynamoDB's, applied on every backend so that both accept the same calls: keys of
at most 2048 (`pk`, `gsi1pk`) or 1024 (`sk`, `gsi1sk`, cursors, prefixes) UTF-8 bytes; values
nested at most 31 deep; numbers that are 0 or of magnitude 1e-130 to below 1e38 (DynamoDB's range,
cut at 1e38: boto3 cannot read back a number of more than 38 digits).

A page request (`order`, `after`, `before`, sk prefix) becomes a `Walk`: the exclusive key
bounds, the direction a backend reads keys in, and whether the page is reversed before it is
returned (a `before` page is read backwards from its cursor, then put back in `order`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

Item = dict[str, Any]
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""An attribute name an update or a `where` may use."""
RESERVED = ("pk", "sk", "version")
MAX_LIMIT = 1000
KEY_BYTES = {"pk": 2048, "sk": 1024, "gsi1pk": 2048, "gsi1sk": 1024}
SORT_KEY_BYTES = KEY_BYTES["sk"]
MAX_DEPTH = 31
NAME_BYTES = 65535
INT_LIMIT = 10**38
FLOAT_RANGE = (1e-130, 1e38)
KINDS = (str, bool, int, float, dict, list, tuple, type(None))


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


def plan(prefix: str, after: str | None, before: str | None, limit: int, order: str) -> Walk | None:
    """Return the walk that answers a page request (see `Store.query`), or None if it is empty.

    The empty cursor sorts before every key: as the low bound it bounds nothing, as the high bound
    it leaves nothing."""
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    check_text(prefix, "sk prefix", SORT_KEY_BYTES, empty=True)
    if prefix:
        prefix_end(prefix)
    for cursor in (after, before):
        if cursor is not None:
            check_text(cursor, "cursor", SORT_KEY_BYTES, empty=True)
    low, high = (after, before) if order == "asc" else (before, after)
    if high == "":
        return None
    if low == "":
        after, before = (None, before) if order == "asc" else (after, None)
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


def check_text(value: Any, what: str, max_bytes: int | None = None, empty: bool = False) -> None:
    """Raise ValueError unless `value` is a string UTF-8 can encode, non-empty unless `empty`, of at most `max_bytes`."""
    if not isinstance(value, str) or not (value or empty):
        raise ValueError(f"{what} must be a {'' if empty else 'non-empty '}string, not {value!r}"[:200])
    if value.isascii():
        size = len(value)
    else:
        try:
            size = len(value.encode())
        except UnicodeEncodeError:
            raise ValueError(f"{what}: a string must not hold lone surrogates") from None
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{what} is longer than {max_bytes} bytes")


def check_key(name: str, value: Any) -> None:
    """Raise ValueError unless `value` can be the key attribute `name` (pk, sk, gsi1pk, gsi1sk)."""
    check_text(value, name, KEY_BYTES[name])


def check_version(version: Any) -> None:
    """Raise ValueError unless `version` is None or an int."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValueError(f"expected_version must be an int, not {version!r}")


def check_value(value: Any, what: str, depth: int = 0) -> None:
    """Raise ValueError unless `value` is a JSON value both backends can store."""
    kind = type(value)
    if kind not in KINDS:  # a subclass is checked as its JSON type
        kind = next((k for k in KINDS if isinstance(value, k)), None)
    if kind is str:
        check_text(value, what, empty=True)
    elif kind is int:
        if not -INT_LIMIT < value < INT_LIMIT:
            raise ValueError(f"{what}: integers have at most 38 digits")
    elif kind is float:
        if value and not FLOAT_RANGE[0] <= abs(value) < FLOAT_RANGE[1]:  # NaN too
            raise ValueError(f"{what}: {value!r} is not 0 or of magnitude 1e-130 to below 1e38")
    elif kind in (dict, list, tuple):
        if depth >= MAX_DEPTH:
            raise ValueError(f"{what}: values nest at most {MAX_DEPTH} deep")
        if kind is dict:
            for name, inner in value.items():
                if type(name) is not str or not name.isascii() or not 0 < len(name) <= NAME_BYTES:
                    check_name(name, what)
                if not _plain(inner):
                    check_value(inner, what, depth + 1)
        else:
            for inner in value:
                if not _plain(inner):
                    check_value(inner, what, depth + 1)
    elif value is not None and kind is not bool:
        raise ValueError(f"{what}: {type(value).__name__} is not a JSON value")


def _plain(value: Any) -> bool:
    """Tell cheaply whether `value` is an ASCII string, a small int, a bool or None (needs no check)."""
    kind = type(value)
    return (kind is str and value.isascii()) or value is None or kind is bool or (kind is int and -2**62 < value < 2**62)


def check_name(name: Any, what: str) -> None:
    """Raise ValueError unless `name` can name an attribute or a map key."""
    check_text(name, f"{what}: a name", NAME_BYTES)


def check_attribute(name: Any, what: str) -> None:
    """Raise ValueError unless `name` is an attribute name an update or a `where` may use (`NAME`)."""
    if not isinstance(name, str) or not NAME.match(name) or len(name) > NAME_BYTES:
        raise ValueError(f"{what}: bad attribute name {name!r}"[:200])


def check_item(item: Any) -> None:
    """Raise ValueError unless `item` has valid keys (the owner index keys both or neither) and values."""
    if not isinstance(item, dict):
        raise ValueError("an item is a dict")
    for key in ("pk", "sk"):
        check_key(key, item.get(key))
    for key in ("gsi1pk", "gsi1sk"):
        if key in item:
            check_key(key, item[key])
    if ("gsi1pk" in item) != ("gsi1sk" in item):
        raise ValueError("gsi1pk and gsi1sk go together")
    for name, value in item.items():
        if name not in KEY_BYTES and name != "version":
            check_name(name, "item")
            check_value(value, name)


def check_where(where: Item | None) -> None:
    """Raise ValueError unless `where` maps attribute names to scalar JSON values."""
    if where is not None and not isinstance(where, dict):
        raise ValueError("where is a dict")
    for name, value in (where or {}).items():
        check_attribute(name, "where")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"where: {name} must be compared with a scalar")
        check_value(value, f"where {name}")


def check_update(values: Item, remove: tuple[str, ...]) -> None:
    """Raise ValueError unless an update's parts are valid; keys and version cannot change."""
    if not isinstance(values, dict):
        raise ValueError("update: set is a dict")
    for name in list(values) + list(remove):
        check_attribute(name, "update")
        if name in RESERVED:
            raise ValueError(f"update: {name} cannot be changed")
    if values.keys() & set(remove):
        raise ValueError("update: an attribute cannot be both set and removed")
    for name, value in values.items():
        if name in KEY_BYTES:
            check_key(name, value)
        else:
            check_value(value, name)


def index_needs(values: Item, remove: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the owner index keys the item must have, and must not have, for the update to leave both or neither.

    Raises ValueError when no item could be left valid (one key set, the other removed)."""
    present, absent = [], []
    for one, other in (("gsi1pk", "gsi1sk"), ("gsi1sk", "gsi1pk")):
        if other in values or other in remove:
            if (one in values and other in remove) or (one in remove and other in values):
                raise ValueError("update: gsi1pk and gsi1sk go together")
            continue
        if one in values:
            present.append(other)
        elif one in remove:
            absent.append(other)
    return tuple(present), tuple(absent)


def apply_update(item: Item, values: Item, remove: Iterable[str]) -> Item:
    """Return `item` with `values` written, `remove` dropped, and its version bumped."""
    out = {k: v for k, v in item.items() if k not in set(remove)}
    out.update(values)
    out["version"] = item["version"] + 1
    return out
