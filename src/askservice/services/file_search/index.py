"""The searchable index of vector stores: one packed blob per vector-store file, one cached Block per store.

Packing. A file's chunks and vectors are one blob: `ASV1`, a 4-byte little-endian header length,
the JSON header `{"texts": [...], "dim": D}`, then `len(texts) * D` little-endian float32 values
(none when D is 0). One blob per ingested file keeps a store of 10,000 chunks to a handful of
reads on DynamoDB+S3 as on disk.

Cache. Each worker keeps, per vector store, a `ranking.Block` (the merged index of its completed
files) and the store's `generation` it was built at. A search hands in the store item it read
anyway (for ownership); if the generation moved (a file completed, was removed, or had its
attributes changed) the block is rebuilt, reusing the files' segments whose chunk blobs did not
change. So a deleted file leaves results at once on every worker, and a store of 10,000 chunks is
not re-read per query. The cache is an LRU of at most CACHE_BYTES per worker.
"""

from __future__ import annotations

import json
import struct
import threading
from collections import OrderedDict
from typing import Sequence

import gevent

from askservice.blobs.base import BlobStore
from askservice.services import keys
from askservice.services.file_search.ranking import Block, Segment, np
from askservice.store.base import Store

MAGIC = b"ASV1"
CACHE_BYTES = 256 << 20  # per worker: the least recently searched stores go first


def pack(texts: Sequence[str], vectors: Sequence[Sequence[float]] | None) -> bytes:
    """Return the blob for `texts` and their `vectors` (or None when there are none)."""
    matrix = np.asarray(vectors, dtype="<f4") if vectors is not None and len(texts) else None
    if matrix is not None and matrix.shape[0] != len(texts):
        raise ValueError("one vector per text")
    dim = int(matrix.shape[1]) if matrix is not None else 0
    header = json.dumps({"texts": list(texts), "dim": dim}, ensure_ascii=False).encode()
    body = matrix.tobytes() if matrix is not None else b""
    return MAGIC + struct.pack("<I", len(header)) + header + body


def unpack(blob: bytes) -> tuple[list[str], np.ndarray | None]:
    """Return the texts and vectors (n x D float32, or None) held by `blob`."""
    if blob[:4] != MAGIC:
        raise ValueError("not a chunk blob")
    (length,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8:8 + length])
    texts, dim = header["texts"], header["dim"]
    if not dim:
        return texts, None
    vectors = np.frombuffer(blob, dtype="<f4", offset=8 + length).reshape(len(texts), dim)
    return texts, vectors


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


class Index:
    """This worker's cache of vector-store Blocks, each valid for one `generation` of its store."""

    def __init__(self, store: Store, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs
        self._cache: OrderedDict[str, tuple[int, Block]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self) -> list[str]:
        """Return the ids of the stores held, least recently searched first."""
        with self._lock:
            return list(self._cache)

    def block(self, meta: dict) -> Block:
        """Return the index of a store (its item `meta`) at its current generation (rebuilt if it moved)."""
        vs_id, generation = meta["id"], meta["generation"]
        with self._lock:
            cached = self._cache.get(vs_id)
            if cached is not None:
                self._cache.move_to_end(vs_id)
        if cached is not None and cached[0] == generation:
            return cached[1]
        known = {seg.key: seg for seg in (cached[1].segments if cached else [])}
        parts = []  # a cached segment, or the item and blob of one to index (the reads stay in this greenlet)
        for item in self.store.query_all(keys.vector_store_pk(vs_id), keys.FILE, where={"status": "completed"}):
            seg = known.get(item.get("chunks_blob"))
            parts.append((item, seg if seg is not None else self.blobs.read(item["chunks_blob"])))
        # tokenizing 10,000 chunks takes a second of CPU: a thread keeps the worker's other greenlets served
        block = gevent.get_hub().threadpool.apply(_assemble, (parts,))
        with self._lock:
            self._cache[vs_id] = (generation, block)
            self._cache.move_to_end(vs_id)
            total = sum(b.nbytes for _, b in self._cache.values())
            while total > CACHE_BYTES and len(self._cache) > 1:
                total -= self._cache.popitem(last=False)[1][1].nbytes
        return block
