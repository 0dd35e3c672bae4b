"""Request models of the run routes, mirroring the spec (`CreateRunRequest`, ...).

Tools, metadata, response formats and messages are the models assistants and threads use;
unknown fields are ignored, as at OpenAI. `params()` turns a body into the plain data the runs
service takes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StrictInt, StrictStr, model_validator

from askservice.services.runs import SEARCH_CONTENT
from askservice.web.schemas.assistants import Metadata, ResponseFormat, Temperature, Tool, ToolResources, TopP, invalid
from askservice.web.pages import ListQuery
from askservice.web.schemas.threads import CreateMessage, CreateThread

MODES = ("none", "auto", "required")


class FunctionName(BaseModel):
    name: StrictStr


def _mode_as_object(value: Any) -> Any:
    if isinstance(value, str):
        if value not in MODES:
            raise invalid("tool_choice must be \"none\", \"auto\", \"required\" or a tool object")
        return {"type": value}
    return value


class ToolChoiceModel(BaseModel):
    """`AssistantsApiToolChoiceOption`: a mode, or the tool the model must call."""

    type: Literal["none", "auto", "required", "function", "code_interpreter", "file_search", "web_search"]
    function: FunctionName | None = None

    @model_validator(mode="after")
    def _function_named(self):
        if self.type == "function" and self.function is None:
            raise invalid("a function tool choice names its 'function'")
        return self

    def stored(self) -> str | dict:
        """Return the choice as the API echoes it."""
        if self.type in MODES:
            return self.type
        return self.model_dump(exclude_none=True)


ToolChoice = Annotated[ToolChoiceModel, BeforeValidator(_mode_as_object)]


class Truncation(BaseModel):
    """`TruncationObject`: `auto`, or only the `last_messages` most recent messages."""

    type: Literal["auto", "last_messages"]
    last_messages: StrictInt | None = Field(default=None, ge=1)


class RunOptions(BaseModel):
    """What a run takes on top of its assistant's defaults (both create routes)."""

    assistant_id: StrictStr
    model: StrictStr | None = None
    instructions: StrictStr | None = None
    tools: list[Tool] | None = Field(default=None, max_length=20)
    metadata: Metadata | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    stream: StrictBool | None = None
    max_prompt_tokens: StrictInt | None = Field(default=None, ge=256)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=256)
    truncation_strategy: Truncation | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: StrictStr | None = None

    def params(self) -> dict:
        """Return the given options as plain data for the runs service (unset ones left out)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set - {"stream"}:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "tools":
                value = [tool.stored() for tool in value]
            elif name in ("response_format", "tool_choice"):
                value = value.stored()
            elif name == "additional_messages":
                value = [message.requested() for message in value]
            elif name == "thread":
                value = value.requested()
            elif isinstance(value, BaseModel):
                value = value.model_dump()
            out[name] = value
        return out


class CreateRun(RunOptions):
    """`CreateRunRequest`."""

    additional_instructions: StrictStr | None = None
    additional_messages: list[CreateMessage] | None = None


class CreateThreadAndRun(RunOptions):
    """`CreateThreadAndRunRequest` (its `tool_resources` are the new thread's)."""

    thread: CreateThread | None = None
    tool_resources: ToolResources | None = None

    def params(self) -> dict:
        out = super().params()
        thread = dict(out.get("thread") or {})
        if out.pop("tool_resources", None) is not None:
            thread["tool_resources"] = self.tool_resources.requested()
        out["thread"] = thread
        return out


class ToolOutput(BaseModel):
    tool_call_id: StrictStr
    output: StrictStr = ""


class SubmitToolOutputs(BaseModel):
    """`SubmitToolOutputsRunRequest`."""

    tool_outputs: list[ToolOutput]
    stream: StrictBool | None = None


class ModifyRun(BaseModel):
    metadata: Metadata | None = None


class IncludeQuery(BaseModel):
    """`include[]`: extra step content; the spec's one value asks for file_search result contents."""

    include: list[Literal[SEARCH_CONTENT]] = Field(default_factory=list)


class StepsQuery(ListQuery, IncludeQuery):
    pass
