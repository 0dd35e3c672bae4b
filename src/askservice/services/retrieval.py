"""Search of vector stores: per-worker cached indexes, checked against the store on every query.

Each worker keeps, per vector store, a `ranking.Block` (the merged index of its completed files)
and the store's `generation` it was built at. A query reads the store's meta item (it does anyway, to
check ownership); if the generation moved (a file completed, was removed, or had its attributes
changed) the index is rebuilt, reusing the files' segments whose chunk blobs did not change. So a
deleted file leaves results at once on every worker, and a store of 10,000 chunks is not
re-read per query. `search_for_run` and `citations` serve the runs executor's file_search.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any, Sequence

import gevent

from askservice.errors import InvalidRequestError, NotFoundError, ServiceError
from askservice.services.ingestion import Embed
from askservice.services.packing import unpack
from askservice.services.ranking import Block, Corpus, Hit, Segment
from askservice.services.vector_stores import VectorStoresService, vs_pk

log = logging.getLogger("askservice.retrieval")
CACHE_BYTES = 256 << 20  # per worker: the least recently searched stores go first
RUN_RESULTS = 20


def matches(filter_: dict | None, attributes: dict[str, Any]) -> bool:
    """Tell whether file `attributes` satisfy a spec ComparisonFilter or CompoundFilter."""
    if not filter_:
        return True
    kind = filter_.get("type")
    if kind in ("and", "or"):
        results = (matches(f, attributes) for f in filter_.get("filters", []))
        return all(results) if kind == "and" else any(results)
    value, wanted = attributes.get(filter_["key"]), filter_["value"]
    if kind in ("in", "nin"):
        found = value in wanted if isinstance(wanted, list) else value == wanted
        return found if kind == "in" else not found
    if kind == "eq":
        return value == wanted
    if kind == "ne":
        return value != wanted
    if value is None or isinstance(value, bool) != isinstance(wanted, bool):
        return False
    try:
        return {"gt": value > wanted, "gte": value >= wanted, "lt": value < wanted, "lte": value <= wanted}[kind]
    except TypeError:
        return False


def _assemble(parts: list[tuple[dict, Segment | bytes]]) -> Block:
    """Index the blobs among `parts`, set every segment's attributes, and merge them into a Block."""
    segments = []
    for item, held in parts:
        if isinstance(held, bytes):
            texts, vectors = unpack(held)
            held = Segment(item["id"], item.get("filename", ""), texts, vectors, key=item["chunks_blob"])
        held.attributes = item.get("attributes") or {}
        segments.append(held)
    return Block(segments)


