"""The Store on one DynamoDB table (keys `pk`/`sk`, owner index `gsi1`), through boto3's client.

Conditions are condition expressions with named parts, evaluated by DynamoDB inside the write;
`transact` is one TransactWriteItems. Pages are one Query with key conditions (never a Scan),
`Limit` = limit + 1; only a `where` filter, or a 1 MB response, makes a page take more requests.

Items must stay under DynamoDB's 400 KB: an attribute whose JSON passes `OVERFLOW_BYTES` (and,
on a put, the largest ones while the item passes `ITEM_BUDGET`) is written to the blob store and
replaced in the item by a pointer (a Binary value, a type no JSON value takes; `where` never
matches it). Reads follow pointers; writes delete the blobs they replace. A transaction does not
see the old item, so a large attribute it replaces leaves its blob behind (storage only, never a
wrong read).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from decimal import Decimal
from typing import Any, Iterable, Union

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from askservice import aws
from askservice.blobs.base import BlobStore
from askservice.store import rules
from askservice.store.base import (
    ABSENT, Check, ConditionFailed, Delete, Item, Operation, Order, Page, Put, Store, StoreUnavailable, Update,
)

INDEX = "gsi1"
KEY_ATTRS = ("pk", "sk", "gsi1pk", "gsi1sk", "version")
OVERFLOW_BYTES = 32 * 1024
ITEM_BUDGET = 300 * 1024
POINTER = b"blob:"
CONFLICT_RETRIES = 3
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class _Gone(Exception):
    """A pointer's blob vanished: a concurrent write replaced the attribute; read again."""


