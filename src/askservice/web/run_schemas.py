"""Request models of the run routes, mirroring the spec (unknown fields are ignored, as at OpenAI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, StrictBool, StrictStr, model_validator

from askservice.web.pages import ListQuery

Key = Annotated[str, Field(max_length=64)]
Metadata = Annotated[dict[Key, Annotated[str, Field(max_length=512)]], Field(max_length=16)]


class FunctionName(BaseModel):
    name: StrictStr


class NamedToolChoice(BaseModel):
    type: Literal["function", "code_interpreter", "file_search"]
    function: FunctionName | None = None

    @model_validator(mode="after")
    def _function_named(self):
        if self.type == "function" and self.function is None:
            raise ValueError("a function tool choice names its function")
        return self


class Truncation(BaseModel):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class RunOptions(BaseModel):
    """What a run takes on top of its assistant's defaults (shared by both create routes)."""

    assistant_id: StrictStr
    model: StrictStr | None = None
    instructions: StrictStr | None = None
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=20)
    metadata: Metadata | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: StrictBool | None = None
    max_prompt_tokens: int | None = Field(default=None, ge=256)
    max_completion_tokens: int | None = Field(default=None, ge=256)
    truncation_strategy: Truncation | None = None
    tool_choice: Union[Literal["none", "auto", "required"], NamedToolChoice, None] = None
    parallel_tool_calls: StrictBool | None = None
    response_format: Union[Literal["auto"], ResponseFormat, None] = None
    reasoning_effort: str | None = None


class CreateRun(RunOptions):
    additional_instructions: StrictStr | None = None
    additional_messages: list[dict[str, Any]] | None = None


class CreateThreadAndRun(RunOptions):
    thread: dict[str, Any] | None = None
    tool_resources: dict[str, Any] | None = None


class ToolOutput(BaseModel):
    tool_call_id: StrictStr
    output: StrictStr = ""


class SubmitToolOutputs(BaseModel):
    tool_outputs: list[ToolOutput]
    stream: StrictBool | None = None


class ModifyRun(BaseModel):
    metadata: Metadata | None = None


class StepsQuery(ListQuery):
    include: list[str] = Field(default_factory=list)


class IncludeQuery(BaseModel):
    include: list[str] = Field(default_factory=list)
