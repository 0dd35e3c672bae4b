"""Files as a service: uploads refused whole, ownership, expiry."""

import io

import pytest

from askservice.errors import InvalidRequestError, NotFoundError, PayloadTooLargeError
from askservice.services import keys
from tests.services.file_search.support import PLANTED, blob_keys, ingest_all, upload


def test_bad_uploads_leave_nothing_behind(fs):
    with pytest.raises(InvalidRequestError) as info:
        upload(fs, "empty.txt", b"")
    assert info.value.param == "file"
    with pytest.raises(InvalidRequestError) as info:
        fs.files.create("alice", "a.txt", io.BytesIO(b"x"), "nonsense")
    assert info.value.param == "purpose"
    with pytest.raises(PayloadTooLargeError):
        upload(fs, "big.txt", b"x" * 200_001)
    assert blob_keys(fs) == []
    assert fs.files.list("alice", None, 20, "desc", None).items == []


def test_expired_files_are_gone_with_their_chunks(fs):
    f = fs.files.create("alice", "brief.txt", io.BytesIO(PLANTED.encode()), "assistants", expires_after=3600)
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    ingest_all(fs)
    assert f["expires_at"] == f["created_at"] + 3600
    fs.files.store.update(*keys.file(f["id"]), set={"expires_at": f["created_at"] - 1})  # as if an hour went by
    assert fs.files.list("alice", None, 20, "desc", None).items == []
    with pytest.raises(NotFoundError):
        fs.files.get("alice", f["id"])
    assert fs.retriever.search_store("alice", vs["id"], "vault code")["data"] == []
    assert blob_keys(fs) == []
