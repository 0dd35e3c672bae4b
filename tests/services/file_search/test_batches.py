"""File batches: counts from their files, cancellation that outlives late ingestion."""

from tests.services.file_search.support import blob_keys, ingest_all, upload


def test_cancelled_batch_drops_late_ingestion(fs):
    a, b = upload(fs, "a.txt", b"alpha words"), upload(fs, "b.txt", b"beta words")
    vs = fs.vector_stores.create("alice", None, [], None, None, None)
    batch = fs.batches.create("alice", vs["id"], [{"file_id": a["id"]}, {"file_id": b["id"]}], None, None)
    assert batch["status"] == "in_progress" and batch["file_counts"]["total"] == 2
    cancelled = fs.batches.cancel("alice", vs["id"], batch["id"])
    assert cancelled["status"] == "cancelled" and cancelled["file_counts"]["cancelled"] == 2
    assert ingest_all(fs) == [None, None]
    assert blob_keys(fs) == sorted([f"files/{a['id']}", f"files/{b['id']}"])
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "completed"
