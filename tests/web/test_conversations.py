"""The Conversations API through the official Python SDK, against gunicorn+gevent on both store backends."""

from __future__ import annotations

import threading

import openai
import pytest

from tests.schema import assert_schema
from tests.web.assistant_support import DEPRECATION
from tests.web.support import KEY_B, api, sdk_on


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


def _user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_conversation_crud(sdk, runs_short_service):
    conversation = sdk.conversations.create(metadata={"topic": "demo"}, items=[
        {"role": "developer", "content": "Be brief."}, _user("hello"),
        {"type": "message", "role": "assistant", "content": "Hi!"},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        {"type": "reasoning", "id": "rs_given", "summary": [{"type": "summary_text", "text": "thought"}]},
    ])
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "demo"}
    raw = api(runs_short_service, "GET", f"/conversations/{conversation.id}").json()
    assert_schema(raw, "ConversationResource")
    assert sdk.conversations.retrieve(conversation.id).model_dump() == conversation.model_dump()

    updated = sdk.conversations.update(conversation.id, metadata={"topic": "changed"})
    assert updated.metadata == {"topic": "changed"} and updated.created_at == conversation.created_at
    assert api(runs_short_service, "GET", f"/api/v1/conversations/{conversation.id}", prefix="").json()["metadata"] \
        == {"topic": "changed"}

    items = api(runs_short_service, "GET", f"/conversations/{conversation.id}/items?order=asc").json()
    assert_schema(items, "ConversationItemList")
    assert [i["type"] for i in items["data"]] == ["message", "message", "message", "function_call",
                                                  "function_call_output", "reasoning"]
    assert [i["id"][:3] for i in items["data"]] == ["msg", "msg", "msg", "fc_", "fco", "rs_"]
    assert items["data"][-1]["id"] == "rs_given"
    assert items["data"][2]["content"][0]["type"] == "output_text"

    deleted = sdk.conversations.delete(conversation.id)
    assert deleted.deleted and deleted.id == conversation.id
    assert_schema(deleted.model_dump(), "DeletedConversationResource")
    assert api(runs_short_service, "DELETE", f"/conversations/{conversation.id}").status_code == 404
    with pytest.raises(openai.NotFoundError) as gone:
        sdk.conversations.retrieve(conversation.id)
    assert gone.value.body["param"] == "conversation_id"
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.items.list(conversation.id)


