"""Benchmark the Store: puts, gets and 100-item pages per second, sequential and 16 greenlets.

    .venv/bin/python bench/store.py [--backend sqlite|dynamodb|all] [--quick]

SQLite runs on a temp file; DynamoDB on DynamoDB Local, started here as the tests start it
(`make dynamodb-local` installs it). Also prints the p50 of a put followed by a get, and how many
statements (SQLite) or HTTP requests (DynamoDB) one 100-item page takes: the target is one.
Ratios are against SQLite's sequential rate, measured in the same run.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from gevent.pool import Pool  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from askservice import ids  # noqa: E402
from askservice.blobs.local import LocalBlobStore  # noqa: E402
from askservice.store.base import ABSENT  # noqa: E402

CONCURRENCY = 16
PAGE = 100
BODY = {"role": "user", "status": "completed", "content": [{"type": "text", "text": {"value": "x" * 400, "annotations": []}}]}


class Counter:
    """Round trips a store made: SQLite statements, or HTTP requests sent by the boto3 client."""

    def __init__(self, store):
        self.store = store
        self.requests = 0
        client = getattr(store, "client", None)
        if client is not None:
            client.meta.events.register("before-send.dynamodb", self._sent)

    def _sent(self, **_):
        self.requests += 1

    def value(self) -> int:
        return getattr(self.store, "statements", 0) + self.requests


def rate(count: int, work, concurrent: bool) -> float:
    """Run `work(i)` for i in range(count), in sequence or through 16 greenlets; return ops/s."""
    start = time.perf_counter()
    if concurrent:
        pool = Pool(CONCURRENCY)
        for i in range(count):
            pool.spawn(work, i)
        pool.join(raise_error=True)
    else:
        for i in range(count):
            work(i)
    return count / (time.perf_counter() - start)


def measure(store, n: int, pages: int) -> dict:
    """Return the rates, the p50 of put+get in ms, and round trips per 100-item page."""
    results = {}
    pk = "bench#" + ids.new_id("p_")
    for label, concurrent in (("seq", False), ("x16", True)):
        sks = [f"msg#{ids.new_id('msg_')}" for _ in range(n)]
        part = f"{pk}-{label}"
        results[f"put {label}"] = rate(n, lambda i: store.put({"pk": part, "sk": sks[i], **BODY}, condition=ABSENT), concurrent)
        results[f"get {label}"] = rate(n, lambda i: store.get(part, sks[random.randrange(n)]), concurrent)

        def page(i):
            cursor = sks[random.randrange(n - PAGE)]
            got = store.query(part, "msg#", after=cursor, limit=PAGE, order="asc" if i % 2 else "desc")
            assert got.items, "empty page"

        results[f"page {label}"] = rate(pages, page, concurrent)
    pair = []
    for _ in range(200):
        sk = f"msg#{ids.new_id('msg_')}"
        start = time.perf_counter()
        store.put({"pk": pk, "sk": sk, **BODY}, condition=ABSENT)
        store.get(pk, sk)
        pair.append((time.perf_counter() - start) * 1000)
    results["p50 put+get ms"] = statistics.median(pair)
    counter = Counter(store)
    trips = []
    for order in ("asc", "desc"):
        before = counter.value()
        page = store.query(f"{pk}-seq", "msg#", limit=PAGE, order=order)
        assert len(page.items) == PAGE and page.has_more
        trips.append(counter.value() - before)
        before = counter.value()
        store.query(f"{pk}-seq", "msg#", before=page.items[-1]["sk"], limit=PAGE, order=order)
        trips.append(counter.value() - before)
    results["round trips / page"] = max(trips)
    return results


def open_backend(name: str, tmp: Path, servers: list):
    tmp.mkdir(parents=True)
    if name == "sqlite":
        from askservice.store.sqlite import SqliteStore

        return SqliteStore(tmp / "bench.db")
    from askservice.store.dynamodb import DynamoStore
    from tests.aws import DynamoLocal

    started = time.perf_counter()
    server = DynamoLocal(tmp)
    servers.append(server)
    print(f"DynamoDB Local ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    store = DynamoStore(server.new_table(), LocalBlobStore(tmp / "blobs"), client=server.client())
    store.create_table()
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "dynamodb", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="fewer operations")
    args = parser.parse_args()
    names = ["sqlite", "dynamodb"] if args.backend == "all" else [args.backend]
    counts = {"sqlite": (2000, 400), "dynamodb": (600, 120)}
    results, servers = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name in names:
                n, pages = counts[name]
                if args.quick:
                    n, pages = n // 4, pages // 4
                store = open_backend(name, Path(tmp) / name, servers)
                results[name] = measure(store, max(n, PAGE * 2), max(pages, 10))
                store.close()
        finally:
            for server in servers:
                server.stop()
    baseline = results.get("sqlite")
    print(f"{'metric':<22}" + "".join(f"{name:>14}{'ratio':>8}" for name in names))
    for metric in next(iter(results.values())):
        row = f"{metric:<22}"
        for name in names:
            value = results[name][metric]
            ratio = value / baseline[metric.replace("x16", "seq")] if baseline and metric.split()[0] in ("put", "get", "page") else None
            row += f"{value:>14.1f}" + (f"{ratio:>8.2f}" if ratio is not None else f"{'':>8}")
        print(row)
    print(f"(rates in operations/s; page = one {PAGE}-item query; ratio = / SQLite sequential)")


if __name__ == "__main__":
    gevent.get_hub()  # the hub first, as under the gevent worker
    main()
