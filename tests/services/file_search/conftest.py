"""Fixtures of the file-search tests: one store that several workers share, on each backend."""

import uuid

import pytest

from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def shared(request, settings_for):
    """Return (settings, store, blobs) that several workers share: SQLite + a blob folder, or a fresh
    DynamoDB Local table + a fresh prefix of moto's S3 (tests/conftest.py `dynamodb_local`, `s3_server`)."""
    from askservice.blobs import open_blobs
    from askservice.store import open_store

    settings = settings_for(max_file_bytes=200_000)
    if request.param == "sqlite":
        blobs = open_blobs(settings)
        store = open_store(settings, blobs)
    else:
        from askservice.blobs.s3 import S3BlobStore
        from askservice.store.dynamodb import DynamoStore

        dynamo, s3 = request.getfixturevalue("dynamodb_local"), request.getfixturevalue("s3_server")
        blobs = S3BlobStore(s3.bucket, uuid.uuid4().hex[:12], client=s3.client())
        store = DynamoStore(dynamo.new_table(), blobs, client=dynamo.client())
        store.create_table()
    yield settings, store, blobs
    store.close()
