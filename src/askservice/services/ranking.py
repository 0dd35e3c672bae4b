"""Hybrid ranking over chunks: keyword BM25 and vector cosine, fused into one score in [0, 1].

A `Segment` holds one vector-store file's chunks, tokenized and indexed once (postings per term,
unit-length float32 vectors). A `Corpus` joins the segments of one or more vector stores; BM25
statistics (document frequencies, average length) are taken over the whole corpus, so adding a
file only indexes that file. The fused score is `0.5 * max(cosine, 0) + 0.5 * bm25 / best_bm25`;
without vectors (no EMBEDDING_MODEL, or a query without one) it is the normalized BM25 alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

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
        counts = [Counter(terms(t)) for t in self.texts]
        self.lengths = np.array([sum(c.values()) for c in counts], dtype=np.float32)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, c in enumerate(counts):
            for term, tf in c.items():
                rows, tfs = postings.setdefault(term, ([], []))
                rows.append(i)
                tfs.append(tf)
        self.postings = {t: (np.array(r, dtype=np.int32), np.array(f, dtype=np.float32)) for t, (r, f) in postings.items()}
        if self.vectors is not None:
            self.vectors = unit_rows(self.vectors)

    def __len__(self) -> int:
        return len(self.texts)


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
    """Segments searched together (the files of one or more vector stores)."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = [s for s in segments if len(s)]
        self.size = sum(len(s) for s in self.segments)
        total = sum(float(s.lengths.sum()) for s in self.segments)
        self.avgdl = total / self.size if self.size else 1.0

    def bm25(self, query_terms: list[str]) -> list[np.ndarray]:
        """Return each segment's BM25 scores for `query_terms`."""
        out = [np.zeros(len(s), dtype=np.float32) for s in self.segments]
        for term, qtf in Counter(query_terms).items():
            df = sum(len(s.postings[term][0]) for s in self.segments if term in s.postings)
            if not df:
                continue
            idf = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            for seg, scores in zip(self.segments, out):
                if term in seg.postings:
                    rows, tf = seg.postings[term]
                    norm = K1 * (1 - B + B * seg.lengths[rows] / max(self.avgdl, 1e-9))
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
        """Return up to `limit` hits, best first, with score >= `score_threshold`."""
        keyword = self.bm25(terms(query))
        best = max((float(k.max()) for k in keyword if len(k)), default=0.0)
        qvec = None
        if query_vector is not None:
            qvec = unit_rows(np.asarray([query_vector], dtype=np.float32))[0]
        hits: list[Hit] = []
        for seg, kw in zip(self.segments, keyword):
            if keep is not None and not keep(seg):
                continue
            score = kw / best if best > 0 else kw
            if qvec is not None and seg.vectors is not None and seg.vectors.shape[1] == qvec.shape[0]:
                score = VECTOR_WEIGHT * np.clip(seg.vectors @ qvec, 0, 1) + (1 - VECTOR_WEIGHT) * score
            top = np.argsort(-score, kind="stable")[:limit]
            hits.extend(Hit(seg, int(i), float(score[i])) for i in top if score[i] > 0 and score[i] >= score_threshold)
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]
