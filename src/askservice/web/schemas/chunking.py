"""`chunking_strategy` of vector stores, their files and tool_resources: `auto`, or `static` sizes."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, StrictInt, model_validator


class StaticParams(BaseModel):
    """`static.max_chunk_size_tokens` 100-4096 and `chunk_overlap_tokens` at most half of it."""

    max_chunk_size_tokens: StrictInt = Field(ge=100, le=4096)
    chunk_overlap_tokens: StrictInt = Field(ge=0)

    @model_validator(mode="after")
    def _overlap_at_most_half(self):
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError("chunk_overlap_tokens must not exceed half of max_chunk_size_tokens")
        return self


class AutoStrategy(BaseModel):
    """`{"type": "auto"}`: 800 tokens with 400 of overlap."""

    type: Literal["auto"]


class StaticStrategy(BaseModel):
    """`{"type": "static", "static": {...}}`."""

    type: Literal["static"]
    static: StaticParams


ChunkingStrategy = Annotated[Union[AutoStrategy, StaticStrategy], Field(discriminator="type")]
