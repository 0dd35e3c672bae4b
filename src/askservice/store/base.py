"""The Store: items keyed by `pk`/`sk`, conditional writes on `version`, pages by key order.

An item is a dict of JSON values with `pk` and `sk` (strings), optionally `gsi1pk`/`gsi1sk`
(the owner index), and `version` (an int the store maintains: 1 on create, +1 on each update).
Every backend has the same semantics; see docs/ARCHITECTURE.md "Data model". A write whose condition does
not hold raises `ConditionFailed` and changes nothing; a malformed call (bad keys, limit, names)
raises ValueError; a backend that keeps failing after its retries raises `StoreUnavailable`
(a 503); no backend exception reaches a caller. Values are JSON values; a whole float may come
back as an int (DynamoDB keeps a number's value, not its type).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Literal, Union

from askservice.errors import ServiceError

Item = dict[str, Any]
Order = Literal["asc", "desc"]
ABSENT = "absent"
"""`put(..., condition=ABSENT)`: the item must not exist yet."""
PAGE_ALL = 1000
"""The page size `query_all` reads with (the largest page a query may ask for)."""


class ConditionFailed(Exception):
    """A conditional write found the item missing, present, or at another version."""


class StoreUnavailable(ServiceError):
    """The backend kept failing (throttled, unreachable, conflicting) after its retries."""

    status_code = 503
    error_type = "server_error"


@dataclass(frozen=True)
class Page:
    """One page of a query, in the order asked, and whether more items lie beyond it.

    "Beyond" is the way the page was read: after its last item for a first or `after` page,
    before its first item for a `before` page (a `before` page is read backwards)."""

    items: list[Item]
    has_more: bool


@dataclass(frozen=True)
class Put:
    """Write a whole item; `condition` is None, ABSENT, or the version the item must have."""

    item: Item
    condition: Union[None, str, int] = None


@dataclass(frozen=True)
class Update:
    """Set and remove attributes of an existing item, optionally only at `expected_version`; bumps version."""

    pk: str
    sk: str
    set: Item = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    expected_version: int | None = None


@dataclass(frozen=True)
class Delete:
    """Delete an item; with `expected_version`, only if it exists at that version."""

    pk: str
    sk: str
    expected_version: int | None = None


@dataclass(frozen=True)
class Check:
    """Write nothing, but fail the transaction unless the item exists (at `expected_version`, if given)."""

    pk: str
    sk: str
    expected_version: int | None = None


Operation = Union[Put, Update, Delete, Check]


class Store(ABC):
    """The storage interface every service uses; backends: sqlite, dynamodb."""

    @abstractmethod
    def get(self, pk: str, sk: str) -> Item | None:
        """Return the item (strongly consistent), or None."""

    @abstractmethod
    def put(self, item: Item, condition: Union[None, str, int] = None) -> Item:
        """Write `item` whole and return it as stored (with `version`: condition + 1, else 1).

        Raises ConditionFailed when `condition` is ABSENT and the item exists, or is an int and
        the item is missing or at another version."""

    @abstractmethod
    def update(
        self, pk: str, sk: str, set: Item | None = None, remove: Iterable[str] = (), expected_version: int | None = None
    ) -> Item:
        """Change attributes of an existing item, bump its version, return the new item.

        Raises ConditionFailed when the item is missing or not at `expected_version`."""

    @abstractmethod
    def delete(self, pk: str, sk: str, expected_version: int | None = None) -> bool:
        """Delete the item; return whether it existed. Raises ConditionFailed on a version mismatch."""

    @abstractmethod
    def query(
        self,
        pk: str,
        sk_prefix: str = "",
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "asc",
        where: Item | None = None,
    ) -> Page:
        """Return up to `limit` items of partition `pk` whose sk starts with `sk_prefix`.

        `after`: the items that follow that sk in `order`; `before`: the `limit` items nearest
        before that sk in `order` (the previous page), still returned in `order`. `where`
        keeps only items whose top-level attributes equal the given scalar values (None matches
        a null or missing attribute). Cursors may be any string, in the partition or not. One
        round trip whenever `where` is not given (on DynamoDB: unless the page passes 1 MB)."""

    @abstractmethod
    def query_index(
        self,
        gsi1pk: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "asc",
        where: Item | None = None,
    ) -> Page:
        """Like `query`, on the owner index: items with this `gsi1pk`, ordered by `gsi1sk`."""

    @abstractmethod
    def transact(self, operations: list[Operation]) -> None:
        """Apply a few operations all or none. Raises ConditionFailed if any condition fails."""

    def query_all(self, pk: str, sk_prefix: str = "", *, index: bool = False, where: Item | None = None,
                  order: Order = "asc") -> Iterator[Item]:
        """Yield every item of partition `pk` under `sk_prefix` in `order`, a page at a time.

        `index`: walk the owner index instead (`pk` is then a `gsi1pk`; `sk_prefix` must be empty).
        Deleting or changing the items already yielded does not disturb the walk."""
        if index and sk_prefix:
            raise ValueError("the owner index has no sk prefix")
        cursor_key = "gsi1sk" if index else "sk"
        after = None
        while True:
            if index:
                page = self.query_index(pk, after=after, limit=PAGE_ALL, order=order, where=where)
            else:
                page = self.query(pk, sk_prefix, after=after, limit=PAGE_ALL, order=order, where=where)
            yield from page.items
            if not page.has_more or not page.items:
                return
            after = page.items[-1][cursor_key]

    def delete_all(self, pk: str, sk_prefix: str = "") -> int:
        """Delete every item of partition `pk` under `sk_prefix`; return how many were deleted."""
        return sum(self.delete(item["pk"], item["sk"]) for item in list(self.query_all(pk, sk_prefix)))

    def create_table(self) -> bool:
        """Create the backend's table and index if missing; return whether it did (SQLite: on open)."""
        return False

    def close(self) -> None:
        """Release connections."""
