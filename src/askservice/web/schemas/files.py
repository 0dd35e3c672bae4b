"""The query of `GET /files` and the expiry fields of an upload."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from askservice.web.pages import MAX_CURSOR


class FilesListQuery(BaseModel):
    """Query of `GET /files` (the spec allows up to 10,000 a page)."""

    purpose: str | None = None
    limit: int = Field(default=10000, ge=1, le=10000)
    order: Literal["asc", "desc"] = "desc"
    after: str | None = Field(default=None, max_length=MAX_CURSOR)


class FileExpiresAfter(BaseModel):
    """`expires_after` of an upload, sent as `expires_after[anchor]` / `expires_after[seconds]` fields."""

    anchor: Literal["created_at"]
    seconds: int = Field(ge=3600, le=2592000)


class UploadExpiry(BaseModel):
    """The upload's expiry fields, so that errors name `expires_after.seconds`."""

    expires_after: FileExpiresAfter
