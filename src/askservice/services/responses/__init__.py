"""The Responses API on the engine: stored responses, chains by `previous_response_id`, streamed events."""

from askservice.services.responses.service import Responses

__all__ = ["Responses"]
