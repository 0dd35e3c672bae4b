"""Request models of /responses, mirroring the spec (`CreateResponse`, `InputItem`, `FunctionTool`, ...).

Each input item and content part is checked by the model of its `type` (`items()`), so an error
names a plain param (`input[2].content[0].image_url`). Unknown fields are ignored, as at OpenAI.
Tools the server does not execute (code_interpreter, computer use, ...) are a 400 naming them
rather than being dropped in silence. An `mcp` tool's `headers` and `authorization` are taken out
of the echoed tool (`headers: null`) into `mcp_headers`, which only the work in memory sees.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, model_validator

from askservice.errors import InvalidRequestError
from askservice.web.pages import ListQuery
from askservice.web.schemas.assistants import (
    FunctionDefinition,
    Metadata,
    Temperature,
    TopP,
    WebSearchOptions,
    invalid,
)
from askservice.web.schemas.vector_stores import ComparisonFilter, CompoundFilter, SearchRankingOptions
from askservice.web.validation import parse_at

INCLUDABLE = (
    "message.output_text.logprobs", "reasoning.encrypted_content", "message.input_image.image_url",
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "computer_call_output.output.image_url", "code_interpreter_call.outputs",
)
"""The spec's `IncludeEnum`: every value is accepted; the first two change what is returned (README)."""
MAX_INPUT_ITEMS = 10_000


class InputText(BaseModel):
    type: Literal["input_text"]
    text: StrictStr


class InputImage(BaseModel):
    type: Literal["input_image"]
    image_url: StrictStr | None = None
    file_id: StrictStr | None = None
    detail: Literal["low", "high", "auto"] = "auto"

    @model_validator(mode="after")
    def _one_source(self):
        if (self.image_url is None) == (self.file_id is None):
            raise invalid("give the image as 'image_url' (a URL or a base64 data URL) or as an uploaded 'file_id'")
        return self


class InputFile(BaseModel):
    type: Literal["input_file"]
    file_data: StrictStr | None = None
    filename: StrictStr | None = None
    file_id: StrictStr | None = None
    file_url: StrictStr | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if self.file_url is not None:
            raise invalid("file_url is not supported (this server fetches nothing): upload the file, or send file_data")
        if (self.file_data is None) == (self.file_id is None):
            raise invalid("give the file as an uploaded 'file_id' or as base64 'file_data'")
        return self


class OutputText(BaseModel):
    type: Literal["output_text"]
    text: StrictStr
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    logprobs: list[dict[str, Any]] | None = None


class Refusal(BaseModel):
    type: Literal["refusal"]
    refusal: StrictStr


INPUT_PARTS = {"input_text": InputText, "input_image": InputImage, "input_file": InputFile}
ASSISTANT_PARTS = {"output_text": OutputText, "refusal": Refusal}


class Message(BaseModel):
    type: Literal["message"] = "message"
    id: StrictStr | None = None
    role: Literal["user", "assistant", "system", "developer"]
    content: StrictStr | Annotated[list[dict[str, Any]], Field(min_length=1)]


class FunctionCall(BaseModel):
    type: Literal["function_call"]
    id: StrictStr | None = None
    call_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    name: StrictStr
    arguments: StrictStr
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class FunctionCallOutput(BaseModel):
    type: Literal["function_call_output"]
    id: StrictStr | None = None
    call_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    output: Annotated[StrictStr, Field(max_length=10_485_760)] | list[dict[str, Any]]
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class SummaryText(BaseModel):
    type: Literal["summary_text"]
    text: StrictStr


class ReasoningText(BaseModel):
    type: Literal["reasoning_text"]
    text: StrictStr


class Reasoning(BaseModel):
    type: Literal["reasoning"]
    id: StrictStr
    summary: list[SummaryText]
    content: list[ReasoningText] | None = None
    encrypted_content: StrictStr | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class Compaction(BaseModel):
    type: Literal["compaction"]
    id: StrictStr | None = None
    encrypted_content: Annotated[StrictStr, Field(max_length=20_971_520)]


class ItemReference(BaseModel):
    type: Literal["item_reference"] = "item_reference"
    id: StrictStr


