"""The conversations service in process, on a real store (both backends): what the Responses API uses.

`context` of a long conversation costs a bounded number of store calls, and `keep` bounds it
further; `append_operations` appends in one transaction, refused once the meta moved; appends of
many greenlets at once keep every item, each append in one piece; a thread of more messages than
one transaction holds migrates whole, in order.
"""

from __future__ import annotations

import threading

import pytest

from askservice.errors import NotFoundError
from askservice.services.conversations.log import MAX_APPEND
from askservice.store.dynamodb import DynamoStore
from askservice.store.base import ConditionFailed
from tests.conftest import BACKENDS, backend_services
from tests.store.trips import Calls, RoundTrips

OWNER = "client-a"
ITEMS = 2_500


def round_trips(store) -> Calls:
    """Count the store calls that are one round trip each: a walk's pages count one by one."""
    return Calls(store, ("get", "query", "transact"))


@pytest.fixture(params=BACKENDS)
def services(request, settings_for, monkeypatch):
    yield from backend_services(request, settings_for, monkeypatch)


def _user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": text}


def test_context_of_a_long_conversation_is_a_few_round_trips(services):
    conversations = services.conversations
    conversation = conversations.create(OWNER, {"items": [_user(f"m{n}") for n in range(ITEMS)]})

    with round_trips(services.store) as everything, RoundTrips(services.store) as sent:
        meta, items = conversations.context(OWNER, conversation["id"])
    assert [i["content"][0]["text"] for i in items] == [f"m{n}" for n in range(ITEMS)]
    assert meta["length"] == ITEMS and everything.count == 1 + 3  # the meta, then pages of 1000
    if isinstance(services.store, DynamoStore):
        assert sent.count == 1 + 3  # HTTP requests: no page passes 1 MB

    seen = []
    with round_trips(services.store) as recent:
        _, newest = conversations.context(OWNER, conversation["id"], keep=lambda read: seen.append(len(read)) and False)
    assert seen == [1000] and recent.count == 2
    assert [i["content"][0]["text"] for i in newest] == [f"m{n}" for n in range(ITEMS - 1000, ITEMS)]
    with pytest.raises(NotFoundError):
        conversations.context("client-b", conversation["id"])


def test_append_operations_are_one_transaction_at_the_meta_version(services):
    conversations, store = services.conversations, services.store
    conversation = conversations.create(OWNER, {"items": [_user("question")]})
    meta = conversations.owned(OWNER, conversation["id"])
    answer = [{"id": f"msg_answer{n}", "type": "message", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": f"part {n}", "annotations": [], "logprobs": []}]}
              for n in range(2)]
    with round_trips(store) as calls:
        store.transact(conversations.append_operations(meta, answer, set={"active_response": None}))
    assert calls.count == 1
    with pytest.raises(ConditionFailed):  # the meta moved: the caller re-reads it
        store.transact(conversations.append_operations(meta, [{**answer[0], "id": "msg_late"}]))
    meta, items = conversations.context(OWNER, conversation["id"])
    assert meta["length"] == 3 and [i["id"] for i in items][1:] == ["msg_answer0", "msg_answer1"]
    assert conversations.get_item(OWNER, conversation["id"], "msg_answer1")["content"][0]["text"] == "part 1"
    with pytest.raises(ValueError):
        conversations.append_operations(meta, [_user("x")] * (MAX_APPEND + 1))


def test_a_long_thread_migrates_whole_and_in_order(services):
    thread = services.threads.create(OWNER, {"metadata": {"k": "v"}, "messages": [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"t{n}"} for n in range(2 * MAX_APPEND + 3)]})
    conversation = services.conversations.create(OWNER, {"thread_id": thread["id"]})
    _, items = services.conversations.context(OWNER, conversation["id"])
    assert [i["content"][0]["text"] for i in items] == [f"t{n}" for n in range(2 * MAX_APPEND + 3)]
    assert [i["role"] for i in items[:2]] == ["user", "assistant"] and conversation["metadata"] == {"k": "v"}


def test_appends_of_many_greenlets_at_once_keep_every_item_in_one_piece(services):
    conversations = services.conversations
    conversation = conversations.create(OWNER, {})
    writers, appends, per_append = 20, 3, 3

    def write(writer: int) -> None:
        for append in range(appends):
            conversations.add_items(OWNER, conversation["id"],
                                    [_user(f"{writer}/{append}/{n}") for n in range(per_append)])

    greenlets = [threading.Thread(target=write, args=(w,)) for w in range(writers)]  # greenlets: gevent patched
    for greenlet in greenlets:
        greenlet.start()
    for greenlet in greenlets:
        greenlet.join()
    meta, items = conversations.context(OWNER, conversation["id"])
    texts = [i["content"][0]["text"] for i in items]
    assert meta["length"] == len(texts) == writers * appends * per_append
    assert sorted(texts) == sorted(f"{w}/{a}/{n}" for w in range(writers) for a in range(appends)
                                   for n in range(per_append))
    blocks = [texts[start:start + per_append] for start in range(0, len(texts), per_append)]
    assert all([t.rsplit("/", 1)[0] for t in block] == [block[0].rsplit("/", 1)[0]] * per_append for block in blocks)
