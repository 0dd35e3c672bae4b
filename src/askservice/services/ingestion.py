"""Background ingestion of vector-store files: read, extract, chunk, embed, pack, record.

Each worker process runs a few ingestion greenlets (started lazily at the first submission,
so gunicorn's fork never copies them), fed by a queue: a request that adds 500 files returns at
once. A file ends `completed` (its chunks blob written first), or `failed` with `last_error`
(`unsupported_file` for text that cannot be read, `server_error` for anything else). A file
removed or cancelled while it was being ingested keeps its removal: the finished blob is dropped.
A worker holds a lease on the file it ingests; a file whose worker died is queued again by the
next worker that reads its vector store (`VectorStoresService.reclaim`).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from typing import Callable, Sequence

import gevent
from gevent.queue import Queue

from askservice.errors import ServiceError
from askservice.services.chunking import chunk_text
from askservice.services.extraction import ExtractionError, extract_text
from askservice.services.packing import pack
from askservice.services.vector_stores import LEASE, VectorStoresService

log = logging.getLogger("askservice.ingestion")

Embed = Callable[[Sequence[str]], list[list[float]]]
EMBED_BATCH = 64


def file_chunks(filename: str, data: bytes, max_tokens: int, overlap: int) -> list[str]:
    """Return the chunk texts of a file (raises ExtractionError when it cannot be read)."""
    return [c.text for c in chunk_text(extract_text(filename, data), max_tokens, overlap)]


class Ingestor:
    """A bounded set of greenlets that ingest the files queued with `submit`."""

    def __init__(self, vector_stores: VectorStoresService, embed: Embed | None, concurrency: int = 4) -> None:
        self.vector_stores = vector_stores
        self.embed = embed
        self.concurrency = concurrency
        self._queue: Queue | None = None
        self._pid = None

    def submit(self, vs_id: str, file_id: str) -> None:
        """Queue a vector-store file for ingestion in this process."""
        if self._pid != os.getpid():
            self._queue = Queue()
            self._pid = os.getpid()
            for _ in range(self.concurrency):
                gevent.spawn(self._work, self._queue)
        self._queue.put((vs_id, file_id))

    def _work(self, queue: Queue) -> None:
        while True:
            vs_id, file_id = queue.get()
            try:
                self.ingest(vs_id, file_id)
            except Exception:  # a worker greenlet must outlive any one file
                log.exception("ingestion of %s into %s failed", file_id, vs_id)

    def ingest(self, vs_id: str, file_id: str) -> str | None:
        """Ingest one vector-store file now; return its final status (None if it was not pending)."""
        vs = self.vector_stores
        item = vs.claim(vs_id, file_id)
        if item is None:
            return None
        try:
            blob, chunks = self._build(file_id, item)
        except ExtractionError as exc:
            return self._fail(vs_id, file_id, exc.code, exc.message)
        except FileNotFoundError:
            return self._fail(vs_id, file_id, "invalid_file", "The file was deleted before it could be read.")
        except ServiceError as exc:
            return self._fail(vs_id, file_id, "server_error", f"Embedding the file failed: {exc.message}")
        except Exception:
            log.exception("ingesting %s", file_id)
            return self._fail(vs_id, file_id, "server_error", "The file could not be processed.")
        key = f"chunks/{vs_id}/{file_id}-{secrets.token_hex(6)}"
        size = vs.blobs.put(key, blob)
        fields = {"chunks_blob": key, "chunk_count": chunks, "usage_bytes": size, "last_error": None}
        if vs.finish(vs_id, file_id, "completed", fields):
            return "completed"
        vs.blobs.delete(key)  # removed or cancelled meanwhile
        return None

    def _build(self, file_id: str, item: dict) -> tuple[bytes, int]:
        data = self.vector_stores.files.read(file_id)
        static = item["chunking_strategy"]["static"]
        # parsing a large PDF takes seconds of CPU: a thread keeps the worker's other greenlets served
        texts = gevent.get_hub().threadpool.apply(
            file_chunks, (item["filename"], data, static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]))
        vectors = None
        if self.embed is not None:
            vectors, renewed = [], time.monotonic()
            for start in range(0, len(texts), EMBED_BATCH):
                vectors.extend(self.embed(texts[start:start + EMBED_BATCH]))
                if time.monotonic() - renewed > LEASE / 3:
                    self.vector_stores.renew(item)
                    renewed = time.monotonic()
        return pack(texts, vectors), len(texts)

    def _fail(self, vs_id: str, file_id: str, code: str, message: str) -> str | None:
        done = self.vector_stores.finish(vs_id, file_id, "failed", {"last_error": {"code": code, "message": message}})
        return "failed" if done else None
