"""The bodies of `POST /v1/chat/completions` and `POST /v1/embeddings`.

Only what the server relies on is checked (the model, the shape of messages or input, the stream
flags); every other field passes to the upstream unchanged, which judges it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Model = Field(min_length=1)


class ChatMessage(BaseModel):
    """One message; its content, tool calls etc. are the upstream's to judge."""

    model_config = ConfigDict(strict=True, extra="allow")

    role: StrictStr


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    include_usage: StrictBool | None = None


class ChatCompletionBody(BaseModel):
    """`CreateChatCompletionRequest`, as far as routing and relaying need it."""

    model_config = ConfigDict(strict=True, extra="allow")

    model: StrictStr = Model
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None


class EmbeddingsBody(BaseModel):
    """`CreateEmbeddingRequest`: text, texts, or token arrays."""

    model_config = ConfigDict(strict=True, extra="allow")

    model: StrictStr = Model
    input: StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: StrictInt | None = Field(default=None, ge=1)
    user: StrictStr | None = None
