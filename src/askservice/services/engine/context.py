"""What one turn needs: the conversation, the sampling parameters, the budgets left, the tools offered.

The API that uses the engine builds a TurnContext before each turn (a tool call changes the
conversation, usage the budgets); the executor turns it into one chat-completions request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from askservice.services.engine.tools import ServerTool, ToolContext


@dataclass(frozen=True)
class OfferedTool:
    """A server tool offered in this turn: its type (`file_search`), the tool, what it may look at."""

    type: str
    tool: ServerTool
    context: ToolContext


@dataclass(frozen=True)
class TurnContext:
    """Everything a turn sends upstream, and whom its tokens are counted for."""

    owner: str
    """The client whose tokens the turn spends (metrics)."""
    model: str
    instructions: str | None
    """The system message, if any."""
    history: list[dict]
    """The conversation before this work, as chat messages, oldest first (a prompt budget drops its oldest)."""
    own: list[dict] = field(default_factory=list)
    """The work's own earlier turns as chat messages (answers, calls and their outputs): never dropped."""
    temperature: float | None = None
    top_p: float | None = None
    response_format: dict | None = None
    prompt_budget: int | None = None
    """Prompt tokens this turn may use (None: no limit); if the prompt cannot fit, LimitReached("max_prompt_tokens")."""
    completion_budget: int | None = None
    """Completion tokens left (None: no limit), sent as `max_tokens`; none: LimitReached("max_completion_tokens")."""
    tools: list[dict] = field(default_factory=list)
    """The chat-completions tools offered, in the order asked: functions and server tools' definitions."""
    server_tools: dict[str, OfferedTool] = field(default_factory=dict)
    """The server tools among `tools`, by function name: their calls are executed here, not by the client."""
    tool_choice: str | dict | None = None
    """`none`/`auto`/`required`, `{"type": "function", ...}`, or `{"type": <server tool type>}`."""
    parallel_tool_calls: bool = True
    options: dict = field(default_factory=dict)
    """Further chat-completions parameters sent as they are (`reasoning_effort`, `logprobs`, `user`, ...)."""
