"""The Store on one DynamoDB table (keys `pk`/`sk`, owner index `gsi1`), through boto3's client.

Conditions (`Expect`) are condition expressions with named parts, evaluated by DynamoDB inside the
write; `transact` is one TransactWriteItems. Pages are one Query with key conditions (never a
Scan), `Limit` = limit + 1; only a `where` filter, or a 1 MB response, makes a page take more
requests. Items must stay under DynamoDB's 400 KB: large attributes live in the blob store
(store/overflow.py), stored here as Binary pointers. Every client call, the table's creation
included, goes through `_call`, which turns botocore's errors into the Store's.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any, Callable, Iterable, Union

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from askservice import aws
from askservice.blobs.base import BlobStore
from askservice.store import overflow, rules
from askservice.store.base import (
    Check, ConditionFailed, Delete, Expect, Item, Operation, Put, Store, StoreUnavailable, Update,
)
from askservice.store.overflow import Gone, Overflow
from askservice.store.rules import Walk

INDEX = "gsi1"
CONFLICT_RETRIES = 3
METHODS = {Put: "put_item", Update: "update_item", Delete: "delete_item"}
TRANSACT = {Put: "Put", Update: "Update", Delete: "Delete", Check: "ConditionCheck"}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoStore(Store):
    """Items in DynamoDB table `table`; `blobs` keeps attributes too large for an item."""

    def __init__(self, table: str, blobs: BlobStore, client=None):
        self.table = table
        self.overflow = Overflow(blobs)
        self.client = client if client is not None else aws.client("dynamodb")

    # --- reads ---------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> Item | None:
        def read():
            raw = self._call("get_item", TableName=self.table, Key=_key(pk, sk), ConsistentRead=True).get("Item")
            return self._load(raw) if raw else None

        return overflow.again(read)

    def _read_page(self, index: bool, partition: str, walk: Walk, where: Item) -> list[Item]:
        return overflow.again(lambda: self._query(index, partition, walk, where))

    def _query(self, index: bool, partition: str, walk: Walk, where: Item) -> list[Item]:
        key, sort = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
        e = _Names()
        conditions = [f"{e.name(key)} = {e.value(partition)}"]
        sort_condition = _sort_condition(e, sort, walk)
        if sort_condition is False:
            return []
        if sort_condition:
            conditions.append(sort_condition)
        filters = [_equals(e, name, expected) for name, expected in where.items()]
        params = {
            "TableName": self.table,
            "KeyConditionExpression": " AND ".join(conditions),
            "ScanIndexForward": walk.ascending,
            "Limit": walk.limit + 1,
            **e.params(FilterExpression=" AND ".join(filters)),
        }
        params.update({"IndexName": INDEX} if index else {"ConsistentRead": True})
        found: list[dict] = []
        while True:
            response = self._call("query", **params)
            for raw in response["Items"]:
                if not walk.in_range(raw[sort]["S"]):
                    return [self._load(r) for r in found]
                found.append(raw)
                if len(found) > walk.limit:
                    return [self._load(r) for r in found]
            if "LastEvaluatedKey" not in response:
                return [self._load(r) for r in found]
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _load(self, raw: dict) -> Item:
        return self.overflow.load({name: _plain(_deserializer.deserialize(value)) for name, value in raw.items()})

    # --- writes --------------------------------------------------------------------------------

    def _write(self, op: Operation, expect: Expect) -> Item | bool:
        written: list[str] = []
        try:
            request = self._request(op, expect, written)
            old = self._call(METHODS[type(op)], ReturnValues="ALL_OLD", **request).get("Attributes") or {}
        except BaseException:
            self.overflow.forget(written)
            raise
        if isinstance(op, Put):
            self.overflow.forget(_blobs(old.values()) - _blobs(request["Item"].values()))
            return op.item
        if isinstance(op, Delete):
            self.overflow.forget(_blobs(old.values()))
            return bool(old)
        changed = op.set.keys() | frozenset(op.remove)
        self.overflow.forget(_blobs(v for k, v in old.items() if k in changed))
        try:
            kept = self._load({k: v for k, v in old.items() if k not in changed})
        except Gone:  # a later write replaced a kept attribute already: the item moved on
            return self.get(op.pk, op.sk)
        return rules.apply_update(kept, op.set, op.remove)

    def _transact(self, checked: list[tuple[Operation, Expect]]) -> None:
        written: list[str] = []
        try:
            items = [{TRANSACT[type(op)]: self._request(op, expect, written)} for op, expect in checked]
            self._call("transact_write_items", TransactItems=items)
        except BaseException:
            self.overflow.forget(written)
            raise

    def _request(self, op: Operation, expect: Expect, written: list[str]) -> dict:
        """Return the parameters of one write (or ConditionCheck), its large attributes moved to blobs."""
        e = _Names()
        if isinstance(op, Put):
            body = {"Item": {k: _dump(v) for k, v in self.overflow.item(op.item, written).items()}}
        else:
            body = {"Key": _key(op.pk, op.sk)}
        if isinstance(op, Update):
            version = e.name("version")
            values = self.overflow.values(op.pk, op.sk, op.set, written)
            parts = [f"{e.name(k)} = {e.value(v)}" for k, v in values.items()]
            body["UpdateExpression"] = "SET " + ", ".join(parts + [f"{version} = {version} + {e.value(1)}"])
            if op.remove:
                body["UpdateExpression"] += " REMOVE " + ", ".join(e.name(k) for k in op.remove)
        return {"TableName": self.table, **body, **e.params(ConditionExpression=_condition(e, expect))}

    # --- the table -----------------------------------------------------------------------------

    def _create_table(self) -> bool:
        string = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")]
        index = {
            "IndexName": INDEX,
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        created = self._call(
            "create_table",
            tolerate=("ResourceInUseException",),
            TableName=self.table,
            AttributeDefinitions=string,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[index],
            BillingMode="PAY_PER_REQUEST",
        ) is not None
        waiter = self.client.get_waiter("table_exists")
        self._call(waiter.wait, TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        table = self._call("describe_table", TableName=self.table)["Table"]
        if not any(i["IndexName"] == INDEX for i in table.get("GlobalSecondaryIndexes", [])):
            self._call("update_table", TableName=self.table, AttributeDefinitions=string,
                       GlobalSecondaryIndexUpdates=[{"Create": index}])
        return created

    def _call(self, method: Union[str, Callable[..., Any]], *, tolerate: tuple[str, ...] = (), **params) -> Any:
        """Call the client's `method` (or a waiter's `wait`); turn its errors into ConditionFailed,
        ValueError or StoreUnavailable. An error whose code is in `tolerate` returns None."""
        call = getattr(self.client, method) if isinstance(method, str) else method
        name = method if isinstance(method, str) else getattr(method, "__name__", "call")
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return call(**params)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "")
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if code in tolerate:
                    return None
                if code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in reasons:
                    raise ConditionFailed(error.get("Message", code)) from None
                if "TransactionConflict" in reasons and attempt < CONFLICT_RETRIES:
                    time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # another transaction holds an item
                    continue
                if code == "ValidationException":
                    raise ValueError(f"DynamoDB refused {name}: {error.get('Message')}") from exc
                raise StoreUnavailable(f"DynamoDB {name} failed: {code}") from exc
            except BotoCoreError as exc:
                raise StoreUnavailable(f"DynamoDB {name} failed: {exc}") from exc
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


def _sort_condition(e: _Names, sort: str, walk: Walk) -> Union[str, None, bool]:
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


def _condition(e: _Names, expect: Expect) -> str | None:
    parts = []
    if expect.exists is not None:
        parts.append(f"attribute_{'' if expect.exists else 'not_'}exists({e.name('pk')})")
    if expect.version is not None:
        parts.append(f"{e.name('version')} = {e.value(expect.version)}")
    parts += [f"attribute_exists({e.name(name)})" for name in expect.present]
    parts += [f"attribute_not_exists({e.name(name)})" for name in expect.absent]
    return " AND ".join(parts) or None


def _blobs(values: Iterable[dict]) -> set[str]:
    """Return the blob keys of the pointers among raw attribute values."""
    return overflow.keys(bytes(value["B"]) for value in values if "B" in value)


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _dump(value: Any) -> dict:
    return _serializer.serialize(_numbers(value))


def _numbers(value: Any) -> Any:
    """Return `value` with floats as Decimals (what boto3 serialises)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Return a deserialised value with Decimals as ints (when whole) or floats, and Binary as bytes."""
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
