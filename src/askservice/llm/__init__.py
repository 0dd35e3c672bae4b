"""The LLM upstream edge: OpenAI-compatible clients (requests), their error mapping, and the router
that picks the upstream by model."""

from __future__ import annotations

from askservice.config import Settings
from askservice.errors import NotConfiguredError
from askservice.llm.client import ChatStream, Completion, LLMClient
from askservice.llm.routing import Router

__all__ = ["ChatStream", "Completion", "LLMClient", "Router", "open_llm", "require_upstream"]


def open_llm(settings: Settings) -> Router | None:
    """Return the router of `settings` (UPSTREAMS_FILE, else UPSTREAM_BASE_URL), or None when neither is set."""
    if settings.upstreams is not None:
        return Router.from_file(settings.upstreams)
    if not settings.upstream_base_url:
        return None
    return Router.single(LLMClient(settings.upstream_base_url, settings.upstream_api_key, settings.upstream_timeout))


def require_upstream(llm: Router | None) -> Router:
    """Return the router, or raise the 503 that says how to configure an upstream."""
    if llm is None:
        raise NotConfiguredError(
            "No upstream is configured: set UPSTREAM_BASE_URL (e.g. http://127.0.0.1:8000/v1) or UPSTREAMS_FILE "
            "and restart."
        )
    return llm
