"""Request models of /assistants, and the parts threads and runs share: metadata, tools, tool_resources.

They mirror the spec (`CreateAssistantRequest`, `ModifyAssistantRequest`, `AssistantToolsFunction`,
...). Unknown fields are ignored, as at OpenAI. Each alternative (a tool, a response format) is one
model checked by a validator rather than a pydantic union, so that an error names a plain param
(`tools[0].function.name`) instead of a union member.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictBool, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from askservice.web.schemas.chunking import ChunkingStrategy

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
MAX_TOOLS = 128
MAX_ALLOWED_DOMAINS = 100


def invalid(message: str) -> PydanticCustomError:
    """Return a validation error whose message reads as given (no "Value error, " prefix)."""
    return PydanticCustomError("invalid_value", message)


def check_metadata(value: dict[str, str]) -> dict[str, str]:
    """Enforce OpenAI's metadata limits: 16 pairs, keys up to 64 characters, values up to 512."""
    if len(value) > 16:
        raise invalid(f"metadata has {len(value)} pairs, the maximum is 16")
    for key, item in value.items():
        if len(key) > 64:
            raise invalid(f"metadata key '{key[:20]}...' is longer than 64 characters")
        if len(item) > 512:
            raise invalid(f"metadata value of '{key}' is longer than 512 characters")
    return value


Metadata = Annotated[dict[StrictStr, StrictStr], AfterValidator(check_metadata)]
Temperature = Annotated[float, Field(ge=0, le=2, strict=True)]
TopP = Annotated[float, Field(ge=0, le=1, strict=True)]


def check_function_name(name: str) -> str:
    """Enforce the spec's function names: 1-64 characters of a-z, A-Z, 0-9, `_` or `-`."""
    if not FUNCTION_NAME.match(name):
        raise invalid("function name must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'")
    return name


class FunctionDefinition(BaseModel):
    """`FunctionObject`: a checked name and an optional JSON schema of its parameters."""

    name: Annotated[StrictStr, AfterValidator(check_function_name)]
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class FileSearchRankingOptions(BaseModel):
    ranker: Literal["auto", "default_2024_08_21"] = "auto"
    score_threshold: float = Field(ge=0, le=1)


class FileSearchOptions(BaseModel):
    max_num_results: int | None = Field(default=None, ge=1, le=50, strict=True)
    ranking_options: FileSearchRankingOptions | None = None


class WebSearchFilters(BaseModel):
    allowed_domains: list[Annotated[StrictStr, Field(min_length=1, max_length=253)]] | None = Field(
        default=None, max_length=MAX_ALLOWED_DOMAINS)


def check_country(code: str) -> str:
    """Enforce a two-letter ISO 3166-1 country code (`US`, `de`)."""
    if not COUNTRY.match(code):
        raise invalid("country must be a two-letter ISO 3166-1 code such as 'US'")
    return code


class UserLocation(BaseModel):
    """The Responses API's approximate location: a two-letter country, free-text region and city, an IANA zone."""

    type: Literal["approximate"] = "approximate"
    country: Annotated[StrictStr, AfterValidator(check_country)] | None = None
    region: Annotated[StrictStr, Field(max_length=128)] | None = None
    city: Annotated[StrictStr, Field(max_length=128)] | None = None
    timezone: Annotated[StrictStr, Field(max_length=64)] | None = None


class WebSearchOptions(BaseModel):
    """The web_search extension's options, named as the Responses API's `web_search` tool names them."""

    search_context_size: Literal["low", "medium", "high"] | None = None
    filters: WebSearchFilters | None = None
    user_location: UserLocation | None = None


OPTIONS = ("file_search", "web_search")
"""The tool types whose options are nested under a field named as the type."""


