"""Assistants, threads and messages through the official SDK, on both prefixes and both backends."""

from __future__ import annotations

import openai
import pytest

from tests.schema import assert_schema
from tests.web.assistant_support import DEPRECATION, checked
from tests.web.support import KEY_A, api

pytestmark = pytest.mark.filterwarnings(DEPRECATION)
SEARCH_TOOL = {"type": "file_search", "file_search": {"max_num_results": 5}}
ADD_TOOL = {
    "type": "function",
    "function": {"name": "add-numbers_2", "description": "Add two numbers",
                 "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
}


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_every_route_answers_spec_objects(assistants_service, prefix):
    with openai.OpenAI(base_url=assistants_service.url(prefix), api_key=KEY_A, max_retries=0) as sdk:
        assistants, threads, messages = sdk.beta.assistants, sdk.beta.threads, sdk.beta.threads.messages

        created = checked(assistants.with_raw_response.create, "AssistantObject", model="gpt-4o", name="Helper",
                          instructions="Be brief.", tools=[{"type": "code_interpreter"}, SEARCH_TOOL, ADD_TOOL],
                          metadata={"team": "qa"}, temperature=0.5, top_p=0.9,
                          response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}})
        assert created.id.startswith("asst_") and created.object == "assistant"
        assert [t.type for t in created.tools] == ["code_interpreter", "file_search", "function"]
        assert created.tools[2].function.name == "add-numbers_2" and created.tools[1].file_search.max_num_results == 5
        assert (created.temperature, created.top_p, created.metadata) == (0.5, 0.9, {"team": "qa"})
        assert created.response_format.json_schema.name == "answer"
        assert checked(assistants.with_raw_response.retrieve, "AssistantObject", created.id) == created
        modified = checked(assistants.with_raw_response.update, "AssistantObject", created.id, name="Renamed",
                           description=None, response_format="auto", metadata={"team": "ops"})
        assert (modified.name, modified.response_format, modified.metadata) == ("Renamed", "auto", {"team": "ops"})
        assert modified.instructions == "Be brief." and modified.model == "gpt-4o"
        page = checked(assistants.with_raw_response.list, "ListAssistantsResponse", limit=1)
        assert page.data[0].id == created.id and page.has_more in (True, False)

        thread = checked(threads.with_raw_response.create, "ThreadObject",
                         messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"}],
                         metadata={"topic": "t"})
        assert thread.id.startswith("thread_") and thread.metadata == {"topic": "t"}
        assert checked(threads.with_raw_response.retrieve, "ThreadObject", thread.id) == thread
        assert checked(threads.with_raw_response.update, "ThreadObject", thread.id, metadata={"topic": "u"}).metadata == {"topic": "u"}

        message = checked(messages.with_raw_response.create, "MessageObject", thread.id, role="user",
                          content=[{"type": "text", "text": "third"},
                                   {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}],
                          metadata={"n": "3"})
        assert (message.thread_id, message.role, message.status, message.attachments) == (thread.id, "user", "completed", [])
        assert message.content[0].text.value == "third" and message.content[0].text.annotations == []
        assert message.content[1].image_url.detail == "low"
        assert checked(messages.with_raw_response.retrieve, "MessageObject", message.id, thread_id=thread.id) == message
        changed = checked(messages.with_raw_response.update, "MessageObject", message.id, thread_id=thread.id,
                          metadata={"n": "4"})
        assert changed.metadata == {"n": "4"}
        listed = checked(messages.with_raw_response.list, "ListMessagesResponse", thread.id, order="asc")
        assert [m.content[0].text.value for m in listed.data] == ["first", "second", "third"]
        assert [m.role for m in listed.data] == ["user", "assistant", "user"]

        gone = checked(messages.with_raw_response.delete, "DeleteMessageResponse", message.id, thread_id=thread.id)
        assert (gone.id, gone.deleted, gone.object) == (message.id, True, "thread.message.deleted")
        with pytest.raises(openai.NotFoundError):
            messages.retrieve(message.id, thread_id=thread.id)
        gone = checked(threads.with_raw_response.delete, "DeleteThreadResponse", thread.id)
        assert (gone.deleted, gone.object) == (True, "thread.deleted")
        with pytest.raises(openai.NotFoundError):
            messages.list(thread.id)
        gone = checked(assistants.with_raw_response.delete, "DeleteAssistantResponse", created.id)
        assert (gone.deleted, gone.object) == (True, "assistant.deleted")
        with pytest.raises(openai.NotFoundError):
            assistants.retrieve(created.id)


