"""Runs and run steps: create, read, cancel, submit tool outputs; leases and the sweeper.

One active run per thread: the thread item's `active_run` names it, set by a transaction that
is conditional on the thread's version, so two creates racing on any workers cannot both win.
The pointer is left behind when the run ends and is ignored once its run is no longer active.

A run that should be working holds a lease (`lease_until_ms`); reading it (`refresh`) or the
periodic sweep fails it with `server_error` once the lease ran out (its worker died), and a run
waiting in `requires_action` past `expires_at` becomes `expired`.
"""

from __future__ import annotations

import time

from askservice import metrics
from askservice.errors import ConflictError, InvalidRequestError, NotConfiguredError, NotFoundError
from askservice.ids import is_valid, new_id
from askservice.services.engine.leases import Leases
from askservice.services.executor import Executor
from askservice.services.messages import to_object as message_to_object
from askservice.services.run_events import Events
from askservice.services.run_records import (
    ACTIVE,
    ACTIVE_INDEX,
    LEASED,
    StateChanged,
    change,
    finish_fields,
    now,
    run_key,
    run_object,
    step_key,
    step_object,
)
from askservice.services.engine.tools import ServerTool
from askservice.services.together import together
from askservice.store.base import ABSENT, ConditionFailed, Page, Put, Store, Update

CREATE_RETRIES = 20
RUN_DEFAULTS = ("model", "instructions", "tools", "temperature", "top_p", "response_format")
SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


