"""/files in-process: large uploads round-trip byte-exact, form errors, expiry fields, limits."""

import io
import os

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from askservice import create_app


@pytest.fixture
def app(settings_for):
    """The app of these tests (and so of `http`): 4 MB files past a 1 kB body limit."""
    return create_app(settings_for(max_file_bytes=4_000_000, max_body_bytes=1024))


def upload(http, data: bytes, name="a.bin", purpose="user_data", **fields):
    # encoded in memory: the test client would spool a large body to a temp file it never closes
    boundary, body = encode_multipart({"purpose": purpose, "file": FileStorage(io.BytesIO(data), filename=name), **fields})
    return http.post("/v1/files", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_large_upload_passes_the_body_limit_and_comes_back_byte_exact(http):
    data = os.urandom(3_000_000)  # far past MAX_BODY_BYTES, under MAX_FILE_BYTES
    created = upload(http, data)
    assert created.status_code == 200, created.json
    assert created.json["bytes"] == len(data)
    content = http.get(f"/v1/files/{created.json['id']}/content")
    assert content.status_code == 200 and content.data == data
    assert content.headers["Content-Length"] == str(len(data))
    assert http.get(f"/api/v1/files/{created.json['id']}").json["filename"] == "a.bin"


def test_upload_expiry_fields(http):
    created = upload(http, b"x", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
    assert created.json["expires_at"] == created.json["created_at"] + 3600
    bad = upload(http, b"x", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "60"})
    assert bad.status_code == 400 and bad.json["error"]["param"] == "expires_after.seconds"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"purpose": "assistants"}, "file"),
        ({"file": (io.BytesIO(b"x"), "a.txt")}, "purpose"),
    ],
)
def test_missing_form_fields_name_the_param(http, body, param):
    response = http.post("/v1/files", data=body)
    assert response.status_code == 400 and response.json["error"]["param"] == param


def test_non_multipart_bodies_and_unknown_ids(http):
    response = http.post("/v1/files", json={"purpose": "assistants"})
    assert response.status_code == 400 and response.json["error"]["type"] == "invalid_request_error"
    assert http.get("/v1/files/file-nope").status_code == 404
    assert http.get("/v1/files/file-nope/content").status_code == 404
    assert http.delete("/v1/files/file-nope").status_code == 404


def test_past_the_file_limit_is_413_and_nothing_is_kept(http):
    response = upload(http, b"x" * 4_000_001)
    assert response.status_code == 413 and response.json["error"]["code"] == "request_too_large"
    assert http.get("/v1/files").json["data"] == []
