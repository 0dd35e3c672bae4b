"""The index: the per-worker cache of vector-store Blocks."""

from askservice.services.file_search import index
from tests.services.file_search.support import ingest_all, upload


def test_the_index_cache_keeps_to_its_memory_budget(fs, monkeypatch):
    monkeypatch.setattr(index, "CACHE_BYTES", 1)  # room for one store's index only
    stores = []
    for word in ("amber", "cobalt"):
        f = upload(fs, f"{word}.txt", f"{word} colored glass".encode())
        stores.append(fs.vector_stores.create("alice", None, [f["id"]], None, None, None)["id"])
    ingest_all(fs)
    for vs_id, word in zip(stores * 2, ["amber", "cobalt"] * 2):
        assert fs.retriever.search_store("alice", vs_id, word)["data"][0]["filename"] == f"{word}.txt"
        assert fs.index.cached() == [vs_id]
