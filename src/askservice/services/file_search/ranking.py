"""Hybrid ranking over chunks: keyword BM25 and vector cosine, fused into one score in [0, 1].

A `Segment` holds one vector-store file's chunks, tokenized and indexed once (postings per term,
unit-length float32 vectors). A `Block` merges the segments of one vector store into flat arrays
(one posting list per term, one vector matrix), built once per change of the store, so a query
costs a few numpy operations per query term, not per file. A `Corpus` searches one or more blocks
(the stores of a run) with BM25 statistics taken over all of them. The fused score is
`0.5 * max(cosine, 0) + 0.5 * bm25 / best_bm25`; a chunk without a vector (ingested with no
EMBEDDING_MODEL), or a query without one, is scored by the normalized BM25 alone.

numpy runs with one BLAS thread per process: a search multiplies a query vector by up to tens of
thousands of chunk vectors, well under a millisecond on one core, and OpenBLAS's default thread
team only adds spinning threads that compete with the worker's greenlets (and the other workers)
for the same cores (p99 several times worse in bench/retrieval.py). The limit is read when numpy
first loads, so the package imports numpy through this module; an explicit OPENBLAS_NUM_THREADS
still wins.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

K1 = 1.2
B = 0.75
VECTOR_WEIGHT = 0.5
WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have how i in is it its of on or that the this to was "
    "were what when where which who why will with do does did you your we our they their".split()
)


def terms(text: str) -> list[str]:
    """Return the index terms of `text`: lower-cased words without stopwords."""
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Return `vectors` (n x d) scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


@dataclass
class Segment:
    """One file's chunks in a vector store, indexed for search."""

    file_id: str
    filename: str
    texts: list[str]
    vectors: np.ndarray | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # where the chunks came from (a blob key), to reuse the segment while that holds

    def __post_init__(self) -> None:
        vocab: dict[str, int] = {}
        p_term: list[int] = []
        p_row: list[int] = []
        p_tf: list[int] = []
        lengths = []
        for row, text in enumerate(self.texts):
            counts = Counter(terms(text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                p_term.append(vocab.setdefault(term, len(vocab)))
                p_row.append(row)
                p_tf.append(tf)
        self.vocab = list(vocab)
        self.lengths = np.array(lengths, dtype=np.float32)
        self.p_term = np.array(p_term, dtype=np.int32)
        self.p_row = np.array(p_row, dtype=np.int32)
        self.p_tf = np.array(p_tf, dtype=np.float32)
        if self.vectors is not None:
            self.vectors = unit_rows(self.vectors)

    def __len__(self) -> int:
        return len(self.texts)


class Block:
    """The segments of one vector store merged into flat arrays, searched as one."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = [s for s in segments if len(s)]
        sizes = [len(s) for s in self.segments]
        self.size = sum(sizes)
        self.row_segment = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
        self.row_local = np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]) if sizes else np.zeros(0, np.int32)
        self.lengths = np.concatenate([s.lengths for s in self.segments]) if sizes else np.zeros(0, np.float32)
        # postings of every segment as one list sorted by term: term i's rows are [starts[i], starts[i+1])
        self.term_ids: dict[str, int] = {}
        terms_, rows, tfs = [np.zeros(0, np.int32)], [np.zeros(0, np.int32)], [np.zeros(0, np.float32)]
        offset = 0
        for seg in self.segments:
            mapping = np.array([self.term_ids.setdefault(t, len(self.term_ids)) for t in seg.vocab], dtype=np.int32)
            terms_.append(mapping[seg.p_term])
            rows.append(seg.p_row + offset)
            tfs.append(seg.p_tf)
            offset += len(seg)
        all_terms = np.concatenate(terms_)
        order = np.argsort(all_terms, kind="stable")
        self.p_row, self.p_tf = np.concatenate(rows)[order], np.concatenate(tfs)[order]
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(all_terms, minlength=len(self.term_ids)))])
        dims = [s.vectors.shape[1] for s in self.segments if s.vectors is not None]
        self.dim = dims[0] if dims else 0
        self.vectors = self.has_vector = None
        if self.dim:
            own = [s.vectors is not None and s.vectors.shape[1] == self.dim for s in self.segments]
            self.vectors = np.concatenate(
                [s.vectors if ok else np.zeros((len(s), self.dim), np.float32) for s, ok in zip(self.segments, own)])
            self.has_vector = np.repeat(np.array(own), sizes)
        # about how much memory the block holds, for the cache's budget
        vector_bytes = self.vectors.nbytes if self.vectors is not None else 0
        self.nbytes = vector_bytes + self.p_row.nbytes * 2 + sum(len(t) for s in self.segments for t in s.texts)

    def posting(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the rows holding `term` and its counts there, or None."""
        i = self.term_ids.get(term)
        if i is None:
            return None
        start, end = self.starts[i], self.starts[i + 1]
        return self.p_row[start:end], self.p_tf[start:end]


@dataclass(frozen=True)
class Hit:
    """A chunk that matched a query, with its fused score."""

    segment: Segment
    index: int
    score: float

    @property
    def text(self) -> str:
        return self.segment.texts[self.index]


class Corpus:
    """Blocks searched together (the vector stores of a search or a run)."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = [b for b in blocks if b.size]
        self.size = sum(b.size for b in self.blocks)
        total = sum(float(b.lengths.sum()) for b in self.blocks)
        self.avgdl = max(total / self.size, 1e-9) if self.size else 1.0

    def bm25(self, query_terms: list[str]) -> list[np.ndarray]:
        """Return each block's BM25 scores for `query_terms`."""
        out = [np.zeros(b.size, dtype=np.float32) for b in self.blocks]
        for term, qtf in Counter(query_terms).items():
            postings = [b.posting(term) for b in self.blocks]
            df = sum(len(p[0]) for p in postings if p is not None)
            if not df:
                continue
            idf = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            for block, scores, posting in zip(self.blocks, out, postings):
                if posting is not None:
                    rows, tf = posting
                    norm = K1 * (1 - B + B * block.lengths[rows] / self.avgdl)
                    scores[rows] += qtf * idf * tf * (K1 + 1) / (tf + norm)
        return out

    def search(
        self,
        query: str,
        query_vector: Sequence[float] | None = None,
        limit: int = 20,
        score_threshold: float = 0.0,
        keep: Callable[[Segment], bool] | None = None,
    ) -> list[Hit]:
        """Return up to `limit` hits, best first, with score > 0 and >= `score_threshold`."""
        keyword = self.bm25(terms(query))
        best = max((float(k.max()) for k in keyword if len(k)), default=0.0)
        qvec = unit_rows(np.asarray([query_vector], dtype=np.float32))[0] if query_vector is not None else None
        hits: list[Hit] = []
        for block, kw in zip(self.blocks, keyword):
            score = kw / best if best > 0 else kw
            if qvec is not None and block.dim == len(qvec):
                fused = VECTOR_WEIGHT * np.clip(block.vectors @ qvec, 0, 1) + (1 - VECTOR_WEIGHT) * score
                score = np.where(block.has_vector, fused, score)
            wanted = (score > 0) & (score >= score_threshold)
            if keep is not None:
                wanted &= np.array([keep(s) for s in block.segments], dtype=bool)[block.row_segment]
            rows = np.flatnonzero(wanted)
            if len(rows) > limit:
                rows = rows[np.argpartition(-score[rows], limit - 1)[:limit]]
            hits.extend(Hit(block.segments[block.row_segment[r]], int(block.row_local[r]), float(score[r])) for r in rows)
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]
