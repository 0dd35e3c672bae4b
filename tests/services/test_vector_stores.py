"""Files, vector stores, ingestion and search as services, on a real SQLite store and blob folder."""

import io
import json
from types import SimpleNamespace

import gevent
import pytest

from askservice.errors import InvalidRequestError, NotFoundError, PayloadTooLargeError
from askservice.services.file_search import build_file_search
from askservice.services.file_search_tool import FileSearchTool
from askservice.services import retrieval
from askservice.services.retrieval import citations, matches
from askservice.services.run_tools import ToolContext
from askservice.store import open_store
from askservice.blobs import open_blobs
from tests.pdf import make_pdf

PLANTED = "The vault code for the north tower is 7741."
FILLER = " ".join(f"Paragraph {i} talks about gardens, rivers and the weather in spring." for i in range(300))


@pytest.fixture
def fs(settings_for):
    settings = settings_for(max_file_bytes=200_000)
    blobs = open_blobs(settings)
    built = build_file_search(settings, open_store(settings, blobs), blobs)
    queued = []
    built.vector_stores.schedule = lambda vs_id, file_id: queued.append((vs_id, file_id))
    return SimpleNamespace(**vars(built), queued=queued)


def upload(fs, name, data, owner="alice"):
    return fs.files.create(owner, name, io.BytesIO(data), "assistants")


def ingest_all(fs):
    done = [fs.ingestor.ingest(vs_id, file_id) for vs_id, file_id in fs.queued]
    fs.queued.clear()
    return done


def blob_keys(fs):
    root = fs.vector_stores.blobs.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_ingest_then_search_finds_the_planted_chunk_first(fs):
    text = fs.files.create("alice", "notes.txt", io.BytesIO((FILLER + " " + PLANTED + " " + FILLER).encode()), "assistants")
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


def test_unreadable_files_fail_with_unsupported_file(fs):
    bad = upload(fs, "broken.pdf", b"%PDF-1.4 garbage that is not a pdf")
    vs = fs.vector_stores.create("alice", None, [bad["id"]], None, None, None)
    assert ingest_all(fs) == ["failed"]
    vsf = fs.vector_stores.get_file("alice", vs["id"], bad["id"])
    assert vsf["status"] == "failed" and vsf["last_error"]["code"] == "unsupported_file"
    counts = fs.vector_stores.get("alice", vs["id"])["file_counts"]
    assert counts == {"in_progress": 0, "completed": 0, "failed": 1, "cancelled": 0, "total": 1}
    assert blob_keys(fs) == [f"files/{bad['id']}"]


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


def test_cancelled_batch_drops_late_ingestion(fs):
    a, b = upload(fs, "a.txt", b"alpha words"), upload(fs, "b.txt", b"beta words")
    vs = fs.vector_stores.create("alice", None, [], None, None, None)
    batch = fs.vector_stores.create_batch("alice", vs["id"], [{"file_id": a["id"]}, {"file_id": b["id"]}], None, None)
    assert batch["status"] == "in_progress" and batch["file_counts"]["total"] == 2
    cancelled = fs.vector_stores.cancel_batch("alice", vs["id"], batch["id"])
    assert cancelled["status"] == "cancelled" and cancelled["file_counts"]["cancelled"] == 2
    assert ingest_all(fs) == [None, None]
    assert blob_keys(fs) == sorted([f"files/{a['id']}", f"files/{b['id']}"])
    assert fs.vector_stores.get("alice", vs["id"])["status"] == "completed"


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


def test_filter_semantics():
    attrs = {"lang": "en", "year": 2024, "draft": False}
    assert matches({"type": "and", "filters": [{"type": "gte", "key": "year", "value": 2020},
                                               {"type": "in", "key": "lang", "value": ["en", "de"]}]}, attrs)
    assert not matches({"type": "or", "filters": [{"type": "lt", "key": "year", "value": 2000},
                                                 {"type": "eq", "key": "draft", "value": True}]}, attrs)
    assert matches({"type": "nin", "key": "lang", "value": ["fr"]}, attrs)
    assert not matches({"type": "gt", "key": "lang", "value": 3}, attrs)


