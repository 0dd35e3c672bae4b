"""Ingestion: unreadable files fail typed, a dead worker's files are taken over."""

import time

import gevent

from askservice.blobs import open_blobs
from askservice.services import keys
from askservice.services.engine.sweeper import Sweeper
from askservice.services.engine.tokenizer import encoding
from askservice.services.file_search.contents import INGESTION_FIELDS
from askservice.store import open_store
from tests.servers import wait_until
from tests.services.file_search.support import PLANTED, blob_keys, ingest_all, ingesting, upload, worker

LEASE = 0.5


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
    held = fs.ingestor.claim(vs["id"], f["id"])  # ... or it died while holding the lease
    assert held is not None and fs.ingestor.ingest(vs["id"], f["id"]) is None  # a live lease is respected
    fs.store.update(held["pk"], held["sk"], set={"lease_until_ms": 0})  # the lease runs out
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "in_progress"
    assert fs.queued == [(vs["id"], f["id"])]  # reading the store queued it again
    assert ingest_all(fs) == ["completed"]
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "completed"


# Fix A: ingestion holds the runs' renewable lease; any worker's sweep takes over a dead worker's files.


def added(shared, lease=LEASE, queue=True):
    """Return two workers on the shared store (the second's own greenlets ingest unless `queue`), and the
    store and the file the first one added."""
    settings, store, blobs = shared
    dead, live = worker(settings, store, blobs, lease), worker(settings, store, blobs, lease, queue=queue)
    f = upload(dead, "a.txt", PLANTED.encode())
    return dead, live, dead.vector_stores.create("alice", None, [f["id"]], None, None, None), f


def test_a_file_whose_worker_died_while_ingesting_is_swept_to_another(shared):
    store = shared[1]
    dead, live, vs, f = added(shared)
    held = dead.ingestor.claim(vs["id"], f["id"])  # the worker claims it, then dies: no renewal, no end
    assert held["lease_owner"] == dead.leases.holder and ingesting(store) == [f"{vs['id']}/{f['id']}"]
    assert live.sweep() == 0 and live.queued == []  # a live lease is left alone
    time.sleep(LEASE + 0.1)
    assert live.sweep() == 1 and live.queued == [(vs["id"], f["id"])]
    assert ingest_all(live) == ["completed"]
    item = store.get(*keys.vector_store_file(vs["id"], f["id"]))
    assert ingesting(store) == [] and not set(INGESTION_FIELDS) & set(item)  # out of the partition, no lease
    assert live.vector_stores.get("alice", vs["id"])["file_counts"]["completed"] == 1
    assert live.retriever.search_store("alice", vs["id"], "vault code")["data"]
    assert dead.ingestor.renew(vs["id"], f["id"]) is False  # the dead worker's renewal would notice


def test_a_file_never_claimed_within_a_lease_is_swept(shared):
    store = shared[1]
    dead, live, vs, f = added(shared)
    dead.queued.clear()  # the worker that added it died before its queue reached it
    item = store.get(*keys.vector_store_file(vs["id"], f["id"]))
    assert item["gsi1pk"] == keys.INGESTING and "lease_owner" not in item  # to be claimed within a lease
    assert live.sweep() == 0
    time.sleep(LEASE + 0.1)
    assert live.sweep() == 1 and ingest_all(live) == ["completed"]
    assert ingesting(store) == []


def test_a_live_ingestion_renews_its_lease_and_is_left_alone(settings_for, upstream):
    settings = settings_for(upstream_base_url=upstream.base_url, embedding_model="scripted-embedding")
    blobs = open_blobs(settings)
    store = open_store(settings, blobs)
    busy, other = worker(settings, store, blobs, LEASE), worker(settings, store, blobs, LEASE)
    marker = upstream.marker()
    upstream.script({"latency": 4 * LEASE}, match=marker)  # embedding the file takes four leases
    f = upload(busy, "slow.txt", f"{PLANTED} {marker}".encode())
    vs = busy.vector_stores.create("alice", None, [f["id"]], None, None, None)
    running = gevent.spawn(ingest_all, busy)
    swept = []
    while not running.ready():
        swept.append(other.sweep())
        gevent.sleep(LEASE / 3)
    assert running.value == ["completed"] and len(swept) > 6 and not any(swept) and other.queued == []
    assert busy.vector_stores.get("alice", vs["id"])["file_counts"]["completed"] == 1
    store.close()


def test_the_sweeper_recovers_a_dead_workers_file_within_two_leases(shared):
    store, lease = shared[1], 1.0
    encoding()  # the tokenizer loads once per process, in most of a second: not part of the recovery
    dead, live, vs, f = added(shared, lease, queue=False)
    dead.ingestor.claim(vs["id"], f["id"])
    died = time.monotonic()
    sweeper = Sweeper(live.leases.renew_every, [live.sweep])  # as services/__init__.py registers it
    sweeper.ensure()
    try:
        key = keys.vector_store_file(vs["id"], f["id"])
        wait_until(lambda: store.get(*key)["status"] == "completed", timeout=10, what="the file taken over")
    finally:
        sweeper.close()
    assert time.monotonic() - died < 2 * lease


def test_a_legacy_lease_until_holds_until_past_then_reading_the_store_takes_it_over(fs):
    f = upload(fs, "a.txt", PLANTED.encode())
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    fs.queued.clear()
    key = keys.vector_store_file(vs["id"], f["id"])
    # as a worker of the previous version left it: a lease in seconds, and no owner-index entry
    fs.store.update(*key, set={"lease_until": int(time.time()) + 300}, remove=("gsi1pk", "gsi1sk", "lease_until_ms"))
    assert fs.ingestor.ingest(vs["id"], f["id"]) is None and fs.sweep() == 0  # held; the sweep cannot see it
    fs.store.update(*key, set={"lease_until": int(time.time()) - 1})
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "in_progress"
    assert fs.queued == [(vs["id"], f["id"])]  # reading the store found it
    assert ingest_all(fs) == ["completed"]
    assert not set(INGESTION_FIELDS) & set(fs.store.get(*key))


def test_a_file_finished_by_a_worker_of_the_previous_version_leaves_the_partition_at_the_next_sweep(fs):
    f = upload(fs, "a.txt", PLANTED.encode())
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    key = keys.vector_store_file(vs["id"], f["id"])
    fs.store.update(*key, set={"status": "failed"})  # that worker's end wrote the status only
    assert ingesting(fs.store) == [f"{vs['id']}/{f['id']}"]
    assert fs.sweep() == 0 and ingesting(fs.store) == []