def test_defaults_match_openai(sdk_for):
    assistant = sdk_for().beta.assistants.create(model="gpt-4o")
    assert (assistant.name, assistant.description, assistant.instructions) == (None, None, None)
    assert (assistant.tools, assistant.metadata, assistant.temperature, assistant.top_p) == ([], {}, 1.0, 1.0)
    assert assistant.response_format == "auto"
    thread = sdk_for().beta.threads.create()
    assert (thread.metadata, thread.tool_resources.code_interpreter, thread.tool_resources.file_search) == ({}, None, None)
    assert sdk_for().beta.threads.messages.list(thread.id).data == []


def test_math_tutor_walkthrough(sdk_for):
    sdk = sdk_for()
    assistant = sdk.beta.assistants.create(
        name="Math Tutor", instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}], model="gpt-4o",
    )
    thread = sdk.beta.threads.create()
    question = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
    message = sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=question)
    listed = sdk.beta.threads.messages.list(thread_id=thread.id)
    assert [m.id for m in listed.data] == [message.id]
    assert listed.data[0].content[0].text.value == question and listed.data[0].role == "user"
    assert sdk.beta.assistants.retrieve(assistant.id).name == "Math Tutor"


def test_thread_messages_keep_the_given_order(sdk_for):
    texts = [f"message {i}" for i in range(12)]
    thread = sdk_for().beta.threads.create(messages=[{"role": "user", "content": t} for t in texts])
    listed = sdk_for().beta.threads.messages.list(thread.id, order="asc", limit=100)
    assert [m.content[0].text.value for m in listed.data] == texts
    assert [m.created_at for m in listed.data] == sorted(m.created_at for m in listed.data)


def test_deleting_an_assistant_leaves_its_threads_usable(sdk_for):
    sdk = sdk_for()
    assistant = sdk.beta.assistants.create(model="gpt-4o")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    sdk.beta.assistants.delete(assistant.id)
    assert sdk.beta.threads.retrieve(thread.id).id == thread.id
    sdk.beta.threads.messages.create(thread.id, role="user", content="still here")
    assert len(sdk.beta.threads.messages.list(thread.id).data) == 2