def test_citations_for_markers_and_quoted_spans():
    results = [{"file_id": "file-a", "content": [{"type": "text", "text": PLANTED}]},
               {"file_id": "file-b", "content": [{"type": "text", "text": "other"}]}]
    answer = 'The code is 7741 [1]. The file says "vault code for the north tower is 7741" [2] [9].'
    notes = citations(answer, results)
    assert [(n["file_citation"]["file_id"], n["text"]) for n in notes] == [
        ("file-a", "[1]"), ("file-a", "vault code for the north tower is 7741"), ("file-b", "[2]")]
    for n in notes:
        assert answer[n["start_index"]:n["end_index"]] == n["text"]


def test_file_search_tool_searches_the_run_stores_and_cites(fs):
    f = upload(fs, "vault.txt", (FILLER + " " + PLANTED).encode())
    g = upload(fs, "other.txt", b"The south tower has no vault.")
    mine = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    thread_vs = fs.vector_stores.create("alice", None, [g["id"]], None, None, None)
    foreign = fs.vector_stores.create("bob", None, [], None, None, None)
    ingest_all(fs)
    tool = FileSearchTool(fs.retriever)
    context = ToolContext(
        owner="alice", run={"id": "run_x"}, tool={"type": "file_search", "file_search": {"max_num_results": 2}},
        assistant_tool_resources={"file_search": {"vector_store_ids": [mine["id"], foreign["id"]]}},
        thread_tool_resources={"file_search": {"vector_store_ids": [thread_vs["id"]]}},
    )
    assert tool.definition(context)["function"]["name"] == "file_search"
    result = tool.execute(context, json.dumps({"query": "vault code north tower"}))
    hits = result.details["results"]
    assert len(hits) == 2 and hits[0]["file_id"] == f["id"] and PLANTED in hits[0]["content"][0]["text"]
    assert {h["file_id"] for h in hits} == {f["id"], g["id"]}
    assert result.details["ranking_options"] == {"ranker": "default_2024_08_21", "score_threshold": 0.0}
    assert "[1] vault.txt" in result.output and PLANTED in result.output
    answer = "The code is 7741 [1]."
    notes = tool.annotations(answer, [{"results": []}, result.details])
    assert notes == [{"type": "file_citation", "text": "[1]", "file_citation": {"file_id": f["id"]},
                      "start_index": 17, "end_index": 20}]
    assert tool.execute(context, "not json")  # a raw query still searches


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


def test_the_index_cache_keeps_to_its_memory_budget(fs, monkeypatch):
    monkeypatch.setattr(retrieval, "CACHE_BYTES", 1)  # room for one store's index only
    stores = []
    for word in ("amber", "cobalt"):
        f = upload(fs, f"{word}.txt", f"{word} colored glass".encode())
        stores.append(fs.vector_stores.create("alice", None, [f["id"]], None, None, None)["id"])
    ingest_all(fs)
    for vs_id, word in zip(stores * 2, ["amber", "cobalt"] * 2):
        assert fs.retriever.search_store("alice", vs_id, word)["data"][0]["filename"] == f"{word}.txt"
        assert list(fs.retriever._cache) == [vs_id]


def test_expired_files_are_gone_with_their_chunks(fs):
    f = fs.files.create("alice", "brief.txt", io.BytesIO(PLANTED.encode()), "assistants", expires_after=3600)
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    ingest_all(fs)
    assert f["expires_at"] == f["created_at"] + 3600
    fs.files.store.update(f["pk"], "meta", set={"expires_at": f["created_at"] - 1})  # as if an hour went by
    assert fs.files.list("alice", None, 20, "desc", None).items == []
    with pytest.raises(NotFoundError):
        fs.files.get("alice", f["id"])
    assert fs.retriever.search_store("alice", vs["id"], "vault code")["data"] == []
    assert blob_keys(fs) == []


def test_file_search_waits_for_files_still_being_ingested(fs):
    f = upload(fs, "late.txt", PLANTED.encode())
    vs = fs.vector_stores.create("alice", None, [f["id"]], None, None, None)
    context = ToolContext(owner="alice", run={"id": "run_x"}, tool={"type": "file_search"},
                          thread_tool_resources={"file_search": {"vector_store_ids": [vs["id"]]}})
    later = gevent.spawn_later(0.3, ingest_all, fs)  # the worker that ingests it is busy for a moment
    result = FileSearchTool(fs.retriever).execute(context, json.dumps({"query": "vault code"}))
    assert later.dead and [r["file_id"] for r in result.details["results"]] == [f["id"]]
