"""Benchmark the Responses API against an Assistants run and the upstream called directly (issue 14).

    .venv/bin/python bench/responses.py [--backend sqlite|dynamodb|both] [--quick]
                                        [--rounds 100] [--seconds 600] [--latency 0.05]

Starts the scripted upstream (tests/upstream.py: answers after `--latency` seconds, streamed in
5 chunks, as bench/runs.py scripts it), DynamoDB Local (tests/aws.py; `make dynamodb-local`
installs it) and askservice under gunicorn -k gevent (2 workers) per backend, all on loopback.

Times, through HTTP, in rounds that interleave every row (rows shuffled within a round) until
`--rounds` rounds or `--seconds` seconds, whichever comes first; each figure is a median:
  direct        the chat request of bench/runs.py sent straight to the upstream (whole, first chunk)
  run poll      bench/runs.py's "a run's overhead": POST a run on a fresh thread, GET it every 2 ms
                until `completed` (the thread is made outside the timing); minus direct whole
  run TTFD      the same run streamed, until the first `thread.message.delta`; minus direct first
  response      POST /v1/responses (stored, not streamed) with the same instructions and input as
                the run, until it is returned; minus direct whole
  store:false   the same with `store: false`
  resp TTFD     the same streamed, until the first `response.output_text.delta`; minus direct first
  TTFD store:false  the same with `store: false` (the floor: no store call before the first delta)
  chain dN      a stored response whose `previous_response_id` is the N-th response of a chain
                (N = 1, 100; every sample continues the same one, so the depth stays N); minus the
                upstream's own time for the very chat request the service sent for it (captured
                from the upstream's record and replayed directly every round)
  background    POST a background response, GET it every 2 ms until completed; minus direct whole
                (issue 15: <= 1.0 x run poll)
  resume        GET ?stream=true&starting_after=3 of a finished background response: time to its
                first replayed event
Round trips are also counted for a response (truncation auto) in a conversation of 10 and of
10,000 items: the context window, not the conversation, bounds the pages it reads.
Also, once per backend: a background stream (40 deltas 20 ms apart) followed at once from another
connection: how much later each delta reaches the follower than the creator's own stream; and
the store writes of a 1,000-delta background response run in process (event batches among them).
Store round trips are counted in this process, on the same store (SQLite statements, DynamoDB
HTTP requests; tests/store/trips.py), by a Flask app built as gunicorn's workers build it, its
sweeper stopped: the most any of 5 tries of each request kind took. Blob operations (attributes
past 32 KB that DynamoDB items keep in the blob store, S3 in production) are counted beside them.
Targets (issue 14, "Benchmark"): <= 3 round trips per stored non-streamed response; response
overhead p50 <= 0.5 x run poll overhead p50; resp TTFD overhead p50 <= 0.5 x run TTFD overhead
p50; chain d100 vs d1: the same round trips, overhead p50 within 20% (|d100 / d1 - 1| <= 0.2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from bench.runs import ANSWER, MODEL, Direct, RunClient, pct  # noqa: E402
from tests.servers import Service  # noqa: E402
from tests.store.trips import RoundTrips, blob_calls, store_calls  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402

SETUP_MODEL = "bench-setup"  # answers at once: building chains and counting round trips
CONVERSATION_SIZES = (10, 10_000)  # items of the conversations a response reads (truncation auto)
FOLLOWED_MODEL = "bench-followed"  # 40 deltas 20 ms apart: a stream followed live from another connection
INSTRUCTIONS, QUESTION = Direct.BODY["messages"][0]["content"], Direct.BODY["messages"][1]["content"]
DEPTHS = (1, 100)
TRIES = 5  # of each request kind, for the round-trip counts
STORED_KINDS = ("new response", "chain d1", "chain d100")  # stored, non-streamed: <= 3 round trips


class Api:
    """One askservice's /v1 through HTTP."""

    def __init__(self, service: Service):
        self.base = service.url("/v1")
        self.http = requests.Session()

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(self.base + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def respond(self, body: dict) -> float:
        """Create a response (not streamed); return the time until it was returned."""
        started = time.perf_counter()
        response = self.http.post(self.base + "/responses", json=body, timeout=30)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        if response.json()["status"] != "completed":
            raise RuntimeError(f"response ended {response.json()['status']}: {response.json().get('error')}")
        return elapsed

    def background(self, body: dict) -> float:
        """Create a background response and poll it every 2 ms (as a run is polled) until it completed."""
        started = time.perf_counter()
        response = self.post("/responses", {**body, "background": True})
        while response["status"] != "completed":
            if response["status"] not in ("queued", "in_progress"):
                raise RuntimeError(f"background response ended {response['status']}: {response.get('error')}")
            time.sleep(0.002)
            response = self.http.get(f"{self.base}/responses/{response['id']}", timeout=30).json()
        return time.perf_counter() - started

    def resume(self, response_id: str, after: int) -> float:
        """Open a stored background stream after sequence number `after`; return the time to its first event."""
        started = time.perf_counter()
        with self.http.get(f"{self.base}/responses/{response_id}", params={"stream": "true", "starting_after": after},
                           stream=True, timeout=30) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith(b"data:"):
                    return time.perf_counter() - started
        raise RuntimeError("no replayed event")

    def live_and_followed(self, body: dict) -> list[float]:
        """Stream a background response and follow it at once on another connection (gunicorn hands it to
        any worker); return, per delta, how much later the follower got it than the creator's stream."""
        seen: dict[str, dict[int, float]] = {"live": {}, "follower": {}}
        response_id: list[str] = []

        def read(lines, into: dict[int, float]) -> None:
            for line in lines:
                if line.startswith(b"data:"):
                    event = json.loads(line[5:])
                    if not response_id:
                        response_id.append(event["response"]["id"])
                    if event["type"] == "response.output_text.delta":
                        into[event["sequence_number"]] = time.perf_counter()

        with self.http.post(self.base + "/responses", json={**body, "background": True, "stream": True},
                            stream=True, timeout=60) as live:
            lines = live.iter_lines()
            read(itertools.islice(lines, 2), seen["live"])  # response.created names it
            follower = threading.Thread(target=self._follow, args=(response_id[0], read, seen["follower"]))
            follower.start()
            read(lines, seen["live"])
            follower.join(60)
        return [seen["follower"][n] - t for n, t in seen["live"].items() if n in seen["follower"]]

    def _follow(self, response_id: str, read, into: dict[int, float]) -> None:
        with requests.get(f"{self.base}/responses/{response_id}", params={"stream": "true"}, stream=True,
                          timeout=60) as response:
            read(response.iter_lines(), into)

    def first_delta(self, body: dict) -> float:
        """Create a streamed response; return the time to its first `response.output_text.delta`."""
        started, elapsed = time.perf_counter(), None
        with self.http.post(self.base + "/responses", json={**body, "stream": True}, stream=True, timeout=30) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if elapsed is None and line == b"event: response.output_text.delta":
                    elapsed = time.perf_counter() - started
                elif line == b"event: response.failed":
                    raise RuntimeError("streamed response failed")
        if elapsed is None:
            raise RuntimeError("no response.output_text.delta event")
        return elapsed


def body(model: str = MODEL, **extra) -> dict:
    """The request of a response: the run's instructions and question (the direct baseline's messages)."""
    return {"model": model, "instructions": INSTRUCTIONS, "input": QUESTION, **extra}


@contextlib.contextmanager
def environment(env: dict):
    """Set `env` in os.environ for the block (boto3 reads its endpoint there)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Backend:
    """askservice on one backend: gunicorn for the timings, an in-process app for the round trips."""

    def __init__(self, name: str, tmp: Path, upstream, started: list):
        self.name = name
        tmp.mkdir()
        env = {"UPSTREAM_BASE_URL": upstream.client.base_url}
        if name == "dynamodb":
            from tests.aws import DynamoLocal

            dynamo = DynamoLocal(tmp)
            started.append(dynamo)
            env.update(dynamo.env())
        self.service = Service(env, tmp)
        started.append(self.service)
        self.api = Api(self.service)
        self.runs = RunClient(self.service)
        self.upstream = upstream.client
        from askservice import create_app
        from askservice.config import Settings

        local = {"HOST": "127.0.0.1", "STORE_URL": f"sqlite:///{tmp}/askservice.db", "BLOB_URL": f"file://{tmp}/blobs",
                 **env, "STORE_CREATE_TABLE": ""}  # the service made the table
        with environment({k: v for k, v in local.items() if k.startswith("AWS_")}):
            self.app = create_app(Settings.from_env(environ=local, dotenv_path=os.devnull))
        self.services = self.app.extensions["askservice"]
        self.services.sweeper.close()  # its sweeps would be counted as round trips
        self.client = self.app.test_client()
        self.chains: dict[int, str] = {}
        self.directs: dict[int, Direct] = {}
        self.sizes: dict[int, int] = {}

    def build_chains(self) -> None:
        """Make a chain of max(DEPTHS) responses; keep the N-th of each depth and its direct baseline."""
        marker = self.upstream.marker()
        previous = None
        for n in range(1, max(DEPTHS) + 1):
            extra = {"previous_response_id": previous} if previous else {}
            text = f"{QUESTION} (turn {n}, {marker})" if n == 1 else f"And turn {n}: what is x now?"
            previous = self.api.post("/responses", {"model": SETUP_MODEL, "input": text, **extra})["id"]
            if n in DEPTHS:
                self.chains[n] = previous
        for n, response_id in self.chains.items():
            self.api.respond(body(previous_response_id=response_id))  # the request the service sends at depth n
            sent = [r["body"] for r in self.upstream.requests(match=marker) if r["body"].get("model") == MODEL][-1]
            direct = Direct(self.upstream.base_url)
            direct.BODY = sent
            self.directs[n] = direct
            item = self.services.store.get(*_response_key(response_id))
            self.sizes[n] = len(json.dumps({k: v for k, v in item.items()}, default=str).encode())

    # -- round trips, in process ------------------------------------------------------------

    def _counted(self, call) -> tuple[list[str], int, int]:
        """Run `call`; return the store methods it called, the SQL statements / HTTP requests they sent, blob ops."""
        store = self.services.store
        with store_calls(store) as calls, RoundTrips(store) as wire, blob_calls(store) as blobs:
            call()
        return calls.calls + [f"blob {name}" for name in blobs.calls], wire.count, blobs.count

    def _create(self, request: dict) -> dict:
        answer = self.client.post("/v1/responses", json=request)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        data = answer.get_json() if not request.get("stream") else answer.get_data()
        if request.get("stream"):
            assert b"event: response.completed" in data, data[-500:]
        else:
            assert data["status"] == "completed", data
        return data

    def _ok(self, method: str, path: str) -> None:
        answer = self.client.open(path, method=method)
        assert answer.status_code == 200, answer.get_data(as_text=True)

    def writes_per_deltas(self, deltas: int = 1000) -> tuple[int, int]:
        """Run a background response of `deltas` text deltas in process; return (store calls, of which event
        batches) while it ran: what persisting its events cost."""
        model = f"bench-{deltas}-deltas"
        self.upstream.script({"content": " ".join(["w"] * deltas), "chunks": deltas, "delay": 0.002}, model=model)
        store = self.services.store
        with store_calls(store) as calls:
            created = self.client.post("/v1/responses", json={"model": model, "input": "a long answer",
                                                              "background": True}).get_json()
            deadline = time.monotonic() + 120
            while self.client.get(f"/v1/responses/{created['id']}").get_json()["status"] != "completed":
                if time.monotonic() > deadline:
                    raise RuntimeError("the 1,000-delta background response did not end")
                time.sleep(0.05)
        reads = calls.calls.count("get") + calls.calls.count("query")
        return len(calls.calls) - reads, sum(1 for c in calls.calls if c == "put")

    def _conversation(self, size: int) -> str:
        """Make a conversation of `size` short items in process (40 an append); return its id."""
        conversations = self.services.conversations
        created = conversations.create("default", {"metadata": {}, "items": []})
        for start in range(0, size, 40):
            conversations.add_items("default", created["id"], [
                {"type": "message", "role": "user", "content": f"note {n}"} for n in range(start, min(start + 40, size))])
        return created["id"]

    def round_trips(self) -> dict[str, list[tuple[list[str], int, int]]]:
        """Return (store calls, SQL statements or HTTP requests, blob operations) of TRIES requests of each kind."""
        stored = self.api.post("/responses", {"model": SETUP_MODEL, "input": QUESTION})["id"]
        kinds = {
            "new response": lambda: self._create(body(SETUP_MODEL)),
            **{f"chain d{n}": (lambda n=n: self._create(body(SETUP_MODEL, previous_response_id=self.chains[n])))
               for n in DEPTHS},
            "store:false": lambda: self._create(body(SETUP_MODEL, store=False)),
            "streamed": lambda: self._create(body(SETUP_MODEL, stream=True)),
            "GET": lambda: self._ok("GET", f"/v1/responses/{stored}"),
            "input_items": lambda: self._ok("GET", f"/v1/responses/{stored}/input_items"),
        }
        for size in CONVERSATION_SIZES:
            conversation = self._conversation(size)
            kinds[f"conversation {size}"] = lambda c=conversation: self._create(
                body(SETUP_MODEL, conversation=c, truncation="auto"))
        counts = {kind: [self._counted(call) for _ in range(TRIES)] for kind, call in kinds.items()}
        doomed = [self.api.post("/responses", {"model": SETUP_MODEL, "input": QUESTION})["id"] for _ in range(TRIES)]
        counts["DELETE"] = [self._counted(lambda r=r: self._ok("DELETE", f"/v1/responses/{r}")) for r in doomed]
        return counts

    # -- timings, through HTTP --------------------------------------------------------------

    def timed_rows(self) -> dict:
        """Return the row name -> a function that times one sample (seconds)."""
        rows = {
            "run poll": self.runs.poll,
            "run TTFD": lambda: self.runs.stream(b"thread.message.delta"),
            "response": lambda: self.api.respond(body()),
            "store:false": lambda: self.api.respond(body(store=False)),
            "resp TTFD": lambda: self.api.first_delta(body()),
            "TTFD store:false": lambda: self.api.first_delta(body(store=False)),
        }
        for n in DEPTHS:
            rows[f"chain d{n}"] = lambda n=n: self.api.respond(body(previous_response_id=self.chains[n]))
            rows[f"direct d{n}"] = lambda n=n: self.directs[n].measure()[0]
        rows["background"] = lambda: self.api.background(body())
        finished = self.api.post("/responses", {**body(SETUP_MODEL), "background": True, "stream": False})["id"]
        time.sleep(0.5)
        rows["resume"] = lambda: self.api.resume(finished, 3)
        return rows


def _response_key(response_id: str) -> tuple[str, str]:
    from askservice.services import keys

    return keys.response(response_id)


def measure(backends: list[Backend], baseline: Direct, rounds: int, seconds: float, warmup: int) -> dict:
    """Run interleaved rounds; return (backend, row) -> samples in seconds."""
    rows = {b.name: b.timed_rows() for b in backends}
    for b in backends:
        for _ in range(warmup):  # connections, caches and the JVM of DynamoDB Local
            for time_one in rows[b.name].values():
                time_one()
    samples: dict[tuple[str, str], list[float]] = {}
    deadline = time.monotonic() + seconds
    done = 0
    while done < rounds and time.monotonic() < deadline:
        work = [("direct", "whole", None)] + [(b.name, row, fn) for b in backends for row, fn in rows[b.name].items()]
        random.shuffle(work)
        for backend, row, fn in work:
            if fn is None:
                whole, first = baseline.measure()
                samples.setdefault(("direct", "whole"), []).append(whole)
                samples.setdefault(("direct", "first"), []).append(first)
            else:
                samples.setdefault((backend, row), []).append(fn())
        done += 1
    return samples


def table(names: list[str], counts: dict, samples: dict, sizes: dict, follow: dict, writes: dict, args) -> None:
    med = {key: statistics.median(v) * 1000 for key, v in samples.items()}
    whole, first = med[("direct", "whole")], med[("direct", "first")]

    def ovh(name: str, row: str) -> float:
        base = first if "TTFD" in row else whole
        if row.startswith("chain d"):
            base = med[(name, "direct d" + row[len("chain d"):])]
        return med[(name, row)] - base

    lines = []  # (metric, {backend: text}, target, {backend: passed or None})

    def add(metric, values: dict, target="", check=None, fmt="{:.1f}"):
        texts = {n: (fmt.format(v) if isinstance(v, (int, float)) else str(v)) for n, v in values.items()}
        lines.append((metric, texts, target, {n: (check(values[n]) if check else None) for n in values}))

    wire = {"sqlite": "sql", "dynamodb": "http"}
    for kind in next(iter(counts.values())):
        calls = {n: max(len(c) - b for c, _, b in counts[n][kind]) for n in names}
        sent = {n: max(w for _, w, _ in counts[n][kind]) for n in names}
        blobs = {n: max(b for _, _, b in counts[n][kind]) for n in names}
        shown = {n: f"{calls[n]} ({sent[n]} {wire[n]})" + (f" +{blobs[n]} blob" if blobs[n] else "") for n in names}
        limit = kind in STORED_KINDS
        # A round trip: a store call (SQLite: one statement or transaction on a local file), a DynamoDB
        # request, or a blob operation (S3 in production). SQLite's statements are listed, not judged.
        ok = {n: calls[n] + blobs[n] <= 3 and (n != "dynamodb" or sent[n] + blobs[n] <= 3) for n in names}
        lines.append((f"round trips: {kind}", shown, "<= 3" if limit else "", {n: ok[n] if limit else None for n in names}))
    trips = {n: {k: max(len(c) + w * (n == "dynamodb") for c, w, b in counts[n][k]) for k in ("chain d1", "chain d100")}
             for n in names}
    add("round trips: chain d100 - d1", {n: trips[n]["chain d100"] - trips[n]["chain d1"] for n in names},
        "== 0", lambda v: v == 0, "{:+d}")
    add("stored item bytes: d1 / d100", {n: f"{sizes[n][1]} / {sizes[n][100]}" for n in names})
    add("direct whole / first chunk ms", {n: f"{whole:.1f} / {first:.1f}" for n in names})
    for row in ("run poll", "response", "store:false", "run TTFD", "resp TTFD", "TTFD store:false", "chain d1", "chain d100"):
        add(f"overhead p50 ms: {row}", {n: ovh(n, row) for n in names})
    add("response / run poll overhead", {n: ovh(n, "response") / ovh(n, "run poll") for n in names},
        "<= 0.50", lambda v: v <= 0.5, "{:.2f}")
    add("resp TTFD / run TTFD overhead", {n: ovh(n, "resp TTFD") / ovh(n, "run TTFD") for n in names},
        "<= 0.50", lambda v: v <= 0.5, "{:.2f}")
    add("chain d100 / d1 overhead", {n: ovh(n, "chain d100") / ovh(n, "chain d1") for n in names},
        "0.80-1.20", lambda v: abs(v - 1) <= 0.2, "{:.2f}")
    add("overhead p50 ms: background (polled)", {n: ovh(n, "background") for n in names})
    add("background / run poll overhead", {n: ovh(n, "background") / ovh(n, "run poll") for n in names},
        "<= 1.00", lambda v: v <= 1.0, "{:.2f}")
    add("resume: first replayed event p50 ms", {n: med[(n, "resume")] for n in names})
    add("follower added latency per event p50 / p99 ms",
        {n: f"{statistics.median(follow[n]) * 1000:.1f} / {pct(follow[n], .99) * 1000:.1f}" for n in names})
    add("writes per 1,000 deltas (event batches)", {n: f"{writes[n][0]} ({writes[n][1]})" for n in names})
    add("p99 ms: response / run poll", {n: f"{pct(samples[(n, 'response')], .99) * 1000:.1f} / "
                                           f"{pct(samples[(n, 'run poll')], .99) * 1000:.1f}" for n in names})

    rounds = len(samples[("direct", "whole")])
    print(f"\nresponses bench: {rounds} interleaved rounds, upstream latency {args.latency * 1000:.0f} ms + 5 chunks,"
          f" 2 gevent workers; medians unless said")
    width = max(len(m) for m, *_ in lines) + 2
    print(f"{'metric':<{width}}" + "".join(f"{n:>21}" for n in ("sqlite", "dynamodb")) + f"{'target':>11}  pass/miss")
    for metric, texts, target, passed in lines:
        verdicts = [p for p in passed.values() if p is not None]
        verdict = "" if not verdicts else "pass" if all(verdicts) else "miss: " + ",".join(n for n, p in passed.items() if p is False)
        print(f"{metric:<{width}}" + "".join(f"{texts.get(n, '-'):>21}" for n in ("sqlite", "dynamodb"))
              + f"{target:>11}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "dynamodb", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a short run: 15 rounds, 3 warm-ups, 120 s at most")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=600, help="stop the rounds after this long")
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    warmup = 10
    if args.quick:
        args.rounds, args.seconds, warmup = min(args.rounds, 15), min(args.seconds, 120), 3
    names = ["sqlite", "dynamodb"] if args.backend == "both" else [args.backend]
    tmp = Path(tempfile.mkdtemp(prefix="bench-responses-"))
    (tmp / "upstream").mkdir()
    upstream = UpstreamProcess(tmp / "upstream")
    started: list = []
    try:
        upstream.client.script({"content": ANSWER, "chunks": 5, "latency": args.latency}, model=MODEL, repeat=True)
        upstream.client.script({"content": ANSWER, "chunks": 5}, model=SETUP_MODEL, repeat=True)
        backends = [Backend(name, tmp / name, upstream, started) for name in names]
        counts, sizes = {}, {}
        for b in backends:
            b.build_chains()
            counts[b.name], sizes[b.name] = b.round_trips(), b.sizes
        upstream.client.script({"content": " ".join(f"w{i}" for i in range(40)), "chunks": 40, "delay": 0.02},
                               model=FOLLOWED_MODEL, repeat=True)
        follow = {b.name: [d for _ in range(3) for d in b.api.live_and_followed(body(FOLLOWED_MODEL))] for b in backends}
        writes = {b.name: b.writes_per_deltas() for b in backends}
        samples = measure(backends, Direct(upstream.client.base_url), args.rounds, args.seconds, warmup)
        table(names, counts, samples, sizes, follow, writes, args)
        for name in names:
            print(f"store calls ({name}, the most of {TRIES} tries): " + "; ".join(
                f"{kind}: {'+'.join(max((c for c, _, _ in tries), key=len)) or '-'}" for kind, tries in counts[name].items()))
        print(f"(round trips: store calls (SQL statements or DynamoDB requests they sent), the most of {TRIES} tries;"
              " '+N blob': blob-store operations of DynamoDB's overflow, counted against the 3;"
              " chain dN continues the N-th response of a chain)")
    finally:
        for b in locals().get("backends", []):
            b.services.store.close()
        for process in reversed(started):
            process.stop()
        upstream.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
