"""Benchmark what Caddy (the repository's Caddyfile) adds to a streamed /v1/ask.

    .venv/bin/python bench/caddy_sse.py [--runs 30]

Starts the scripted upstream, askservice (gunicorn, two gevent workers) and Caddy on the local
plain-HTTP variant, all on loopback. Each run streams an answer of 5 chunks 50 ms apart, once
straight to gunicorn (the baseline) and once through Caddy, alternating, on warm keep-alive
connections. Prints time to first chunk (TTFC) and to the whole stream, median and p90, with the
ratio and difference against the baseline; the target is TTFC within 50 ms of direct.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

import requests  # noqa: E402

from tests.deploy.caddy import Caddy, timed_sse  # noqa: E402
from tests.servers import Service  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402

CHUNKS, DELAY = 5, 0.05


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    caddy_bin = shutil.which("caddy")
    if not caddy_bin:
        sys.exit("caddy is missing: run `make system-tools` (apt-get install -y caddy)")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        upstream = UpstreamProcess(root)
        service = caddy = None
        try:
            service = Service({"UPSTREAM_BASE_URL": upstream.client.base_url, "UPSTREAM_MODEL": "scripted-model"}, root)
            caddy = Caddy(caddy_bin, f"127.0.0.1:{service.port}", root)
            mark = upstream.client.marker()
            upstream.client.script({"content": "a b c d e", "chunks": CHUNKS, "delay": DELAY}, match=mark, repeat=True)
            body = {"question": f"bench {mark}", "stream": True}
            paths = {"direct (baseline)": service.url("/v1/ask"), "through Caddy": caddy.base_url + "/v1/ask"}
            sessions = {name: requests.Session() for name in paths}
            results: dict[str, dict[str, list[float]]] = {name: {"ttfc": [], "total": []} for name in paths}
            for run in range(args.runs + 3):  # the first 3 warm the connections up
                for name, url in paths.items():
                    stream = timed_sse(url, body, sessions[name])
                    if stream.payloads[-1:] != ["[DONE]"]:
                        sys.exit(f"{name}: the stream did not end with [DONE]")
                    if run >= 3:
                        results[name]["ttfc"].append(stream.arrivals[0] * 1000)
                        results[name]["total"].append(stream.arrivals[-1] * 1000)
        finally:
            for process in (caddy, service, upstream):
                if process is not None:
                    process.stop()

    base = results["direct (baseline)"]
    print(f"streamed /v1/ask, {CHUNKS} chunks {DELAY * 1000:.0f} ms apart, {args.runs} runs each (ms)")
    print(f"{'path':<20}{'TTFC p50':>10}{'TTFC p90':>10}{'ratio':>8}{'+ms p50':>9}{'total p50':>11}{'ratio':>8}")
    for name, r in results.items():
        ttfc, whole = statistics.median(r["ttfc"]), statistics.median(r["total"])
        print(
            f"{name:<20}{ttfc:>10.1f}{quantile(r['ttfc'], 0.9):>10.1f}{ttfc / statistics.median(base['ttfc']):>8.2f}"
            f"{ttfc - statistics.median(base['ttfc']):>9.1f}{whole:>11.1f}{whole / statistics.median(base['total']):>8.2f}"
        )


if __name__ == "__main__":
    main()
