"""Benchmark file_search: ingestion throughput, search latency at 1k and 10k chunks, recall@5.

    .venv/bin/python bench/retrieval.py [--backend sqlite|dynamodb] [--quick]

Runs the services in-process on a real store and blob store (SQLite + folder in a temp dir; or
DynamoDB Local + moto's S3 server, started here as the tests start them: `make dynamodb-local`),
with embeddings from the scripted upstream (tests/upstream.py, hashed bag-of-words vectors).
Baseline for the search ratios: the same query answered without the per-worker cache (every
query re-reads the store's file items and chunk blobs), measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from askservice.blobs import open_blobs  # noqa: E402
from askservice.config import Settings  # noqa: E402
from askservice.services import keys  # noqa: E402
from askservice.services.engine.leases import Leases  # noqa: E402
from askservice.services.file_search import build_file_search  # noqa: E402
from askservice.services.engine.tokenizer import encoding  # noqa: E402
from askservice.services.file_search.index import Index  # noqa: E402
from askservice.services.file_search.search import Retriever  # noqa: E402
from askservice.store import open_store  # noqa: E402
from tests.aws import DynamoLocal, S3Server  # noqa: E402
from tests.servers import Service  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402

SYLLABLES = "ka lo mi ne ru sa te vo zu pa ri do ge fa hu ja ky lu mo ni".split()
OWNER = "default"  # the client of a service with open access, so its HTTP search sees the same stores
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 100}}
WORDS_PER_FILE = 3300  # about 77 chunks of STATIC a file


def word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts))


def corpus(rng: random.Random, files: int, words_per_file: int, facts_per_file: int):
    """Return [(name, text)] and [(question, answer)] with one planted fact per answer."""
    vocab = [word(rng, 3) for _ in range(3000)]
    docs, facts = [], []
    for f in range(files):
        words = [rng.choice(vocab) for _ in range(words_per_file)]
        sentences = [" ".join(words[i:i + 15]).capitalize() + "." for i in range(0, len(words), 15)]
        for _ in range(facts_per_file):
            entity, code = word(rng, 4).capitalize(), str(rng.randrange(100000, 999999))
            sentences.insert(rng.randrange(len(sentences)), f"The access code of project {entity} is {code}.")
            facts.append((f"Which access code opens project {entity}?", code))
        docs.append((f"doc{f:04d}.txt", " ".join(sentences)))
    return docs, facts


def backend_servers(backend: str, tmp: Path) -> list:
    """Start DynamoDB Local and moto's S3 for the dynamodb backend (their AWS_* settings go to os.environ)."""
    if backend == "sqlite":
        return []
    servers = [DynamoLocal(tmp), S3Server(tmp)]
    os.environ.update({**servers[0].env(), **servers[1].env()})
    return servers


def build(backend: str, tmp: Path, upstream_url: str | None):
    """Return the file-search services on a fresh store, and the environment of a service on it."""
    if backend == "sqlite":
        env = {"store_url": f"sqlite:///{tmp}/bench.db", "blob_url": f"file://{tmp}/blobs"}
    else:
        table, prefix = f"t{os.urandom(6).hex()}", os.urandom(6).hex()
        env = {"store_url": f"dynamodb://{table}", "blob_url": f"s3://{S3Server.bucket}/{prefix}", "store_create_table": True}
    settings = Settings(**env, upstream_base_url=upstream_url, embedding_model="scripted-embedding" if upstream_url else None)
    blobs = open_blobs(settings)
    leases = Leases(settings.run_lease_seconds)
    no_queue = lambda vs_id, file_id: None  # noqa: E731 - ingested below, timed
    fs = build_file_search(settings, open_store(settings, blobs), blobs, leases, dispatch=no_queue)
    service_env = {"STORE_URL": settings.store_url, "BLOB_URL": settings.blob_url}
    if upstream_url:
        service_env.update(UPSTREAM_BASE_URL=upstream_url, EMBEDDING_MODEL=settings.embedding_model)
    return fs, service_env


def http_latencies(service_env: dict, tmp: Path, vs_id: str, queries: list[str], repeat: int) -> list[float]:
    """Return the milliseconds of `POST /v1/vector_stores/{id}/search` through gunicorn+gevent (warm worker)."""
    service = Service(service_env, tmp)
    try:
        with requests.Session() as http:  # one kept-alive connection: one worker, its cache warmed first
            url = service.url(f"/v1/vector_stores/{vs_id}/search")
            for q in queries[:3]:
                http.post(url, json={"query": q}, timeout=60).raise_for_status()
            out = []
            for i in range(repeat):
                start = time.perf_counter()
                http.post(url, json={"query": queries[i % len(queries)]}, timeout=60).raise_for_status()
                out.append((time.perf_counter() - start) * 1000)
            return out
    finally:
        service.stop()