class McpApprovalResponse(BaseModel):
    """`MCPApprovalResponse`: the answer to an `mcp_approval_request` of the response continued."""

    type: Literal["mcp_approval_response"]
    id: StrictStr | None = None
    approval_request_id: StrictStr
    approve: StrictBool
    reason: StrictStr | None = None


ITEMS = {"message": Message, "function_call": FunctionCall, "function_call_output": FunctionCallOutput,
         "reasoning": Reasoning, "compaction": Compaction, "item_reference": ItemReference,
         "mcp_approval_response": McpApprovalResponse}


def input_items(raw: list[Any], param: str = "input") -> list[dict]:
    """Check every input item (and its content parts) by its type; return them as plain dicts."""
    items = []
    for index, item in enumerate(raw):
        where = f"{param}[{index}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind not in ITEMS:
            raise InvalidRequestError(
                f"Invalid '{where}.type': expected one of {', '.join(ITEMS)}.", param=f"{where}.type", code="invalid_value"
            )
        checked = parse_at(ITEMS[kind], item, where).model_dump(exclude_none=True)
        if kind == "message" and isinstance(checked["content"], list):
            parts = ASSISTANT_PARTS if checked["role"] == "assistant" else INPUT_PARTS
            checked["content"] = [_part(parts, part, f"{where}.content[{i}]") for i, part in enumerate(checked["content"])]
        if kind == "function_call_output" and isinstance(checked["output"], list):
            checked["output"] = [_part(INPUT_PARTS, part, f"{where}.output[{i}]") for i, part in enumerate(checked["output"])]
        items.append(checked)
    return items


def _part(models: dict[str, type[BaseModel]], part: Any, where: str) -> dict:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind not in models:
        raise InvalidRequestError(
            f"Invalid '{where}.type': expected one of {', '.join(models)}.", param=f"{where}.type", code="invalid_value"
        )
    return parse_at(models[kind], part, where).model_dump(exclude_none=True)


class FunctionTool(FunctionDefinition):
    """`FunctionTool`: the function itself is the tool (no `function` wrapper, unlike chat)."""

    type: Literal["function"]

    def stored(self) -> dict:
        """Return the tool as a response echoes it."""
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": self.parameters, "strict": True if self.strict is None else self.strict}


class ToolChoice(BaseModel):
    """`ToolChoiceFunction`, `ToolChoiceAllowed` or `ToolChoiceTypes` (the modes are plain strings)."""

    type: Literal["function", "allowed_tools", "file_search", "web_search", "web_search_2025_08_26",
                  "web_search_preview", "web_search_preview_2025_03_11", "mcp"]
    name: StrictStr | None = None
    server_label: StrictStr | None = None
    mode: Literal["auto", "required"] | None = None
    tools: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _complete(self):
        if self.type == "function" and not self.name:
            raise invalid("a function tool choice names its function: 'name'")
        if self.type == "allowed_tools" and (self.mode is None or self.tools is None):
            raise invalid("an allowed_tools choice gives 'mode' and 'tools'")
        if self.type == "mcp" and not self.server_label:
            raise invalid("an mcp tool choice names its server: 'server_label'")
        return self


class TextFormat(BaseModel):
    """`TextResponseFormatConfiguration`: text, json_object, or json_schema with `name` and `schema`."""

    type: Literal["text", "json_object", "json_schema"]
    name: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")] | None = None
    description: StrictStr | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None

    @model_validator(mode="after")
    def _schema_given(self):
        if self.type == "json_schema" and (self.name is None or self.schema_ is None):
            raise invalid("a json_schema format gives 'name' and 'schema'")
        return self

    def stored(self) -> dict:
        if self.type != "json_schema":
            return {"type": self.type}
        return {"type": "json_schema", "name": self.name, "schema": self.schema_, "strict": bool(self.strict),
                **({"description": self.description} if self.description is not None else {})}


class TextParam(BaseModel):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningParam(BaseModel):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(BaseModel):
    include_obfuscation: StrictBool | None = None


class ConversationRef(BaseModel):
    """`ConversationParam` as an object: `{"id": "conv_..."}`."""

    id: StrictStr


