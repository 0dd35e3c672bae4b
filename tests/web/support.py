"""What the web tests share: the two API keys, raw calls, official SDK clients of a service, and
reading /metrics."""

from __future__ import annotations

import functools
import glob
import os
import tempfile

import requests
from openai import OpenAI
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from askservice import metricsdir

from tests.conftest import CLIENT_KEYS

KEY_A, KEY_B = list(CLIENT_KEYS)  # client-a's and client-b's keys (services without API_KEYS take any)
TIMEOUT = 30


def api(service, method: str, path: str, key: str = KEY_A, prefix: str = "/v1", timeout: float = TIMEOUT,
        **kwargs) -> requests.Response:
    """Call the service directly (bodies and streams the SDK would refuse, hide or add headers to)."""
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return requests.request(method, service.url(prefix + path), headers=headers, timeout=timeout, **kwargs)


def sdk_on(service, key: str = KEY_A) -> OpenAI:
    """Return the official SDK client on `service` for `key` (no retries: a failure must show).

    One client per service and key for the session: clients left to the garbage collector
    would drop their open connections there."""
    return _client(service.url("/v1"), key)


@functools.cache
def _client(base_url: str, key: str) -> OpenAI:
    return OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=TIMEOUT)


def samples(text: str) -> dict[tuple, float]:
    """Return {(sample name, sorted labels): value} from Prometheus' text format."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(found: dict[tuple, float], name: str, **labels: str) -> float:
    """Sum the samples named `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in found.items() if n == name and labels.items() <= dict(ls).items())


def per_worker_requests(master_pid: int) -> dict[int, float]:
    """Read each worker's own counter file: {pid: HTTP requests it answered}."""
    folders = glob.glob(os.path.join(tempfile.gettempdir(), f"{metricsdir.PREFIX}{master_pid}-*"))
    assert len(folders) == 1, folders
    counts = {}
    for path in glob.glob(os.path.join(folders[0], "counter_*.db")):
        merged = MultiProcessCollector.merge([path], accumulate=True)
        counts[int(path[:-3].rpartition("_")[2])] = sum(
            s.value for m in merged for s in m.samples if s.name == "askservice_http_requests_total"
        )
    return counts
