"""Benchmark the server-side tools of responses (issue 16): what an MCP call and a web search cost.

    .venv/bin/python bench/server_tools.py [--rounds 40] [--seconds 300]

Starts the scripted upstream (tests/upstream.py, answering at once), the MCP test server
(tests/mcp/server.py, the `mcp` SDK on uvicorn), a local SearxNG-shaped engine with two local
pages (tests/websearch/sites.py) and askservice under gunicorn -k gevent (2 workers, SQLite),
all on loopback. Rounds interleave every row (shuffled within a round) until `--rounds` rounds or
`--seconds` seconds; each figure is a median over the rounds:

  turn direct    one streamed chat request sent straight to the upstream (the floor of a turn)
  plain          POST /v1/responses, no tools: one turn
  mcp direct     the MCP work alone, from this process: McpClient initialize, tools/list, tools/call
                 (`add`), close (the floor of an MCP response's MCP work)
  mcp new        a response with an `mcp` tool (require_approval never): list, call, two turns
  mcp cached     the same continuing the chain of an `mcp new` response: the listing is reused
  search direct  WebSearch.run in this process: the engine, then two pages fetched and read
  web_search     a response with a web_search tool (context low: two pages): search, two turns

Derived: the server's own share of an MCP response, `mcp new - mcp direct - 2 x turn direct`, and
the same for web_search (`web_search - search direct - 2 x turn direct`), next to `plain - turn
direct` (what the server adds to one plain turn); and what a tool response costs beyond its tool
work and two plain responses (`- 2 x plain`). No target is set by the issue; these figures say
where the time of a tool response goes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from askservice.config import Settings  # noqa: E402
from askservice.mcp import McpClient  # noqa: E402
from askservice.netguard import Allowed  # noqa: E402
from askservice.websearch import open_websearch  # noqa: E402
from bench.runs import Direct  # noqa: E402
from tests.mcp.process import start_mcp_server  # noqa: E402
from tests.servers import Service  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402
from tests.websearch.sites import Site  # noqa: E402

LOOPBACK = "127.0.0.1/32"
ARTICLE = ("<html><head><title>Varuna</title></head><body><article><h1>Tides of Varuna</h1>"
           + "<p>The spring tide at Varuna rises 14.2 metres, as the port authority measures it every year.</p>" * 20
           + "</article></body></html>")
ROWS = ("turn direct", "plain", "mcp direct", "mcp new", "mcp cached", "search direct", "web_search")


class Bench:
    """The parts, started once; `time(row)` measures one sample of a row."""

    def __init__(self, tmp: Path, started: list):
        self.upstream = UpstreamProcess(tmp)
        started.append(self.upstream)
        self.mcp = start_mcp_server(tmp / "mcp.log")
        started.append(self.mcp)
        self.site = Site()
        started.append(self.site)
        pages = [self.site.page(f"/page{n}", ARTICLE) for n in (1, 2)]
        self.site.json("/search", {"results": [{"url": url, "title": "Varuna", "content": "tides"} for url in pages]})
        env = {"UPSTREAM_BASE_URL": self.upstream.client.base_url, "WEB_SEARCH_PROVIDER": "searxng",
               "WEB_SEARCH_URL": self.site.url(""), "WEB_FETCH_ALLOW": LOOPBACK, "MCP_ALLOW": LOOPBACK}
        (tmp / "svc").mkdir()
        self.service = Service(env, tmp / "svc")
        started.append(self.service)
        self.url = self.service.url("/v1/responses")
        self.http = requests.Session()
        self.direct = Direct(self.upstream.client.base_url)
        self.web = open_websearch(Settings(web_search_provider="searxng", web_search_url=self.site.url(""),
                                           web_fetch_allow=Allowed.parse(LOOPBACK)))
        self.tool = {"type": "mcp", "server_label": "calc", "server_url": self.mcp.url("json"), "require_approval": "never"}

    def time(self, row: str) -> float:
        started = time.perf_counter()
        getattr(self, row.replace(" ", "_"))()
        return time.perf_counter() - started

    def turn_direct(self) -> None:
        self.direct.measure()

    def plain(self) -> None:
        self._respond({"model": "m", "input": "Hello"})

    def mcp_direct(self) -> None:
        with McpClient(self.mcp.url("json"), timeout=10, allowed=Allowed.parse(LOOPBACK)) as client:
            client.list_tools()
            client.call_tool("add", {"a": 1, "b": 2})

    def mcp_new(self) -> str:
        return self._tool_response({"tools": [self.tool]}, "calc__add", {"a": 1, "b": 2})

    def mcp_cached(self) -> None:
        self._tool_response({"tools": [self.tool], "previous_response_id": self.chain}, "calc__add", {"a": 1, "b": 2})

    def search_direct(self) -> None:
        assert len(self.web.run("varuna", context_size="low").pages) == 2

    def web_search(self) -> None:
        self._tool_response({"tools": [{"type": "web_search", "search_context_size": "low"}]}, "web_search",
                            {"query": "varuna"})

    def _tool_response(self, extra: dict, name: str, arguments: dict) -> str:
        marker = self.upstream.client.marker()
        self.upstream.client.script({"tool_calls": [{"name": name, "arguments": arguments}]}, {"content": "Done."},
                                    match=marker)
        return self._respond({"model": "m", "input": f"Go {marker}", **extra})

    def _respond(self, body: dict) -> str:
        answer = self.http.post(self.url, json=body, timeout=60)
        answer.raise_for_status()
        response = answer.json()
        assert response["status"] == "completed", response
        return response["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    started: list = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            bench = Bench(Path(folder), started)
            bench.chain = bench.mcp_new()
            for row in ROWS:  # warm every path once
                bench.time(row)
            samples: dict[str, list[float]] = {row: [] for row in ROWS}
            deadline = time.monotonic() + args.seconds
            rounds = 0
            while rounds < args.rounds and time.monotonic() < deadline:
                for row in random.sample(ROWS, len(ROWS)):
                    samples[row].append(bench.time(row))
                rounds += 1
            report(samples, rounds)
    finally:
        for part in reversed(started):
            (part.close if hasattr(part, "close") else part.stop)()


def report(samples: dict[str, list[float]], rounds: int) -> None:
    ms = {row: statistics.median(values) * 1000 for row, values in samples.items()}
    print(f"{rounds} rounds; medians in ms")
    print("| row | p50 ms |\n|---|---|")
    for row in ROWS:
        print(f"| {row} | {ms[row]:.1f} |")
    turn = ms["turn direct"]
    print("| derived | ms |\n|---|---|")
    print(f"| plain - turn direct (the server's share of a plain turn) | {ms['plain'] - turn:.1f} |")
    print(f"| mcp new - mcp direct - 2 x turn direct | {ms['mcp new'] - ms['mcp direct'] - 2 * turn:.1f} |")
    print(f"| mcp new - mcp direct - 2 x plain (beyond two plain responses) | "
          f"{ms['mcp new'] - ms['mcp direct'] - 2 * ms['plain']:.1f} |")
    print(f"| mcp cached - mcp new (the listing saved) | {ms['mcp cached'] - ms['mcp new']:.1f} |")
    print(f"| web_search - search direct - 2 x turn direct | {ms['web_search'] - ms['search direct'] - 2 * turn:.1f} |")
    print(f"| web_search - search direct - 2 x plain (beyond two plain responses) | "
          f"{ms['web_search'] - ms['search direct'] - 2 * ms['plain']:.1f} |")


if __name__ == "__main__":
    main()
