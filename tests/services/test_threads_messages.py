"""The threads and messages services on a real SQLite store: pages, history, run messages, deletion."""

from __future__ import annotations

import io

import pytest

from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services import build_services
from askservice.services.messages import MessageRecords, MessagesService, content_parts, to_object
from askservice.services.threads import ThreadsService
from askservice.store.base import ABSENT
from tests.schema import assert_schema

OWNER = "client-a"


class CountingStore:
    """The real store, recording the name of every call made through it."""

    def __init__(self, store):
        self.store = store
        self.calls: list[str] = []

    def __getattr__(self, name):
        attr = getattr(self.store, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self.calls.append(name)
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def services(settings_for):
    services = build_services(settings_for())
    yield services
    services.store.close()


def user_messages(n: int) -> list[dict]:
    return [{"role": "user", "content": f"m{i}"} for i in range(n)]


def test_a_page_of_100_messages_is_one_query(services):
    thread = services.threads.create(OWNER, {"messages": user_messages(101)})
    counting = CountingStore(services.store)
    checker = services.messages.checker
    messages = MessagesService(counting, ThreadsService(counting, checker, services.threads.delete_runs), checker,
                               lambda thread: None)
    page = messages.list(OWNER, thread["id"], limit=100, order="asc")
    assert counting.calls == ["get", "query"]  # the thread's ownership, then the page
    assert len(page.items) == 100 and page.has_more
    assert [m["content"][0]["text"]["value"] for m in page.items] == [f"m{i}" for i in range(100)]


@pytest.fixture
def records(services):
    return MessageRecords(services.store)


def test_history_is_oldest_first_across_pages(services, records):
    thread = services.threads.create(OWNER, {"messages": user_messages(105)})
    history = records.history(thread["id"])
    assert [m["content"][0]["text"]["value"] for m in history] == [f"m{i}" for i in range(105)]
    assert [m["content"][0]["text"]["value"] for m in records.history(thread["id"], last=2)] == ["m103", "m104"]


def test_run_messages_in_progress_completed_and_incomplete(services, records):
    thread = services.threads.create(OWNER, {})
    messages = records
    item = messages.new_assistant_item(OWNER, thread["id"], "asst_x", "run_x")
    services.store.put(item, ABSENT)
    assert_schema(to_object(item), "MessageObject")
    assert (item["status"], item["role"], item["content"], item["run_id"]) == ("in_progress", "assistant", [], "run_x")
    done = messages.finished_item(item, "4", "completed")
    assert done["content"] == [{"type": "text", "text": {"value": "4", "annotations": []}}] and done["completed_at"]
    assert_schema(to_object(done), "MessageObject")
    cut = messages.mark_incomplete(thread["id"], item["id"], "run_cancelled")
    assert (cut["status"], cut["incomplete_details"], bool(cut["incomplete_at"])) == ("incomplete", {"reason": "run_cancelled"}, True)
    assert_schema(to_object(cut), "MessageObject")
    assert messages.mark_incomplete(thread["id"], item["id"], "run_failed")["incomplete_details"]["reason"] == "run_cancelled"
    truncated = messages.finished_item(item, "partial", "incomplete", "max_tokens")
    assert truncated["incomplete_details"] == {"reason": "max_tokens"} and truncated["completed_at"] is None


def test_messages_filtered_by_run(services, records):
    thread = services.threads.create(OWNER, {"messages": user_messages(3)})
    mine = records.new_assistant_item(OWNER, thread["id"], "asst_x", "run_a")
    other = records.new_assistant_item(OWNER, thread["id"], "asst_x", "run_b")
    services.store.put(mine, ABSENT)
    services.store.put(other, ABSENT)
    page = services.messages.list(OWNER, thread["id"], run_id="run_a")
    assert [m["id"] for m in page.items] == [mine["id"]]


def test_deleting_a_thread_deletes_its_runs_then_empties_its_partition(services):
    thread = services.threads.create(OWNER, {"messages": user_messages(3)})
    pk = f"thread#{thread['id']}"
    services.store.put({"pk": pk, "sk": "run#run_x", "id": "run_x"}, ABSENT)
    seen = []
    threads = ThreadsService(services.store, services.messages.checker,
                             lambda thread_id: seen.append((thread_id, threads.item(thread_id))))
    threads.delete(OWNER, thread["id"])
    assert seen == [(thread["id"], None)]  # the thread was already gone for readers
    assert services.store.query(pk, limit=100).items == []
    with pytest.raises(NotFoundError):
        services.messages.list(OWNER, thread["id"])


def test_another_owner_cannot_reach_a_thread(services, records):
    thread = services.threads.create(OWNER, {"messages": user_messages(1)})
    for call in (lambda: services.threads.get("client-b", thread["id"]),
                 lambda: services.messages.list("client-b", thread["id"]),
                 lambda: services.messages.create("client-b", thread["id"], {"role": "user", "content": "x"}),
                 lambda: services.threads.delete("client-b", thread["id"])):
        with pytest.raises(NotFoundError):
            call()
    assert len(records.history(thread["id"])) == 1


def test_content_parts():
    assert content_parts("hi") == [{"type": "text", "text": {"value": "hi", "annotations": []}}]
    image = {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "auto"}}
    assert content_parts([{"type": "text", "text": "a"}, image])[1] == image
    for empty in ("", [], [{"type": "text", "text": ""}]):
        with pytest.raises(InvalidRequestError):
            content_parts(empty)


def test_a_message_with_a_bad_role_from_runs_is_refused(services):
    thread = services.threads.create(OWNER, {})
    with pytest.raises(InvalidRequestError):
        services.messages.create(OWNER, thread["id"], {"role": "system", "content": "x"})


def test_a_message_racing_a_thread_deletion_is_not_left_behind(services):
    thread = services.threads.create(OWNER, {})

    class DeletedMeanwhile(ThreadsService):
        """The thread is found, then deleted before the message is written."""

        def owned(self, owner, thread_id):
            item = super().owned(owner, thread_id)
            self.store.delete(item["pk"], "meta")
            return item

    checker = services.messages.checker
    racing = MessagesService(services.store, DeletedMeanwhile(services.store, checker, services.threads.delete_runs),
                             checker, services.messages.active_run)
    with pytest.raises(NotFoundError):
        racing.create(OWNER, thread["id"], {"role": "user", "content": "late"})
    assert services.store.query(f"thread#{thread['id']}", limit=10).items == []


def test_a_search_attachment_racing_another_write_leaves_one_thread_store(services):
    file_id = services.file_search.files.create(OWNER, "a.txt", io.BytesIO(b"alpha " * 50), "assistants")["id"]
    thread = services.threads.create(OWNER, {})
    stale = services.threads.owned(OWNER, thread["id"])
    services.threads.modify(OWNER, thread["id"], {"metadata": {"k": "v"}})  # the version moves on
    services.threads.attach_for_search(OWNER, stale, [file_id])
    (vs_id,) = services.threads.owned(OWNER, thread["id"])["tool_resources"]["file_search"]["vector_store_ids"]
    stores = services.file_search.vector_stores.list(OWNER, 100, "asc", None, None).items
    assert [s["id"] for s in stores] == [vs_id]  # the store made for the losing write was dropped
