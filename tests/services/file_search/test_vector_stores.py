"""Vector stores as a service: ingestion to search, counts, removal, chunking, attributes, ownership."""

import time

import pytest

from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services import keys
from askservice.services.file_search.files import FilesService
from askservice.services.file_search.vector_stores import VectorStoresService
from tests.pdf import make_pdf
from tests.services.file_search.support import FILLER, PLANTED, blob_keys, expire, ingest_all, upload, worker

LEASE = 0.5


def test_ingest_then_search_finds_the_planted_chunk_first(fs):
    text = upload(fs, "notes.txt", (FILLER + " " + PLANTED + " " + FILLER).encode())
    pdf = upload(fs, "manual.pdf", make_pdf(["Oil the hinges every month.", "Never paint the doors."]))
    vs = fs.vector_stores.create("alice", "docs", [text["id"], pdf["id"]], None, None, {"k": "v"})
    assert vs["status"] == "in_progress" and vs["file_counts"]["in_progress"] == 2
    assert ingest_all(fs) == ["completed", "completed"]
    vs = fs.vector_stores.get("alice", vs["id"])
    assert vs["status"] == "completed" and vs["file_counts"]["completed"] == 2 and vs["usage_bytes"] > 0

    page = fs.retriever.search_store("alice", vs["id"], "what is the vault code of the north tower?")
    assert page["data"][0]["file_id"] == text["id"] and PLANTED in page["data"][0]["content"][0]["text"]
    hinge = fs.retriever.search_for_run("alice", [vs["id"]], "how often to oil the hinges")
    assert hinge[0]["file_id"] == pdf["id"] and hinge[0]["file_name"] == "manual.pdf"


def test_removed_and_deleted_files_leave_results_at_once_on_every_worker(fs, settings_for):
    f = upload(fs, "a.txt", PLANTED.encode())
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    ingest_all(fs)
    other_worker = worker(settings_for(), fs.store, fs.blobs).retriever
    for retriever in (fs.retriever, other_worker):  # warm both caches
        assert retriever.search_store("alice", vs["id"], "vault code")["data"]
    fs.files.delete("alice", f["id"])
    for retriever in (fs.retriever, other_worker):
        assert retriever.search_store("alice", vs["id"], "vault code")["data"] == []
    vs = fs.vector_stores.get("alice", vs["id"])
    assert vs["file_counts"]["total"] == 0 and vs["usage_bytes"] == 0
    assert blob_keys(fs) == []  # the file's bytes and its chunks are gone


def test_ownership_and_unknown_ids_are_404(fs):
    f = upload(fs, "a.txt", b"hello")
    vs = fs.vector_stores.create("alice", None, [], None, None, None)
    with pytest.raises(NotFoundError):
        fs.files.get("bob", f["id"])
    with pytest.raises(NotFoundError):
        fs.vector_stores.get("bob", vs["id"])
    with pytest.raises(NotFoundError):
        fs.vector_stores.add_file("alice", vs["id"], "file-nope", None, None)
    with pytest.raises(NotFoundError):
        fs.vector_stores.create("bob", None, [f["id"]], None, None, None)


def test_static_chunking_and_attribute_filters(fs):
    f = upload(fs, "long.txt", FILLER.encode())
    g = upload(fs, "other.txt", b"gardens and rivers")
    vs = fs.vector_stores.create("alice", None, [], None, None, None)
    strategy = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    fs.vector_stores.add_file("alice", vs["id"], f["id"], strategy, {"lang": "en", "year": 2024})
    fs.vector_stores.add_file("alice", vs["id"], g["id"], None, {"lang": "fr", "year": 2020})
    ingest_all(fs)
    item = fs.store.get(*keys.vector_store_file(vs["id"], f["id"]))
    assert item["chunking_strategy"]["static"] == {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}
    assert item["chunk_count"] > 30
    only_fr = fs.retriever.search_store("alice", vs["id"], "gardens", filters={"type": "eq", "key": "lang", "value": "fr"})
    assert {d["file_id"] for d in only_fr["data"]} == {g["id"]}
    fs.vector_stores.modify_file("alice", vs["id"], g["id"], {"lang": "de"})
    assert fs.retriever.search_store("alice", vs["id"], "gardens", filters={"type": "eq", "key": "lang", "value": "fr"})["data"] == []
    assert len(fs.retriever.search_store("alice", vs["id"], "gardens", max_num_results=3)["data"]) == 3


def test_an_expired_store_refuses_search_and_files_and_runs_skip_it(fs):
    f = upload(fs, "a.txt", PLANTED.encode())
    g = upload(fs, "b.txt", b"The south tower vault has no code.")
    day = {"anchor": "last_active_at", "days": 1}
    old = fs.vector_stores.create("alice", None, [f["id"]], None, day, None)
    live = fs.vector_stores.create("alice", None, [g["id"]], None, day, None)
    ingest_all(fs)
    assert fs.retriever.search_store("alice", old["id"], "vault code")["data"]
    expire(fs.store, old["id"])
    vs = fs.vector_stores.get("alice", old["id"])
    assert vs["status"] == "expired" and vs["expires_at"] == vs["last_active_at"] + 86400
    assert fs.vector_stores.get("alice", live["id"])["status"] == "completed"
    for refused in (lambda: fs.retriever.search_store("alice", old["id"], "vault code"),
                    lambda: fs.vector_stores.add_file("alice", old["id"], g["id"], None, None),
                    lambda: fs.batches.create("alice", old["id"], [{"file_id": g["id"]}], None, None)):
        with pytest.raises(InvalidRequestError, match="has expired") as caught:
            refused()
        assert caught.value.param == "vector_store_id"
    assert fs.queued == [] and fs.vector_stores.get("alice", old["id"])["file_counts"]["total"] == 1
    found = fs.retriever.search_for_run("alice", [old["id"], live["id"]], "vault code")
    assert [r["file_id"] for r in found] == [g["id"]]
    assert fs.vector_stores.get("alice", old["id"])["status"] == "expired"  # skipping it did not revive it


