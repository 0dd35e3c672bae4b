"""The executor: carries one run from `queued` to its next stop, one upstream call a turn.

A turn sends the chat-completions request (instructions, the thread's messages under the
truncation strategy, then this run's own steps), relays the streamed answer as message deltas
or tool-call deltas, and persists what came: a `message_creation` step and its message, or a
`tool_calls` step. Function calls stop the run in `requires_action`; server tools (file_search)
are executed here and the run takes another turn. Every change is written (conditionally, on
the run's version) before it is announced to `events`.

While it works the executor holds the run's lease: a watcher greenlet renews it, and notices a
`cancelling` run (or a run taken away by the sweeper) and closes the upstream call at once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from askservice import metrics
from askservice.errors import InvalidRequestError, ServiceError, UpstreamRateLimitError
from askservice.ids import new_id
from askservice.services.run_events import Events
from askservice.services.run_prompt import chat_content, estimate_tokens, fit, message_tokens, step_messages
from askservice.services.run_records import (
    StateChanged,
    change,
    finish_fields,
    new_step,
    now,
    run_object,
    step_object,
)
from askservice.services.engine.tools import ToolContext
from askservice.services.together import Later
from askservice.store.base import ABSENT, Check, Put

if TYPE_CHECKING:
    from askservice.services.runs import Runs

log = logging.getLogger("askservice.runs")
MAX_TURNS = 10
WATCH_INTERVAL_S = 0.5
WORKING = frozenset({"in_progress", "cancelling"})


class Cancelled(Exception):
    """The run was asked to stop."""


class Lost(Exception):
    """The run was taken away from this executor (its lease ran out, or it was deleted)."""


class Incomplete(Exception):
    """A token limit of the run was reached."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Executor:
    """Execute one run (in its own greenlet, see `start`), announcing to `events`."""

    def __init__(self, runs: "Runs", run: dict, events: Events, steps: list[dict] | None = None):
        self.runs = runs
        self.store = runs.store
        self.run = run
        self.events = events
        self.steps = steps
        self.cancel_requested = False
        self.lost = False
        self._finishing = False
        self._upstream = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._open_message: dict | None = None
        self._partial: list[str] = []
        self._open_steps: list[dict] = []
        self._history: Later | None = None

    def start(self) -> None:
        """Execute the run in a new greenlet of this worker."""
        threading.Thread(target=self.execute, name=f"run-{self.run['id']}", daemon=True).start()

    def wake(self) -> None:
        """Make the watcher look at the run now (it was just cancelled on this worker)."""
        self._wake.set()

    # -- the run's course ---------------------------------------------------------------------

    def execute(self) -> None:
        """Run to the next stop; never raise, always close `events`."""
        run_id = self.run["id"]
        self.runs.executing[run_id] = self
        try:
            self._guarded()
        except Exception:  # even the way out failed (store down): the sweeper will fail the run
            log.exception("run %s: could not record its end", run_id)
            self.events.emit(
                "error",
                {"message": "The server had an error while processing the run.", "type": "server_error",
                 "param": None, "code": "server_error"},
            )
        finally:
            self._stop.set()
            self._wake.set()
            if self.runs.executing.get(run_id) is self:  # a later executor of the run may have taken over
                del self.runs.executing[run_id]
            self.events.close()

    def _guarded(self) -> None:
        try:
            self._history = Later(self._read_history)  # the first turn's messages, read meanwhile
            self._claim()
            threading.Thread(target=self._watch, name=f"lease-{self.run['id']}", daemon=True).start()
            for _ in range(MAX_TURNS):
                if not self._turn():
                    return
            self._fail("server_error", f"The run took more than {MAX_TURNS} tool turns.")
        except Cancelled:
            self._end_cancelled()
        except Lost:
            self._announce_current()
        except StateChanged as exc:
            if exc.item is not None and exc.item.get("status") == "cancelling":
                self._end_cancelled()
            else:
                self._announce_current(exc.item)
        except Incomplete as exc:
            self._end_incomplete(exc.reason)
        except UpstreamRateLimitError as exc:
            self._fail("rate_limit_exceeded", exc.message)
        except InvalidRequestError as exc:  # the upstream refused the prompt (400/404/413/422)
            self._fail("invalid_prompt", exc.message)
        except ServiceError as exc:
            self._fail("server_error", exc.message)
        except Exception:
            log.exception("run %s failed", self.run["id"])
            self._fail("server_error", "The server had an error while processing the run.")

    def _claim(self) -> None:
        fields = {"status": "in_progress", **self.runs.leases.grant()}
        if self.run.get("started_at") is None:
            fields["started_at"] = now()
        self.run = change(self.store, self.run, fields, allowed={"queued"})
        self._announce_run()
        if self.steps is None:
            self.steps = self.runs.load_steps(self.run["id"])

    def _turn(self) -> bool:
        """Make one upstream call and persist its answer; True when another turn must follow."""
        request = self._request()
        text, calls, finish, usage = self._call(request)
        usage = usage or {
            "prompt_tokens": sum(message_tokens(m) for m in request["messages"]),
            "completion_tokens": estimate_tokens(text + "".join(c["arguments"] for c in calls)),
        }
        usage = {
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self._add_usage(usage)
        truncated = finish == "length"
        if self._open_message is not None and not calls and not truncated:
            self._close_message(text, False, usage, end="completed")  # one write for all three
            return False
        if self._open_message is not None:
            self._close_message(text, truncated, None if calls else usage)
        if truncated:
            raise Incomplete("max_completion_tokens")
        if not calls:
            self._end("completed")
            return False
        return self._tool_calls(calls, usage)

    # -- one upstream call --------------------------------------------------------------------

    def _request(self) -> dict:
        run = self.run
        system = run.get("instructions")
        history, self._history = (self._history.result() if self._history else self._read_history()), None
        tail = step_messages(self.steps or [])
        head = [{"role": "system", "content": system}] if system else []
        budget = run.get("max_prompt_tokens")
        if budget:
            history = fit(head, history, tail, budget - ((run.get("usage") or {}).get("prompt_tokens") or 0))
            if history is None:
                raise Incomplete("max_prompt_tokens")
        body = {"model": run["model"], "messages": head + history + tail, "stream": True,
                "stream_options": {"include_usage": True}}
        for name in ("temperature", "top_p"):
            if run.get(name) is not None:
                body[name] = run[name]
        if isinstance(run.get("response_format"), dict):
            body["response_format"] = run["response_format"]
        limit = run.get("max_completion_tokens")
        if limit:
            left = limit - ((run.get("usage") or {}).get("completion_tokens") or 0)
            if left <= 0:
                raise Incomplete("max_completion_tokens")
            body["max_tokens"] = left
        tools, choice = self._offered_tools()
        if tools:
            body["tools"] = tools
            body["parallel_tool_calls"] = run.get("parallel_tool_calls") is not False
            if choice is not None:
                body["tool_choice"] = choice
        return body

    def _read_history(self) -> list[dict]:
        """Return the thread's messages the run reads (under its truncation strategy) as chat messages."""
        strategy = self.run.get("truncation_strategy") or {}
        last = strategy.get("last_messages") if strategy.get("type") == "last_messages" else None
        return [
            {"role": m["role"], "content": chat_content(m)}
            for m in self.runs.thread_history(self.run["thread_id"], self.run["id"], last)
        ]

    def _offered_tools(self) -> tuple[list[dict], object]:
        tools, self._server = [], {}
        for tool in self.run.get("tools") or []:
            if tool.get("type") == "function":
                tools.append({"type": "function", "function": tool["function"]})
                continue
            server = self.runs.server_tools.get(tool.get("type"))
            if server is not None:
                context = self._tool_context(tool)
                definition = server.definition(context)
                self._server[definition["function"]["name"]] = (tool["type"], server, context)
                tools.append(definition)
        choice = self.run.get("tool_choice")
        if choice != "none" and any(step["type"] == "tool_calls" for step in self.steps or []):
            choice = "auto"  # a forced call was made: now the model may answer
        elif isinstance(choice, dict) and choice.get("type") != "function":
            names = [n for n, (kind, _, _) in self._server.items() if kind == choice.get("type")]
            choice = {"type": "function", "function": {"name": names[0]}} if names else "auto"
        return tools, choice

    def _tool_context(self, tool: dict) -> ToolContext:
        resources = self.runs.tool_resources(self.run)
        return ToolContext(owner=self.run["owner"], run=run_object(self.run), tool=tool, **resources)

    def _call(self, request: dict) -> tuple[str, list[dict], str | None, dict | None]:
        """Stream one completion, relaying deltas; return its text, calls, finish reason and usage."""
        text, calls, finish, usage = [], [], None, None
        by_index: dict[int, dict] = {}
        self._check_interrupt()
        try:
            self._upstream = self.runs.llm.stream_chat(request)
            for chunk in self._upstream:
                self._check_interrupt()
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        text.append(delta["content"])
                        self._relay_text(delta["content"])
                    for piece in delta.get("tool_calls") or []:
                        self._relay_call(piece, by_index, calls)
                    finish = choice.get("finish_reason") or finish
        except ServiceError:
            self._check_interrupt()
            raise
        finally:
            upstream, self._upstream = self._upstream, None
            if upstream is not None and not upstream.closed:  # read to its end, it went back to the pool
                upstream.close()
        self._check_interrupt()
        return "".join(text), calls, finish, usage

    def _check_interrupt(self) -> None:
        if self.cancel_requested:
            raise Cancelled()
        if self.lost:
            raise Lost()

    def _relay_text(self, piece: str) -> None:
        if self._open_message is None:
            self._open_message_step()
        self._partial.append(piece)
        message_id = self._open_message["id"]
        self.events.emit(
            "thread.message.delta",
            {"id": message_id, "object": "thread.message.delta",
             "delta": {"content": [{"index": 0, "type": "text", "text": {"value": piece, "annotations": []}}]}},
        )

    def _relay_call(self, piece: dict, by_index: dict[int, dict], calls: list[dict]) -> None:
        function = piece.get("function") or {}
        call = by_index.get(piece.get("index", 0))
        if call is None:
            if not any(s["type"] == "tool_calls" for s in self._open_steps):
                self._open_tool_step()
            upstream_id = piece.get("id") or ""
            name = function.get("name") or ""
            call = {
                "index": len(calls), "id": upstream_id if upstream_id.startswith("call_") else new_id("call_"),
                "name": name, "arguments": "", "output": None,
            }
            by_index[piece.get("index", 0)] = call
            calls.append(call)
            server = self._server.get(name)
            head = {"index": call["index"], "id": call["id"]}
            if server is not None:
                head.update({"type": server[0], server[0]: {}})
            else:
                head.update({"type": "function", "function": {"name": name, "arguments": "", "output": None}})
            self._emit_step_delta(head)
        elif function.get("name") and not call["name"]:
            call["name"] = function["name"]
        arguments = function.get("arguments") or ""
        if arguments:
            call["arguments"] += arguments
            if call["name"] not in self._server:
                self._emit_step_delta({"index": call["index"], "type": "function", "function": {"arguments": arguments}})

    def _emit_step_delta(self, call_delta: dict) -> None:
        step = next(s for s in self._open_steps if s["type"] == "tool_calls")
        self.events.emit(
            "thread.run.step.delta",
            {"id": step["id"], "object": "thread.run.step.delta",
             "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}}},
        )

    # -- steps and messages -------------------------------------------------------------------

    def _open_message_step(self) -> None:
        message = self.runs.new_run_message(self.run)
        step = new_step(self.run, new_id("step_"), "message_creation",
                        {"type": "message_creation", "message_creation": {"message_id": message["id"]}})
        self.store.transact([Put(message, ABSENT), Put(step, ABSENT), self._run_exists()])
        message["version"] = step["version"] = 1
        self._open_message, self._partial = message, []
        self._open_steps.append(step)
        self.steps.append(step)
        self._announce_step(step, "created", "in_progress")
        self.events.emit("thread.message.created", self.runs.message_object(message))
        self.events.emit("thread.message.in_progress", self.runs.message_object(message))

    def _open_tool_step(self) -> None:
        step = new_step(self.run, new_id("step_"), "tool_calls", {"type": "tool_calls", "tool_calls": []})
        self.store.transact([Put(step, ABSENT), self._run_exists()])
        step["version"] = 1
        self._open_steps.append(step)
        self.steps.append(step)
        self._announce_step(step, "created", "in_progress")

    def _run_exists(self) -> Check:
        """Return the condition that keeps a deleted thread's run from writing new items."""
        return Check(self.run["pk"], self.run["sk"])

    def _close_message(self, text: str, truncated: bool, usage: dict | None, end: str | None = None) -> None:
        """Complete the open message and its step; with `end`, end the run in the same write."""
        step = next(s for s in self._open_steps if s["type"] == "message_creation")
        status = "incomplete" if truncated else "completed"
        message = self.runs.finish_run_message(self._open_message, text, status, "max_tokens" if truncated else None)
        self._cite(message, text)
        done = {**step, "status": "completed", "completed_at": now(), "usage": usage, "chat_text": text}
        writes = [Put(message, message["version"]), Put(done, step["version"])]
        if end is None:
            self.store.transact(writes)
        else:
            self._end(end, also=writes)
        self._replace_step(step, {**done, "version": step["version"] + 1})
        self._open_message = None
        self.events.emit(f"thread.message.{status}", self.runs.message_object(message))
        self._announce_step(done, "completed")
        if end is not None:
            self._announce_run()

    def _cite(self, message: dict, text: str) -> None:
        """Attach the annotations server tools find in the answer (file_search: file_citation)."""
        for kind, tool in {kind: tool for kind, tool, _ in self._server.values()}.items():
            annotate = getattr(tool, "annotations", None)
            details = [c[kind] for s in self.steps if s["type"] == "tool_calls"
                       for c in s["step_details"]["tool_calls"] if c.get("type") == kind]
            if annotate is not None and details and message["content"]:
                message["content"][0]["text"]["annotations"] += annotate(text, details)

    def _tool_calls(self, calls: list[dict], usage: dict) -> bool:
        step = next(s for s in self._open_steps if s["type"] == "tool_calls")
        details = []
        for call in calls:
            server = self._server.get(call["name"])
            if server is None:
                details.append({"id": call["id"], "type": "function",
                                "function": {"name": call["name"], "arguments": call["arguments"], "output": None}})
                continue
            kind, tool, context = server
            result = tool.execute(context, call["arguments"])
            call["output"] = result.output
            details.append({"id": call["id"], "type": kind, kind: result.details})
        chat_calls = [{k: c[k] for k in ("id", "name", "arguments", "output")} for c in calls]
        pending = [d for d in details if d["type"] == "function"]
        fields = {"step_details": {"type": "tool_calls", "tool_calls": details}, "usage": usage, "chat_calls": chat_calls}
        if not pending:
            fields.update(status="completed", completed_at=now())
        updated = self.store.put({**step, **fields}, step["version"])
        self._replace_step(step, updated)
        if not pending:
            self._announce_step(updated, "completed")
            return True
        self._finishing = True
        required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
            {"id": d["id"], "type": "function", "function": {"name": d["function"]["name"], "arguments": d["function"]["arguments"]}}
            for d in pending
        ]}}
        self.run = change(
            self.store, self.run,
            {"status": "requires_action", "required_action": required, "usage": self.run.get("usage"),
             "expires_at": now() + self.runs.settings.run_expires_seconds, "tool_step_id": updated["id"]},
            remove=("lease_until_ms", "lease_owner"), allowed={"in_progress"},
        )
        self._open_steps = []
        metrics.run_status("requires_action")
        self._announce_run()
        return False

    def _replace_step(self, old: dict, new: dict) -> None:
        self._open_steps = [new if s["id"] == old["id"] else s for s in self._open_steps]
        self.steps = [new if s["id"] == old["id"] else s for s in self.steps]
        if new["status"] != "in_progress":
            self._open_steps = [s for s in self._open_steps if s["id"] != new["id"]]

    def _add_usage(self, usage: dict) -> None:
        total = dict(self.run.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        for key in total:
            total[key] += usage[key]
        self.run = {**self.run, "usage": total}
        metrics.tokens(self.run.get("owner"), usage["prompt_tokens"], usage["completion_tokens"])

    # -- endings ------------------------------------------------------------------------------

    def _end(self, status: str, also: list | None = None, **extra) -> None:
        """End the run in `status` (with `also` in the same write; then the caller announces)."""
        self._finishing = True
        fields, remove = finish_fields(status)
        fields.update(extra, usage=self.run.get("usage"))
        self.run = change(self.store, self.run, fields, remove, allowed=WORKING, also=also or ())
        metrics.run_status(status)
        if also is None:
            self._announce_run()

    def _close_open(self, step_status: str, message_reason: str, error: dict | None = None) -> None:
        if self._open_message is not None:
            text = "".join(self._partial)
            message = self.runs.finish_run_message(self._open_message, text, "incomplete", message_reason)
            self.store.put(message, message["version"])
            self._open_message = None
            self.events.emit("thread.message.incomplete", self.runs.message_object(message))
        stamp = {"failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}[step_status]
        for step in list(self._open_steps):
            done = self.store.put({**step, "status": step_status, stamp: now(), "last_error": error}, step["version"])
            self._replace_step(step, done)
            self._announce_step(done, step_status)

    def _end_cancelled(self) -> None:
        current = self.store.get(self.run["pk"], self.run["sk"])
        if current is not None and current["status"] == "cancelling":  # asked by another request
            self.run = current
            self._announce_run()
        self._close_open("cancelled", "run_cancelled")
        try:
            self._end("cancelled")
        except StateChanged as exc:
            self._announce_current(exc.item)

    def _end_incomplete(self, reason: str) -> None:
        self._close_open("cancelled", "max_tokens")
        try:
            self._end("incomplete", incomplete_details={"reason": reason})
        except StateChanged as exc:
            self._announce_current(exc.item)

    def _fail(self, code: str, message: str) -> None:
        if self.cancel_requested:
            return self._end_cancelled()
        error = {"code": code, "message": message}
        self._close_open("failed", "run_failed", error)
        try:
            self._end("failed", last_error=error)
        except StateChanged as exc:
            if exc.item is not None and exc.item.get("status") == "cancelling":
                self.run = exc.item
                self._end("cancelled")
            else:
                self._announce_current(exc.item)

    # -- announcing ---------------------------------------------------------------------------

    def _announce_run(self) -> None:
        self.events.emit(f"thread.run.{self.run['status']}", run_object(self.run))

    def _announce_step(self, step: dict, *states: str) -> None:
        for state in states:
            self.events.emit(f"thread.run.step.{state}", step_object(step))

    def _announce_current(self, item: dict | None = None) -> None:
        item = item if item is not None else self.store.get(self.run["pk"], self.run["sk"])
        if item is not None:
            self.run = item
            self._announce_run()

    # -- the lease ----------------------------------------------------------------------------

    def _watch(self) -> None:
        lease = self.runs.settings.run_lease_seconds
        interval, renew_every = min(WATCH_INTERVAL_S, lease / 3), lease / 3
        renewed = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set() or self._finishing:
                return
            try:
                item = self.store.get(self.run["pk"], self.run["sk"])
                status = item.get("status") if item else None
                if status == "in_progress" and time.monotonic() - renewed >= renew_every:
                    change(self.store, item, self.runs.leases.grant(), allowed={"in_progress"})
                    renewed = time.monotonic()
                    continue
            except StateChanged as exc:
                status = exc.item.get("status") if exc.item else None
            except Exception:  # a store hiccup: try again next round, the lease has slack
                log.exception("run %s: lease check failed", self.run["id"])
                continue
            if status == "in_progress" or self._finishing:
                continue
            if status == "cancelling":
                self.cancel_requested = True
            else:
                self.lost = True
            upstream = self._upstream
            if upstream is not None:
                upstream.close()
            return
