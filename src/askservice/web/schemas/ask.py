"""The body of `POST /v1/ask`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError


class HistoryItem(BaseModel):
    """One message of the history the caller sends."""

    model_config = ConfigDict(strict=True)

    role: Literal["user", "assistant", "system"]
    content: str


class AskBody(BaseModel):
    """The body of `POST /v1/ask`; unknown fields are ignored."""

    model_config = ConfigDict(strict=True)

    question: str
    history: list[HistoryItem] | None = None
    client_id: str | None = None
    user_id: str | None = None
    stream: bool = False
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty", "must be a non-empty string")
        return value
