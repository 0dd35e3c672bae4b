"""The Assistants recorder: a turn's deltas become a run's steps and message, then `thread.*` events.

The first text delta opens a `message_creation` step and its `in_progress` message (one
transaction); text is relayed as `thread.message.delta`. The first tool-call delta opens a
`tool_calls` step; calls are relayed as `thread.run.step.delta` (a server tool's arguments are
not). Every item is written before the event that tells of it.
"""

from __future__ import annotations

from typing import Iterable

from askservice.services.engine.context import OfferedTool
from askservice.services.engine.events import Events
from askservice.services.engine.executor import Call
from askservice.services.messages import MessageRecords
from askservice.services.messages import to_object as message_object
from askservice.services.runs.records import step_object
from askservice.services.runs.steps import Steps, closed, open_steps
from askservice.store.base import ABSENT, Item, Operation, Put, Store


class RunRecorder:
    """Record the turns of one run; `steps` is every step of the run so far (None: read it at `load`)."""

    def __init__(self, store: Store, steps: Steps, records: MessageRecords, events: Events, run: Item,
                 history: list[Item] | None):
        self.store = store
        self._steps = steps
        self.records = records
        self.events = events
        self.run = run
        self.steps = history
        self.message: Item | None = None
        """The message being written in this turn, if any."""

    def load(self) -> None:
        """Read the run's steps, unless they were given."""
        if self.steps is None:
            self.steps = self._steps.load(self.run["id"])

    @property
    def called_tools(self) -> bool:
        """Tell whether the run made tool calls already."""
        return any(step["type"] == "tool_calls" for step in self.steps or [])

    # -- the engine's Recorder ----------------------------------------------------------------

    def text(self, piece: str, logprobs: list[dict] | None = None) -> None:
        if self.message is None:
            self._open_message()
        self.events.emit(
            "thread.message.delta",
            {"id": self.message["id"], "object": "thread.message.delta",
             "delta": {"content": [{"index": 0, "type": "text", "text": {"value": piece, "annotations": []}}]}},
        )

    def reasoning(self, piece: str) -> None:
        """Runs have no place for reasoning (the Assistants API shows none): it is dropped."""

    def call(self, call: Call) -> None:
        if self._open("tool_calls") is None:
            self._append_opened(self._steps.open(self.run, "tool_calls", {"type": "tool_calls", "tool_calls": []}))
        head = {"index": call.index, "id": call.id}
        if call.type == "function":
            head.update({"type": "function", "function": {"name": call.name, "arguments": "", "output": None}})
        else:
            head.update({"type": call.type, call.type: {}})
        self._step_delta(head)

    def arguments(self, call: Call, piece: str) -> None:
        if call.type == "function":
            self._step_delta({"index": call.index, "type": "function", "function": {"arguments": piece}})

    # -- the end of a turn --------------------------------------------------------------------

    def close_message(self, text: str, truncated: bool, usage: dict | None, offered: Iterable[OfferedTool],
                      write=None) -> None:
        """Complete the open message (with the citations of server tools) and its step.

        `write(operations)` makes the writes (by default one transaction; the run's end may join it)."""
        step = self._open("message_creation")
        status = "incomplete" if truncated else "completed"
        message = self.records.finished_item(self.message, text, status, "max_tokens" if truncated else None)
        if message["content"]:
            message["content"][0]["text"]["annotations"] += self._citations(text, offered)
        done = closed(step, "completed", usage=usage, chat_text=text)
        (write or self.store.transact)([Put(message, message["version"]), Put(done, step["version"])])
        self._replace({**done, "version": step["version"] + 1})
        self.message = None
        self.events.emit(f"thread.message.{status}", message_object(message))
        self._announce(done, "completed")

    def _citations(self, text: str, offered: Iterable[OfferedTool]) -> list[dict]:
        """Return the annotations server tools find in an answer (file_search: file_citation, web_search:
        url_citation)."""
        found = []
        for kind, tool in {o.type: o.tool for o in offered}.items():
            details = [c[kind] for s in self.steps if s["type"] == "tool_calls"
                       for c in s["step_details"]["tool_calls"] if c.get("type") == kind]
            if details:
                found += tool.annotations(text, details)
        return found

    def record_calls(self, calls: list[Call], usage: dict) -> tuple[Item, list[dict]]:
        """Write the turn's calls to its step (completed unless some wait for the client); return it and those."""
        step = self._open("tool_calls")
        details = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments, "output": None}}
            if c.type == "function" else {"id": c.id, "type": c.type, c.type: c.details}
            for c in calls
        ]
        pending = [d for d in details if d["type"] == "function"]
        chat_calls = [{"id": c.id, "name": c.name, "arguments": c.arguments, "output": c.output} for c in calls]
        fields = {"step_details": {"type": "tool_calls", "tool_calls": details}, "usage": usage, "chat_calls": chat_calls}
        updated = self.store.put(closed(step, "completed", **fields) if not pending else {**step, **fields},
                                 step["version"])
        self._replace(updated)
        if not pending:
            self._announce(updated, "completed")
        return updated, pending

    def close_open(self, status: str, message_reason: str, error: dict | None, text: str) -> None:
        """End the open message (incomplete, with the `text` it got) and every open step in `status`."""
        if self.message is not None:
            message = self.records.finished_item(self.message, text, "incomplete", message_reason)
            self.store.put(message, message["version"])
            self.message = None
            self.events.emit("thread.message.incomplete", message_object(message))
        for done in self._steps.end_open(self.steps or [], status, error):
            self._replace(done)
            self._announce(done, status)

    # -- steps --------------------------------------------------------------------------------

    def _open_message(self) -> None:
        message = self.records.new_assistant_item(self.run["owner"], self.run["thread_id"], self.run["assistant_id"],
                                                   self.run["id"])
        also: list[Operation] = [Put(message, ABSENT)]
        step = self._steps.open(self.run, "message_creation",
                                {"type": "message_creation", "message_creation": {"message_id": message["id"]}}, also)
        self.message = {**message, "version": 1}
        self._append_opened(step)
        self.events.emit("thread.message.created", message_object(self.message))
        self.events.emit("thread.message.in_progress", message_object(self.message))

    def _append_opened(self, step: Item) -> None:
        self.steps.append(step)
        self._announce(step, "created", "in_progress")

    def _open(self, kind: str) -> Item | None:
        return next((s for s in open_steps(self.steps or []) if s["type"] == kind), None)

    def _replace(self, new: Item) -> None:
        self.steps = [new if s["id"] == new["id"] else s for s in self.steps]

    def _step_delta(self, call_delta: dict) -> None:
        self.events.emit(
            "thread.run.step.delta",
            {"id": self._open("tool_calls")["id"], "object": "thread.run.step.delta",
             "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}}},
        )

    def _announce(self, step: Item, *states: str) -> None:
        for state in states:
            self.events.emit(f"thread.run.step.{state}", step_object(step))
