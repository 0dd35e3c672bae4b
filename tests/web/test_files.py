"""/files in-process: large uploads round-trip byte-exact, form errors, expiry fields, limits."""

import io
import os

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from askservice import create_app


@pytest.fixture
def files_client(settings_for):
    return create_app(settings_for(max_file_bytes=4_000_000, max_body_bytes=1024)).test_client()


def upload(client, data: bytes, name="a.bin", purpose="user_data", **fields):
    # encoded in memory: the test client would spool a large body to a temp file it never closes
    boundary, body = encode_multipart({"purpose": purpose, "file": FileStorage(io.BytesIO(data), filename=name), **fields})
    return client.post("/v1/files", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_large_upload_passes_the_body_limit_and_comes_back_byte_exact(files_client):
    data = os.urandom(3_000_000)  # far past MAX_BODY_BYTES, under MAX_FILE_BYTES
    created = upload(files_client, data)
    assert created.status_code == 200, created.json
    assert created.json["bytes"] == len(data)
    content = files_client.get(f"/v1/files/{created.json['id']}/content")
    assert content.status_code == 200 and content.data == data
    assert content.headers["Content-Length"] == str(len(data))
    assert files_client.get(f"/api/v1/files/{created.json['id']}").json["filename"] == "a.bin"


def test_upload_expiry_fields(files_client):
    created = upload(files_client, b"x", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
    assert created.json["expires_at"] == created.json["created_at"] + 3600
    bad = upload(files_client, b"x", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "60"})
    assert bad.status_code == 400 and bad.json["error"]["param"] == "expires_after.seconds"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"purpose": "assistants"}, "file"),
        ({"file": (io.BytesIO(b"x"), "a.txt")}, "purpose"),
    ],
)
def test_missing_form_fields_name_the_param(files_client, body, param):
    response = files_client.post("/v1/files", data=body)
    assert response.status_code == 400 and response.json["error"]["param"] == param


def test_non_multipart_bodies_and_unknown_ids(files_client):
    response = files_client.post("/v1/files", json={"purpose": "assistants"})
    assert response.status_code == 400 and response.json["error"]["type"] == "invalid_request_error"
    assert files_client.get("/v1/files/file-nope").status_code == 404
    assert files_client.get("/v1/files/file-nope/content").status_code == 404
    assert files_client.delete("/v1/files/file-nope").status_code == 404


def test_past_the_file_limit_is_413_and_nothing_is_kept(files_client):
    response = upload(files_client, b"x" * 4_000_001)
    assert response.status_code == 413 and response.json["error"]["code"] == "request_too_large"
    assert files_client.get("/v1/files").json["data"] == []
