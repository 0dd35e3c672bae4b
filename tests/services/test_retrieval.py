"""Retrieval: attribute filters, citations, and the per-worker index cache."""

from askservice.services import retrieval
from askservice.services.retrieval import citations, matches
from tests.services.file_search_support import PLANTED, ingest_all, upload


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
