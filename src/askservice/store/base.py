"""The Store: items keyed by `pk`/`sk`, conditional writes on `version`, pages by key order.

An item is a dict of JSON values with `pk` and `sk`, optionally both `gsi1pk` and `gsi1sk` (the
owner index), and `version` (an int the store maintains: 1 on create, +1 on each update). See
docs/ARCHITECTURE.md "Data model". `Store` holds the public calls and every check of them,
written once; a backend implements the private primitives at its end (`_get`, `_read_page`,
`_write`, `_transact`, `_create_table`) and only ever sees calls that passed the checks, so every
backend accepts and refuses the same calls.

The contract of every call, on every backend:

- `ValueError`: a malformed call, found before the backend is asked (keys, names, values,
  limits, cursors, conditions, transaction shape; store/rules.py has the limits), or an update
  that would leave `gsi1pk` without `gsi1sk` or the reverse (then nothing changes).
- `ConditionFailed`: a condition did not hold; nothing changed.
- `StoreUnavailable`: the backend kept failing after its retries (a 503). No backend exception
  reaches a caller.
- Values come back as written, except that a whole float may come back as an int (DynamoDB keeps
  a number's value, not its type) and a tuple as a list.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Literal, Mapping, Union

from askservice.errors import ServiceError
from askservice.store import rules
from askservice.store.rules import Item, Walk

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


@dataclass(frozen=True)
class Expect:
    """What a write needs of the item it touches; the backend tests it inside the write."""

    exists: bool | None = None
    """True: the item must exist; False: it must not; None: either."""
    version: int | None = None
    """The version the item must be at (only with `exists=True`)."""
    present: tuple[str, ...] = ()
    """Attributes the item must have."""
    absent: tuple[str, ...] = ()
    """Attributes the item must not have."""

    def holds(self, item: Item | None) -> bool:
        """Tell whether the item as it is now (None: missing) satisfies this expectation."""
        if item is None:
            return not self.exists
        return (
            self.exists is not False
            and self.version in (None, item["version"])
            and all(name in item for name in self.present)
            and not any(name in item for name in self.absent)
        )


class Store(ABC):
    """The storage interface every service uses; backends: sqlite, dynamodb.

    Every call raises ValueError when malformed and StoreUnavailable when the backend keeps
    failing; each docstring names what else it raises."""

    page_all: int = PAGE_ALL
    """The page size of `query_all` (tests make it small)."""

    def get(self, pk: str, sk: str) -> Item | None:
        """Return the item (strongly consistent), or None."""
        rules.check_key("pk", pk)
        rules.check_key("sk", sk)
        return self._get(pk, sk)

    def put(self, item: Item, condition: Union[None, str, int] = None) -> Item:
        """Write `item` whole and return it as stored (with `version`: condition + 1, else 1).

        Raises ConditionFailed when `condition` is ABSENT and the item exists, or is a version and
        the item is missing or at another version."""
        return self._write(*_checked(Put(item, condition)))

    def update(
        self, pk: str, sk: str, set: Item | None = None, remove: Iterable[str] = (), expected_version: int | None = None
    ) -> Item:
        """Change attributes of an existing item, bump its version, return the new item.

        Raises ConditionFailed when the item is missing or not at `expected_version`; ValueError
        (changing nothing) when the item would be left with `gsi1pk` without `gsi1sk`, or the reverse."""
        operation = _checked(Update(pk, sk, set, tuple(remove), expected_version))
        try:
            return self._write(*operation)
        except ConditionFailed:
            self._explain([operation])
            raise

    def delete(self, pk: str, sk: str, expected_version: int | None = None) -> bool:
        """Delete the item; return whether it existed. Raises ConditionFailed on a version mismatch."""
        return self._write(*_checked(Delete(pk, sk, expected_version)))

    def transact(self, operations: list[Operation]) -> None:
        """Apply 1-100 operations on distinct items, all or none.

        Raises ConditionFailed if any condition fails (a Check: the item is missing or at another
        version); ValueError as the single calls would."""
        if not isinstance(operations, (list, tuple)) or not 1 <= len(operations) <= 100:
            raise ValueError("a transaction has 1 to 100 operations")
        checked = [_checked(op) for op in operations]
        keys = [_key(op) for op, _ in checked]
        if len(set(keys)) != len(keys):
            raise ValueError("a transaction touches each item at most once")
        try:
            self._transact(checked)
        except ConditionFailed:
            self._explain(checked)
            raise

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
        """Return up to `limit` (1-1000) items of partition `pk` whose sk starts with `sk_prefix`.

        `after`: the items that follow that sk in `order`; `before`: the `limit` items nearest
        before that sk in `order` (the previous page), still returned in `order`. Cursors may be
        any string of at most 1024 bytes, in the partition or not ("" sorts before every key).
        `where` keeps only items whose top-level attributes equal the given scalar values (None
        matches a null or missing attribute; a value matches only its own JSON type). One round
        trip whenever `where` is not given (on DynamoDB: unless the page passes 1 MB)."""
        rules.check_key("pk", pk)
        return self._page(False, pk, rules.plan(sk_prefix, after, before, limit, order), where)

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
        rules.check_key("gsi1pk", gsi1pk)
        return self._page(True, gsi1pk, rules.plan("", after, before, limit, order), where)

    def query_all(self, pk: str, sk_prefix: str = "", *, index: bool = False, where: Item | None = None,
                  order: Order = "asc") -> Iterator[Item]:
        """Yield every item of partition `pk` under `sk_prefix` in `order`, `page_all` at a time.

        `index`: walk the owner index instead (`pk` is then a `gsi1pk`; `sk_prefix` must be empty).
        Deleting or changing the items already yielded does not disturb the walk."""
        if index and sk_prefix:
            raise ValueError("the owner index has no sk prefix")
        cursor_key = "gsi1sk" if index else "sk"
        after = None
        while True:
            if index:
                page = self.query_index(pk, after=after, limit=self.page_all, order=order, where=where)
            else:
                page = self.query(pk, sk_prefix, after=after, limit=self.page_all, order=order, where=where)
            yield from page.items
            if not page.has_more or not page.items:
                return
            after = page.items[-1][cursor_key]

    def delete_all(self, pk: str, sk_prefix: str = "") -> int:
        """Delete every item of partition `pk` under `sk_prefix`; return how many were deleted."""
        return sum(self.delete(item["pk"], item["sk"]) for item in list(self.query_all(pk, sk_prefix)))

    def create_table(self) -> bool:
        """Create the backend's table and index if missing; return whether it did (SQLite: on open)."""
        return self._create_table()

    def close(self) -> None:
        """Release connections."""

    def _page(self, index: bool, partition: str, walk: Walk | None, where: Item | None) -> Page:
        rules.check_where(where)
        if walk is None:
            return Page(items=[], has_more=False)
        items = self._read_page(index, partition, walk, where or {})
        page = items[: walk.limit]
        if walk.reverse:
            page.reverse()
        return Page(items=page, has_more=len(items) > walk.limit)

    def _explain(self, checked: list[tuple[Operation, Expect]]) -> None:
        """After a ConditionFailed: raise ValueError if an update failed only because of the owner index keys."""
        for op, expect in checked:
            if expect.present or expect.absent:
                current = self._get(op.pk, op.sk)
                if Expect(exists=True, version=expect.version).holds(current) and not expect.holds(current):
                    raise ValueError(f"update of {op.pk!r}/{op.sk!r}: gsi1pk and gsi1sk go together")

    # --- what a backend implements ---------------------------------------------------------------

    @abstractmethod
    def _get(self, pk: str, sk: str) -> Item | None:
        """Return the item (strongly consistent), or None."""

    @abstractmethod
    def _read_page(self, index: bool, partition: str, walk: Walk, where: Item) -> list[Item]:
        """Return up to `walk.limit + 1` items along `walk` that match `where`, in the walk's order.

        Table (`index` False): partition `pk`, sort key `sk`; owner index: `gsi1pk`, `gsi1sk`."""

    @abstractmethod
    def _write(self, op: Operation, expect: Expect) -> Item | bool:
        """Apply one checked Put, Update or Delete if `expect` holds, else raise ConditionFailed.

        Return the item as stored (Put: `op.item`; Update: the new item), or for a Delete whether
        the item existed. A Put's item carries its new version; an Update bumps the version."""

    @abstractmethod
    def _transact(self, checked: list[tuple[Operation, Expect]]) -> None:
        """Apply checked operations (Check: write nothing) all or none; ConditionFailed if an `Expect` fails."""

    def _create_table(self) -> bool:
        """Create the table if missing; return whether it was created."""
        return False


