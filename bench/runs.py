"""Benchmark what a run adds to the upstream's own time, on SQLite and on DynamoDB Local.

    .venv/bin/python bench/runs.py [--runs 200] [--latency 0.05] [--backends sqlite,dynamodb]

Starts the scripted upstream (tests/upstream.py, answering after `--latency` seconds, streamed
in 5 chunks), DynamoDB Local (tests/aws.py; `make dynamodb-local` installs it), and askservice
under gunicorn -k gevent (2 workers) per backend. Baseline: the same chat request sent straight
to the upstream, streamed to its end (and to its first content chunk), measured in this run.

Per backend, `--runs` runs each (a fresh thread per run, created outside the timing), in rounds
that interleave every row with the baseline, so that load from elsewhere weighs on all alike:
  poll     POST /threads/{id}/runs, then GET the run every 2 ms until `completed`
  stream   POST ... with stream: true, until the `thread.run.completed` event
  TTFD     POST ... with stream: true, until the first `thread.message.delta`
Overhead = the run's wall time minus the upstream's own (median direct) time; p50 and p99.
Targets: poll overhead p50 <= 15 ms on SQLite, <= 40 ms on DynamoDB Local.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.servers import Service  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402

MODEL = "bench-model"
ANSWER = "The answer to the equation is x equals one."
TARGETS = {"sqlite": 15.0, "dynamodb": 40.0}


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class Direct:
    """The baseline: the executor's kind of chat request sent straight to the upstream."""

    BODY = {"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "solve 3x + 11 = 14"}]}

    def __init__(self, upstream_url: str):
        self.url = upstream_url + "/chat/completions"
        self.http = requests.Session()

    def measure(self) -> tuple[float, float]:
        """Return (whole streamed answer, first content chunk) in seconds."""
        started, first = time.perf_counter(), None
        with self.http.post(self.url, json=self.BODY, stream=True, timeout=30) as response:
            for line in response.iter_lines():
                if first is None and b'"content": "' in line and b'"content": ""' not in line:
                    first = time.perf_counter() - started
        return time.perf_counter() - started, first


class RunClient:
    """Creates runs on one askservice and times them."""

    def __init__(self, service: Service):
        self.base = service.url("/v1")
        self.http = requests.Session()
        self.assistant = self._post("/assistants", {"model": MODEL, "instructions": "Be brief."})["id"]

    def _post(self, path: str, body: dict) -> dict:
        response = self.http.post(self.base + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def _thread(self) -> str:
        return self._post("/threads", {"messages": [{"role": "user", "content": "solve 3x + 11 = 14"}]})["id"]

    def poll(self) -> float:
        thread = self._thread()
        started = time.perf_counter()
        run = self._post(f"/threads/{thread}/runs", {"assistant_id": self.assistant})
        while run["status"] != "completed":
            if run["status"] not in ("queued", "in_progress"):
                raise RuntimeError(f"run ended {run['status']}: {run.get('last_error')}")
            time.sleep(0.002)
            run = self.http.get(f"{self.base}/threads/{thread}/runs/{run['id']}", timeout=30).json()
        return time.perf_counter() - started

    def stream(self, until: bytes) -> float:
        thread = self._thread()
        started = time.perf_counter()
        body = {"assistant_id": self.assistant, "stream": True}
        with self.http.post(f"{self.base}/threads/{thread}/runs", json=body, stream=True, timeout=30) as response:
            for line in response.iter_lines():
                if line == b"event: " + until:
                    elapsed = time.perf_counter() - started
                    for _ in response.iter_lines():
                        pass
                    return elapsed
        raise RuntimeError(f"no {until!r} event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--backends", default="sqlite,dynamodb")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    for sub in {"upstream", "dynamodb", *args.backends.split(",")}:
        (tmp / sub).mkdir()
    upstream = UpstreamProcess(tmp / "upstream")
    started: list = []
    try:
        upstream.client.script({"content": ANSWER, "chunks": 5, "latency": args.latency}, model=MODEL, repeat=True)
        baseline = Direct(upstream.client.base_url)
        clients = {}
        for backend in args.backends.split(","):
            env = {"UPSTREAM_BASE_URL": upstream.client.base_url}
            if backend == "dynamodb":
                from tests.aws import DynamoLocal

                dynamo = DynamoLocal(tmp / "dynamodb")
                started.append(dynamo)
                env.update(dynamo.env())
            service = Service(env, tmp / backend)
            started.append(service)
            clients[backend] = RunClient(service)
            for _ in range(50):  # warm up connections, caches and the JVM of DynamoDB Local
                clients[backend].poll()
        # Rounds interleave every measurement, so that load from elsewhere falls on all rows alike.
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            whole, first = baseline.measure()
            samples.setdefault(("upstream direct", "whole answer"), []).append(whole)
            samples.setdefault(("upstream direct", "first chunk"), []).append(first)
            for backend, client in clients.items():
                samples.setdefault((backend, "poll"), []).append(client.poll())
                samples.setdefault((backend, "stream"), []).append(client.stream(b"thread.run.completed"))
                samples.setdefault((backend, "TTFD"), []).append(client.stream(b"thread.message.delta"))
        base_whole = statistics.median(samples[("upstream direct", "whole answer")])
        base_first = statistics.median(samples[("upstream direct", "first chunk")])
        print(f"\nruns: {args.runs} per row, upstream latency {args.latency * 1000:.0f} ms + 5 chunks; times in ms")
        print(f"{'backend':<16} {'mode':<13} {'p50':>8} {'p99':>8} {'ovh p50':>8} {'ovh p99':>8} {'x direct':>9} {'target':>8}")
        for (backend, mode), times in samples.items():
            base = base_first if mode in ("TTFD", "first chunk") else base_whole
            overhead = [(t - base) * 1000 for t in times]
            target = f"<= {TARGETS[backend]:.0f}" if mode == "poll" and backend in TARGETS else ""
            extra = f"{'':8} {'':8}" if backend == "upstream direct" else f"{statistics.median(overhead):8.1f} {pct(overhead, 0.99):8.1f}"
            p50 = statistics.median(times) * 1000
            print(f"{backend:<16} {mode:<13} {p50:8.1f} {pct(times, 0.99) * 1000:8.1f} {extra} {p50 / (base * 1000):9.2f} {target:>8}")
    finally:
        for process in reversed(started):
            process.stop()
        upstream.stop()


if __name__ == "__main__":
    main()