class Runs:
    """The runs of threads, and the executors working on them in this process."""

    def __init__(self, settings, store: Store, llm, threads, messages, assistants, leases: Leases):
        self.settings = settings
        self.leases = leases
        self.store = store
        self.llm = llm
        self.threads = threads
        self.messages = messages
        self.assistants = assistants
        self.server_tools: dict[str, ServerTool] = {}
        """Tools executed by the server, by tool type (file_search registers itself here)."""
        self.executing: dict[str, Executor] = {}

    # -- create -------------------------------------------------------------------------------

    def create(self, owner: str, thread_id: str, params: dict, events: Events | None = None) -> dict:
        """Create a run on a thread (adding `additional_messages` first) and start executing it."""
        thread, assistant = together(
            lambda: self.threads.owned(owner, thread_id),
            lambda: self.assistants.owned(owner, params["assistant_id"]),
        )
        self._require_llm()
        if self.active_run(thread) is not None:
            raise self._busy(thread_id)
        for message in params.get("additional_messages") or []:
            self.messages.create(owner, thread_id, message)
        return self._start(owner, thread_id, assistant, params, events or Events(), thread)

    def create_thread_and_run(self, owner: str, params: dict, events: Events | None = None) -> dict:
        """Create a thread (with its messages) and a run on it."""
        assistant = self.assistants.owned(owner, params["assistant_id"])
        self._require_llm()
        thread = self.threads.create(owner, params.get("thread") or {})
        events = events or Events()
        events.emit("thread.created", thread)
        return self._start(owner, thread["id"], assistant, params, events)

    def _start(self, owner: str, thread_id: str, assistant: dict, params: dict, events: Events,
               thread: dict | None = None) -> dict:
        run = self._new_run(owner, thread_id, assistant, params)
        self._claim_thread(thread_id, run, thread)
        run["version"] = 1
        metrics.run_status("queued")
        events.emit("thread.run.created", run_object(run))
        events.emit("thread.run.queued", run_object(run))
        Executor(self, run, events, steps=[]).start()
        return run_object(run)

    def _new_run(self, owner: str, thread_id: str, assistant: dict, params: dict) -> dict:
        run_id = new_id("run_")
        pk, sk = run_key(thread_id, run_id)
        created = now()
        item = {
            "pk": pk, "sk": sk, "gsi1pk": ACTIVE_INDEX, "gsi1sk": run_id, "owner": owner,
            "id": run_id, "object": "thread.run", "created_at": created, "thread_id": thread_id,
            "assistant_id": assistant["id"], "status": "queued", "required_action": None, "last_error": None,
            "expires_at": created + self.settings.run_expires_seconds, "started_at": None, "cancelled_at": None,
            "failed_at": None, "completed_at": None, "incomplete_details": None,
        }
        for name in RUN_DEFAULTS:
            given = params.get(name)
            item[name] = given if given is not None else assistant.get(name)
        item["tools"] = item["tools"] or []
        # the run reports what the upstream receives: its instructions, then the additional ones
        item["instructions"] = "\n\n".join(p for p in (item["instructions"], params.get("additional_instructions")) if p)
        item["response_format"] = item["response_format"] or "auto"
        item.update(
            metadata=params.get("metadata") or {},
            usage=None,
            max_prompt_tokens=params.get("max_prompt_tokens"),
            max_completion_tokens=params.get("max_completion_tokens"),
            truncation_strategy=params.get("truncation_strategy") or {"type": "auto", "last_messages": None},
            tool_choice=params.get("tool_choice") or "auto",
            parallel_tool_calls=params.get("parallel_tool_calls", True) is not False,
            **self.leases.grant(),
        )
        return item

    def _claim_thread(self, thread_id: str, run: dict, checked: dict | None = None) -> None:
        """Point the thread at `run` and write the run, both or neither; 409 if another is active.

        `checked`: the thread item as just read and found free (the first try trusts it)."""
        thread = checked
        for _ in range(CREATE_RETRIES):
            if thread is None:
                thread = self.threads.item(thread_id)
                if thread is None:
                    raise NotFoundError(f"No thread found with id '{thread_id}'.", param="thread_id")
                if self.active_run(thread) is not None:
                    raise self._busy(thread_id)
            try:
                self.store.transact([
                    Update(thread["pk"], thread["sk"], set={"active_run": run["id"]}, expected_version=thread["version"]),
                    Put(run, ABSENT),
                ])
                return
            except ConditionFailed:
                thread = None  # the thread changed under us: look again
        raise self._busy(thread_id)

    def _busy(self, thread_id: str) -> ConflictError:
        return ConflictError(f"Thread {thread_id} already has an active run.", code="thread_locked")

    def _require_llm(self) -> None:
        if self.llm is None:
            raise NotConfiguredError(
                "No upstream is configured: set UPSTREAM_BASE_URL (e.g. http://127.0.0.1:8000/v1) and restart."
            )

    def active_run(self, thread: dict) -> dict | None:
        """Return the thread's active run item (after checking its lease), or None."""
        run_id = thread.get("active_run")
        if not run_id:
            return None
        run = self.refresh(self.store.get(*run_key(thread["id"], run_id)))
        return run if run is not None and run["status"] in ACTIVE else None

    # -- read, list, update -------------------------------------------------------------------

    def _item(self, owner: str, thread_id: str, run_id: str) -> dict:
        """Return the client's run (one read: a run carries its thread's owner), or raise NotFoundError."""
        valid = is_valid(run_id, "run_") and is_valid(thread_id, "thread_")
        item = self.store.get(*run_key(thread_id, run_id)) if valid else None
        if item is None or item.get("owner") != owner:
            self.threads.owned(owner, thread_id)  # name the thread when it is the one missing
            raise NotFoundError(f"No run found with id '{run_id}'.", param="run_id")
        return self.refresh(item)

    def retrieve(self, owner: str, thread_id: str, run_id: str) -> dict:
        """Return a run object."""
        return run_object(self._item(owner, thread_id, run_id))

    def list(self, owner: str, thread_id: str, *, limit: int = 20, order: str = "desc",
             after: str | None = None, before: str | None = None) -> Page:
        """Return a page of the thread's run items (each checked by `refresh`)."""
        thread = self.threads.owned(owner, thread_id)
        page = self.store.query(
            thread["pk"], "run#", limit=limit, order=order,
            after=f"run#{after}" if after else None, before=f"run#{before}" if before else None,
        )
        return Page([self.refresh(item) for item in page.items], page.has_more)

    def update(self, owner: str, thread_id: str, run_id: str, metadata: dict | None) -> dict:
        """Replace a run's metadata."""
        item = self._item(owner, thread_id, run_id)
        if metadata is None:
            return run_object(item)
        for _ in range(CREATE_RETRIES):
            try:
                return run_object(self.store.update(item["pk"], item["sk"], set={"metadata": metadata},
                                                    expected_version=item["version"]))
            except ConditionFailed:
                item = self._item(owner, thread_id, run_id)
        raise ConflictError("The run is changing too fast to update; try again.")

    # -- cancel and tool outputs --------------------------------------------------------------

    def cancel(self, owner: str, thread_id: str, run_id: str) -> dict:
        """Cancel a run: at once when queued or waiting, via `cancelling` when in progress."""
        item = self._item(owner, thread_id, run_id)
        for _ in range(CREATE_RETRIES):
            status = item["status"]
            try:
                if status in ("queued", "requires_action"):
                    item = self._finish(item, "cancelled", {"queued", "requires_action"})
                elif status == "in_progress":
                    item = change(self.store, item, {"status": "cancelling"}, allowed={"in_progress"})
                    metrics.run_status("cancelling")
                    executor = self.executing.get(run_id)
                    if executor is not None:
                        executor.wake()
                elif status != "cancelling":
                    raise InvalidRequestError(f"Cannot cancel run with status '{status}'.", param="run_id")
                return run_object(item)
            except StateChanged as exc:
                item = self.refresh(exc.item)
                if item is None:
                    break
        raise NotFoundError(f"No run found with id '{run_id}'.", param="run_id")

    def submit_tool_outputs(self, owner: str, thread_id: str, run_id: str, outputs: list[dict],
                            events: Events | None = None) -> dict:
        """Answer a run's pending tool calls (each exactly once) and carry the run on."""
        self._require_llm()
        item = self._item(owner, thread_id, run_id)
        for _ in range(CREATE_RETRIES):
            step, done = self._answered_step(item, outputs)
            fields = {"status": "queued", "required_action": None, **self.leases.grant()}
            try:
                self.store.transact([
                    Update(item["pk"], item["sk"], set=fields, remove=("tool_step_id",),
                           expected_version=item["version"]),
                    Put(done, step["version"]),
                ])
                break
            except ConditionFailed:  # submitted, cancelled or expired meanwhile: look again
                item = self.refresh(self.store.get(item["pk"], item["sk"]))
                if item is None:
                    raise NotFoundError(f"No run found with id '{run_id}'.", param="run_id") from None
        else:
            raise ConflictError("The run kept changing while its tool outputs were submitted; retry.")
        run = {**item, **fields, "version": item["version"] + 1}
        run.pop("tool_step_id", None)
        done["version"] = step["version"] + 1
        metrics.run_status("queued")
        events = events or Events()
        events.emit("thread.run.step.completed", step_object(done))
        events.emit("thread.run.queued", run_object(run))
        Executor(self, run, events).start()
        return run_object(run)

    def _answered_step(self, item: dict, outputs: list[dict]) -> tuple[dict, dict]:
        """Check `outputs` against the run's pending calls; return its tool step and the step completed."""
        if item["status"] != "requires_action":
            raise InvalidRequestError(f"Runs in status \"{item['status']}\" do not accept tool outputs.", param="run_id")
        pending = [c["id"] for c in item["required_action"]["submit_tool_outputs"]["tool_calls"]]
        given = [o.get("tool_call_id") for o in outputs]
        for index, call_id in enumerate(given):
            if call_id not in pending:
                raise InvalidRequestError(f"No tool call with id '{call_id}' is pending on this run.",
                                          param=f"tool_outputs[{index}].tool_call_id")
            if given.index(call_id) != index:
                raise InvalidRequestError(f"Tool call '{call_id}' is answered more than once.",
                                          param=f"tool_outputs[{index}].tool_call_id")
        if any(c not in given for c in pending):
            raise InvalidRequestError(f"Expected tool outputs for call_ids {pending}, got {given}.", param="tool_outputs")
        answers = {o["tool_call_id"]: o.get("output") or "" for o in outputs}
        step = self.store.get(*step_key(item["id"], item["tool_step_id"]))
        calls = [{**c, "output": answers[c["id"]]} if c["id"] in answers else c for c in step["chat_calls"]]
        details = [
            {**d, "function": {**d["function"], "output": answers[d["id"]]}} if d["id"] in answers else d
            for d in step["step_details"]["tool_calls"]
        ]
        done = {**step, "status": "completed", "completed_at": now(), "chat_calls": calls,
                "step_details": {"type": "tool_calls", "tool_calls": details}}
        return step, done

    # -- steps --------------------------------------------------------------------------------

    def list_steps(self, owner: str, thread_id: str, run_id: str, *, limit: int = 20, order: str = "desc",
                   after: str | None = None, before: str | None = None) -> Page:
        """Return a page of a run's step items."""
        self._item(owner, thread_id, run_id)
        return self.store.query(
            f"run#{run_id}", "step#", limit=limit, order=order,
            after=f"step#{after}" if after else None, before=f"step#{before}" if before else None,
        )

    def retrieve_step(self, owner: str, thread_id: str, run_id: str, step_id: str, include: list[str] = ()) -> dict:
        """Return one run step."""
        self._item(owner, thread_id, run_id)
        item = self.store.get(*step_key(run_id, step_id)) if is_valid(step_id, "step_") else None
        if item is None:
            raise NotFoundError(f"No run step found with id '{step_id}'.", param="step_id")
        return shaped_step(item, include)

    def load_steps(self, run_id: str) -> list[dict]:
        """Return every step of a run, oldest first."""
        steps, after = [], None
        while True:
            page = self.store.query(f"run#{run_id}", "step#", limit=100, after=after)
            steps += page.items
            if not page.has_more:
                return steps
            after = page.items[-1]["sk"]

    def delete_for_thread(self, thread_id: str) -> None:
        """Delete a thread's runs and their steps (the thread's own delete calls this first)."""
        while True:
            page = self.store.query(f"thread#{thread_id}", "run#", limit=100)
            for run in page.items:
                self.store.delete_all(f"run#{run['id']}", "step#")
                self.store.delete(run["pk"], run["sk"])
            if not page.has_more:
                return

    # -- what the executor needs from threads and messages ------------------------------------

    def thread_history(self, thread_id: str, run_id: str, last: int | None) -> list[dict]:
        """Return the thread's messages the run reads, oldest first (`last`: only that many)."""
        return [m for m in self.messages.history(thread_id, last) if m.get("run_id") != run_id]

    def new_run_message(self, run: dict) -> dict:
        """Return a new, unsaved, in-progress assistant message item of `run`."""
        return self.messages.new_assistant_item(run["owner"], run["thread_id"], run["assistant_id"], run["id"])

    def finish_run_message(self, message: dict, text: str, status: str, reason: str | None) -> dict:
        """Return `message` with its final text and status (unsaved)."""
        return self.messages.finished_item(message, text, status, reason)

    def message_object(self, message: dict) -> dict:
        """Return the API object of a message item."""
        return message_to_object(message)

    def tool_resources(self, run: dict) -> dict:
        """Return the assistant's and the thread's tool resources, for server tools."""
        assistant = self.assistants.item(run["assistant_id"]) or {}
        thread = self.threads.item(run["thread_id"]) or {}
        return {
            "assistant_tool_resources": assistant.get("tool_resources") or {},
            "thread_tool_resources": thread.get("tool_resources") or {},
        }

    # -- leases, expiry and the sweeper -------------------------------------------------------

    def refresh(self, item: dict | None) -> dict | None:
        """Fail a run whose lease ran out, expire one that waited too long; return it as it is now."""
        if item is None:
            return None
        status = item.get("status")
        try:
            if status in LEASED and self.leases.lapsed(item):
                error = {"code": "server_error", "message": "The run stopped: the worker executing it went away."}
                return self._finish(item, "failed", LEASED, last_error=error)
            if status == "requires_action" and (item.get("expires_at") or 0) < time.time():
                return self._finish(item, "expired", {"requires_action"})
        except StateChanged as exc:
            return exc.item
        return item

    def _finish(self, item: dict, status: str, allowed: set[str], **extra) -> dict:
        """End a run that no executor works on (from one of `allowed`), closing its open steps."""
        fields, remove = finish_fields(status)
        fields.update(extra)
        item = change(self.store, item, fields, remove, allowed=allowed)
        metrics.run_status(status)
        stamp = {"failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}[status]
        for step in self.load_steps(item["id"]):
            if step["status"] != "in_progress":
                continue
            self.store.update(step["pk"], step["sk"], set={"status": status, stamp: now(),
                                                         "last_error": extra.get("last_error")})
            message_id = (step["step_details"].get("message_creation") or {}).get("message_id")
            if message_id:
                self.messages.mark_incomplete(item["thread_id"], message_id, f"run_{status}")
        return item

    def sweep(self) -> int:
        """End every active run whose lease or wait ran out; return how many were ended."""
        ended = 0
        for item in self.store.query_all(ACTIVE_INDEX, index=True):
            fresh = self.refresh(item)
            ended += fresh is not None and fresh.get("status") != item.get("status")
        return ended


def shaped_step(item: dict, include: list[str] | tuple = ()) -> dict:
    """Return a step object; file_search result contents only when `include` asks for them."""
    step = step_object(item)
    if SEARCH_CONTENT in include or step["type"] != "tool_calls":
        return step
    calls = []
    for call in step["step_details"].get("tool_calls") or []:
        if call.get("type") == "file_search" and call.get("file_search", {}).get("results"):
            results = [{k: v for k, v in r.items() if k != "content"} for r in call["file_search"]["results"]]
            call = {**call, "file_search": {**call["file_search"], "results": results}}
        calls.append(call)
    return {**step, "step_details": {**step["step_details"], "tool_calls": calls}}
