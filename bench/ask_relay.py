"""Benchmark the /v1/ask and /v1/chat/completions relays against calling the scripted upstream
directly and against a bare relay (R1-R6 of issue 3, the targets of issue 13).

    .venv/bin/python bench/ask_relay.py [--rounds 5] [--quick] [--only R4]

Starts the scripted upstream (tests/upstream.py), askservice under gunicorn -k gevent (2 workers,
and a 1-worker one for R5), and the bare Flask + requests relay of bench/bare_relay.py (both
routes) under the same gunicorn. Rounds are interleaved (direct, ask, chat, bare ask, bare chat,
direct, ...) and each figure is the median over the rounds. "added / bare relay's" rows divide a
route's added time over direct by the bare relay's for the same route, in the same run. Load:
`wrk` (C, not the bottleneck; `apt-get install -y wrk`) for JSON, a gevent raw-socket client in
this process for SSE. Prints one table, a column pair per route.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from gevent.pool import Pool  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.servers import VENV_BIN, Process, free_port, wait_until  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402

WORDS = " ".join(f"w{i}" for i in range(20))
SCRIPTS = {  # model name -> what the upstream does for it
    "slow200": {"latency": 0.2},
    "sse20": {"content": WORDS, "chunks": 20, "delay": 0.01},
    "drip": {"content": "a b c d e f g h", "chunks": 8, "delay": 1.0},  # open ~10 s
}
R5_STREAMS = 1000
WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '%s'
"""


class Gunicorn(Process):
    """A WSGI app under gunicorn -k gevent on a free port, with the test suite's settings."""

    def __init__(self, chdir: Path, module: str, env: dict, tmp: Path, workers: int):
        self.port = free_port()
        args = [
            str(VENV_BIN / "gunicorn"), "-k", "gevent", "-w", str(workers), "--worker-connections", "2000",
            "-b", f"127.0.0.1:{self.port}", "--chdir", str(chdir), module,
        ]
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        super().__init__(args, env=full_env, cwd=REPO, log=tmp / f"{module.split(':')[0]}-{self.port}.log")
        wait_until(self._listening, timeout=30, what=f"{module} on {self.port}")

    def _listening(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(self.log_text()[-3000:])
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return len(self.workers()) > 0

    def workers(self) -> list[int]:
        """Return the worker pids."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def rss_kb(self) -> list[int]:
        """Return each worker's resident set size in KiB."""
        out = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]))
        return out


class Target:
    """Where a load goes: a port, a path, and the JSON body for a given upstream model."""

    def __init__(self, name: str, port: int, path: str, relay: bool):
        self.name, self.port, self.path, self.relay = name, port, path, relay

    def body(self, model: str, stream: bool = False) -> dict:
        if self.relay:
            return {"question": "hello there, how are you", "model": model, "stream": stream}
        return {"model": model, "messages": [{"role": "user", "content": "hello there, how are you"}], "stream": stream}

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


# ---- JSON load with wrk -------------------------------------------------------------------


def wrk(target: Target, model: str, connections: int, seconds: float, tmp: Path) -> dict:
    """Run wrk against `target`; return rps, p50/p99 latency (ms) and the error count."""
    script = tmp / f"{target.name}-{model}.lua"
    script.write_text(WRK_LUA % json.dumps(target.body(model)))
    threads = 1 if connections == 1 else 2
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", str(script), target.url()]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses:|timeout|read|write|connect) (\d+)", out))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": errors,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# ---- SSE with a raw-socket gevent client ----------------------------------------------------


