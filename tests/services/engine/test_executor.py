"""The engine's turn against the scripted upstream (real HTTP), with a recorder that only takes notes.

Nothing here knows of threads, messages or run steps: a turn is a TurnContext in, deltas out,
a TurnResult back; the lease-holding item is a bare store item.
"""

from __future__ import annotations

import json

import gevent
import pytest

from askservice.blobs import open_blobs
from askservice.llm import LLMClient
from askservice.services.engine.context import OfferedTool, TurnContext
from askservice.services.engine.executor import (
    Call,
    Cancelled,
    Executor,
    Executors,
    LimitReached,
    Lost,
    execute_server_calls,
)
from askservice.services.engine.leases import Leases
from askservice.services.engine.tools import ToolContext, ToolResult
from askservice.store import open_store
from tests.web.run_support import upstream_outcome

KEY = ("work#w1", "meta")


class Notes:
    """A Recorder that writes down what it was handed."""

    def __init__(self):
        self.notes: list[tuple] = []

    def text(self, piece: str, logprobs: list[dict] | None) -> None:
        self.notes.append(("text", piece))

    def reasoning(self, piece: str) -> None:
        self.notes.append(("reasoning", piece))

    def call(self, call: Call) -> None:
        self.notes.append(("call", call.id, call.name, call.type))

    def arguments(self, call: Call, piece: str) -> None:
        self.notes.append(("arguments", call.id, piece))


class Lookup:
    """A server tool: answers every query with the same fact."""

    def definition(self, context: ToolContext) -> dict:
        return {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}

    def execute(self, context: ToolContext, arguments: str) -> ToolResult:
        query = json.loads(arguments)["q"]
        return ToolResult(output=f"{query}: 42", details={"query": query})

    def annotations(self, text: str, details: list[dict]) -> list[dict]:
        return []


@pytest.fixture
def store(settings_for):
    settings = settings_for()
    store = open_store(settings, open_blobs(settings))
    yield store
    store.close()


def _executor(upstream, store, lease_seconds: float = 30.0) -> Executor:
    return Executor(LLMClient(upstream.base_url, timeout=5), store, Leases(lease_seconds), KEY)


def _context(marker: str, **overrides) -> TurnContext:
    fields = {"owner": "client-a", "model": "m", "instructions": "Be brief.",
              "history": [{"role": "user", "content": f"hello {marker}"}]}
    return TurnContext(**{**fields, **overrides})


def test_a_turn_hands_text_to_the_recorder_and_returns_it_with_usage(upstream, store):
    marker = upstream.marker()
    upstream.script({"content": "The answer is 1.", "chunks": 4}, match=marker)
    own = [{"role": "assistant", "content": "earlier"}]
    notes = Notes()

    result = _executor(upstream, store).turn(_context(marker, own=own, temperature=0.5, completion_budget=300), notes)

    assert result.text == "The answer is 1." and result.calls == [] and result.finish_reason == "stop"
    assert [kind for kind, _ in notes.notes] == ["text"] * 4 and "".join(p for _, p in notes.notes) == result.text
    assert result.usage["total_tokens"] == result.usage["prompt_tokens"] + result.usage["completion_tokens"] > 0
    sent = upstream.requests(match=marker)[-1]["body"]
    system, user = {"role": "system", "content": "Be brief."}, {"role": "user", "content": f"hello {marker}"}
    assert sent["messages"] == [system, user, *own]
    assert (sent["stream"], sent["stream_options"], sent["temperature"], sent["max_tokens"]) == \
        (True, {"include_usage": True}, 0.5, 300)
    assert "tools" not in sent and "top_p" not in sent


def test_reasoning_and_options_pass_through_and_usage_details_are_kept(upstream, store):
    marker = upstream.marker()
    usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15,
             "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}}
    upstream.script({"content": "yes", "reasoning": "let me think", "usage": usage}, match=marker)
    notes = Notes()

    result = _executor(upstream, store).turn(_context(marker, options={"reasoning_effort": "low", "user": "u"}), notes)

    assert [kind for kind, _ in notes.notes] == ["reasoning", "reasoning", "reasoning", "text"]
    assert result.reasoning == "let me think" and result.text == "yes"
    assert (result.cached_tokens, result.reasoning_tokens, result.usage["total_tokens"]) == (4, 2, 15)
    sent = upstream.requests(match=marker)[-1]["body"]
    assert (sent["reasoning_effort"], sent["user"]) == ("low", "u")


