"""Caddy with the repository's Caddyfile as a plain-HTTP loopback proxy, and timed SSE reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.servers import REPO, Process, free_port, wait_until


class Caddy(Process):
    """`caddy run` on the repository's Caddyfile, plain HTTP on a free loopback port."""

    def __init__(self, caddy: str, upstream: str, tmp: Path, **extra_env: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp),  # Caddy keeps its state under HOME / XDG folders
            "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "ASKSERVICE_SITE": self.base_url,
            "ASKSERVICE_UPSTREAM": upstream,
            "CADDY_BIND": "127.0.0.1",
            "CADDY_ADMIN": "off",
            **extra_env,
        }
        super().__init__(
            [caddy, "run", "--config", str(REPO / "Caddyfile"), "--adapter", "caddyfile"],
            env=env, cwd=tmp, log=tmp / f"caddy-{self.port}.log",
        )
        try:
            wait_until(self._ready, timeout=20, what=f"caddy on {self.port}")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"caddy did not start:\n{self.log_text()[-3000:]}") from None

    def _ready(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"caddy exited with {self.popen.returncode}:\n{self.log_text()[-3000:]}")
        return requests.get(self.base_url + "/v1/health", timeout=1).status_code == 200


@dataclass
class TimedStream:
    """The SSE payloads of one response and when each arrived (seconds after the request was sent)."""

    status: int
    headers: dict
    payloads: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)


def timed_sse(url: str, body: dict, session: requests.Session | None = None) -> TimedStream:
    """POST `body` and read the SSE answer, timing each event's arrival."""
    http = session or requests
    started = time.perf_counter()
    with http.post(url, json=body, stream=True, timeout=30) as response:
        result = TimedStream(response.status_code, dict(response.headers))
        buffer = b""
        for data in response.iter_content(chunk_size=None):
            arrived = time.perf_counter() - started
            buffer += data
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                for line in event.split(b"\n"):
                    if line.startswith(b"data: "):
                        result.payloads.append(line[6:].decode())
                        result.arrivals.append(arrived)
    return result
