"""The executor: one upstream turn at a time for one piece of work, under that work's lease.

`turn(context, recorder)` sends the chat-completions request of a TurnContext (streamed), hands
each delta to the recorder as it comes (text, the start of a tool call, a piece of its
arguments), and returns the turn's text, tool calls, finish reason and usage. It knows nothing
of what the work is: the recorder persists and announces the deltas in its API's terms.

While the work goes on, the executor holds its lease (`hold`): a watcher greenlet reads the
lease-holding item, renews its lease every `Leases.renew_every` (a conditional write), and when
the item is `cancelling` (a cancel on any worker) or gone to another state (swept, deleted),
closes the upstream call at once, and calls what the work asked it to (`on_stop`: cut a server
tool's call short); the turn then raises Cancelled or Lost.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from askservice import metrics
from askservice.errors import ServiceError
from askservice.ids import new_id
from askservice.llm import Router
from askservice.services.engine.context import TurnContext
from askservice.services.engine.leases import Leases
from askservice.services.engine.prompt import estimate_tokens, fit, message_tokens
from askservice.store.base import Store

log = logging.getLogger("askservice.engine")
WATCH_INTERVAL_S = 0.5
"""The watcher reads the item at least this often (and at least three times a lease)."""
WORKING = "in_progress"
"""The status of a lease-holding item while its executor works on it."""
CANCELLING = "cancelling"
"""The status that asks the executor to stop (any other status means the item was taken away)."""


class Cancelled(Exception):
    """The work was asked to stop (its item is `cancelling`)."""


class Lost(Exception):
    """The work was taken away from this executor (its lease ran out, or its item was deleted)."""


class LimitReached(Exception):
    """A token budget of the work is spent: `limit` is `max_prompt_tokens` or `max_completion_tokens`."""

    def __init__(self, limit: str):
        super().__init__(limit)
        self.limit = limit


@dataclass
class Call:
    """A tool call of a turn: `type` is `function` (the client answers) or the server tool's type."""

    index: int
    id: str
    name: str
    type: str = "function"
    arguments: str = ""
    output: str | None = None
    details: dict | None = None
    """A server tool's details of the call, once executed (`execute_server_calls`)."""


@dataclass(frozen=True)
class TurnResult:
    """What a turn answered; `usage` is the upstream's, or estimated when it sent none."""

    text: str
    calls: list[Call]
    finish_reason: str | None
    usage: dict
    reasoning: str = ""
    """The reasoning text the upstream streamed (`reasoning_content`), if any."""
    cached_tokens: int = 0
    """Prompt tokens the upstream says it read from its cache."""
    reasoning_tokens: int = 0
    """Completion tokens the upstream says went to reasoning."""


class Recorder(Protocol):
    """Where a turn's deltas go, as they arrive (the API that uses the engine implements it)."""

    def text(self, piece: str, logprobs: list[dict] | None) -> None:
        """A piece of the answer's text, with its tokens' logprobs when they were asked for."""

    def reasoning(self, piece: str) -> None:
        """A piece of the model's reasoning (`reasoning_content` of open reasoning models)."""

    def call(self, call: Call) -> None:
        """A tool call begins (its id and type are known; its name may still be empty)."""

    def arguments(self, call: Call, piece: str) -> None:
        """A piece of a tool call's arguments (already added to `call.arguments`)."""


def execute_server_calls(context: TurnContext, calls: list[Call]) -> None:
    """Execute the calls of server tools, in order, filling their `output` and `details`."""
    for call in calls:
        offered = context.server_tools.get(call.name)
        if offered is not None:
            result = offered.tool.execute(offered.context, call.arguments)
            call.output, call.details = result.output, result.details


