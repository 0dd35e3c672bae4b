"""What the web tests share: the two API keys, raw calls, and official SDK clients of a service."""

from __future__ import annotations

import functools

import requests
from openai import OpenAI

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