class Retriever:
    """Searches vector stores through per-worker indexes that follow the store's generation."""

    def __init__(self, vector_stores: VectorStoresService, embed: Embed | None) -> None:
        self.vector_stores = vector_stores
        self.embed = embed
        self._cache: OrderedDict[str, tuple[int, Block]] = OrderedDict()
        self._lock = threading.Lock()

    def block(self, meta: dict) -> Block:
        """Return the index of a store at its current generation (rebuilt if it moved)."""
        vs_id, generation = meta["id"], meta["generation"]
        with self._lock:
            cached = self._cache.get(vs_id)
            if cached is not None:
                self._cache.move_to_end(vs_id)
        if cached is not None and cached[0] == generation:
            return cached[1]
        known = {seg.key: seg for seg in (cached[1].segments if cached else [])}
        parts = []  # a cached segment, or the item and blob of one to index (the reads stay in this greenlet)
        for item in self.vector_stores.query_all(vs_pk(vs_id), "file#", where={"status": "completed"}):
            seg = known.get(item.get("chunks_blob"))
            parts.append((item, seg if seg is not None else self.vector_stores.blobs.read(item["chunks_blob"])))
        # tokenizing 10,000 chunks takes a second of CPU: a thread keeps the worker's other greenlets served
        block = gevent.get_hub().threadpool.apply(_assemble, (parts,))
        with self._lock:
            self._cache[vs_id] = (generation, block)
            self._cache.move_to_end(vs_id)
            total = sum(b.nbytes for _, b in self._cache.values())
            while total > CACHE_BYTES and len(self._cache) > 1:
                total -= self._cache.popitem(last=False)[1][1].nbytes
        return block

    def search(self, metas: Sequence[dict], query: str, limit: int, score_threshold: float = 0.0,
               filters: dict | None = None) -> list[Hit]:
        """Return the best `limit` chunks of the given stores for `query`."""
        corpus = Corpus([self.block(meta) for meta in metas])
        if not corpus.size:
            return []
        vector = None
        if self.embed is not None and any(block.dim for block in corpus.blocks):
            try:
                vector = self.embed([query])[0]
            except ServiceError as exc:  # the upstream is down: rank by keywords rather than fail
                log.warning("query embedding failed, keyword ranking only: %s", exc.message)
        for meta in metas:
            self.vector_stores.touch(meta)
        keep = (lambda seg: matches(filters, seg.attributes)) if filters else None
        return corpus.search(query, vector, limit=limit, score_threshold=score_threshold, keep=keep)

    def search_store(self, owner: str, vs_id: str, query: str | list[str], max_num_results: int = 10,
                     score_threshold: float = 0.0, filters: dict | None = None) -> dict:
        """Answer `POST /vector_stores/{id}/search`: the spec's VectorStoreSearchResultsPage."""
        meta = self.vector_stores.usable(owner, vs_id)
        queries = [query] if isinstance(query, str) else list(query)
        hits = self.search([meta], " ".join(queries), max_num_results, score_threshold, filters)
        data = [
            {"file_id": h.segment.file_id, "filename": h.segment.filename, "score": round(h.score, 6),
             "attributes": h.segment.attributes, "content": [{"type": "text", "text": h.text}]}
            for h in hits
        ]
        return {"object": "vector_store.search_results.page", "search_query": queries, "data": data,
                "has_more": False, "next_page": None}

    def search_for_run(self, owner: str, vector_store_ids: Sequence[str], query: str,
                       max_num_results: int = RUN_RESULTS, score_threshold: float = 0.0) -> list[dict]:
        """Search the stores a run may use; return results shaped as a file_search step's `results`.

        Unknown, foreign and expired stores are skipped (a deleted or expired store must not fail the run)."""
        metas = []
        for vs_id in dict.fromkeys(vector_store_ids):
            try:
                metas.append(self.vector_stores.usable(owner, vs_id))
            except (NotFoundError, InvalidRequestError):  # the store is gone or expired: search the others
                continue
        hits = self.search(metas, query, max_num_results, score_threshold) if metas else []
        return [
            {"file_id": h.segment.file_id, "file_name": h.segment.filename, "score": round(h.score, 6),
             "content": [{"type": "text", "text": h.text}]}
            for h in hits
        ]


MARKER = re.compile(r"【(\d+)(?::\d+)?†[^】]*】|\[(\d+)\]")
QUOTE = re.compile(r"[\"“]([^\"”]{12,}?)[\"”]")


def citations(text: str, results: Sequence[dict]) -> list[dict]:
    """Return file_citation annotations for `text`, an answer grounded in `results`.

    Two forms are cited: source markers (`[n]` or `【n†name】`, n counting `results` from 1, as
    the executor numbers them for the model) and quoted spans ("...") found verbatim in a result;
    start_index/end_index bound the marker or the quoted span in `text`."""
    annotations = []
    for m in MARKER.finditer(text):
        n = int(m.group(1) or m.group(2))
        if 1 <= n <= len(results):
            annotations.append(_citation(text, m.start(), m.end(), results[n - 1]["file_id"]))
    for m in QUOTE.finditer(text):
        quote = m.group(1)
        source = next((r for r in results if any(quote in c["text"] for c in r.get("content", []))), None)
        if source is not None:
            annotations.append(_citation(text, m.start(1), m.end(1), source["file_id"]))
    annotations.sort(key=lambda a: a["start_index"])
    return annotations


def _citation(text: str, start: int, end: int, file_id: str) -> dict:
    return {"type": "file_citation", "text": text[start:end], "file_citation": {"file_id": file_id},
            "start_index": start, "end_index": end}