class CreateResponse(BaseModel):
    """`CreateResponse`."""

    model: StrictStr
    input: StrictStr | Annotated[list[Any], Field(max_length=MAX_INPUT_ITEMS)]
    instructions: StrictStr | None = None
    previous_response_id: StrictStr | None = None
    conversation: StrictStr | ConversationRef | None = None
    store: StrictBool | None = None
    background: StrictBool | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    max_tool_calls: StrictInt | None = Field(default=None, ge=1)
    text: TextParam | None = None
    reasoning: ReasoningParam | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=20)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_output_tokens: StrictInt | None = Field(default=None, ge=16)
    truncation: Literal["auto", "disabled"] | None = None
    metadata: Metadata | None = None
    user: StrictStr | None = None
    safety_identifier: Annotated[StrictStr, Field(max_length=64)] | None = None
    prompt_cache_key: StrictStr | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    include: list[Literal[INCLUDABLE]] | None = None  # type: ignore[valid-type]

    def params(self) -> dict:
        """Return the plain parameters the responses service takes (defaults applied as OpenAI does)."""
        if self.background and self.store is False:
            raise InvalidRequestError("A background response must be stored: drop store=false.", param="store",
                                      code="invalid_value")
        items = [{"type": "message", "role": "user", "content": self.input}] if isinstance(self.input, str) \
            else input_items(self.input)
        fmt = self.text.format.stored() if self.text and self.text.format else {"type": "text"}
        tools, mcp_headers = _tools(self.tools or [])
        return {
            "model": self.model, "input": items, "instructions": self.instructions,
            "previous_response_id": self.previous_response_id, "store": self.store is not False,
            "conversation": self.conversation.id if isinstance(self.conversation, ConversationRef) else self.conversation,
            "background": bool(self.background),
            "tools": tools, "mcp_headers": mcp_headers,
            "tool_choice": self._tool_choice(), "parallel_tool_calls": self.parallel_tool_calls is not False,
            "max_tool_calls": self.max_tool_calls,
            "text": {"format": fmt, "verbosity": (self.text and self.text.verbosity) or "medium"},
            "reasoning": self.reasoning.model_dump() if self.reasoning else {"effort": None, "summary": None},
            "temperature": self.temperature, "top_p": self.top_p, "top_logprobs": self.top_logprobs or 0,
            "presence_penalty": self.presence_penalty, "frequency_penalty": self.frequency_penalty,
            "max_output_tokens": self.max_output_tokens, "truncation": self.truncation or "disabled",
            "metadata": self.metadata or {}, "user": self.user, "safety_identifier": self.safety_identifier,
            "prompt_cache_key": self.prompt_cache_key, "service_tier": self.service_tier or "default",
            "include": list(self.include or []),
        }

    def _tool_choice(self) -> str | dict:
        if self.tool_choice is None:
            return "auto"
        return self.tool_choice if isinstance(self.tool_choice, str) else self.tool_choice.model_dump(exclude_none=True)


class FileSearchTool(BaseModel):
    """`FileSearchTool`: search these vector stores (the same search and ranking as runs)."""

    type: Literal["file_search"]
    vector_store_ids: Annotated[list[StrictStr], Field(min_length=1, max_length=16)]
    max_num_results: StrictInt | None = Field(default=None, ge=1, le=50)
    ranking_options: SearchRankingOptions | None = None
    filters: ComparisonFilter | CompoundFilter | None = None

    def stored(self) -> dict:
        return {"type": "file_search", **self.model_dump(exclude_none=True, exclude={"type"})}


class WebSearchTool(WebSearchOptions):
    """`WebSearchTool` (and the preview's types): search the web with the configured engine."""

    type: Literal["web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"]
    search_context_size: Literal["low", "medium", "high"] = "medium"

    def stored(self) -> dict:
        echoed = self.model_dump(exclude={"filters"})
        if not self.type.startswith("web_search_preview"):
            echoed["filters"] = self.filters.model_dump() if self.filters else None
        return echoed


class McpToolFilter(BaseModel):
    """`MCPToolFilter`: tools by name, or by the server's read-only hint."""

    tool_names: list[StrictStr] | None = None
    read_only: StrictBool | None = None


class McpApprovalFilter(BaseModel):
    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$"


