"""Every validation rule of assistants, threads and messages: a clear 4xx naming the param, nothing written."""

from __future__ import annotations

import json

import pytest

from tests.web.support import api

FN = {"type": "function", "function": {"name": "ok"}}
MANY = {str(i): "v" for i in range(17)}

ASSISTANT_CASES = [
    ("missing model", {}, "model"),
    ("model not a string", {"model": 5}, "model"),
    ("empty model", {"model": ""}, "model"),
    ("name too long", {"name": "n" * 257}, "name"),
    ("description too long", {"description": "d" * 513}, "description"),
    ("instructions too long", {"instructions": "i" * 256001}, "instructions"),
    ("instructions not a string", {"instructions": ["x"]}, "instructions"),
    ("tools not a list", {"tools": {"type": "code_interpreter"}}, "tools"),
    ("unknown tool type", {"tools": [{"type": "browser"}]}, "tools[0].type"),
    ("function tool without function", {"tools": [{"type": "function"}]}, "tools[0]"),
    ("function without name", {"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
    ("function name with a space", {"tools": [{"type": "function", "function": {"name": "add numbers"}}]},
     "tools[0].function.name"),
    ("function name of 65 characters", {"tools": [{"type": "function", "function": {"name": "f" * 65}}]},
     "tools[0].function.name"),
    ("function parameters not an object", {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
     "tools[0].function.parameters"),
    ("129 tools", {"tools": [FN] * 129}, "tools"),
    ("file_search max_num_results 51", {"tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
     "tools[0].file_search.max_num_results"),
    ("file_search score_threshold 2",
     {"tools": [{"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 2}}}]},
     "tools[0].file_search.ranking_options.score_threshold"),
    ("temperature above 2", {"temperature": 2.01}, "temperature"),
    ("temperature below 0", {"temperature": -0.1}, "temperature"),
    ("temperature as a string", {"temperature": "1"}, "temperature"),
    ("top_p above 1", {"top_p": 1.5}, "top_p"),
    ("top_p below 0", {"top_p": -1}, "top_p"),
    ("response_format unknown string", {"response_format": "json"}, "response_format"),
    ("response_format unknown type", {"response_format": {"type": "xml"}}, "response_format.type"),
    ("response_format json_schema without schema", {"response_format": {"type": "json_schema"}}, "response_format"),
    ("response_format json_schema bad name",
     {"response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}}, "response_format.json_schema.name"),
    ("metadata of 17 pairs", {"metadata": MANY}, "metadata"),
    ("metadata key of 65 characters", {"metadata": {"k" * 65: "v"}}, "metadata"),
    ("metadata value of 513 characters", {"metadata": {"k": "v" * 513}}, "metadata"),
    ("metadata value not a string", {"metadata": {"k": 1}}, "metadata.k"),
    ("metadata not an object", {"metadata": ["k"]}, "metadata"),
    ("21 code_interpreter files", {"tool_resources": {"code_interpreter": {"file_ids": ["file-x"] * 21}}},
     "tool_resources.code_interpreter.file_ids"),
    ("2 vector stores", {"tool_resources": {"file_search": {"vector_store_ids": ["vs_a", "vs_b"]}}},
     "tool_resources.file_search.vector_store_ids"),
    ("a vector store id and a new store",
     {"tool_resources": {"file_search": {"vector_store_ids": ["vs_a"], "vector_stores": [{"file_ids": []}]}}},
     "tool_resources.file_search"),
    ("reasoning_effort unknown", {"reasoning_effort": "extreme"}, "reasoning_effort"),
]

MESSAGE_CASES = [
    ("missing role", {"content": "x"}, "role"),
    ("role system", {"role": "system", "content": "x"}, "role"),
    ("missing content", {"role": "user"}, "content"),
    ("empty string content", {"role": "user", "content": ""}, "content"),
    ("empty parts", {"role": "user", "content": []}, "content"),
    ("empty text part", {"role": "user", "content": [{"type": "text", "text": ""}]}, "content[0].text"),
    ("content a number", {"role": "user", "content": 5}, "content"),
    ("unknown part type", {"role": "user", "content": [{"type": "audio"}]}, "content[0].type"),
    ("text part without text", {"role": "user", "content": [{"type": "text"}]}, "content[0]"),
    ("image_url without url", {"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
     "content[0].image_url.url"),
    ("image_url not a URL", {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "not a url"}}]},
     "content[0].image_url.url"),
    ("image detail unknown",
     {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "max"}}]},
     "content[0].image_url.detail"),
    ("attachment without file_id", {"role": "user", "content": "x", "attachments": [{"tools": []}]},
     "attachments[0].file_id"),
    ("attachment tool unknown",
     {"role": "user", "content": "x", "attachments": [{"file_id": "file-x", "tools": [{"type": "function"}]}]},
     "attachments[0].tools[0].type"),
    ("metadata of 17 pairs", {"role": "user", "content": "x", "metadata": MANY}, "metadata"),
]

NOT_FOUND_CASES = [
    ("unknown code_interpreter file", "/assistants",
     {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
     "tool_resources.code_interpreter.file_ids[0]"),
    ("unknown vector store", "/assistants",
     {"model": "m", "tool_resources": {"file_search": {"vector_store_ids": ["vs_nope"]}}},
     "tool_resources.file_search.vector_store_ids[0]"),
    ("unknown file for a new vector store", "/threads",
     {"tool_resources": {"file_search": {"vector_stores": [{"file_ids": ["file-nope"]}]}}},
     "tool_resources.file_search.vector_stores[0].file_ids[0]"),
    ("unknown attachment in an initial message", "/threads",
     {"messages": [{"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": []}]}]},
     "messages[0].attachments[0].file_id"),
    ("unknown image file in an initial message", "/threads",
     {"messages": [{"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "file-nope"}}]}]},
     "messages[0].content[0].image_file.file_id"),
]


@pytest.fixture(scope="module")
def thread_id(assistants_service):
    return api(assistants_service, "POST", "/threads", json={}).json()["id"]


@pytest.fixture(scope="module")
def assistant_id(assistants_service):
    return api(assistants_service, "POST", "/assistants", json={"model": "m"}).json()["id"]


def assert_invalid(answer, param: str, status: int = 400):
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["param"] == param, error
    assert error["type"] == "invalid_request_error" and error["message"]


def count_assistants(service) -> int:
    return len(api(service, "GET", "/assistants", params={"limit": 100}).json()["data"])


@pytest.mark.parametrize("body,param", [c[1:] for c in ASSISTANT_CASES], ids=[c[0] for c in ASSISTANT_CASES])
def test_create_assistant_rejects(assistants_service, body, param):
    assert_invalid(api(assistants_service, "POST", "/assistants", json={"model": "m", **body} if "model" not in param else body), param)


@pytest.mark.parametrize("body,param", [c[1:] for c in ASSISTANT_CASES if c[2] != "model"],
                         ids=[c[0] for c in ASSISTANT_CASES if c[2] != "model"])
def test_modify_assistant_rejects(assistants_service, assistant_id, body, param):
    assert_invalid(api(assistants_service, "POST", f"/assistants/{assistant_id}", json=body), param)
    assert api(assistants_service, "GET", f"/assistants/{assistant_id}").json()["metadata"] == {}


@pytest.mark.parametrize("body,param", [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES])
def test_create_message_rejects(assistants_service, thread_id, body, param):
    assert_invalid(api(assistants_service, "POST", f"/threads/{thread_id}/messages", json=body), param)
    assert api(assistants_service, "GET", f"/threads/{thread_id}/messages").json()["data"] == []


@pytest.mark.parametrize("body,param", [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES])
def test_create_thread_rejects_bad_initial_messages(assistants_service, body, param):
    assert_invalid(api(assistants_service, "POST", "/threads", json={"messages": [{"role": "user", "content": "ok"}, body]}),
                   f"messages[1].{param}")


@pytest.mark.parametrize("name,path,body,param", NOT_FOUND_CASES, ids=[c[0] for c in NOT_FOUND_CASES])
def test_unknown_ids_in_bodies_are_404(assistants_service, name, path, body, param):
    before = count_assistants(assistants_service)
    assert_invalid(api(assistants_service, "POST", path, json=body), param, status=404)
    assert count_assistants(assistants_service) == before


def test_unknown_attachment_on_a_message_is_404(assistants_service, thread_id):
    body = {"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": []}]}
    assert_invalid(api(assistants_service, "POST", f"/threads/{thread_id}/messages", json=body), "attachments[0].file_id", 404)


@pytest.mark.parametrize("path,body,param", [
    ("/threads", {"messages": {"role": "user"}}, "messages"),
    ("/threads", {"metadata": MANY}, "metadata"),
    ("/threads", {"tool_resources": {"code_interpreter": {"file_ids": "file-x"}}}, "tool_resources.code_interpreter.file_ids"),
], ids=["messages not a list", "metadata of 17 pairs", "file_ids not a list"])
def test_create_thread_rejects(assistants_service, path, body, param):
    assert_invalid(api(assistants_service, "POST", path, json=body), param)


def test_modify_thread_rejects_metadata_of_17_pairs(assistants_service, thread_id):
    assert_invalid(api(assistants_service, "POST", f"/threads/{thread_id}", json={"metadata": MANY}), "metadata")


def test_modify_message_rejects_metadata_of_17_pairs(assistants_service, thread_id):
    message = api(assistants_service, "POST", "/threads", json={"messages": [{"role": "user", "content": "m"}]}).json()
    listed = api(assistants_service, "GET", f"/threads/{message['id']}/messages").json()["data"][0]
    path = f"/threads/{message['id']}/messages/{listed['id']}"
    assert_invalid(api(assistants_service, "POST", path, json={"metadata": MANY}), "metadata")
    assert api(assistants_service, "GET", path).json()["metadata"] == {}


@pytest.mark.parametrize("query,param", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "ten"}, "limit"), ({"order": "up"}, "order"),
])
@pytest.mark.parametrize("path", ["/assistants", "/threads/{thread}/messages"])
def test_list_queries_are_checked(assistants_service, thread_id, path, query, param):
    assert_invalid(api(assistants_service, "GET", path.format(thread=thread_id), params=query), param)


def test_metadata_at_the_limits_is_accepted(assistants_service, thread_id):
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    for path in ("/assistants", "/threads", f"/threads/{thread_id}/messages"):
        body = {"model": "m", "role": "user", "content": "x", "metadata": metadata}
        answer = api(assistants_service, "POST", path, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"] == metadata


@pytest.mark.parametrize("path,methods", [
    ("/assistants/{asst}", "GET POST DELETE"), ("/assistants/asst_nope", "GET POST DELETE"),
    ("/assistants/..%2F..", "GET POST DELETE"), ("/threads/thread_nope", "GET POST DELETE"),
    ("/threads/{asst}", "GET POST DELETE"), ("/threads/thread_nope/messages", "GET POST"),
    ("/threads/{thread}/messages/msg_nope", "GET POST DELETE"), ("/threads/{thread}/messages/not-an-id", "GET POST DELETE"),
])
def test_unknown_or_malformed_ids_are_404(assistants_service, thread_id, assistant_id, path, methods):
    path = path.format(thread=thread_id, asst=assistant_id.replace("asst_", "asst_x"))
    for method in methods.split():
        answer = api(assistants_service, method, path, json={"role": "user", "content": "x", "model": "m"})
        assert answer.status_code == 404, (method, answer.text)
        assert answer.json()["error"]["type"] == "invalid_request_error"


def test_bodies_that_are_not_json_objects(assistants_service):
    as_text = api(assistants_service, "POST", "/assistants", data="model=m", headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    broken = api(assistants_service, "POST", "/assistants", data="{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    array = api(assistants_service, "POST", "/threads", json=[{"role": "user"}])
    assert array.status_code == 400


def test_a_body_past_the_limit_is_413(assistants_service):
    answer = api(assistants_service, "POST", "/assistants", json={"model": "m", "instructions": "x" * 1_100_000})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "request_too_large"


def test_instructions_at_the_limit_are_kept_whole(assistants_service):
    instructions = "é" * 256000  # 512 KB of UTF-8: past a DynamoDB item, under the body limit
    body = json.dumps({"model": "m", "instructions": instructions}, ensure_ascii=False).encode()
    created = api(assistants_service, "POST", "/assistants", data=body, headers={"Content-Type": "application/json"})
    assert created.status_code == 200, created.text[:300]
    assert api(assistants_service, "GET", f"/assistants/{created.json()['id']}").json()["instructions"] == instructions


def test_large_messages_are_kept_whole(assistants_service):
    thread_id = api(assistants_service, "POST", "/threads", json={}).json()["id"]
    text = "é" * 250000  # 500 KB of UTF-8: past a DynamoDB item, under the body limit
    body = json.dumps({"role": "user", "content": text}, ensure_ascii=False).encode()
    created = api(assistants_service, "POST", f"/threads/{thread_id}/messages", data=body,
                  headers={"Content-Type": "application/json"})
    assert created.status_code == 200, created.text[:300]
    path = f"/threads/{thread_id}/messages/{created.json()['id']}"
    assert api(assistants_service, "GET", path).json()["content"][0]["text"]["value"] == text
    body = json.dumps({"messages": [{"role": "user", "content": text}]}, ensure_ascii=False).encode()
    thread = api(assistants_service, "POST", "/threads", data=body, headers={"Content-Type": "application/json"}).json()
    listed = api(assistants_service, "GET", f"/threads/{thread['id']}/messages").json()["data"]
    assert listed[0]["content"][0]["text"]["value"] == text
