"""A run's execution: carries one run from `queued` to its next stop, a turn of the engine at a time.

It claims the run (`queued` -> `in_progress` with a lease) while the thread's history is read,
holds the lease through the engine's executor, and takes turns: a text answer completes the
run (message, step and run in one transaction); function calls stop it in `requires_action`;
server tools (file_search, web_search) are executed here and the run takes another turn. Every
change of the run is written (conditionally, on its version) before it is announced to `events`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import partial
from typing import Mapping

from askservice import metrics
from askservice.config import Settings
from askservice.errors import InvalidRequestError, ServiceError, UpstreamRateLimitError
from askservice.llm import Router
from askservice.services.engine.context import OfferedTool, TurnContext
from askservice.services.engine.events import Events
from askservice.services.engine.executor import (
    Call,
    Cancelled,
    Executor,
    Executors,
    LimitReached,
    Lost,
    execute_server_calls,
)
from askservice.services.engine.leases import FIELDS as LEASE_FIELDS
from askservice.services.engine.leases import Leases
from askservice.services.engine.tools import ServerTool, ToolContext
from askservice.services.messages import MessageRecords
from askservice.services.runs.prompt import chat_content, step_messages
from askservice.services.engine.state import StateChanged, change
from askservice.services.runs.records import EXECUTING, finish_fields, now, run_object
from askservice.services.runs.recorder import RunRecorder
from askservice.services.runs.steps import Steps
from askservice.services.together import Later
from askservice.store.base import Item, Store

log = logging.getLogger("askservice.runs")
MAX_TURNS = 10


@dataclass(frozen=True)
class Executions:
    """What every run's execution uses (built once by the runs service); `start` sets one off."""

    settings: Settings
    store: Store
    llm: Router | None
    leases: Leases
    executors: Executors
    steps: Steps
    records: MessageRecords
    threads: object
    assistants: object
    server_tools: Mapping[str, ServerTool]

    def execution(self, run: Item, events: Events, steps: list[Item] | None = None) -> "RunExecution":
        """Return the execution of `run` (`steps`: the run's steps so far, None to read them)."""
        executor = Executor(self.llm, self.store, self.leases, (run["pk"], run["sk"]))
        recorder = RunRecorder(self.store, self.steps, self.records, events, run, steps)
        return RunExecution(self, run, events, executor, recorder)

    def start(self, run: Item, events: Events, steps: list[Item] | None = None) -> None:
        """Execute `run` in a new greenlet of this worker."""
        self.execution(run, events, steps).start()