# Fix B: deleting is one conditional mark, then removal; a dead deleter's leftovers are swept.


def test_a_store_whose_deleting_worker_died_is_gone_at_once_and_swept(shared):
    settings, store, blobs = shared
    dead, live = worker(settings, store, blobs, LEASE), worker(settings, store, blobs, LEASE)
    f, g, h = (upload(dead, name, text.encode())["id"] for name, text in
               (("a.txt", PLANTED), ("b.txt", "The south tower has no vault."), ("c.txt", "Gardens and rivers.")))
    vs = dead.vector_stores.create("alice", None, [f, g], None, None, None)["id"]
    batch = dead.batches.create("alice", vs, [{"file_id": h}], None, None)["id"]
    assert ingest_all(dead) == ["completed"] * 3
    chunks = [store.get(*keys.vector_store_file(vs, x))["chunks_blob"] for x in (f, g, h)]
    assert live.retriever.search_store("alice", vs, "vault code")["data"]  # the live worker's index holds it
    dead.vector_stores.mark_deleted("alice", vs)
    dead.vector_stores.contents.purge(store.get(*keys.vector_store_file(vs, f)))  # ... removes one file, and dies
    for call in (lambda: live.vector_stores.get("alice", vs), lambda: live.vector_stores.get_file("alice", vs, g),
                 lambda: live.vector_stores.list_files("alice", vs, 20, "desc", None, None, None),
                 lambda: live.vector_stores.file_content("alice", vs, g),
                 lambda: live.vector_stores.add_file("alice", vs, f, None, None),
                 lambda: live.vector_stores.modify("alice", vs, {"name": "x"}),
                 lambda: live.vector_stores.delete_file("alice", vs, g),
                 lambda: live.vector_stores.delete("alice", vs),
                 lambda: live.batches.get("alice", vs, batch),
                 lambda: live.retriever.search_store("alice", vs, "vault code")):
        with pytest.raises(NotFoundError):
            call()
    assert live.vector_stores.list("alice", 20, "desc", None, None).items == []
    assert live.retriever.search_for_run("alice", [vs], "vault code") == []  # a run skips it
    assert live.sweep() == 0  # the deleter may still be at work
    time.sleep(LEASE + 0.1)
    assert live.sweep() == 1
    assert store.query(keys.vector_store_pk(vs), limit=10).items == []  # files, batch, and the store item
    for x in (f, g, h):
        assert store.query(keys.file_pk(x), keys.VECTOR_STORE, limit=10).items == []  # memberships
        assert live.files.get("alice", x)["id"] == x  # the files themselves stay
    assert not any(blobs.exists(key) for key in chunks)
    assert live.sweep() == 0


def test_a_file_whose_deleting_worker_died_is_gone_at_once_and_swept(shared):
    settings, store, blobs = shared
    dead, live = worker(settings, store, blobs, LEASE), worker(settings, store, blobs, LEASE)
    f = upload(dead, "a.txt", PLANTED.encode())["id"]
    stores = [dead.vector_stores.create("alice", None, [f], None, None, None)["id"] for _ in range(2)]
    empty = dead.vector_stores.create("alice", None, [], None, None, None)["id"]
    ingest_all(dead)
    chunks = [store.get(*keys.vector_store_file(vs, f))["chunks_blob"] for vs in stores]
    dead.files.mark_deleted("alice", f)  # ... and dies
    for call in (lambda: live.files.get("alice", f), lambda: live.files.content("alice", f),
                 lambda: live.files.delete("alice", f),
                 lambda: live.vector_stores.add_file("alice", empty, f, None, None),
                 lambda: live.vector_stores.create("alice", None, [f], None, None, None)):
        with pytest.raises(NotFoundError):
            call()
    assert live.files.list("alice", None, 20, "desc", None).items == []
    assert live.sweep() == 0
    time.sleep(LEASE + 0.1)
    assert live.sweep() == 1
    for vs in stores:
        got = live.vector_stores.get("alice", vs)
        assert got["file_counts"]["total"] == 0 and got["usage_bytes"] == 0
        assert live.retriever.search_store("alice", vs, "vault code")["data"] == []
    assert store.get(*keys.file(f)) is None and store.query(keys.file_pk(f), limit=10).items == []
    assert not blobs.exists(f"files/{f}") and not any(blobs.exists(key) for key in chunks)


def test_a_file_deleted_while_a_store_adds_it_is_not_added(fs):
    f = upload(fs, "a.txt", PLANTED.encode())["id"]
    vs = fs.vector_stores.create("alice", None, [], None, None, None)["id"]

    class DeletedMeanwhile(FilesService):
        """The file is found, then another worker's deletion marks it before the store's write."""

        def owned(self, owner, file_id):
            item = super().owned(owner, file_id)
            self.mark_deleted(owner, file_id)
            return item

    contents = fs.vector_stores.contents
    racing_files = DeletedMeanwhile(fs.store, fs.blobs, contents, fs.leases, 200_000)
    racing = VectorStoresService(fs.store, fs.blobs, racing_files, contents, fs.ingestor, fs.leases)
    with pytest.raises(NotFoundError):
        racing.add_file("alice", vs, f, None, None)
    assert fs.vector_stores.get("alice", vs)["file_counts"]["total"] == 0 and fs.queued == []
    assert fs.store.query(keys.file_pk(f), keys.VECTOR_STORE, limit=10).items == []