class McpTool(BaseModel):
    """`MCPTool` with a `server_url` (connectors and tunnels are OpenAI's own)."""

    type: Literal["mcp"]
    server_label: Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    server_url: Annotated[StrictStr, Field(max_length=2048)] | None = None
    connector_id: StrictStr | None = None
    server_description: Annotated[StrictStr, Field(max_length=1024)] | None = None
    headers: dict[Annotated[StrictStr, Field(pattern=HEADER_NAME)], Annotated[StrictStr, Field(max_length=8192)]] | None = None
    authorization: Annotated[StrictStr, Field(max_length=8192)] | None = None
    allowed_tools: list[StrictStr] | McpToolFilter | None = None
    require_approval: Literal["always", "never"] | McpApprovalFilter | None = None

    @model_validator(mode="after")
    def _server_url(self):
        if self.connector_id is not None:
            raise invalid("connectors are OpenAI's own: give the MCP server's 'server_url'")
        if self.server_url is None:
            raise invalid("give the MCP server's 'server_url'")
        return self

    def stored(self) -> dict:
        """Return the tool as a response echoes it: its headers are never shown."""
        allowed = self.allowed_tools
        approval = self.require_approval
        described = {"server_description": self.server_description} if self.server_description else {}
        return {"type": "mcp", "server_label": self.server_label, "server_url": self.server_url, **described,
                "headers": None,
                "allowed_tools": allowed.model_dump(exclude_none=True) if isinstance(allowed, McpToolFilter) else allowed,
                "require_approval": approval.model_dump(exclude_none=True) if isinstance(approval, McpApprovalFilter)
                else approval or "always"}

    def secret_headers(self) -> dict[str, str]:
        """Return the headers sent to the server (`authorization` as a bearer token)."""
        headers = dict(self.headers or {})
        if self.authorization:
            headers["Authorization"] = f"Bearer {self.authorization}"
        return headers


TOOLS = {"function": FunctionTool, "file_search": FileSearchTool, "mcp": McpTool,
         **{kind: WebSearchTool for kind in ("web_search", "web_search_2025_08_26", "web_search_preview",
                                             "web_search_preview_2025_03_11")}}


def _tools(raw: list[Any]) -> tuple[list[dict], dict[str, dict[str, str]]]:
    """Return the tools as echoed, and the headers of each mcp tool by server label (never echoed)."""
    tools, headers = [], {}
    for index, tool in enumerate(raw):
        where = f"tools[{index}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in TOOLS:
            raise InvalidRequestError(
                f"Tool type '{kind}' is not supported: use {', '.join(sorted(set(TOOLS) - {'web_search_2025_08_26'}))}.",
                param=f"{where}.type", code="unsupported_value",
            )
        parsed = parse_at(TOOLS[kind], tool, where)
        if isinstance(parsed, McpTool):
            if parsed.server_label in headers:
                raise InvalidRequestError(f"Two mcp tools have the server_label '{parsed.server_label}': labels are unique.",
                                          param=f"{where}.server_label", code="invalid_value")
            headers[parsed.server_label] = parsed.secret_headers()
        tools.append(parsed.stored())
    return tools, headers


class CompactRequest(BaseModel):
    """`CompactResponseMethodPublicBody`."""

    model: StrictStr
    input: StrictStr | Annotated[list[Any], Field(max_length=MAX_INPUT_ITEMS)] | None = None
    previous_response_id: StrictStr | None = None
    instructions: StrictStr | None = None

    def params(self) -> dict:
        """Return the plain parameters of a compaction."""
        if self.input is None:
            items = []
        elif isinstance(self.input, str):
            items = [{"type": "message", "role": "user", "content": self.input}]
        else:
            items = input_items(self.input)
        return {"model": self.model, "input": items, "previous_response_id": self.previous_response_id,
                "instructions": self.instructions}


class InputItemsQuery(ListQuery):
    """`GET /responses/{id}/input_items`: a page of items (newest first by default), `include`."""

    order: Literal["asc", "desc"] = "desc"
    include: list[Literal[INCLUDABLE]] | None = None  # type: ignore[valid-type]


class RetrieveQuery(BaseModel):
    """`GET /responses/{id}`: `include`; `stream` (with `starting_after`) replays a background response's events."""

    include: list[Literal[INCLUDABLE]] | None = None  # type: ignore[valid-type]
    stream: bool = False
    starting_after: int | None = Field(default=None, ge=0)
