"""Choosing backends from STORE_URL / BLOB_URL, the create-table command, and a service on DynamoDB + S3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import requests

from askservice import aws
from askservice.blobs import open_blobs
from askservice.blobs.local import LocalBlobStore
from askservice.blobs.s3 import S3BlobStore
from askservice.config import REPO_ROOT, Settings
from askservice.store import open_store
from askservice.store.dynamodb import INDEX
from askservice.store.sqlite import SqliteStore
from tests.servers import REPO


def test_sqlite_and_folder_paths_are_absolute_or_relative_to_the_repository(tmp_path):
    settings = Settings(store_url=f"sqlite:///{tmp_path}/a/store.db", blob_url=f"file://{tmp_path}/b")
    blobs = open_blobs(settings)
    store = open_store(settings, blobs)
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "a" / "store.db"
    assert isinstance(blobs, LocalBlobStore) and blobs.root == tmp_path / "b"
    store.close()
    scratch = REPO_ROOT / ".cache" / "test-open"
    try:
        settings = Settings(store_url="sqlite:///.cache/test-open/store.db", blob_url="file://.cache/test-open/blobs")
        blobs = open_blobs(settings)
        store = open_store(settings, blobs)
        assert store.path == scratch / "store.db" and store.path.is_file()
        assert blobs.root == scratch.resolve() / "blobs"  # the folder resolves links (.cache may be one)
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_s3_blobs_follow_boto3s_environment(s3_server, monkeypatch):
    for name, value in s3_server.env(prefix="env/check").items():
        monkeypatch.setenv(name, value)
    aws.client.cache_clear()
    try:
        blobs = open_blobs(Settings.from_env(os.environ))
        assert isinstance(blobs, S3BlobStore) and blobs.prefix == "env/check"
        blobs.put("k", b"v")
        assert s3_server.client().get_object(Bucket=s3_server.bucket, Key="env/check/k")["Body"].read() == b"v"
    finally:
        aws.client.cache_clear()


def create_table(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORE_", "BLOB_"))}
    full.update(env, BLOB_URL=f"file://{tmp_path}/blobs", PYTHONPATH=str(REPO / "src"))
    return subprocess.run(
        [sys.executable, "-m", "askservice.store", "create-table"], env=full, capture_output=True, text=True, timeout=120
    )


def test_create_table_command_is_idempotent(dynamodb_local, tmp_path):
    table = dynamodb_local.new_table()
    env = {**dynamodb_local.env(table), "STORE_CREATE_TABLE": "0"}
    first = create_table(env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"dynamodb://{table}: created"
    again = create_table(env, tmp_path)
    assert again.returncode == 0 and again.stdout.strip() == f"dynamodb://{table}: ready"
    described = dynamodb_local.client().describe_table(TableName=table)["Table"]
    assert [k["AttributeName"] for k in described["KeySchema"]] == ["pk", "sk"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (index,) = described["GlobalSecondaryIndexes"]
    assert index["IndexName"] == INDEX and index["Projection"]["ProjectionType"] == "ALL"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["gsi1pk", "gsi1sk"]


def test_create_table_command_reports_a_bad_setting(tmp_path):
    result = create_table({"STORE_URL": "postgres://x"}, tmp_path)
    assert result.returncode == 2 and "STORE_URL" in result.stderr


def test_service_on_dynamodb_and_s3_creates_its_table_at_start(start_service, dynamodb_local, s3_server):
    """Two workers start at once, each creating the table: both must come up."""
    table = dynamodb_local.new_table()
    service = start_service({**dynamodb_local.env(table), **s3_server.env()}, workers=2)
    assert requests.get(service.url("/v1/health"), timeout=5).status_code == 200
    assert dynamodb_local.client().describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