class DynamoStore(Store):
    """Items in DynamoDB table `table`; `blobs` keeps attributes too large for an item."""

    def __init__(self, table: str, blobs: BlobStore, client=None):
        self.table = table
        self.blobs = blobs
        self.client = client if client is not None else aws.client("dynamodb")

    # --- reads ---------------------------------------------------------------------------------

    def get(self, pk: str, sk: str) -> Item | None:
        return _again(lambda: self._get(pk, sk))

    def _get(self, pk: str, sk: str) -> Item | None:
        raw = self._call("get_item", TableName=self.table, Key=_key(pk, sk), ConsistentRead=True).get("Item")
        return self._load(raw) if raw else None

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
        walk = rules.plan(sk_prefix, after, before, limit, order)
        return _again(lambda: self._page(None, "pk", "sk", pk, walk, where))

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
        walk = rules.plan("", after, before, limit, order)
        return _again(lambda: self._page(INDEX, "gsi1pk", "gsi1sk", gsi1pk, walk, where))

    def _page(self, index: str | None, key: str, sort: str, value: str, walk: rules.Walk, where: Item | None) -> Page:
        rules.check_where(where)
        e = _Names()
        conditions = [f"{e.name(key)} = {e.value(value)}"]
        sort_condition = _sort_condition(e, sort, walk)
        if sort_condition is False:
            return Page(items=[], has_more=False)
        if sort_condition:
            conditions.append(sort_condition)
        filters = [_equals(e, name, expected) for name, expected in (where or {}).items()]
        params = {
            "TableName": self.table,
            "KeyConditionExpression": " AND ".join(conditions),
            "ScanIndexForward": walk.ascending,
            "Limit": walk.limit + 1,
            **e.params(FilterExpression=" AND ".join(filters)),
        }
        params.update({"IndexName": index} if index else {"ConsistentRead": True})
        found: list[dict] = []
        while True:
            response = self._call("query", **params)
            for raw in response["Items"]:
                if not walk.in_range(raw[sort]["S"]):
                    return rules.finish([self._load(r) for r in found], walk)
                found.append(raw)
                if len(found) > walk.limit:
                    return rules.finish([self._load(r) for r in found], walk)
            if "LastEvaluatedKey" not in response:
                return rules.finish([self._load(r) for r in found], walk)
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # --- writes --------------------------------------------------------------------------------

    def put(self, item: Item, condition: Union[None, str, int] = None) -> Item:
        op = Put(item, condition)
        rules.check_transaction([op])
        written: list[str] = []
        try:
            request, stored = self._put_request(op, written)
            old = self._call("put_item", ReturnValues="ALL_OLD", **request).get("Attributes", {})
        except BaseException:
            self._forget(written)
            raise
        self._forget(_pointers(old.values()) - _pointers(request["Item"].values()))
        return stored

    def update(
        self, pk: str, sk: str, set: Item | None = None, remove: Iterable[str] = (), expected_version: int | None = None
    ) -> Item:
        values, remove = rules.check_update(set, remove)
        op = Update(pk, sk, values, remove, expected_version)
        written: list[str] = []
        try:
            old = self._call("update_item", ReturnValues="ALL_OLD", **self._update_request(op, written))["Attributes"]
        except BaseException:
            self._forget(written)
            raise
        changed = values.keys() | frozenset(remove)
        self._forget(_pointers(v for k, v in old.items() if k in changed))
        try:
            kept = self._load({k: v for k, v in old.items() if k not in changed})
        except _Gone:  # a later write replaced a kept attribute already: the item moved on
            return self.get(pk, sk)
        return rules.apply_update(kept, values, remove)

    def delete(self, pk: str, sk: str, expected_version: int | None = None) -> bool:
        request = self._delete_request(Delete(pk, sk, expected_version))
        old = self._call("delete_item", ReturnValues="ALL_OLD", **request).get("Attributes")
        self._forget(_pointers((old or {}).values()))
        return old is not None

    def transact(self, operations: list[Operation]) -> None:
        rules.check_transaction(operations)
        written: list[str] = []
        try:
            items = []
            for op in operations:
                if isinstance(op, Put):
                    items.append({"Put": self._put_request(op, written)[0]})
                elif isinstance(op, Update):
                    items.append({"Update": self._update_request(op, written)})
                elif isinstance(op, Delete):
                    items.append({"Delete": self._delete_request(op)})
                else:
                    items.append({"ConditionCheck": self._check_request(op)})
            self._call("transact_write_items", TransactItems=items)
        except BaseException:
            self._forget(written)
            raise

    def _put_request(self, op: Put, written: list[str]) -> tuple[dict, Item]:
        stored = rules.stored({k: v for k, v in op.item.items() if k != "version"}, rules.new_version(op.condition))
        attrs = {k: _dump(v) for k, v in stored.items()}
        sizes = {k: _size(v) for k, v in stored.items() if k not in KEY_ATTRS}
        total = sum(sizes.values())
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
            if size <= OVERFLOW_BYTES and total <= ITEM_BUDGET:
                break
            attrs[name] = self._overflow(stored, name, stored[name], written)
            total -= size
        e = _Names()
        condition = None
        if op.condition == ABSENT:
            condition = f"attribute_not_exists({e.name('pk')})"
        elif op.condition is not None:
            condition = f"{e.name('version')} = {e.value(op.condition)}"
        return {"TableName": self.table, "Item": attrs, **e.params(ConditionExpression=condition)}, stored

    def _update_request(self, op: Update, written: list[str]) -> dict:
        e = _Names()
        version = e.name("version")
        parts = [f"{e.name(k)} = {e.raw(self._attribute({'pk': op.pk, 'sk': op.sk}, k, v, written))}" for k, v in op.set.items()]
        expression = "SET " + ", ".join(parts + [f"{version} = {version} + {e.value(1)}"])
        if op.remove:
            expression += " REMOVE " + ", ".join(e.name(k) for k in op.remove)
        condition = f"attribute_exists({e.name('pk')})" + _version_is(e, op.expected_version)
        return {
            "TableName": self.table,
            "Key": _key(op.pk, op.sk),
            "UpdateExpression": expression,
            **e.params(ConditionExpression=condition),
        }

    def _delete_request(self, op: Delete) -> dict:
        e = _Names()
        condition = _version_is(e, op.expected_version)[len(" AND "):] or None
        return {"TableName": self.table, "Key": _key(op.pk, op.sk), **e.params(ConditionExpression=condition)}

    def _check_request(self, op: Check) -> dict:
        e = _Names()
        condition = f"attribute_exists({e.name('pk')})" + _version_is(e, op.expected_version)
        return {"TableName": self.table, "Key": _key(op.pk, op.sk), **e.params(ConditionExpression=condition)}

    # --- large attributes ----------------------------------------------------------------------

    def _attribute(self, item: Item, name: str, value: Any, written: list[str]) -> dict:
        """Return the DynamoDB value of one attribute, overflowing it to a blob if large."""
        if name not in KEY_ATTRS and _size(value) > OVERFLOW_BYTES:
            return self._overflow(item, name, value, written)
        return _dump(value)

    def _overflow(self, item: Item, name: str, value: Any, written: list[str]) -> dict:
        digest = hashlib.sha256(f"{item['pk']}\0{item['sk']}".encode()).hexdigest()[:32]
        key = f"store/{digest}/{uuid.uuid4().hex}.json"
        self.blobs.put(key, json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        written.append(key)
        return {"B": POINTER + key.encode()}

    def _load(self, raw: dict) -> Item:
        item = {}
        for name, value in raw.items():
            if "B" in value and bytes(value["B"]).startswith(POINTER):
                try:
                    item[name] = json.loads(self.blobs.read(bytes(value["B"])[len(POINTER):].decode()))
                except FileNotFoundError:
                    raise _Gone(name) from None
            else:
                item[name] = _plain(_deserializer.deserialize(value))
        return item

    def _forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.blobs.delete(key)

    # --- the table -----------------------------------------------------------------------------

    def create_table(self) -> bool:
        """Create the table and its owner index if missing (idempotent); return whether it was created."""
        string = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")]
        index = {
            "IndexName": INDEX,
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        created = True
        try:
            self.client.create_table(
                TableName=self.table,
                AttributeDefinitions=string,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[index],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
            created = False
        self.client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        table = self.client.describe_table(TableName=self.table)["Table"]
        if not any(i["IndexName"] == INDEX for i in table.get("GlobalSecondaryIndexes", [])):
            self.client.update_table(
                TableName=self.table, AttributeDefinitions=string, GlobalSecondaryIndexUpdates=[{"Create": index}]
            )
        return created

    def _call(self, method: str, **params) -> dict:
        """Call the client; translate its errors into ConditionFailed, ValueError or StoreUnavailable."""
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return getattr(self.client, method)(**params)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "")
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in reasons:
                    raise ConditionFailed(error.get("Message", code)) from None
                if "TransactionConflict" in reasons and attempt < CONFLICT_RETRIES:
                    time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # another transaction holds an item
                    continue
                if code == "ValidationException":
                    raise ValueError(f"DynamoDB refused {method}: {error.get('Message')}") from exc
                raise StoreUnavailable(f"DynamoDB {method} failed: {code}") from exc
            except BotoCoreError as exc:
                raise StoreUnavailable(f"DynamoDB {method} failed: {exc}") from exc
        raise AssertionError("unreachable")


class _Names:
    """Placeholders (`#n0`, `:v0`) for the names and values of one expression."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict] = {}

    def name(self, attribute: str) -> str:
        for placeholder, existing in self.names.items():
            if existing == attribute:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        return self.raw(_dump(value))

    def raw(self, attribute_value: dict) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = attribute_value
        return placeholder

    def params(self, **expressions: str | None) -> dict:
        out: dict[str, Any] = {k: v for k, v in expressions.items() if v}
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


def _sort_condition(e: _Names, sort: str, walk: rules.Walk) -> Union[str, None, bool]:
    """Return the key condition on the sort key that starts `walk`, None for none, False if empty.

    A key condition holds one test on the sort key, so the walk starts at its cursor (or at the
    prefix) and stops at the first key out of range (`Walk.in_range`)."""
    start = walk.start
    if start is not None and walk.prefix:
        end = rules.prefix_end(walk.prefix)
        if (start >= end) if walk.ascending else (start <= walk.prefix):
            return False  # the cursor is past every key with the prefix
        if (start < walk.prefix) if walk.ascending else (start >= end):
            start = None  # the cursor is before every key with the prefix
    if start is not None:
        return f"{e.name(sort)} {'>' if walk.ascending else '<'} {e.value(start)}"
    if walk.prefix:
        return f"begins_with({e.name(sort)}, {e.value(walk.prefix)})"
    return None


def _equals(e: _Names, name: str, expected: Any) -> str:
    if expected is None:
        return f"(attribute_not_exists({e.name(name)}) OR attribute_type({e.name(name)}, {e.raw({'S': 'NULL'})}))"
    return f"{e.name(name)} = {e.value(expected)}"


def _version_is(e: _Names, expected: int | None) -> str:
    return "" if expected is None else f" AND {e.name('version')} = {e.value(expected)}"


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _pointers(values: Iterable[dict]) -> set[str]:
    return {bytes(v["B"])[len(POINTER):].decode() for v in values if "B" in v and bytes(v["B"]).startswith(POINTER)}


def _dump(value: Any) -> dict:
    return _serializer.serialize(_numbers(value))


def _numbers(value: Any) -> Any:
    """Return `value` with floats as Decimals (what boto3 serialises)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and infinite numbers cannot be stored")
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Return a deserialised value with Decimals as ints (when whole) or floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _again(read, attempts: int = 3):
    """Run a read again when a pointer's blob vanished under it (a concurrent write replaced it)."""
    for attempt in range(attempts):
        try:
            return read()
        except _Gone:
            if attempt == attempts - 1:
                raise StoreUnavailable("an item kept changing while it was read") from None
    raise AssertionError("unreachable")
