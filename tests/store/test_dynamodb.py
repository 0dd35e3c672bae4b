"""DynamoDB specifics: backend failures surface as StoreUnavailable, never as botocore errors;
attributes stored by earlier versions still read."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from askservice.blobs.local import LocalBlobStore
from askservice.store.base import StoreUnavailable
from askservice.store.dynamodb import DynamoStore
from tests.servers import free_port


def test_a_missing_table_is_store_unavailable(dynamodb_local, tmp_path):
    store = DynamoStore(dynamodb_local.new_table(), LocalBlobStore(tmp_path), client=dynamodb_local.client())
    for call in (lambda: store.get("a", "b"), lambda: store.put({"pk": "a", "sk": "b"}), lambda: store.query("a")):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert caught.value.status_code == 503


def test_create_table_on_an_unreachable_endpoint_is_store_unavailable(tmp_path):
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2),
    )
    store = DynamoStore("t", LocalBlobStore(tmp_path), client=client)
    with pytest.raises(StoreUnavailable) as caught:
        store.create_table()
    assert caught.value.status_code == 503


def test_create_table_refused_by_dynamodb_is_store_unavailable(dynamodb_local, tmp_path):
    """The fleet's IAM policy has no create-table right: the refusal is a 503, not a botocore error."""
    client = dynamodb_local.client()
    store = DynamoStore(dynamodb_local.new_table(), LocalBlobStore(tmp_path), client=client)
    with Stubber(client) as stub:
        stub.add_client_error("create_table", "AccessDeniedException", http_status_code=400)
        with pytest.raises(StoreUnavailable):
            store.create_table()
        stub.add_client_error("create_table", "ResourceInUseException", http_status_code=400)
        stub.add_client_error("describe_table", "ResourceNotFoundException", http_status_code=400)  # the waiter
        stub.add_client_error("describe_table", "AccessDeniedException", http_status_code=400)
        with pytest.raises(StoreUnavailable):
            store.create_table()


@pytest.fixture
def fresh(dynamodb_local, tmp_path):
    """A store on a new table: (store, its boto3 client, its blobs, the table's name)."""
    client, table, blobs = dynamodb_local.client(), dynamodb_local.new_table(), LocalBlobStore(tmp_path)
    store = DynamoStore(table, blobs, client=client)
    store.create_table()
    return store, client, blobs, table


def test_overflow_pointers_written_by_earlier_versions_still_read(fresh):
    """The pointer format is storage: a Binary `blob:KEY` whose blob holds the value's JSON."""
    store, client, blobs, table = fresh
    key = "store/0123456789abcdef0123456789abcdef/00112233445566778899aabbccddeeff.json"
    blobs.put(key, json.dumps({"text": "é" * 40_000}, ensure_ascii=False).encode())
    client.put_item(TableName=table, Item={
        "pk": {"S": "p"}, "sk": {"S": "s"}, "version": {"N": "1"}, "body": {"B": b"blob:" + key.encode()},
        "small": {"S": "x"},
    })
    assert store.get("p", "s") == {"pk": "p", "sk": "s", "version": 1, "body": {"text": "é" * 40_000}, "small": "x"}
    store.update("p", "s", set={"body": "short"})
    assert not blobs.exists(key)  # the replaced overflow is removed
    assert store.get("p", "s")["body"] == "short"


def test_overflow_writes_pointers_in_that_format(fresh):
    store, client, blobs, table = fresh
    store.put({"pk": "p", "sk": "s", "big": "b" * 40_000, "small": "x"})
    raw = client.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
    pointer = bytes(raw["big"]["B"])
    assert pointer.startswith(b"blob:store/") and raw["small"] == {"S": "x"}
    assert json.loads(blobs.read(pointer[len(b"blob:"):].decode())) == "b" * 40_000