def test_tool_calls_come_with_ids_types_and_arguments_and_server_tools_run_here(upstream, store):
    marker = upstream.marker()
    calls = [{"name": "getWeather", "arguments": {"city": "Oslo"}, "id": "toolu_1"},
             {"name": "lookup", "arguments": {"q": "answer"}}]
    upstream.script({"tool_calls": calls, "chunks": 2}, match=marker)
    function = {"type": "function", "function": {"name": "getWeather", "parameters": {"type": "object"}}}
    tool = Lookup()
    tool_context = ToolContext(owner="client-a", run={}, tool={"type": "lookup"})
    offered = {"lookup": OfferedTool("lookup", tool, tool_context)}
    context = _context(marker, tools=[function, tool.definition(tool_context)], server_tools=offered,
                       tool_choice={"type": "lookup"}, parallel_tool_calls=False)
    notes = Notes()

    result = _executor(upstream, store).turn(context, notes)

    weather, lookup = result.calls
    assert result.finish_reason == "tool_calls" and result.text == ""
    assert weather.id.startswith("call_") and weather.id != "toolu_1"  # not the upstream's: it is no call_ id
    assert (weather.type, weather.arguments, lookup.type) == ("function", '{"city": "Oslo"}', "lookup")
    assert [n[0] for n in notes.notes] == ["call", "arguments", "arguments", "call", "arguments", "arguments"]
    assert "".join(n[2] for n in notes.notes if n[:2] == ("arguments", weather.id)) == weather.arguments
    sent = upstream.requests(match=marker)[-1]["body"]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert sent["parallel_tool_calls"] is False
    assert [t["function"]["name"] for t in sent["tools"]] == ["getWeather", "lookup"]

    execute_server_calls(context, result.calls)

    assert (weather.output, lookup.output, lookup.details) == (None, "answer: 42", {"query": "answer"})


def test_spent_budgets_stop_the_turn_before_the_upstream_is_asked(upstream, store):
    marker = upstream.marker()
    executor = _executor(upstream, store)
    with pytest.raises(LimitReached) as caught:
        executor.turn(_context(marker, completion_budget=0), Notes())
    assert caught.value.limit == "max_completion_tokens"
    with pytest.raises(LimitReached) as caught:
        executor.turn(_context(marker, history=[{"role": "user", "content": "x" * 4000 + marker}], prompt_budget=256),
                      Notes())
    assert caught.value.limit == "max_prompt_tokens"
    assert upstream.requests(match=marker) == []


def _hold(upstream, store, marker: str, lease_seconds: float = 30.0) -> tuple[Executor, gevent.Greenlet]:
    """Put the lease-holding item in progress, and start a slow turn under its lease."""
    upstream.script({"content": " ".join(["slow"] * 40), "delay": 0.1}, match=marker)
    leases = Leases(lease_seconds)
    store.put({"pk": KEY[0], "sk": KEY[1], "status": "in_progress", **leases.grant()})
    executor = Executor(LLMClient(upstream.base_url, timeout=5), store, leases, KEY)
    executor.hold()
    turn = gevent.spawn(executor.turn, _context(marker), Notes())
    with gevent.Timeout(5):
        while not executor.text:
            gevent.sleep(0.02)
    return executor, turn


def test_a_cancel_seen_by_the_watcher_closes_the_upstream(upstream, store):
    marker = upstream.marker()
    executor, turn = _hold(upstream, store, marker)
    registry = Executors()
    registry.add("w1", executor)

    store.update(*KEY, set={"status": "cancelling"})  # as a cancel on any worker writes it
    registry.wake("w1")  # on this worker: look now

    with pytest.raises(Cancelled), gevent.Timeout(2):
        turn.get()
    assert executor.text.startswith("slow") and executor.cancelled
    upstream_outcome(upstream, marker, "disconnected")
    registry.remove("w1", _executor(upstream, store))  # an earlier executor of w1, ending late, leaves it
    assert registry._working == {"w1": executor}


def test_work_taken_away_is_lost_and_a_lease_is_renewed_while_it_lasts(upstream, store):
    marker = upstream.marker()
    executor, turn = _hold(upstream, store, marker, lease_seconds=0.6)
    granted = store.get(*KEY)["lease_until_ms"]
    with gevent.Timeout(3):
        while store.get(*KEY)["lease_until_ms"] == granted:  # renewed every 0.2 s by a conditional write
            gevent.sleep(0.05)

    store.delete(*KEY)  # swept or deleted: not this executor's any more

    with pytest.raises(Lost), gevent.Timeout(2):
        turn.get()
    upstream_outcome(upstream, marker, "disconnected")
