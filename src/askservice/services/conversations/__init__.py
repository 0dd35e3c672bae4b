"""The Conversations API: conversations as ordered logs of items, shared by workers through the store."""

from askservice.services.conversations.service import Conversations

__all__ = ["Conversations"]
