"""Request models of /threads and /threads/{id}/messages, mirroring the spec.

`CreateMessage` is also the shape of a thread's initial `messages` and of a run's
`additional_messages`. Content is a string or a non-empty list of parts (`text`, `image_file`,
`image_url`); a string arrives here as one text part, so that every error names a plain param.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictStr, model_validator

from askservice.web.schemas.assistants import Metadata, ToolResources, invalid
from askservice.web.pages import ListQuery

Detail = Literal["auto", "low", "high"]
PART_FIELDS = {"text": "text", "image_file": "image_file", "image_url": "image_url"}


class ImageFile(BaseModel):
    file_id: StrictStr
    detail: Detail = "auto"


class ImageUrl(BaseModel):
    url: Annotated[StrictStr, Field(pattern=r"^(https?://|data:)\S+$")]
    detail: Detail = "auto"


class ContentPart(BaseModel):
    """One of `MessageRequestContentTextObject`, `MessageContentImageFileObject`, `MessageContentImageUrlObject`."""

    type: Literal["text", "image_file", "image_url"]
    text: Annotated[StrictStr, Field(min_length=1)] | None = None
    image_file: ImageFile | None = None
    image_url: ImageUrl | None = None

    @model_validator(mode="after")
    def _field_of_type(self):
        if getattr(self, PART_FIELDS[self.type]) is None:
            raise invalid(f"a '{self.type}' content part needs its '{self.type}' field")
        return self

    def requested(self) -> dict:
        """Return the part as plain request data."""
        field = PART_FIELDS[self.type]
        value = getattr(self, field)
        return {"type": self.type, field: value if isinstance(value, str) else value.model_dump()}


def _string_as_part(value: Any) -> Any:
    if isinstance(value, str):
        if not value:
            raise invalid("message content must not be empty")
        return [{"type": "text", "text": value}]
    return value


Content = Annotated[list[ContentPart], BeforeValidator(_string_as_part), Field(min_length=1)]


class AttachmentTool(BaseModel):
    type: Literal["code_interpreter", "file_search"]


class Attachment(BaseModel):
    file_id: StrictStr
    tools: list[AttachmentTool] = Field(default_factory=list)


class CreateMessage(BaseModel):
    """`CreateMessageRequest`."""

    role: Literal["user", "assistant"]
    content: Content
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None

    def requested(self) -> dict:
        """Return the message as plain data for the messages service."""
        return {
            "role": self.role,
            "content": [part.requested() for part in self.content],
            "attachments": [a.model_dump() for a in self.attachments or []],
            "metadata": self.metadata or {},
        }


class ModifyMessage(BaseModel):
    """`ModifyMessageRequest`."""

    metadata: Metadata | None = None

    def changes(self) -> dict:
        """Return the change for the messages service (None leaves the metadata as it is)."""
        return {"metadata": self.metadata}


class CreateThread(BaseModel):
    """`CreateThreadRequest`."""

    messages: list[CreateMessage] = Field(default_factory=list)
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None

    def requested(self) -> dict:
        """Return the thread as plain data for the threads service."""
        return {
            "messages": [m.requested() for m in self.messages],
            "tool_resources": self.tool_resources.requested() if self.tool_resources else None,
            "metadata": self.metadata or {},
        }


class ModifyThread(BaseModel):
    """`ModifyThreadRequest`."""

    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None

    def changes(self) -> dict:
        """Return the changes for the threads service (None leaves a field as it is)."""
        return {
            "metadata": self.metadata,
            "tool_resources": self.tool_resources.requested() if self.tool_resources else None,
        }


class MessageListQuery(ListQuery):
    run_id: str | None = None
