"""The LLM upstream edge: an OpenAI-compatible client (requests) and its error mapping."""

from __future__ import annotations

from askservice.config import Settings
from askservice.errors import NotConfiguredError
from askservice.llm.client import ChatStream, Completion, LLMClient

__all__ = ["ChatStream", "Completion", "LLMClient", "open_llm", "require_upstream"]


def open_llm(settings: Settings) -> LLMClient | None:
    """Return the upstream client of `settings`, or None when UPSTREAM_BASE_URL is unset."""
    if not settings.upstream_base_url:
        return None
    return LLMClient(settings.upstream_base_url, settings.upstream_api_key, settings.upstream_timeout)


def require_upstream(llm: LLMClient | None) -> LLMClient:
    """Return the upstream client, or raise the 503 that says how to configure one."""
    if llm is None:
        raise NotConfiguredError(
            "No upstream is configured: set UPSTREAM_BASE_URL (e.g. http://127.0.0.1:8000/v1) and restart."
        )
    return llm
