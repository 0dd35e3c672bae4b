"""The LLM upstream edge: an OpenAI-compatible client (requests) and its error mapping."""

from askservice.llm.client import ChatStream, Completion, LLMClient

__all__ = ["ChatStream", "Completion", "LLMClient"]