class Executor:
    """Turns of one piece of work (the item at `key`), under its lease."""

    def __init__(self, llm: Router, store: Store, leases: Leases, key: tuple[str, str]):
        self.llm = llm
        self.store = store
        self.leases = leases
        self.key = key
        self.cancelled = False
        self.lost = False
        self._upstream = None
        self._on_stop: list[Callable[[], None]] = []
        self._pieces: list[str] = []
        self._reasoning: list[str] = []
        self._wake = threading.Event()
        self._stop = threading.Event()

    # -- the lease ----------------------------------------------------------------------------

    def hold(self) -> None:
        """Start the watcher (once the item is claimed `in_progress` with a lease of this process)."""
        threading.Thread(target=self._watch, name=f"lease-{self.key[1]}", daemon=True).start()

    def wake(self) -> None:
        """Make the watcher look at the item now (it was just cancelled on this worker)."""
        self._wake.set()

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the watcher's greenlet) when the work is cancelled or taken away."""
        self._on_stop.append(callback)

    def release(self) -> None:
        """Stop watching: the work is about to write its own end (or ended)."""
        self._stop.set()
        self._wake.set()

    def _watch(self) -> None:
        interval = min(WATCH_INTERVAL_S, self.leases.renew_every)
        renewed = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if time.monotonic() - renewed >= self.leases.renew_every:
                    item = self.leases.renew(self.store, self.key, WORKING)
                    renewed = time.monotonic() if item is not None and item.get("status") == WORKING else renewed
                else:
                    item = self.store.get(*self.key)
            except Exception:  # a store hiccup: try again next round, the lease has slack
                log.exception("%s: lease check failed", self.key[1])
                continue
            status = item.get("status") if item else None
            if status == WORKING or self._stop.is_set():
                continue
            if status == CANCELLING:
                self.cancelled = True
            else:
                self.lost = True
            upstream = self._upstream
            if upstream is not None:
                upstream.close()
            for callback in self._on_stop:
                callback()
            return

    def check(self) -> None:
        """Raise Cancelled or Lost when the watcher saw the work stop."""
        if self.cancelled:
            raise Cancelled()
        if self.lost:
            raise Lost()

    # -- one turn -----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text streamed so far in the latest turn (all of it once the turn returned)."""
        return "".join(self._pieces)

    def turn(self, context: TurnContext, recorder: Recorder) -> TurnResult:
        """Make one upstream call, handing its deltas to `recorder`; return what it answered."""
        request = self.request(context)
        self._pieces, self._reasoning = [], []
        calls: list[Call] = []
        by_index: dict[int, Call] = {}
        finish, usage = None, None
        self.check()
        try:
            self._upstream = self.llm.stream_chat(request)
            for chunk in self._upstream:
                self.check()
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    thought = delta.get("reasoning_content") or delta.get("reasoning")
                    if thought and isinstance(thought, str):
                        self._reasoning.append(thought)
                        recorder.reasoning(thought)
                    if delta.get("content"):
                        self._pieces.append(delta["content"])
                        recorder.text(delta["content"], (choice.get("logprobs") or {}).get("content"))
                    for piece in delta.get("tool_calls") or []:
                        self._call_delta(context, recorder, piece, by_index, calls)
                    finish = choice.get("finish_reason") or finish
        except ServiceError:
            self.check()
            raise
        finally:
            upstream, self._upstream = self._upstream, None
            if upstream is not None and not upstream.closed:  # read to its end, it went back to the pool
                upstream.close()
        self.check()
        text, reasoning = self.text, "".join(self._reasoning)
        cached, thought = token_details(usage)
        return TurnResult(text, calls, finish, self._usage(context, request, usage, text + reasoning, calls), reasoning,
                          cached_tokens=cached, reasoning_tokens=thought)

    def request(self, context: TurnContext) -> dict:
        """Return the chat-completions request of a turn (streamed, with usage)."""
        head = [{"role": "system", "content": context.instructions}] if context.instructions else []
        history = context.history
        if context.prompt_budget is not None:
            history = fit(head, history, context.own, context.prompt_budget)
            if history is None:
                raise LimitReached("max_prompt_tokens")
        body = {"model": context.model, "messages": head + history + context.own, "stream": True,
                "stream_options": {"include_usage": True}}
        for name in ("temperature", "top_p", "response_format"):
            if getattr(context, name) is not None:
                body[name] = getattr(context, name)
        body.update(context.options)
        if context.completion_budget is not None:
            if context.completion_budget <= 0:
                raise LimitReached("max_completion_tokens")
            body["max_tokens"] = context.completion_budget
        if context.tools:
            body["tools"] = context.tools
            body["parallel_tool_calls"] = context.parallel_tool_calls
            choice = self._choice(context)
            if choice is not None:
                body["tool_choice"] = choice
        return body

    @staticmethod
    def _choice(context: TurnContext):
        """Return the tool choice in chat-completions form: a server tool type names its function."""
        choice = context.tool_choice
        if isinstance(choice, dict) and choice.get("type") != "function":
            names = [name for name, offered in context.server_tools.items() if offered.type == choice.get("type")]
            return {"type": "function", "function": {"name": names[0]}} if names else "auto"
        return choice

    def _call_delta(self, context: TurnContext, recorder: Recorder, piece: dict, by_index: dict[int, Call],
                    calls: list[Call]) -> None:
        function = piece.get("function") or {}
        call = by_index.get(piece.get("index", 0))
        if call is None:
            upstream_id = piece.get("id") or ""
            call = Call(index=len(calls), id=upstream_id if upstream_id.startswith("call_") else new_id("call_"),
                        name=function.get("name") or "")
            call.type = self._type(context, call.name)
            by_index[piece.get("index", 0)] = call
            calls.append(call)
            recorder.call(call)
        elif function.get("name") and not call.name:
            call.name = function["name"]
            call.type = self._type(context, call.name)
        arguments = function.get("arguments") or ""
        if arguments:
            call.arguments += arguments
            recorder.arguments(call, arguments)

    @staticmethod
    def _type(context: TurnContext, name: str) -> str:
        offered = context.server_tools.get(name)
        return offered.type if offered is not None else "function"

    @staticmethod
    def _usage(context: TurnContext, request: dict, usage: dict | None, text: str, calls: list[Call]) -> dict:
        usage = usage or {
            "prompt_tokens": sum(message_tokens(m) for m in request["messages"]),
            "completion_tokens": estimate_tokens(text + "".join(c.arguments for c in calls)),
        }
        return count_usage(context.owner, usage)


def count_usage(owner: str, usage: dict) -> dict:
    """Return a chat-completions usage as prompt, completion and total tokens, counted for `owner` in /metrics."""
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    metrics.tokens(owner, prompt, completion)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def token_details(usage: dict | None) -> tuple[int, int]:
    """Return the cached prompt tokens and the reasoning tokens a chat-completions usage reports (0 if none)."""
    usage = usage or {}
    return (int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
            int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0))


class Executors:
    """The executors at work in this process, by the id of their work: a cancel here wakes its executor."""

    def __init__(self) -> None:
        self._working: dict[str, Executor] = {}

    def add(self, work_id: str, executor: Executor) -> None:
        """Register the executor of `work_id` (a later one replaces an earlier one)."""
        self._working[work_id] = executor

    def remove(self, work_id: str, executor: Executor) -> None:
        """Forget the executor of `work_id`, unless a later executor of the same work took over."""
        if self._working.get(work_id) is executor:
            del self._working[work_id]

    def wake(self, work_id: str) -> None:
        """Make the executor of `work_id`, if it works here, look at its item now."""
        executor = self._working.get(work_id)
        if executor is not None:
            executor.wake()
