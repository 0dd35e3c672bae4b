"""The Runs API: create, get, list, modify, cancel, submit tool outputs; run steps.

One active run per thread: the thread item's `active_run` names it, set by a transaction that
is conditional on the thread's version, so two creates racing on any workers cannot both win.
The pointer is left behind when the run ends and is ignored once its run is no longer active.
Every read of a run settles it first (settle.py): a reader sees at once a run whose worker died.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from askservice import metrics
from askservice.config import Settings
from askservice.errors import ConflictError
from askservice.ids import is_valid, new_id
from askservice.llm import Router
from askservice.services import keys
from askservice.services.crud import not_found, objects
from askservice.services.engine.events import Events
from askservice.llm import require_upstream
from askservice.services.engine.executor import Executors
from askservice.services.engine.leases import Leases
from askservice.services.engine.tools import ServerTool, check_configured
from askservice.services.runs.cancel import Canceller
from askservice.services.runs.execution import Executions
from askservice.services.runs.records import now, run_object, shaped_step
from askservice.services.runs.settle import Settler
from askservice.services.runs.steps import Steps
from askservice.services.runs.submit import Submitter
from askservice.services.together import together
from askservice.store.base import ABSENT, Item, Page, Put, Store, Update
from askservice.store.conflicts import retry_on_conflict

CLAIM_TRIES = 20
"""Tries of a create whose thread changed meanwhile (another create, a message's attachment)."""
MODIFY_TRIES = 20
"""Tries of a metadata update whose run changed meanwhile (the executor writes it all along)."""
RUN_DEFAULTS = ("model", "instructions", "tools", "temperature", "top_p", "response_format")


class Runs:
    """The runs of threads, and their executions in this process.

    `server_tools`: the tools the server executes itself, by tool type (file_search; web_search when configured)."""

    def __init__(self, settings: Settings, store: Store, llm: Router | None, threads, messages, records, assistants,
                 leases: Leases, steps: Steps, settler: Settler, server_tools: Mapping[str, ServerTool] | None = None):
        self.settings = settings
        self.store = store
        self.llm = llm
        self.threads = threads
        self.messages = messages
        self.assistants = assistants
        self.leases = leases
        self.steps = steps
        self.settler = settler
        executors = Executors()
        self.executions = Executions(settings, store, llm, leases, executors, self.steps, records, threads,
                                     assistants, dict(server_tools or {}))
        self.canceller = Canceller(store, self.settler, executors)
        self.submitter = Submitter(store, leases, self.steps, self.settler, self.executions.start)

    def check_tools(self, types: Sequence[str]) -> None:
        """Raise the 400 of a tool type this server executes only when configured (web_search) and is not."""
        check_configured(self.executions.server_tools, types)

    # -- create -------------------------------------------------------------------------------

    def create(self, owner: str, thread_id: str, params: dict, events: Events | None = None) -> dict:
        """Create a run on a thread (adding `additional_messages` first) and start executing it."""
        thread, assistant = together(
            lambda: self.threads.owned(owner, thread_id),
            lambda: self.assistants.owned(owner, params["assistant_id"]),
        )
        self._check_model(assistant, params)
        if self.settler.active_run(thread) is not None:
            raise self._busy(thread_id)
        for message in params.get("additional_messages") or []:
            self.messages.create(owner, thread_id, message)
        return self._start(owner, thread_id, assistant, params, events or Events(), thread)

    def create_thread_and_run(self, owner: str, params: dict, events: Events | None = None) -> dict:
        """Create a thread (with its messages) and a run on it."""
        assistant = self.assistants.owned(owner, params["assistant_id"])
        self._check_model(assistant, params)
        thread = self.threads.create(owner, params.get("thread") or {})
        events = events or Events()
        events.emit("thread.created", thread)
        return self._start(owner, thread["id"], assistant, params, events)

    def _check_model(self, assistant: Item, params: dict) -> None:
        """Raise the 503 without an upstream, or the 404 for a model no upstream serves (before any write)."""
        require_upstream(self.llm).targets(params.get("model") or assistant.get("model"))

    def _start(self, owner: str, thread_id: str, assistant: Item, params: dict, events: Events,
               thread: Item | None = None) -> dict:
        run = self._new_run(owner, thread_id, assistant, params)
        self._claim_thread(thread_id, run, thread)
        run["version"] = 1
        metrics.run_status("queued")
        events.emit("thread.run.created", run_object(run))
        events.emit("thread.run.queued", run_object(run))
        self.executions.start(run, events, steps=[])
        return run_object(run)

    def _new_run(self, owner: str, thread_id: str, assistant: Item, params: dict) -> Item:
        """Return a new, unsaved, queued run item (its lease granted to this process)."""
        run_id = new_id("run_")
        pk, sk = keys.run(thread_id, run_id)
        created = now()
        item = {
            "pk": pk, "sk": sk, "gsi1pk": keys.ACTIVE_RUNS, "gsi1sk": run_id, "owner": owner,
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

    def _claim_thread(self, thread_id: str, run: Item, checked: Item | None = None) -> None:
        """Point the thread at `run` and write the run, both or neither; 409 if another is active.

        `checked`: the thread item as just read and found free (the first try trusts it)."""

        def attempt(n: int) -> None:
            thread = checked if n == 0 else None
            if thread is None:  # look again: the thread changed under us (or was not read yet)
                thread = self.threads.item(thread_id)
                if thread is None:
                    raise not_found("thread", thread_id, "thread_id")
                if self.settler.active_run(thread) is not None:
                    raise self._busy(thread_id)
            self.store.transact([
                Update(thread["pk"], thread["sk"], set={"active_run": run["id"]}, expected_version=thread["version"]),
                Put(run, ABSENT),
            ])

        retry_on_conflict(attempt, CLAIM_TRIES, lambda: self._busy(thread_id))

    @staticmethod
    def _busy(thread_id: str) -> ConflictError:
        return ConflictError(f"Thread {thread_id} already has an active run.", code="thread_locked")

    # -- read, list, modify -------------------------------------------------------------------

    def owned(self, owner: str, thread_id: str, run_id: str) -> Item:
        """Return the client's run item, settled, or raise NotFoundError (one read: a run carries its owner)."""
        valid = is_valid(run_id, "run_") and is_valid(thread_id, "thread_")
        item = self.store.get(*keys.run(thread_id, run_id)) if valid else None
        if item is None or item.get("owner") != owner:
            self.threads.owned(owner, thread_id)  # name the thread when it is the one missing
            raise not_found("run", run_id, "run_id")
        return self.settler.settle(item)

    def get(self, owner: str, thread_id: str, run_id: str) -> dict:
        """Return a run object."""
        return run_object(self.owned(owner, thread_id, run_id))

    def list(self, owner: str, thread_id: str, *, limit: int = 20, order: str = "desc",
             after: str | None = None, before: str | None = None) -> Page:
        """Return a page of the thread's run objects (each run settled first)."""
        thread = self.threads.owned(owner, thread_id)
        page = self.store.query(thread["pk"], keys.RUN, limit=limit, order=order,
                                after=keys.cursor(keys.RUN, after), before=keys.cursor(keys.RUN, before))
        return objects(page, lambda item: run_object(self.settler.settle(item)))

    def modify(self, owner: str, thread_id: str, run_id: str, metadata: dict | None) -> dict:
        """Replace a run's metadata (None leaves it); return the run object."""
        first = self.owned(owner, thread_id, run_id)
        if metadata is None:
            return run_object(first)

        def attempt(n: int) -> dict:
            item = first if n == 0 else self.owned(owner, thread_id, run_id)
            return run_object(self.store.update(item["pk"], item["sk"], set={"metadata": metadata},
                                                expected_version=item["version"]))

        return retry_on_conflict(attempt, MODIFY_TRIES,
                                 lambda: ConflictError("The run is changing too fast to update; try again."))

    # -- cancel and tool outputs --------------------------------------------------------------

    def cancel(self, owner: str, thread_id: str, run_id: str) -> dict:
        """Cancel a run: at once when queued or waiting, via `cancelling` when in progress."""
        return self.canceller.cancel(self.owned(owner, thread_id, run_id))

    def submit_tool_outputs(self, owner: str, thread_id: str, run_id: str, outputs: list[dict],
                            events: Events | None = None) -> dict:
        """Answer a run's pending tool calls (each exactly once) and carry the run on."""
        require_upstream(self.llm)
        return self.submitter.submit(self.owned(owner, thread_id, run_id), outputs, events or Events())

    # -- steps --------------------------------------------------------------------------------

    def list_steps(self, owner: str, thread_id: str, run_id: str, *, limit: int = 20, order: str = "desc",
                   after: str | None = None, before: str | None = None, include: list[str] | tuple = ()) -> Page:
        """Return a page of a run's step objects (`include`: see `shaped_step`)."""
        self.owned(owner, thread_id, run_id)
        page = self.steps.page(run_id, limit=limit, order=order, after=after, before=before)
        return objects(page, lambda item: shaped_step(item, include))

    def get_step(self, owner: str, thread_id: str, run_id: str, step_id: str, include: list[str] | tuple = ()) -> dict:
        """Return one run step object."""
        self.owned(owner, thread_id, run_id)
        item = self.steps.item(run_id, step_id)
        if item is None:
            raise not_found("run step", step_id, "step_id")
        return shaped_step(item, include)

    # -- the thread's delete, the sweeper -----------------------------------------------------

    def sweep(self) -> int:
        """End every active run whose lease or wait ran out; return how many were ended."""
        return self.settler.sweep()
