"""Run steps: the one place that opens them, closes them, and ends the open ones of a run that stops.

A step is opened `in_progress` in a transaction with `Check(run)` (a deleted thread's run gets
no stray items) and whatever it brings along (the message of a `message_creation` step). It is
closed by `closed` (status + its timestamp, from records.STAMPS), in the writes of whoever
closes it: the end of a turn, the submitted tool outputs. When a run stops mid-way (cancelled,
failed, expired, cut short), `end_open` ends every step still `in_progress`.
"""

from __future__ import annotations

from typing import Iterable

from askservice.ids import is_valid, new_id
from askservice.services import keys
from askservice.store.base import ABSENT, Check, Item, Operation, Page, Put, Store
from askservice.services.runs.records import STAMPS, now

OPEN = "in_progress"


def ending(status: str, **fields) -> Item:
    """Return the attributes that end a step in `status`: the status, its timestamp, and `fields`."""
    return {"status": status, STAMPS[status]: now(), **fields}


def closed(step: Item, status: str, **fields) -> Item:
    """Return `step` (unsaved) ended in `status` at its timestamp, with `fields` set too."""
    return {**step, **ending(status, **fields)}


def open_steps(steps: Iterable[Item]) -> list[Item]:
    """Return the steps still in progress."""
    return [step for step in steps if step["status"] == OPEN]


class Steps:
    """The steps of runs in the store; `records` (MessageRecords) marks a stopped run's message incomplete."""

    def __init__(self, store: Store, records) -> None:
        self.store = store
        self.records = records

    def open(self, run: Item, kind: str, details: dict, also: Iterable[Operation] = ()) -> Item:
        """Write a new `in_progress` step of `run` (with `also`, while the run exists); return it."""
        step_id = new_id("step_")
        pk, sk = keys.step(run["id"], step_id)
        step = {
            "pk": pk, "sk": sk, "owner": run["owner"],
            "id": step_id, "object": "thread.run.step", "created_at": now(), "run_id": run["id"],
            "assistant_id": run["assistant_id"], "thread_id": run["thread_id"], "type": kind, "status": OPEN,
            "cancelled_at": None, "completed_at": None, "expired_at": None, "failed_at": None, "last_error": None,
            "step_details": details, "usage": None, "metadata": None,
        }
        self.store.transact([*also, Put(step, ABSENT), Check(run["pk"], run["sk"])])
        return {**step, "version": 1}

    def end_open(self, steps: Iterable[Item], status: str, error: dict | None = None,
                 message_reason: str | None = None) -> list[Item]:
        """End each step of `steps` still in progress in `status`; return them as written.

        `message_reason`: also mark the message a `message_creation` step was writing incomplete
        (when nobody holds its text; an executor closes its own message with the text it has)."""
        ended = []
        for step in open_steps(steps):
            done = self.store.update(step["pk"], step["sk"], set=ending(status, last_error=error))
            message_id = (step["step_details"].get("message_creation") or {}).get("message_id")
            if message_reason and message_id:
                self.records.mark_incomplete(step["thread_id"], message_id, message_reason)
            ended.append(done)
        return ended

    def load(self, run_id: str) -> list[Item]:
        """Return every step of a run, oldest first."""
        return list(self.store.query_all(keys.steps_pk(run_id), keys.STEP))

    def item(self, run_id: str, step_id: str) -> Item | None:
        """Return a step item, or None (also for a malformed id)."""
        return self.store.get(*keys.step(run_id, step_id)) if is_valid(step_id, "step_") else None

    def page(self, run_id: str, *, limit: int, order: str, after: str | None, before: str | None) -> Page:
        """Return a page of a run's step items."""
        return self.store.query(keys.steps_pk(run_id), keys.STEP, limit=limit, order=order,
                                after=keys.cursor(keys.STEP, after), before=keys.cursor(keys.STEP, before))

    def delete_thread_runs(self, thread_id: str) -> None:
        """Delete a thread's runs and their steps (the thread's own delete calls this)."""
        for run in self.store.query_all(keys.thread_pk(thread_id), keys.RUN):
            self.store.delete_all(keys.steps_pk(run["id"]), keys.STEP)
            self.store.delete(run["pk"], run["sk"])
