"""Request models of /vector_stores, mirroring the spec (unknown fields are ignored, as at OpenAI)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StringConstraints, model_validator

from askservice.web.schemas.assistants import Metadata
from askservice.web.schemas.chunking import ChunkingStrategy
from askservice.web.pages import ListQuery

Key = Annotated[str, StringConstraints(max_length=64)]
AttributeValue = Union[StrictBool, StrictInt, StrictFloat, Annotated[str, StringConstraints(max_length=512)]]
Attributes = Annotated[dict[Key, AttributeValue], Field(max_length=16)]
STATUS = Literal["in_progress", "completed", "failed", "cancelled"]


class VectorStoreExpiresAfter(BaseModel):
    """`expires_after` of a vector store: days after its last activity."""

    anchor: Literal["last_active_at"]
    days: StrictInt = Field(ge=1, le=365)


class CreateVectorStore(BaseModel):
    """`CreateVectorStoreRequest`."""

    name: str | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    expires_after: VectorStoreExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class UpdateVectorStore(BaseModel):
    """`UpdateVectorStoreRequest` (an explicit null `expires_after` removes it)."""

    name: str | None = None
    expires_after: VectorStoreExpiresAfter | None = None
    metadata: Metadata | None = None


class CreateVectorStoreFile(BaseModel):
    """`CreateVectorStoreFileRequest`."""

    file_id: str
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None


class CreateFileBatch(BaseModel):
    """`CreateVectorStoreFileBatchRequest`: `file_ids` or `files`, not both."""

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
    """`UpdateVectorStoreFileAttributesRequest`."""

    attributes: Attributes | None


class ComparisonFilter(BaseModel):
    """A search filter comparing one file attribute to a value."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str
    value: Union[StrictBool, StrictInt, StrictFloat, str, list[Union[StrictInt, StrictFloat, str]]]


class CompoundFilter(BaseModel):
    """Search filters joined by `and` / `or`."""

    type: Literal["and", "or"]
    filters: list[Union[ComparisonFilter, "CompoundFilter"]]


class SearchRankingOptions(BaseModel):
    """`ranking_options` of a search."""

    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


class SearchRequest(BaseModel):
    """`VectorStoreSearchRequest`."""

    query: Union[Annotated[str, StringConstraints(min_length=1)], Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]]
    rewrite_query: bool = False
    max_num_results: StrictInt = Field(default=10, ge=1, le=50)
    filters: Union[ComparisonFilter, CompoundFilter, None] = None
    ranking_options: SearchRankingOptions | None = None


class VectorStoreFileListQuery(ListQuery):
    """Query of file lists: the list parameters and a status `filter`."""

    filter: STATUS | None = None
