"""Background ingestion of vector-store files: read, extract, chunk, embed, pack, record.

Each worker process runs a few ingestion greenlets (started lazily at the first submission,
so gunicorn's fork never copies them), fed by a queue: a request that adds 500 files returns at
once. A file ends `completed` (its chunks blob written first), or `failed` with `last_error`
(`unsupported_file` for text that cannot be read, `server_error` for anything else). A file
removed or cancelled while it was being ingested keeps its removal: the finished blob is dropped.

**Lease** (the runs' one: `engine.leases`, RUN_LEASE_SECONDS). A file is added `in_progress` in
the owner-index partition `keys.INGESTING` (gsi1sk `VS_ID/FILE_ID`) with `lease_until_ms` one
lease ahead and no `lease_owner`: some worker must claim it by then. The greenlet that ingests
it claims it with a conditional write (`lease_owner` = this process), and a companion greenlet
renews the lease every `renew_every` (conditional writes too) until it ends. Finishing takes
the file out of the partition in the same write (`Contents.finish`). Every worker's sweeper
calls `sweep`, which queues here each file of the partition whose lease lapsed: its worker died
while ingesting it, or after adding it but before any claim. Files written before the partition
existed carry a `lease_until` in seconds (treated as lapsed once past) and are found only when
their store is read (`reclaim`).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from typing import Callable, Sequence

import gevent
from gevent.event import Event
from gevent.queue import Queue

from askservice.blobs.base import BlobStore
from askservice.errors import ServiceError
from askservice.services import keys
from askservice.services.engine.leases import Leases
from askservice.services.file_search.chunking import chunk_text
from askservice.services.file_search.contents import INGESTION_FIELDS, Contents
from askservice.services.file_search.extraction import ExtractionError, extract_text
from askservice.services.file_search.files import FilesService
from askservice.services.file_search.index import pack
from askservice.store.base import ConditionFailed, Store
from askservice.store.conflicts import retry_on_conflict

log = logging.getLogger("askservice.ingestion")

Embed = Callable[[Sequence[str]], list[list[float]]]
Dispatch = Callable[[str, str], None]
EMBED_BATCH = 64
CLAIM_TRIES = 5
"""Tries of a claim: a lost race is re-read (an attribute update moved the version; or another worker won)."""
RENEW_TRIES = 5
"""Tries of one lease renewal: an attribute update of the file may move its version meanwhile."""
RECLAIM_EVERY = 30  # seconds between two looks of one process at one store's files when it is read


class Lost(Exception):
    """A claim or renewal that kept losing its races."""


def file_chunks(filename: str, data: bytes, max_tokens: int, overlap: int) -> list[str]:
    """Return the chunk texts of a file (raises ExtractionError when it cannot be read)."""
    return [c.text for c in chunk_text(extract_text(filename, data), max_tokens, overlap)]


def lapsed(item: dict, lease_seconds: float) -> bool:
    """Tell whether no live worker holds an `in_progress` file: its lease ran out.

    A legacy `lease_until` (unix seconds) counts once past; a legacy file with no lease at all once
    it was added a lease ago."""
    if "lease_until_ms" in item:
        return Leases.lapsed(item)
    if "lease_until" in item:
        return item["lease_until"] < time.time()
    return item["created_at"] + lease_seconds < time.time()


def claimable(item: dict, lease_seconds: float) -> bool:
    """Tell whether a worker may claim an `in_progress` file: nobody claimed it yet, or its lease lapsed."""
    claimed = "lease_owner" in item or "lease_until" in item
    return not claimed or lapsed(item, lease_seconds)


class Ingestor:
    """Ingests vector-store files under a lease; a bounded set of greenlets serves what `submit` queues.

    `dispatch`, when given, receives what is submitted instead of this process's greenlets (tests
    and benchmarks ingest by calling `ingest` themselves)."""

    def __init__(self, store: Store, blobs: BlobStore, files: FilesService, contents: Contents, leases: Leases,
                 embed: Embed | None, dispatch: Dispatch | None = None, concurrency: int = 4) -> None:
        self.store = store
        self.blobs = blobs
        self.files = files
        self.contents = contents
        self.leases = leases
        self.embed = embed
        self.dispatch = dispatch
        self.concurrency = concurrency
        self._queue: Queue | None = None
        self._pending: set[tuple[str, str]] = set()
        self._pid: int | None = None
        self._reclaimed: dict[str, float] = {}

    def waiting(self, vs_id: str, file_id: str) -> dict:
        """Return the fields a file is added with: in the ingesting partition, to be claimed within a lease."""
        return {**keys.ingesting(vs_id, file_id),
                "lease_until_ms": self.leases.grant()["lease_until_ms"]}

    def submit(self, vs_id: str, file_id: str) -> None:
        """Queue a vector-store file for ingestion in this process (once while it is queued or ingested here)."""
        if self.dispatch is not None:
            self.dispatch(vs_id, file_id)
            return
        if self._pid != os.getpid():
            self._queue, self._pending, self._pid = Queue(), set(), os.getpid()
            for _ in range(self.concurrency):
                gevent.spawn(self._work, self._queue, self._pending)
        if (vs_id, file_id) not in self._pending:
            self._pending.add((vs_id, file_id))
            self._queue.put((vs_id, file_id))

    def _work(self, queue: Queue, pending: set[tuple[str, str]]) -> None:
        while True:
            job = queue.get()
            try:
                self.ingest(*job)
            except Exception:  # a worker greenlet must outlive any one file
                log.exception("ingestion of %s into %s failed", job[1], job[0])
            finally:
                pending.discard(job)

    def sweep(self) -> int:
        """Queue here every file being ingested whose lease lapsed; return how many."""
        queued = 0
        for item in self.store.query_all(keys.INGESTING, index=True):
            if item.get("status") != "in_progress":  # finished by a worker that predates the partition
                self._unindex(item)
            elif lapsed(item, self.leases.seconds):
                self.submit(item["vector_store_id"], item["id"])
                queued += 1
        return queued

    def _unindex(self, item: dict) -> None:
        try:  # at the version seen: the index may lag (DynamoDB), and the file may be in progress again
            self.store.update(item["pk"], item["sk"], remove=INGESTION_FIELDS, expected_version=item["version"])
        except ConditionFailed:
            pass

    def reclaim(self, vs_id: str) -> None:
        """Queue here the store's `in_progress` files whose lease lapsed (its reader sees them taken on at once).

        The only way to files from before the ingesting partition. At most every RECLAIM_EVERY
        seconds per store and process."""
        now = time.time()
        if now - self._reclaimed.get(vs_id, 0) < RECLAIM_EVERY:
            return
        self._reclaimed[vs_id] = now
        pk = keys.vector_store_pk(vs_id)
        for item in self.store.query_all(pk, keys.FILE, where={"status": "in_progress"}):
            if lapsed(item, self.leases.seconds):
                self.submit(vs_id, item["id"])

    def claim(self, vs_id: str, file_id: str) -> dict | None:
        """Take the ingestion lease of an `in_progress` file; None if it is done or another worker holds it."""

        def attempt(_: int) -> dict | None:
            item = self.contents.item(vs_id, file_id)
            if item is None or item["status"] != "in_progress" or not claimable(item, self.leases.seconds):
                return None
            held = {**self.leases.grant(), **keys.ingesting(vs_id, file_id)}
            legacy = ("lease_until",) if "lease_until" in item else ()
            return self.store.update(item["pk"], item["sk"], set=held, remove=legacy, expected_version=item["version"])

        try:
            return retry_on_conflict(attempt, CLAIM_TRIES, Lost)
        except Lost:
            return None

    def renew(self, vs_id: str, file_id: str) -> bool:
        """Extend this process's lease of a file; False if the file is no longer in progress under it."""

        def attempt(_: int) -> bool:
            item = self.contents.item(vs_id, file_id)
            if item is None or item["status"] != "in_progress" or item.get("lease_owner") != self.leases.holder:
                return False
            self.store.update(item["pk"], item["sk"], set=self.leases.grant(), expected_version=item["version"])
            return True

        return retry_on_conflict(attempt, RENEW_TRIES, Lost)

    def ingest(self, vs_id: str, file_id: str) -> str | None:
        """Ingest one vector-store file now; return its final status (None if it was not ours to ingest)."""
        item = self.claim(vs_id, file_id)
        if item is None:
            return None
        done = Event()
        holder = gevent.spawn(self._hold, vs_id, file_id, done)
        try:
            return self._ingest(vs_id, file_id, item)
        finally:
            done.set()
            holder.join()

    def _hold(self, vs_id: str, file_id: str, done: Event) -> None:
        """Renew the lease every `renew_every` until `done`, or until the file is no longer ours."""
        while not done.wait(self.leases.renew_every):
            try:
                if not self.renew(vs_id, file_id):
                    return
            except Exception:  # a store hiccup: try again next period, the lease outlives two misses
                log.warning("renewing the ingestion lease of %s in %s failed", file_id, vs_id, exc_info=True)

    def _ingest(self, vs_id: str, file_id: str, item: dict) -> str | None:
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
        size = self.blobs.put(key, blob)
        fields = {"chunks_blob": key, "chunk_count": chunks, "usage_bytes": size, "last_error": None}
        if self.contents.finish(vs_id, file_id, "completed", fields):
            return "completed"
        self.blobs.delete(key)  # removed or cancelled meanwhile
        return None

    def _build(self, file_id: str, item: dict) -> tuple[bytes, int]:
        data = self.files.read(file_id)
        static = item["chunking_strategy"]["static"]
        # parsing a large PDF takes seconds of CPU: a thread keeps the worker's other greenlets served
        texts = gevent.get_hub().threadpool.apply(
            file_chunks, (item["filename"], data, static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]))
        vectors = None
        if self.embed is not None:
            vectors = []
            for start in range(0, len(texts), EMBED_BATCH):
                vectors.extend(self.embed(texts[start:start + EMBED_BATCH]))
        return pack(texts, vectors), len(texts)

    def _fail(self, vs_id: str, file_id: str, code: str, message: str) -> str | None:
        done = self.contents.finish(vs_id, file_id, "failed", {"last_error": {"code": code, "message": message}})
        return "failed" if done else None
