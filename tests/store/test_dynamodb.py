"""DynamoDB specifics: backend failures surface as StoreUnavailable, never as botocore errors."""

from __future__ import annotations

import pytest

from askservice.blobs.local import LocalBlobStore
from askservice.store.base import StoreUnavailable
from askservice.store.dynamodb import DynamoStore


def test_a_missing_table_is_store_unavailable(dynamodb_local, tmp_path):
    store = DynamoStore(dynamodb_local.new_table(), LocalBlobStore(tmp_path), client=dynamodb_local.client())
    for call in (lambda: store.get("a", "b"), lambda: store.put({"pk": "a", "sk": "b"}), lambda: store.query("a")):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert caught.value.status_code == 503

