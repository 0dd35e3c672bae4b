"""Helpers of the assistants/threads/messages tests: spec-checked SDK calls."""

from __future__ import annotations

from tests.schema import assert_schema

DEPRECATION = "ignore:(The Assistants API is )?deprecated:DeprecationWarning"


def checked(raw_call, component: str, *args, **kwargs):
    """Call an SDK `with_raw_response` method, check its JSON against `component`, return the parsed object."""
    response = raw_call(*args, **kwargs)
    assert_schema(response.http_response.json(), component)
    return response.parse()