def test_items_add_page_retrieve_delete(sdk, runs_short_service):
    conversation = sdk.conversations.create()
    added = sdk.conversations.items.create(conversation.id, items=[_user(f"m{n}") for n in range(7)])
    assert [i.content[0].text for i in added.data] == [f"m{n}" for n in range(7)] and not added.has_more
    raw = api(runs_short_service, "POST", f"/conversations/{conversation.id}/items",
              json={"items": [_user("m7")]}).json()
    assert_schema(raw, "ConversationItemList")
    ids = [i.id for i in added.data] + [raw["data"][0]["id"]]

    newest = sdk.conversations.items.list(conversation.id, limit=3)
    assert [i.id for i in newest.data] == ids[::-1][:3] and newest.has_more
    after = sdk.conversations.items.list(conversation.id, limit=3, order="asc", after=ids[2])
    assert [i.id for i in after.data] == ids[3:6]
    assert [i.id for i in sdk.conversations.items.list(conversation.id, limit=2, order="asc")] == ids  # auto-paging
    assert [i.id for i in sdk.conversations.items.list(conversation.id, limit=3)] == ids[::-1]

    item = sdk.conversations.items.retrieve(ids[4], conversation_id=conversation.id, include=["message.output_text.logprobs"])
    assert item.id == ids[4] and item.content[0].text == "m4"
    assert_schema(api(runs_short_service, "GET", f"/conversations/{conversation.id}/items/{ids[4]}").json(),
                  "ConversationItem")

    after_delete = sdk.conversations.items.delete(ids[4], conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    raw = api(runs_short_service, "DELETE", f"/conversations/{conversation.id}/items/{ids[5]}").json()
    assert_schema(raw, "ConversationResource")
    assert raw == sdk.conversations.retrieve(conversation.id).model_dump()
    assert [i.id for i in sdk.conversations.items.list(conversation.id, order="asc")] == ids[:4] + ids[6:]
    for call in (lambda: sdk.conversations.items.retrieve(ids[4], conversation_id=conversation.id),
                 lambda: sdk.conversations.items.delete(ids[5], conversation_id=conversation.id)):
        with pytest.raises(openai.NotFoundError) as missing:
            call()
        assert missing.value.body["param"] == "item_id"


def test_another_clients_conversation_is_a_404(sdk, runs_short_service):
    conversation = sdk.conversations.create(items=[_user("mine")])
    item_id = sdk.conversations.items.list(conversation.id).data[0].id
    other = sdk_on(runs_short_service, KEY_B)
    calls = {
        "conversation_id": [
            lambda: other.conversations.retrieve(conversation.id),
            lambda: other.conversations.update(conversation.id, metadata={"x": "y"}),
            lambda: other.conversations.delete(conversation.id),
            lambda: other.conversations.items.create(conversation.id, items=[_user("theirs")]),
            lambda: other.conversations.items.list(conversation.id),
            lambda: other.conversations.items.retrieve(item_id, conversation_id=conversation.id),
            lambda: other.conversations.items.delete(item_id, conversation_id=conversation.id),
            lambda: other.conversations.retrieve("conv_malformed"),
        ],
    }
    for param, tries in calls.items():
        for call in tries:
            with pytest.raises(openai.NotFoundError) as refused:
                call()
            assert refused.value.body["param"] == param
    assert [i.id for i in sdk.conversations.items.list(conversation.id)] == [item_id]
    assert sdk.conversations.retrieve(conversation.id).metadata == {}


@pytest.mark.parametrize("method, path, body, param", [
    ("POST", "/conversations", {"items": [_user("x")] * 21}, "items"),
    ("POST", "/conversations", {"items": [{"type": "bogus"}]}, "items[0].type"),
    ("POST", "/conversations", {"items": [_user("x"), {"role": "user", "content": [{"type": "nope"}]}]},
     "items[1].content[0].type"),
    ("POST", "/conversations", {"items": [{"type": "item_reference", "id": "msg_1"}]}, "items[0].type"),
    ("POST", "/conversations", {"items": [{**_user("a"), "id": "m"}, {**_user("b"), "id": "m"}]}, "items[1].id"),
    ("POST", "/conversations", {"items": [{**_user("a"), "id": "m" * 129}]}, "items[0].id"),
    ("POST", "/conversations", {"metadata": {"k": 1}}, "metadata.k"),
    ("POST", "/conversations", {"thread_id": "thread_x", "items": [_user("a")]}, "items"),
    ("POST", "/conversations", {"thread_id": "thread_x"}, "thread_id"),
    ("POST", "/conversations/{id}", {}, "metadata"),
    ("POST", "/conversations/{id}/items", {"items": []}, "items"),
    ("POST", "/conversations/{id}/items", {"items": [_user("x")] * 21}, "items"),
    ("POST", "/conversations/{id}/items", {"items": [{"type": "function_call"}]}, "items[0].call_id"),
    ("GET", "/conversations/{id}/items?limit=101", None, "limit"),
    ("GET", "/conversations/{id}/items?order=sideways", None, "order"),
    ("GET", "/conversations/{id}/items?after=msg_unknown", None, "after"),
    ("GET", "/conversations/{id}/items?include=nothing", None, "include"),
])
def test_bad_requests_name_the_param(sdk, runs_short_service, method, path, body, param):
    conversation = sdk.conversations.create()
    response = api(runs_short_service, method, path.format(id=conversation.id), json=body)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["param"] == param


def test_racing_appends_keep_every_item_in_one_piece(sdk, runs_short_service):
    conversation = sdk.conversations.create()
    writers, appends, per_append = 8, 3, 4

    def write(writer: int) -> None:
        for append in range(appends):
            sdk.conversations.items.create(conversation.id, items=[
                _user(f"{writer}/{append}/{n}") for n in range(per_append)])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = [i.content[0].text for i in sdk.conversations.items.list(conversation.id, order="asc", limit=100)]
    assert sorted(texts) == sorted(f"{w}/{a}/{n}" for w in range(writers) for a in range(appends)
                                   for n in range(per_append))
    for start in range(0, len(texts), per_append):  # each append's items stay together, in order
        block = texts[start:start + per_append]
        assert [t.rsplit("/", 1)[0] for t in block] == [block[0].rsplit("/", 1)[0]] * per_append
        assert [t.rsplit("/", 1)[1] for t in block] == [str(n) for n in range(per_append)]
    store = runs_short_service.open_store()
    try:
        rows = list(store.query_all(f"conv#{conversation.id}", "item#"))
        meta = store.get(f"conv#{conversation.id}", "meta")
    finally:
        store.close()
    assert [row["position"] for row in rows] == list(range(writers * appends * per_append)) == \
        list(range(meta["length"]))


@pytest.mark.filterwarnings(DEPRECATION)
def test_a_thread_becomes_a_conversation(sdk, runs_short_service):
    thread = sdk.beta.threads.create(metadata={"from": "assistants"}, messages=[
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "text", "text": "second"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
    ])
    before = [m.model_dump() for m in sdk.beta.threads.messages.list(thread.id, order="asc")]

    conversation = sdk.conversations.create(extra_body={"thread_id": thread.id})
    assert conversation.metadata == {"from": "assistants"}
    items = api(runs_short_service, "GET", f"/conversations/{conversation.id}/items?order=asc").json()
    assert_schema(items, "ConversationItemList")
    assert [(i["role"], [p["type"] for p in i["content"]]) for i in items["data"]] == [
        ("user", ["input_text"]), ("assistant", ["output_text"]), ("user", ["input_text", "input_image"])]
    assert [i["content"][0]["text"] for i in items["data"]] == ["first question", "first answer", "second"]

    named = sdk.conversations.create(metadata={"k": "v"}, extra_body={"thread_id": thread.id})
    assert named.metadata == {"k": "v"} and named.id != conversation.id
    assert [m.model_dump() for m in sdk.beta.threads.messages.list(thread.id, order="asc")] == before
    assert sdk.beta.threads.retrieve(thread.id).metadata == {"from": "assistants"}
    with pytest.raises(openai.NotFoundError) as foreign:
        sdk_on(runs_short_service, KEY_B).conversations.create(extra_body={"thread_id": thread.id})
    assert foreign.value.body["param"] == "thread_id"
