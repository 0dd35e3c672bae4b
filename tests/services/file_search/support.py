"""Helpers of the file-search tests: workers on one store, uploads, running queued ingestion, blobs, expiry."""

import io
import time
from types import SimpleNamespace

from askservice.services import keys
from askservice.services.engine.leases import Leases
from askservice.services.file_search import build_file_search

PLANTED = "The vault code for the north tower is 7741."
FILLER = " ".join(f"Paragraph {i} talks about gardens, rivers and the weather in spring." for i in range(300))


def worker(settings, store, blobs, lease_seconds=None, queue=True, llm=None):
    """Return the file-search services of one worker process on `store` and `blobs` (its own lease holder).

    With `queue`, nothing ingests on its own: `.queued` lists what was scheduled, and `ingest_all`
    runs it; without, this process's ingestion greenlets do. `.sweep` is what its sweeper calls."""
    queued: list[tuple[str, str]] = []
    leases = Leases(settings.run_lease_seconds if lease_seconds is None else lease_seconds)
    dispatch = (lambda vs_id, file_id: queued.append((vs_id, file_id))) if queue else None
    built = build_file_search(settings, store, blobs, leases, llm, dispatch=dispatch)
    return SimpleNamespace(**vars(built), queued=queued, leases=leases, sweep=built.sweep, store=store, blobs=blobs)


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
    store.update(*keys.vector_store(vs_id), set={"last_active_at": int(time.time()) - days_ago * 86400})


def ingesting(store):
    """Return the `VS_ID/FILE_ID` of every vector-store file in the ingesting partition of the owner index."""
    return [item["gsi1sk"] for item in store.query_all(keys.INGESTING, index=True)]