def _checked(op: Operation) -> tuple[Operation, Expect]:
    """Return `op` checked and normalised (a Put's item at its new version), with what it expects."""
    if isinstance(op, Put):
        rules.check_item(op.item)
        condition = op.condition
        if condition is None:
            expect = Expect()
        elif condition == ABSENT:
            expect = Expect(exists=False)
        elif isinstance(condition, int) and not isinstance(condition, bool):
            expect = Expect(exists=True, version=condition)
        else:
            raise ValueError(f"condition must be None, ABSENT or a version, not {condition!r}")
        item = {k: v for k, v in op.item.items() if k != "version"}
        item["version"] = condition + 1 if expect.version is not None else 1
        return Put(item, condition), expect
    if not isinstance(op, (Update, Delete, Check)):
        raise ValueError(f"not a store operation: {op!r}")
    rules.check_key("pk", op.pk)
    rules.check_key("sk", op.sk)
    rules.check_version(op.expected_version)
    if isinstance(op, Update):
        if op.set is not None and not isinstance(op.set, Mapping):
            raise ValueError("update: set is a mapping of attribute names to values")
        values, remove = dict(op.set or {}), tuple(op.remove)
        rules.check_update(values, remove)
        present, absent = rules.index_needs(values, remove)
        return Update(op.pk, op.sk, values, remove, op.expected_version), Expect(True, op.expected_version, present, absent)
    exists = True if isinstance(op, Check) or op.expected_version is not None else None
    return op, Expect(exists=exists, version=op.expected_version)


def _key(op: Operation) -> tuple[str, str]:
    return (op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk)
