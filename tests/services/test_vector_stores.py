"""Vector stores as a service: ingestion to search, counts, removal, chunking, attributes, ownership."""

import pytest

from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services.file_search import build_file_search
from tests.pdf import make_pdf
from tests.services.file_search_support import FILLER, PLANTED, blob_keys, expire, ingest_all, upload


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
    other_worker = build_file_search(settings_for(), fs.vector_stores.store, fs.vector_stores.blobs).retriever
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
    item = fs.vector_stores.file_item("alice", vs["id"], f["id"])
    assert item["chunking_strategy"]["static"] == {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}
    assert item["chunk_count"] > 30
    only_fr = fs.retriever.search_store("alice", vs["id"], "gardens", filters={"type": "eq", "key": "lang", "value": "fr"})
    assert {d["file_id"] for d in only_fr["data"]} == {g["id"]}
    fs.vector_stores.update_attributes("alice", vs["id"], g["id"], {"lang": "de"})
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
    expire(fs.vector_stores.store, old["id"])
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
