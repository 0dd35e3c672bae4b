"""Benchmark the Store: puts, gets and 100-item pages per second, sequential and 16 greenlets.

    .venv/bin/python bench/store.py [--backend sqlite|dynamodb|all] [--quick]

SQLite runs on a temp file; DynamoDB on DynamoDB Local, started here as the tests start it
(`make dynamodb-local` installs it). Also prints the p50 of a put followed by a get, and how many
statements (SQLite) or HTTP requests (DynamoDB) one 100-item page takes: the target is one. They
are counted from outside the store (tests/store/trips.py), only while a page is read.
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
from tests.store.trips import RoundTrips  # noqa: E402

CONCURRENCY = 16
PAGE = 100
BODY = {"role": "user", "status": "completed", "content": [{"type": "text", "text": {"value": "x" * 400, "annotations": []}}]}


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
        sks = sorted(f"msg#{ids.new_id('msg_')}" for _ in range(n))  # ids made in one ms are not ordered
        part = f"{pk}-{label}"
        results[f"put {label}"] = rate(n, lambda i: store.put({"pk": part, "sk": sks[i], **BODY}, condition=ABSENT), concurrent)
        results[f"get {label}"] = rate(n, lambda i: store.get(part, sks[random.randrange(n)]), concurrent)

        def page(i):
            asc = i % 2
            cursor = sks[random.randrange(n - PAGE) if asc else random.randrange(PAGE, n)]  # a full page either way
            got = store.query(part, "msg#", after=cursor, limit=PAGE, order="asc" if asc else "desc")
            assert len(got.items) == PAGE, "short page"

        results[f"page {label}"] = rate(pages, page, concurrent)
    pair = []
    for _ in range(200):
        sk = f"msg#{ids.new_id('msg_')}"
        start = time.perf_counter()
        store.put({"pk": pk, "sk": sk, **BODY}, condition=ABSENT)
        store.get(pk, sk)
        pair.append((time.perf_counter() - start) * 1000)
    results["p50 put+get ms"] = statistics.median(pair)
    trips = []
    for order in ("asc", "desc"):
        with RoundTrips(store) as first:
            page = store.query(f"{pk}-seq", "msg#", limit=PAGE, order=order)
        assert len(page.items) == PAGE and page.has_more
        with RoundTrips(store) as previous:
            store.query(f"{pk}-seq", "msg#", before=page.items[-1]["sk"], limit=PAGE, order=order)
        trips += [first.count, previous.count]
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