def ingest(fs, docs, strategy=STATIC) -> tuple[str, float, int, int]:
    """Upload and ingest `docs` into a new store; return (vs_id, seconds, bytes, chunks)."""
    owner = OWNER
    ids = [fs.files.create(owner, name, io.BytesIO(text.encode()), "assistants")["id"] for name, text in docs]
    vs = fs.vector_stores.create(owner, "bench", [], None, None, None)
    start = time.perf_counter()
    for file_id in ids:
        fs.vector_stores.add_file(owner, vs["id"], file_id, strategy, None)
        fs.ingestor.ingest(vs["id"], file_id)
    seconds = time.perf_counter() - start
    chunks = sum(i.get("chunk_count", 0) for i in fs.vector_stores.store.query_all(keys.vector_store_pk(vs["id"]), keys.FILE))
    assert fs.vector_stores.get(owner, vs["id"])["file_counts"]["completed"] == len(ids)
    return vs["id"], seconds, sum(len(t.encode()) for _, t in docs), chunks


class Timed:
    """Wrap the embedding function to tell its share of a search's time."""

    def __init__(self, embed):
        self.embed, self.spent = embed, 0.0

    def __call__(self, texts):
        start = time.perf_counter()
        try:
            return self.embed(texts)
        finally:
            self.spent += time.perf_counter() - start


def latencies(run, queries, repeat: int, timed: Timed | None = None) -> tuple[list[float], list[float]]:
    """Return each query's milliseconds, total and without the query's embedding call."""
    total, own = [], []
    for i in range(repeat):
        q = queries[i % len(queries)]
        before = timed.spent if timed else 0.0
        start = time.perf_counter()
        run(q)
        elapsed = time.perf_counter() - start
        total.append(elapsed * 1000)
        own.append((elapsed - ((timed.spent - before) if timed else 0.0)) * 1000)
    return total, own


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def recall_at_5(fs, vs_id, facts) -> float:
    found = 0
    for question, code in facts:
        data = fs.retriever.search_store(OWNER, vs_id, question, max_num_results=5)["data"]
        found += any(code in d["content"][0]["text"] for d in data)
    return found / len(facts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="1k chunks only, fewer queries")
    args = parser.parse_args()
    rng = random.Random(7)
    rows = []
    encoding()  # load the tokenizer (most of a second) before anything is timed
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        upstream = UpstreamProcess(tmp)
        servers = backend_servers(args.backend, tmp)
        try:
            sizes = [("1k", 13, 4)] if args.quick else [("1k", 13, 4), ("10k", 130, 4)]
            for label, files, facts_per_file in sizes:
                docs, facts = corpus(rng, files, WORDS_PER_FILE, facts_per_file)
                for mode, url in (("hybrid", upstream.client.base_url), ("keyword", None)):
                    fs, service_env = build(args.backend, tmp / f"{label}-{mode}", url)
                    vs_id, seconds, size, chunks = ingest(fs, docs)
                    questions = [q for q, _ in facts]
                    timed = Timed(fs.retriever.embed) if fs.retriever.embed else None
                    fs.retriever.embed = timed
                    fs.retriever.search_store(OWNER, vs_id, questions[0])  # warm the cache
                    warm, own = latencies(lambda q: fs.retriever.search_store(OWNER, vs_id, q), questions, 200, timed)
                    cold, cold_own = latencies(lambda q: Retriever(fs.vector_stores, Index(fs.index.store, fs.index.blobs), timed)
                                                   .search_store(OWNER, vs_id, q),
                                               questions, 5 if label == "10k" else 20, timed)
                    http = http_latencies(service_env, tmp, vs_id, questions, 200)
                    rows.append((label, mode, chunks, size / 1e6 / seconds, chunks / seconds, pct(warm, 50), pct(warm, 99),
                                 pct(own, 50), pct(own, 99), statistics.median(cold_own), pct(http, 50), pct(http, 99),
                                 recall_at_5(fs, vs_id, facts), len(facts)))
        finally:
            for server in [upstream, *servers]:
                server.stop()
    print(f"\nbackend: {args.backend}   (search = one vector store; uncached = baseline re-reading items and blobs)")
    print("ms columns: whole search; 'excl. embed' leaves out the query's /v1/embeddings round trip")
    print("HTTP: POST /v1/vector_stores/{id}/search through gunicorn+gevent, a warm worker, 1 client")
    head = ("store", "ranking", "chunks", "ingest MB/s", "chunks/s", "p50 ms", "p99 ms", "p50 excl. embed",
            "p99 excl. embed", "uncached p50 excl. embed", "cache speed-up", "HTTP p50", "HTTP p99", "recall@5")
    print(" | ".join(head))
    for label, mode, chunks, mbs, cps, p50, p99, own50, own99, cold, h50, h99, recall, n in rows:
        print(f"{label} | {mode} | {chunks} | {mbs:.2f} | {cps:.0f} | {p50:.2f} | {p99:.2f} | {own50:.2f} | "
              f"{own99:.2f} | {cold:.1f} | {cold / own50:.0f}x | {h50:.2f} | {h99:.2f} | {recall:.3f} (n={n})")


if __name__ == "__main__":
    main()
