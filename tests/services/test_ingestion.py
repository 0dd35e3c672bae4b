"""Ingestion: unreadable files fail typed, a dead worker's files are taken over."""

from tests.services.file_search_support import PLANTED, blob_keys, ingest_all, upload


def test_unreadable_files_fail_with_unsupported_file(fs):
    bad = upload(fs, "broken.pdf", b"%PDF-1.4 garbage that is not a pdf")
    vs = fs.vector_stores.create("alice", None, [bad["id"]], None, None, None)
    assert ingest_all(fs) == ["failed"]
    vsf = fs.vector_stores.get_file("alice", vs["id"], bad["id"])
    assert vsf["status"] == "failed" and vsf["last_error"]["code"] == "unsupported_file"
    counts = fs.vector_stores.get("alice", vs["id"])["file_counts"]
    assert counts == {"in_progress": 0, "completed": 0, "failed": 1, "cancelled": 0, "total": 1}
    assert blob_keys(fs) == [f"files/{bad['id']}"]


def test_a_file_left_by_a_dead_worker_is_taken_over(fs):
    f = upload(fs, "a.txt", PLANTED.encode())
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    fs.queued.clear()  # the worker that queued it died before it started
    held = fs.vector_stores.claim(vs["id"], f["id"])  # ... or it died while holding the lease
    assert held is not None and fs.ingestor.ingest(vs["id"], f["id"]) is None  # a live lease is respected
    fs.vector_stores.store.update(held["pk"], held["sk"], set={"lease_until": 0})  # the lease runs out
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "in_progress"
    assert fs.queued == [(vs["id"], f["id"])]  # reading the store queued it again
    assert ingest_all(fs) == ["completed"]
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "completed"