class Tool(BaseModel):
    """One of `AssistantToolsCode`, `AssistantToolsFileSearch`, `AssistantToolsFunction`, and the
    `web_search` extension (a server tool, see README)."""

    type: Literal["code_interpreter", "file_search", "function", "web_search"]
    function: FunctionDefinition | None = None
    file_search: FileSearchOptions | None = None
    web_search: WebSearchOptions | None = None

    @model_validator(mode="after")
    def _function_given(self):
        if self.type == "function" and self.function is None:
            raise invalid("a function tool needs its 'function' definition")
        return self

    def stored(self) -> dict:
        """Return the tool as the API echoes it."""
        if self.type == "function":
            return {"type": "function", "function": self.function.model_dump(exclude_none=True)}
        options = getattr(self, self.type) if self.type in OPTIONS else None
        if options is not None:
            return {"type": self.type, self.type: options.model_dump(exclude_none=True)}
        return {"type": self.type}


Tools = Annotated[list[Tool], Field(max_length=MAX_TOOLS)]


class CodeInterpreterResources(BaseModel):
    file_ids: list[StrictStr] = Field(default_factory=list, max_length=20)


class NewVectorStore(BaseModel):
    """`tool_resources.file_search.vector_stores[]`: create a vector store from files on the fly."""

    file_ids: list[StrictStr] = Field(default_factory=list, max_length=10000)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class FileSearchResources(BaseModel):
    vector_store_ids: list[StrictStr] | None = Field(default=None, max_length=1)
    vector_stores: list[NewVectorStore] | None = Field(default=None, max_length=1)

    @model_validator(mode="after")
    def _one_store(self):
        if len(self.vector_store_ids or []) + len(self.vector_stores or []) > 1:
            raise invalid("at most 1 vector store can be attached")
        return self


class ToolResources(BaseModel):
    """`tool_resources`: files for code_interpreter, one vector store for file_search."""

    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None

    def requested(self) -> dict:
        """Return the resources as plain data for the service (which checks the ids)."""
        return self.model_dump(exclude_none=True)


class JsonSchemaFormat(BaseModel):
    name: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: StrictStr | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None


def _auto_as_object(value: Any) -> Any:
    if value == "auto":
        return {"type": "auto"}
    if isinstance(value, str):
        raise invalid("response_format must be \"auto\" or an object with a 'type'")
    if isinstance(value, dict) and value.get("type") == "auto":
        raise invalid("response_format 'auto' is given as the string \"auto\"")
    return value


class ResponseFormatModel(BaseModel):
    """`AssistantsApiResponseFormatOption`: "auto", or {type: text | json_object | json_schema}."""

    type: Literal["auto", "text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self):
        if self.type == "json_schema" and self.json_schema is None:
            raise invalid("a json_schema response format needs its 'json_schema'")
        return self

    def stored(self) -> str | dict:
        """Return the format as the API echoes it."""
        if self.type == "auto":
            return "auto"
        if self.type == "json_schema":
            return {"type": "json_schema", "json_schema": self.json_schema.model_dump(by_alias=True, exclude_none=True)}
        return {"type": self.type}


ResponseFormat = Annotated[ResponseFormatModel, BeforeValidator(_auto_as_object)]


class AssistantFields(BaseModel):
    """What create and modify share; every field optional here."""

    name: Annotated[StrictStr, Field(max_length=256)] | None = None
    description: Annotated[StrictStr, Field(max_length=512)] | None = None
    instructions: Annotated[StrictStr, Field(max_length=256000)] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    tools: Tools | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    response_format: ResponseFormat | None = None

    def changes(self) -> dict:
        """Return the fields the request set, as stored values (None where it cleared one)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "tools":
                value = [tool.stored() for tool in value] if value is not None else None
            elif name == "response_format":
                value = value.stored() if value is not None else None
            elif name == "tool_resources":
                value = value.requested() if value is not None else None
            out[name] = value
        return out


class CreateAssistant(AssistantFields):
    model: Annotated[StrictStr, Field(min_length=1)]


class ModifyAssistant(AssistantFields):
    model: Annotated[StrictStr, Field(min_length=1)] | None = None
