"""Search of vector stores: `POST /vector_stores/{id}/search`, and the searches of a run's file_search.

A query reads each store's item (for ownership and expiry) and searches the store's cached index
(`index.Index`) at that item's generation. Ranking is `ranking.Corpus`: BM25 fused with cosine
when the chunks and the query have vectors (EMBEDDING_MODEL), else BM25 alone. Attribute filters
follow the spec's comparison and compound filters.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from askservice.errors import InvalidRequestError, NotFoundError, ServiceError
from askservice.services.file_search.index import Index
from askservice.services.file_search.ingestion import Embed
from askservice.services.file_search.ranking import Corpus, Hit
from askservice.services.file_search.vector_stores import VectorStoresService

log = logging.getLogger("askservice.retrieval")
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


class Retriever:
    """Searches vector stores through this worker's index, embedding the query when the stores have vectors."""

    def __init__(self, vector_stores: VectorStoresService, index: Index, embed: Embed | None) -> None:
        self.vector_stores = vector_stores
        self.index = index
        self.embed = embed

    def search(self, metas: Sequence[dict], query: str, limit: int, score_threshold: float = 0.0,
               filters: dict | None = None) -> list[Hit]:
        """Return the best `limit` chunks of the given stores (their items) for `query`."""
        corpus = Corpus([self.index.block(meta) for meta in metas])
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
        meta = self.vector_stores.owned(owner, vs_id, usable=True)
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
                       max_num_results: int = RUN_RESULTS, score_threshold: float = 0.0,
                       filters: dict | None = None) -> list[dict]:
        """Search the stores a run (or a response) may use; return results shaped as a file_search
        step's `results` (with the files' `attributes`), only files whose attributes pass `filters`.

        Unknown, foreign, deleted and expired stores are skipped (they must not fail the run)."""
        metas = []
        for vs_id in dict.fromkeys(vector_store_ids):
            try:
                metas.append(self.vector_stores.owned(owner, vs_id, usable=True))
            except (NotFoundError, InvalidRequestError):  # the store is gone or expired: search the others
                continue
        hits = self.search(metas, query, max_num_results, score_threshold, filters) if metas else []
        return [
            {"file_id": h.segment.file_id, "file_name": h.segment.filename, "score": round(h.score, 6),
             "attributes": h.segment.attributes, "content": [{"type": "text", "text": h.text}]}
            for h in hits
        ]