def test_deleting_a_thread_deletes_its_messages(sdk_for):
    sdk = sdk_for()
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    message = sdk.beta.threads.messages.list(thread.id).data[0]
    sdk.beta.threads.delete(thread.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.delete(thread.id)


def test_modify_clears_nullable_fields_and_keeps_the_rest(sdk_for):
    sdk = sdk_for()
    assistant = sdk.beta.assistants.create(model="gpt-4o", name="n", instructions="i", tools=[ADD_TOOL], temperature=0.2)
    updated = sdk.beta.assistants.update(assistant.id, instructions=None, model="gpt-4o-mini")
    assert (updated.instructions, updated.model, updated.name, updated.temperature) == (None, "gpt-4o-mini", "n", 0.2)
    assert updated.tools[0].function.name == "add-numbers_2"
    assert sdk.beta.assistants.update(assistant.id, tools=[]).tools == []


def test_openai_beta_header_is_accepted_not_required(assistants_service):
    plain = api(assistants_service, "POST", "/assistants", json={"model": "m"})
    beta = api(assistants_service, "POST", "/assistants", json={"model": "m"}, headers={"OpenAI-Beta": "assistants=v2"})
    assert (plain.status_code, beta.status_code) == (200, 200)
    assert_schema(plain.json(), "AssistantObject")


def test_unknown_fields_are_ignored(assistants_service):
    answer = api(assistants_service, "POST", "/assistants", json={"model": "m", "colour": "blue", "tools": [{"type": "code_interpreter", "x": 1}]})
    assert answer.status_code == 200 and "colour" not in answer.json()
    assert answer.json()["tools"] == [{"type": "code_interpreter"}]


def test_attachments_and_image_files_name_the_callers_files(assistants_service, sdk_for):
    upload = api(assistants_service, "POST", "/files", files={"file": ("notes.txt", b"some notes")}, data={"purpose": "assistants"})
    assert upload.status_code == 200, upload.text
    file_id = upload.json()["id"]
    thread = sdk_for().beta.threads.create()
    message = sdk_for().beta.threads.messages.create(
        thread.id, role="user", content=[{"type": "image_file", "image_file": {"file_id": file_id}}],
        attachments=[{"file_id": file_id, "tools": [{"type": "file_search"}]}],
    )
    assert message.attachments[0].file_id == file_id and message.attachments[0].tools[0].type == "file_search"
    assert message.content[0].image_file.file_id == file_id and message.content[0].image_file.detail == "auto"
    assert_schema(message.model_dump(mode="json"), "MessageObject")


def test_tool_resources_are_checked_and_vector_stores_created(assistants_service, sdk_for):
    upload = api(assistants_service, "POST", "/files", files={"file": ("a.txt", b"alpha beta")}, data={"purpose": "assistants"})
    file_id = upload.json()["id"]
    store = api(assistants_service, "POST", "/vector_stores", json={"name": "docs"}).json()
    assistant = sdk_for().beta.assistants.create(
        model="gpt-4o", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store["id"]]}, "code_interpreter": {"file_ids": [file_id]}},
    )
    assert assistant.tool_resources.file_search.vector_store_ids == [store["id"]]
    assert assistant.tool_resources.code_interpreter.file_ids == [file_id]
    thread = sdk_for().beta.threads.create(tool_resources={"file_search": {"vector_stores": [{"file_ids": [file_id]}]}})
    (made,) = thread.tool_resources.file_search.vector_store_ids
    assert api(assistants_service, "GET", f"/vector_stores/{made}").json()["file_counts"]["total"] == 1
    updated = sdk_for().beta.threads.update(thread.id, tool_resources={"file_search": {"vector_store_ids": [store["id"]]}})
    assert updated.tool_resources.file_search.vector_store_ids == [store["id"]]


def upload(service, name: str, data: bytes) -> str:
    answer = api(service, "POST", "/files", files={"file": (name, data)}, data={"purpose": "assistants"})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def store_file_ids(service, vs_id: str) -> set[str]:
    return {f["id"] for f in api(service, "GET", f"/vector_stores/{vs_id}/files").json()["data"]}


def test_files_attached_for_file_search_go_into_the_threads_vector_store(assistants_service, sdk_for):
    sdk = sdk_for()
    first, second, code_only = (upload(assistants_service, f"{n}.txt", n.encode() * 20) for n in ("one", "two", "code"))
    thread = sdk.beta.threads.create(messages=[
        {"role": "user", "content": "read this", "attachments": [{"file_id": first, "tools": [{"type": "file_search"}]}]},
    ])
    (vs_id,) = thread.tool_resources.file_search.vector_store_ids
    assert store_file_ids(assistants_service, vs_id) == {first}
    assert api(assistants_service, "GET", f"/vector_stores/{vs_id}").json()["expires_after"] == {"anchor": "last_active_at", "days": 7}
    sdk.beta.threads.messages.create(thread.id, role="user", content="and this",
                                     attachments=[{"file_id": second, "tools": [{"type": "file_search"}]},
                                                  {"file_id": code_only, "tools": [{"type": "code_interpreter"}]}])
    assert sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids == [vs_id]
    assert store_file_ids(assistants_service, vs_id) == {first, second}


def test_a_thread_without_a_store_gets_one_on_its_first_search_attachment(assistants_service, sdk_for):
    sdk = sdk_for()
    thread = sdk.beta.threads.create()
    file_id = upload(assistants_service, "later.txt", b"later " * 20)
    sdk.beta.threads.messages.create(thread.id, role="user", content="x", attachments=[{"file_id": file_id, "tools": [{"type": "code_interpreter"}]}])
    assert sdk.beta.threads.retrieve(thread.id).tool_resources.file_search is None
    sdk.beta.threads.messages.create(thread.id, role="user", content="y", attachments=[{"file_id": file_id, "tools": [{"type": "file_search"}]}])
    (vs_id,) = sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
    assert store_file_ids(assistants_service, vs_id) == {file_id}
