"""Helpers of the file-search tests: uploads, running queued ingestion, listing blobs, expiring a store."""

import io
import time

PLANTED = "The vault code for the north tower is 7741."
FILLER = " ".join(f"Paragraph {i} talks about gardens, rivers and the weather in spring." for i in range(300))


def upload(fs, name, data, owner="alice"):
    """Upload `data` as a file named `name` for assistants."""
    return fs.files.create(owner, name, io.BytesIO(data), "assistants")


def ingest_all(fs):
    """Ingest every file queued so far, in order; return their final statuses."""
    done = [fs.ingestor.ingest(vs_id, file_id) for vs_id, file_id in fs.queued]
    fs.queued.clear()
    return done


def blob_keys(fs):
    """Return the keys of every blob in the folder blob store, sorted."""
    root = fs.vector_stores.blobs.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def expire(store, vs_id, days_ago=2):
    """Expire a vector store whose `expires_after` is under `days_ago` days: move its last activity that far back."""
    store.update(f"vs#{vs_id}", "meta", set={"last_active_at": int(time.time()) - days_ago * 86400})
