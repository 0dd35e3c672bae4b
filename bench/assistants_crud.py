"""Benchmark assistants and messages through the HTTP API: creates/s and 100-message pages/s.

    .venv/bin/python bench/assistants_crud.py [--backend sqlite|dynamodb|all] [--seconds 5]

Starts askservice under gunicorn -k gevent (2 workers) on SQLite and on DynamoDB Local (as the
tests start them; `make dynamodb-local` installs it) and drives it with `wrk` (C, not the
bottleneck; `apt-get install -y wrk`) at 16 connections. Also measures the p50 of one 100-message
page with one connection, and how many store round trips that page costs (counted in this
process on the same store: SQLite statements, or HTTP requests of the boto3 client).
Ratios are against GET /v1/health on the same server in the same run (the stack's own cost).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.store.trips import RoundTrips  # noqa: E402
from tests.servers import Service  # noqa: E402

CONNECTIONS = 16
PAGE = 100
OWNER = "default"  # the client of open access
WRK_LUA = """
wrk.method = "%s"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '%s'
"""


def wrk(url: str, method: str, body: dict | None, connections: int, seconds: float, tmp: Path) -> dict:
    """Run wrk; return requests/s, p50 latency in ms and the error count."""
    script = tmp / "request.lua"
    script.write_text(WRK_LUA % (method, json.dumps(body) if body is not None else ""))
    threads = 1 if connections == 1 else 2
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)", out, re.M)
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses:|timeout|read|write|connect) (\d+)", out))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": float(p50.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)],
        "errors": errors,
    }


def start(name: str, tmp: Path, servers: list) -> tuple[Service, object]:
    """Start askservice on backend `name`; return it and a Store opened on the same data."""
    from askservice.blobs.local import LocalBlobStore

    tmp.mkdir(parents=True)
    if name == "sqlite":
        from askservice.store.sqlite import SqliteStore

        service = Service({}, tmp)
        servers.append(service)
        return service, SqliteStore(tmp / "askservice.db")
    from askservice.store.dynamodb import DynamoStore
    from tests.aws import DynamoLocal

    dynamo = DynamoLocal(tmp)
    servers.append(dynamo)
    env = dynamo.env()
    service = Service(env, tmp)
    servers.append(service)
    table = env["STORE_URL"].partition("://")[2]
    return service, DynamoStore(table, LocalBlobStore(tmp / "blobs"), client=dynamo.client())


def page_round_trips(store, thread_id: str) -> int:
    """Return the store round trips of one 100-message page, as the messages service makes it."""
    from askservice.services.messages import MessagesService
    from askservice.services.threads import ThreadsService

    threads = ThreadsService(store, checker=None, delete_runs=None)
    messages = MessagesService(store, threads, checker=None, active_run=None)
    with RoundTrips(store) as trips:
        page = messages.list(OWNER, thread_id, limit=PAGE, order="desc")
    assert len(page.items) == PAGE
    return trips.count


def measure(service: Service, store, seconds: float, tmp: Path) -> dict:
    """Return the rows of one backend."""
    base = service.base_url + "/v1"
    body = {"messages": [{"role": "user", "content": f"message {i} " + "x" * 200} for i in range(PAGE)]}
    full = requests.post(base + "/threads", json=body, timeout=60).json()["id"]
    listed = requests.get(f"{base}/threads/{full}/messages", params={"limit": PAGE}, timeout=10).json()
    assert len(listed["data"]) == PAGE, listed
    growing = requests.post(base + "/threads", json={}, timeout=10).json()["id"]
    list_url = f"{base}/threads/{full}/messages?limit={PAGE}"
    wrk(list_url, "GET", None, CONNECTIONS, 1, tmp)  # warm both workers
    rows = {
        "health x16": wrk(base + "/health", "GET", None, CONNECTIONS, seconds, tmp),
        "create assistant x16": wrk(base + "/assistants", "POST", {"model": "gpt-4o", "name": "bench", "tools": [{"type": "code_interpreter"}]},
                                    CONNECTIONS, seconds, tmp),
        "create message x16": wrk(f"{base}/threads/{growing}/messages", "POST", {"role": "user", "content": "x" * 200},
                                  CONNECTIONS, seconds, tmp),
        "list 100 messages x16": wrk(list_url, "GET", None, CONNECTIONS, seconds, tmp),
        "list 100 messages x1": wrk(list_url, "GET", None, 1, seconds, tmp),
    }
    rows["store round trips / list"] = page_round_trips(store, full)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "dynamodb", "all"], default="all")
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/assistants_crud.py needs wrk: apt-get install -y wrk")
    names = ["sqlite", "dynamodb"] if args.backend == "all" else [args.backend]
    results, servers = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name in names:
                service, store = start(name, Path(tmp) / name, servers)
                results[name] = measure(service, store, args.seconds, Path(tmp))
                store.close()
        finally:
            for server in reversed(servers):
                server.stop()
    print(f"{'HTTP, 2 gevent workers':<26}" + "".join(f"{n + ' req/s':>16}{'p50 ms':>9}{'ratio':>7}" for n in names))
    for metric in next(iter(results.values())):
        row = f"{metric:<26}"
        for name in names:
            value = results[name][metric]
            if isinstance(value, dict):
                assert value["errors"] == 0, f"{name} {metric}: {value['errors']} errors"
                row += f"{value['rps']:>16.0f}{value['p50']:>9.2f}{value['rps'] / results[name]['health x16']['rps']:>7.2f}"
            else:
                row += f"{value:>16}{'':>16}"
        print(row)
    print(f"(x16: {CONNECTIONS} concurrent connections, x1: one; ratio = req/s / health x16 req/s on the same backend;"
          f" round trips = store calls of one {PAGE}-message page: the thread's ownership get + the page query)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
