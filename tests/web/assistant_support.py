"""Helpers of the assistants/threads/messages tests: raw calls and spec-checked SDK calls."""

from __future__ import annotations

import requests

from tests.conftest import ASSISTANT_KEYS
from tests.schema import assert_schema

KEY_A, KEY_B = list(ASSISTANT_KEYS)
DEPRECATION = "ignore:(The Assistants API is )?deprecated:DeprecationWarning"


def api(service, method: str, path: str, key: str = KEY_A, prefix: str = "/v1", **kwargs) -> requests.Response:
    """Call the service directly (bodies the SDK would refuse to send, headers it would add)."""
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return requests.request(method, service.url(prefix + path), headers=headers, timeout=30, **kwargs)


def checked(raw_call, component: str, *args, **kwargs):
    """Call an SDK `with_raw_response` method, check its JSON against `component`, return the parsed object."""
    response = raw_call(*args, **kwargs)
    assert_schema(response.http_response.json(), component)
    return response.parse()