def sse(target: Target, model: str, first_only: bool = False, on_first=None) -> dict:
    """Open one stream; return time to first event, event arrival times, and whether it ended well."""
    body = json.dumps(target.body(model, stream=True)).encode()
    request = (
        f"POST {target.path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    started = time.perf_counter()
    arrivals, buffer, seen = [], b"", 0
    with socket.create_connection(("127.0.0.1", target.port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            now = time.perf_counter()
            buffer += data
            count = buffer.count(b"data: ")
            if on_first is not None and not arrivals and count:
                on_first()
            arrivals += [now] * (count - seen)
            seen = count
            if (first_only and arrivals) or b"data: [DONE]" in buffer:
                break
    ok = buffer.startswith(b"HTTP/1.1 200") and (first_only or b"data: [DONE]" in buffer) and b'"error"' not in buffer
    return {"ttft": (arrivals[0] - started) * 1000 if arrivals else None, "arrivals": arrivals, "ok": ok}


def sse_round(target: Target, streams: int) -> dict:
    """Run `streams` SSE20 streams one after another; return TTFT p50/p99, events, gaps (ms)."""
    results = [sse(target, "sse20") for _ in range(streams)]
    ttfts = sorted(r["ttft"] for r in results)
    gaps = sorted((b - a) * 1000 for r in results for a, b in zip(r["arrivals"][1:-2], r["arrivals"][2:-1]))
    return {
        "p50": _pct(ttfts, 50), "p99": _pct(ttfts, 99), "events": statistics.median(len(r["arrivals"]) for r in results),
        "gap50": _pct(gaps, 50), "gap99": _pct(gaps, 99), "errors": sum(not r["ok"] for r in results),
    }


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


def open_streams_round(target: Target, probes: int, service: Gunicorn | None) -> dict:
    """Hold R5_STREAMS drip streams open; meanwhile time new streams' TTFT and read the worker's RSS."""
    results, first_events = [], []
    pool = Pool(R5_STREAMS)

    def hold(_):
        results.append(sse(target, "drip", on_first=lambda: first_events.append(1)))

    for i in range(R5_STREAMS):
        pool.spawn(hold, i)
        if i % 50 == 49:
            gevent.sleep(0.05)  # ramp: 1,000 streams in about a second
    deadline = time.monotonic() + 30
    while len(first_events) < R5_STREAMS and time.monotonic() < deadline:
        gevent.sleep(0.05)
    gevent.sleep(0.5)  # let the ramp's backlog drain: R5 measures a steady state of open streams
    rss = sum(service.rss_kb()) if service else None
    ttfts = sorted(sse(target, "probe", first_only=True)["ttft"] for _ in range(probes))
    still_open = R5_STREAMS - len(results)
    pool.join(timeout=60)
    errors = sum(not r["ok"] for r in results) + (R5_STREAMS - len(results))
    return {"p50": _pct(ttfts, 50), "p99": _pct(ttfts, 99), "rss_kb": rss, "errors": errors, "open": still_open}


# ---- the run ---------------------------------------------------------------------------------

ROUTES = (("ask", "/v1/ask", True), ("chat", "/v1/chat/completions", False))  # name, path, /v1/ask body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="shorter loads (a smoke run, not for the table)")
    parser.add_argument("--only", choices=["R4"], help="run only these rows (R4: SSE time to first chunk, gaps)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench/ask_relay.py: terminated"))  # still stop the servers
    if shutil.which("wrk") is None:
        sys.exit("bench/ask_relay.py needs wrk: apt-get install -y wrk")
    seconds = 2 if args.quick else 5
    tmp = Path(tempfile.mkdtemp(prefix="ask-relay-bench-"))
    processes = []
    try:
        upstream = UpstreamProcess(tmp)
        processes.append(upstream)
        for model, spec in SCRIPTS.items():
            upstream.client.script(spec, model=model, repeat=True)
        env = {
            "UPSTREAM_BASE_URL": upstream.client.base_url, "UPSTREAM_MODEL": "fast",
            "STORE_URL": f"sqlite:///{tmp}/askservice.db", "BLOB_URL": f"file://{tmp}/blobs",
        }
        ours = Gunicorn(REPO / "src", "app:app", env, tmp, workers=2)
        processes.append(ours)
        direct = Target("direct", upstream.port, "/v1/chat/completions", relay=False)
        relays = {name: Target(name, ours.port, path, relay) for name, path, relay in ROUTES}
        if args.only == "R4":
            for t in relays.values():
                sse_round(t, 8)  # warm pools and imports
            print_table(r4_rows(run_r4(args.rounds, [direct, *relays.values()], 10 if args.quick else 30)), args.rounds)
            return
        bare = Gunicorn(REPO / "bench", "bare_relay:app", env, tmp, workers=2)
        ours1 = Gunicorn(REPO / "src", "app:app", env, tmp, workers=1)
        processes += [bare, ours1]
        bares = {name: Target(f"bare-{name}", bare.port, path, relay) for name, path, relay in ROUTES}
        ones = {name: Target(f"{name}-1w", ours1.port, path, relay) for name, path, relay in ROUTES}
        for t in (direct, *relays.values(), *bares.values()):  # warm pools and imports
            wrk(t, "fast", 8, 1, tmp)
        for t in ones.values():
            sse_round(t, 8)
        rows = run_rounds(args.rounds, seconds, tmp, direct, relays, bares, ones, ours1, quick=args.quick)
        rows += run_leak(ours, relays, tmp, total=20_000 if args.quick else 100_000)
        print_table(rows, args.rounds)
    finally:
        for process in reversed(processes):
            process.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run_r4(rounds: int, targets: list, streams: int) -> dict:
    """Only R4's rounds (each target in turn, every round); return the results by key."""
    m: dict[str, list] = {}
    for n in range(rounds):
        print(f"round {n + 1}/{rounds}", file=sys.stderr, flush=True)
        for t in targets:
            m.setdefault(f"r4 {t.name}", []).append(sse_round(t, streams))
    return m


def median(m: dict, key: str, field: str) -> float:
    return statistics.median(r[field] for r in m[key])


def row(m: dict, key: str, label: str, base: str, field: str, unit: str, target: str, ratio_to: str | None = None) -> tuple:
    """One table row: the baseline's median of `field`, then per route its median and its ratio ("x")
    or difference to the baseline; with `ratio_to` (a baseline key prefix, "bare"), the row is
    instead each route's added value over direct divided by that same route's bare relay's."""
    cells = []
    for name, _, _ in ROUTES:
        ours = median(m, f"{base.split()[0]} {name}", field)
        if ratio_to:
            bare = median(m, f"{base.split()[0]} {ratio_to}-{name}", field)
            cells.append((ours - median(m, base, field), (ours - median(m, base, field)) / (bare - median(m, base, field))))
        else:
            b = median(m, base, field)
            cells.append((ours, ours / b if unit == "x" else ours - b))
    return (key, label, median(m, base, field), cells, unit, target)


def r4_rows(m: dict) -> list:
    """The R4 rows of the table from the rounds' results."""
    rows = [
        row(m, "R4", "SSE 20x10ms: added TTFT p50", "r4 direct", "p50", "ms", "(info)"),
        row(m, "R4", "SSE 20x10ms: added TTFT p99", "r4 direct", "p99", "ms", "<= 10 ms"),
        row(m, "R4", "SSE: events per stream", "r4 direct", "events", "", "same (0)"),
        row(m, "R4", "SSE: inter-chunk gap p50", "r4 direct", "gap50", "ms", "within 1 ms"),
        row(m, "R4", "SSE: inter-chunk gap p99", "r4 direct", "gap99", "ms", "(info)"),
    ]
    if any(k.startswith("r4 bare-") for k in m):
        rows.insert(1, row(m, "R4", "added TTFT p50 / bare relay's", "r4 direct", "p50", "x", "<= 1.0 x", ratio_to="bare"))
    errors = [(sum(r["errors"] for r in m[f"r4 {name}"]), None) for name, _, _ in ROUTES]
    return rows + [("R4", "errors (non-2xx, socket, bad stream)", sum(r["errors"] for r in m["r4 direct"]), errors, "", "0")]


def run_rounds(rounds, seconds, tmp, direct, relays, bares, ones, ours1, quick) -> list:
    m: dict[str, list] = {}

    def add(key, value):
        m.setdefault(key, []).append(value)

    ours, bare = list(relays.values()), list(bares.values())
    r5_idle = None
    for n in range(rounds):
        print(f"round {n + 1}/{rounds}", file=sys.stderr, flush=True)
        for t in (direct, *ours, *bare):
            add(f"r1 {t.name}", wrk(t, "fast", 1, seconds, tmp))
        for t in (direct, *ours):
            add(f"r2 {t.name}", wrk(t, "slow200", 64, seconds, tmp))
        for t in (direct, *ours, *bare):
            add(f"r3 {t.name}", wrk(t, "fast", 64, seconds, tmp))
        for t in (direct, *ours, *bare):
            add(f"r4 {t.name}", sse_round(t, 10 if quick else 30))
        if r5_idle is None:
            r5_idle = sum(ours1.rss_kb())
        add("r5 direct", open_streams_round(direct, 20, None))
        for name, t in ones.items():
            add(f"r5 {name}", open_streams_round(t, 20, ours1))

    def errors(name: str) -> int:
        return sum(r["errors"] for k in (f"r1 {name}", f"r2 {name}", f"r3 {name}", f"r4 {name}", f"r3 bare-{name}",
                                         f"r1 bare-{name}", f"r4 bare-{name}") for r in m[k])

    rss = [(statistics.median(r["rss_kb"] - r5_idle for r in m[f"r5 {name}"]) / R5_STREAMS, None) for name, _, _ in ROUTES]
    return [
        row(m, "R1", "sequential JSON: added p50", "r1 direct", "p50", "ms", "(info)"),
        row(m, "R1", "added p50 / bare relay's", "r1 direct", "p50", "x", "<= 1.0 x", ratio_to="bare"),
        row(m, "R1", "sequential JSON: added p99", "r1 direct", "p99", "ms", "<= 5 ms"),
        row(m, "R2", "c64, upstream 200 ms: req/s", "r2 direct", "rps", "x", ">= 0.95 x"),
        row(m, "R2", "c64, upstream 200 ms: added p99", "r2 direct", "p99", "ms", "<= 40 ms"),
        ("R3", "c64 saturation req/s vs the bare relay", None,
         [(median(m, f"r3 {name}", "rps"), median(m, f"r3 {name}", "rps") / median(m, f"r3 bare-{name}", "rps"))
          for name, _, _ in ROUTES], "x", ">= 1.0 x"),
        row(m, "R3", "(info) same, vs direct upstream", "r3 direct", "rps", "x", ""),
        *r4_rows({k: v for k, v in m.items() if k.startswith("r4 ")})[:-1],  # errors: in the R1-4 row
        ("R5", f"{R5_STREAMS} open streams, 1 worker: errors", sum(r["errors"] for r in m["r5 direct"]),
         [(sum(r["errors"] for r in m[f"r5 {name}"]), None) for name, _, _ in ROUTES], "", "0"),
        row(m, "R5", "new stream's added TTFT p99 meanwhile", "r5 direct", "p99", "ms", "<= 25 ms"),
        ("R5", "streams still open while probing (min)", min(r["open"] for r in m["r5 direct"]),
         [(min(r["open"] for r in m[f"r5 {name}"]), None) for name, _, _ in ROUTES], "", f"{R5_STREAMS}"),
        ("R5", "worker RSS per open stream", None, rss, "KB", "<= 100 KB"),
        ("R1-4", "errors (non-2xx, socket, bad stream), incl. the bare relay", None,
         [(errors(name), None) for name, _, _ in ROUTES], "", "0"),
    ]


def run_leak(ours: Gunicorn, relays: dict, tmp: Path, total: int) -> list:
    """R6: worker RSS after `total` JSON requests (half asks, half chat completions) vs after the
    first tenth (wrk in 5 s slices)."""
    print(f"R6: {total} requests", file=sys.stderr, flush=True)
    done, errors, rss, turn = 0, 0, {}, 0
    for mark in (total // 10, total):
        while done < mark:
            result = wrk(list(relays.values())[turn % 2], "fast", 64, 5, tmp)
            done, errors, turn = done + result["requests"], errors + result["errors"], turn + 1
        rss[mark] = (done, sum(ours.rss_kb()))
    (first, after_first), (last, after_all) = rss[total // 10], rss[total]
    return [
        ("R6", f"RSS (2 workers, KB) after {first} vs {last} requests", after_first,
         [(after_all, after_all / after_first)] * 2, "x", "<= 1.10 x"),
        ("R6", "errors over the run", None, [(errors, None)] * 2, "", "0"),
    ]


def print_table(rows, rounds: int) -> None:
    fmt = lambda v: "" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))  # noqa: E731
    print(f"\naskservice vs direct upstream (median of {rounds} interleaved rounds; gunicorn -k gevent)")
    print("| # | measure | baseline | /v1/ask | added / ratio | /v1/chat/completions | added / ratio | target |")
    print("|---|---|---|---|---|---|---|---|")
    for key, measure, base, cells, unit, target in rows:
        values = " | ".join(f"{fmt(v)} | {fmt(d)} {unit if d is not None else ''}".rstrip() for v, d in cells)
        print(f"| {key} | {measure} | {fmt(base)} | {values} | {target} |")


if __name__ == "__main__":
    main()