class RunExecution:
    """Execute one run, announcing to `events`."""

    def __init__(self, shop: Executions, run: Item, events: Events, executor: Executor, recorder: RunRecorder):
        self.shop = shop
        self.store = shop.store
        self.run = run
        self.events = events
        self.executor = executor
        self.recorder = recorder
        self._history: Later | None = None

    def start(self) -> None:
        """Execute the run in a new greenlet of this worker."""
        threading.Thread(target=self.execute, name=f"run-{self.run['id']}", daemon=True).start()

    def execute(self) -> None:
        """Run to the next stop; never raise, always close `events`."""
        run_id = self.run["id"]
        self.shop.executors.add(run_id, self.executor)
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
            self.executor.release()
            self.shop.executors.remove(run_id, self.executor)
            self.events.close()

    def _guarded(self) -> None:
        try:
            self._history = Later(self._read_history)  # the first turn's messages, read meanwhile
            self._claim()
            self.executor.hold()
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
        except LimitReached as exc:
            self._end_incomplete(exc.limit)
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
        fields = {"status": "in_progress", **self.shop.leases.grant()}
        if self.run.get("started_at") is None:
            fields["started_at"] = now()
        self.run = change(self.store, self.run, fields, allowed={"queued"})
        self._announce_run()
        self.recorder.load()

    def _turn(self) -> bool:
        """Take one turn and persist its answer; True when another turn must follow."""
        context = self._context()
        result = self.executor.turn(context, self.recorder)
        text, calls, usage = result.text, result.calls, result.usage
        self._add_usage(usage)
        truncated = result.finish_reason == "length"
        offered = context.server_tools.values()
        if self.recorder.message is not None and not calls and not truncated:
            # message, step and run completed in one write
            self.recorder.close_message(text, False, usage, offered, write=partial(self._end, "completed"))
            self._announce_run()
            return False
        if self.recorder.message is not None:
            self.recorder.close_message(text, truncated, None if calls else usage, offered)
        if truncated:
            raise LimitReached("max_completion_tokens")
        if not calls:
            self._end("completed")
            return False
        return self._tool_calls(context, calls, usage)

    # -- what a turn sends --------------------------------------------------------------------

    def _context(self) -> TurnContext:
        run = self.run
        history, self._history = (self._history.result() if self._history else self._read_history()), None
        used = run.get("usage") or {}
        prompt_limit, completion_limit = run.get("max_prompt_tokens"), run.get("max_completion_tokens")
        tools, server = self._offered_tools()
        choice = run.get("tool_choice")
        if choice != "none" and self.recorder.called_tools:
            choice = "auto"  # a forced call was made: now the model may answer
        return TurnContext(
            owner=run.get("owner"), model=run["model"], instructions=run.get("instructions"), history=history,
            own=step_messages(self.recorder.steps or []), temperature=run.get("temperature"), top_p=run.get("top_p"),
            response_format=run["response_format"] if isinstance(run.get("response_format"), dict) else None,
            prompt_budget=prompt_limit - (used.get("prompt_tokens") or 0) if prompt_limit else None,
            completion_budget=completion_limit - (used.get("completion_tokens") or 0) if completion_limit else None,
            tools=tools, server_tools=server, tool_choice=choice,
            parallel_tool_calls=run.get("parallel_tool_calls") is not False,
        )

    def _read_history(self) -> list[dict]:
        """Return the thread's messages the run reads (under its truncation strategy) as chat messages."""
        strategy = self.run.get("truncation_strategy") or {}
        last = strategy.get("last_messages") if strategy.get("type") == "last_messages" else None
        return [
            {"role": m["role"], "content": chat_content(m)}
            for m in self.shop.records.history(self.run["thread_id"], last) if m.get("run_id") != self.run["id"]
        ]

    def _offered_tools(self) -> tuple[list[dict], dict[str, OfferedTool]]:
        """Return the run's tools as chat tools (server tools offered as functions), and the server ones by name."""
        tools, server = [], {}
        for tool in self.run.get("tools") or []:
            if tool.get("type") == "function":
                tools.append({"type": "function", "function": tool["function"]})
                continue
            server_tool = self.shop.server_tools.get(tool.get("type"))
            if server_tool is not None:
                context = self._tool_context(tool)
                definition = server_tool.definition(context)
                server[definition["function"]["name"]] = OfferedTool(tool["type"], server_tool, context)
                tools.append(definition)
        return tools, server

    def _tool_context(self, tool: dict) -> ToolContext:
        """Return what a server tool may look at: the assistant's and the thread's tool resources."""
        assistant = self.shop.assistants.item(self.run["assistant_id"]) or {}
        thread = self.shop.threads.item(self.run["thread_id"]) or {}
        return ToolContext(owner=self.run["owner"], run=run_object(self.run), tool=tool,
                           assistant_tool_resources=assistant.get("tool_resources") or {},
                           thread_tool_resources=thread.get("tool_resources") or {})

    # -- what a turn answered -----------------------------------------------------------------

    def _tool_calls(self, context: TurnContext, calls: list[Call], usage: dict) -> bool:
        execute_server_calls(context, calls)
        step, pending = self.recorder.record_calls(calls, usage)
        if not pending:
            return True
        self.executor.release()
        required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
            {"id": d["id"], "type": "function", "function": {"name": d["function"]["name"], "arguments": d["function"]["arguments"]}}
            for d in pending
        ]}}
        self.run = change(
            self.store, self.run,
            {"status": "requires_action", "required_action": required, "usage": self.run.get("usage"),
             "expires_at": now() + self.shop.settings.run_expires_seconds,
             "tool_step_id": step["id"]},
            remove=LEASE_FIELDS, allowed={"in_progress"},
        )
        metrics.run_status("requires_action")
        self._announce_run()
        return False

    def _add_usage(self, usage: dict) -> None:
        total = dict(self.run.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        for key in total:
            total[key] += usage[key]
        self.run = {**self.run, "usage": total}

    # -- endings ------------------------------------------------------------------------------

    def _end(self, status: str, also: list | None = None, **extra) -> None:
        """End the run in `status` (with `also` in the same write; then the caller announces)."""
        self.executor.release()
        fields, remove = finish_fields(status)
        fields.update(extra, usage=self.run.get("usage"))
        self.run = change(self.store, self.run, fields, remove, allowed=EXECUTING, also=also or ())
        metrics.run_status(status)
        if also is None:
            self._announce_run()

    def _close_open(self, status: str, message_reason: str, error: dict | None = None) -> None:
        self.recorder.close_open(status, message_reason, error, self.executor.text)

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
        if self.executor.cancelled:
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

    def _announce_current(self, item: Item | None = None) -> None:
        item = item if item is not None else self.store.get(self.run["pk"], self.run["sk"])
        if item is not None:
            self.run = item
            self._announce_run()
