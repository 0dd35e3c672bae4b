"""Run the OpenResponses compliance suite (github openresponses/openresponses, `bin/compliance-test.ts`)
against askservice on the scripted upstream, and print passed/failed per test.

    .venv/bin/python bench/openresponses_compliance.py --suite PATH/TO/openresponses [--filter ids]

The suite is not vendored: PATH is a checkout of that repository (its licence and source stay
there; OPENRESPONSES_DIR works too). Its npm dependencies are installed into the checkout with
`npm ci` when `node_modules` is missing, and the TypeScript runs with `npx tsx` (pinned below).
A missing checkout, node or npx fails loudly.

The scripted upstream answers with its echo text, and with a `get_weather` call where the suite
asks for the weather; a test that needs a real model's judgement (it never does: the suite checks
shapes and statuses) would fail for the upstream's limits, not the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.servers import Service  # noqa: E402
from tests.upstream import UpstreamProcess  # noqa: E402

TSX = "tsx@4.23.15"
KEY = "sk-compliance"
WEATHER = {"tool_calls": [{"name": "get_weather", "arguments": {"location": "San Francisco, CA"}}]}
"""The suite's tool-calling prompts: answered with a call (once each, so a round trip's second turn gets text)."""
TOOL_PROMPTS = ("What's the weather like in San Francisco?", "Use the weather tool")


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        sys.exit(f"{tool} is not installed: the suite needs Node.js 20+ (apt-get install nodejs npm)")
    return found


def suite_dir(given: str | None) -> Path:
    where = given or os.environ.get("OPENRESPONSES_DIR")
    path = Path(where or "(none given)")
    if not where or not (path / "bin" / "compliance-test.ts").is_file():
        sys.exit(f"no OpenResponses checkout at {str(path)!r}: pass --suite DIR (a clone of "
                 "github.com/openresponses/openresponses) or set OPENRESPONSES_DIR")
    return path


def run_suite(suite: Path, base_url: str, filters: str | None) -> dict:
    npm, npx = need("npm"), need("npx")
    if not (suite / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=suite, check=True)
    args = [npx, "--yes", TSX, "bin/compliance-test.ts", "--base-url", base_url, "--api-key", KEY, "--json"]
    if filters:
        args += ["--filter", filters]
    done = subprocess.run(args, cwd=suite, capture_output=True, text=True, timeout=600)
    start = done.stdout.find("{")
    if start < 0:
        sys.exit(f"the suite printed no JSON (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout[start:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", help="a checkout of openresponses/openresponses (or OPENRESPONSES_DIR)")
    parser.add_argument("--filter", help="comma-separated test ids")
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args()
    suite = suite_dir(args.suite)
    with tempfile.TemporaryDirectory(prefix="openresponses-") as tmp:
        upstream = UpstreamProcess(Path(tmp))
        service = None
        try:
            for prompt in TOOL_PROMPTS:
                upstream.client.script(WEATHER, match=prompt)
            service = Service({"UPSTREAM_BASE_URL": upstream.client.base_url, "API_KEYS": f"{KEY}:compliance"},
                              Path(tmp))
            report = run_suite(suite, service.base_url + "/v1", args.filter)
        finally:
            if service is not None:
                service.stop()
            upstream.stop()
    for result in report["results"]:
        print(f"{result['status']:8} {result['id']}")
        for error in result.get("errors") or []:
            print(f"         - {error}")
    summary = report["summary"]
    print(f"\n{summary['passed']} passed, {summary['failed']} failed, {summary.get('skipped', 0)} skipped, "
          f"{summary['total']} total")
    sys.exit(1 if summary["failed"] else 0)


if __name__ == "__main__":
    main()
