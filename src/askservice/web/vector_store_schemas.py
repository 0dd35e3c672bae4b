"""Request models of /vector_stores, mirroring the spec (unknown fields are ignored, as at OpenAI)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StringConstraints, model_validator

from askservice.web.pages import ListQuery

Key = Annotated[str, StringConstraints(max_length=64)]
Metadata = Annotated[dict[Key, Annotated[str, StringConstraints(max_length=512)]], Field(max_length=16)]
AttributeValue = Union[StrictBool, StrictInt, StrictFloat, Annotated[str, StringConstraints(max_length=512)]]
Attributes = Annotated[dict[Key, AttributeValue], Field(max_length=16)]
STATUS = Literal["in_progress", "completed", "failed", "cancelled"]


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
    type: Literal["auto"]


class StaticStrategy(BaseModel):
    type: Literal["static"]
    static: StaticParams


ChunkingStrategy = Annotated[Union[AutoStrategy, StaticStrategy], Field(discriminator="type")]


class ExpiresAfter(BaseModel):
    anchor: Literal["last_active_at"]
    days: StrictInt = Field(ge=1, le=365)


class CreateVectorStore(BaseModel):
    name: str | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class UpdateVectorStore(BaseModel):
    name: str | None = None
    expires_after: ExpiresAfter | None = None
    metadata: Metadata | None = None


class CreateVectorStoreFile(BaseModel):
    file_id: str
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None


class CreateFileBatch(BaseModel):
    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=2000)
    files: list[CreateVectorStoreFile] | None = Field(default=None, min_length=1, max_length=2000)
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _one_list(self):
        if (self.file_ids is None) == (self.files is None):
            raise ValueError("give exactly one of file_ids or files")
        return self


class UpdateFileAttributes(BaseModel):
    attributes: Attributes | None


class ComparisonFilter(BaseModel):
    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str
    value: Union[StrictBool, StrictInt, StrictFloat, str, list[Union[StrictInt, StrictFloat, str]]]


class CompoundFilter(BaseModel):
    type: Literal["and", "or"]
    filters: list[Union[ComparisonFilter, "CompoundFilter"]]


class RankingOptions(BaseModel):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


class SearchRequest(BaseModel):
    query: Union[Annotated[str, StringConstraints(min_length=1)], Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]]
    rewrite_query: bool = False
    max_num_results: StrictInt = Field(default=10, ge=1, le=50)
    filters: Union[ComparisonFilter, CompoundFilter, None] = None
    ranking_options: RankingOptions | None = None


class FileListQuery(ListQuery):
    filter: STATUS | None = None
