"""The gateway through the official SDK: models, chat completions and embeddings routed by model
across two scripted upstreams (alpha, beta) and one that refuses connections (tests/conftest.py
UPSTREAMS_TOML)."""

from __future__ import annotations

import json

import openai
import pytest

from tests.web.assistant_support import DEPRECATION
from tests.web.support import KEY_A, KEY_B, api, sdk_on

MESSAGES = lambda mark: [{"role": "user", "content": f"hello {mark}"}]  # noqa: E731


@pytest.fixture
def sdk(gateway_service):
    return sdk_on(gateway_service, KEY_A)


def only(upstream, mark: str) -> dict:
    """The one request `upstream` received with `mark`."""
    received = upstream.requests(match=mark)
    assert len(received) == 1, received
    return received[0]


def test_models_list_names_and_aliases_owned_by_their_upstream(sdk):
    models = {m.id: m for m in sdk.models.list()}
    assert list(models) == ["chat-a", "a-latest", "chat-b", "embed-a", "embed-b", "chat-down"]
    assert {m.owned_by for m in models.values()} == {"alpha", "beta", "down"}
    assert (models["a-latest"].owned_by, models["chat-b"].owned_by) == ("alpha", "beta")
    assert all(m.object == "model" and m.created > 0 for m in models.values())
    assert sdk.models.retrieve("a-latest").owned_by == "alpha"


def test_an_unknown_model_is_model_not_found_everywhere(sdk):
    calls = [
        lambda: sdk.models.retrieve("gpt-nope"),
        lambda: sdk.chat.completions.create(model="gpt-nope", messages=MESSAGES("x")),
        lambda: sdk.chat.completions.create(model="gpt-nope", messages=MESSAGES("x"), stream=True),
        lambda: sdk.embeddings.create(model="gpt-nope", input="x"),
        lambda: sdk.responses.create(model="gpt-nope", input="x"),
        lambda: sdk.responses.create(model="gpt-nope", input="x", stream=True),
        lambda: sdk.responses.compact(model="gpt-nope", input="x"),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert caught.value.body["code"] == "model_not_found" and "gpt-nope" in caught.value.body["message"]
        assert caught.value.body["param"] == "model"


@pytest.mark.parametrize("model, served_by, as_model", [("chat-a", "alpha", "alpha-chat"), ("a-latest", "alpha", "alpha-chat"),
                                                         ("chat-b", "beta", "beta-chat")])
def test_chat_goes_to_the_upstream_of_its_model_or_alias(sdk, upstream, second_upstream, model, served_by, as_model):
    mark = upstream.marker()
    answer = sdk.chat.completions.create(model=model, messages=MESSAGES(mark), user="end-user-7", temperature=0.2)
    assert answer.choices[0].message.content == f"echo: hello {mark}" and answer.model == as_model
    chosen, other = (upstream, second_upstream) if served_by == "alpha" else (second_upstream, upstream)
    record = only(chosen, mark)
    assert other.requests(match=mark) == []
    assert (record["body"]["model"], record["body"]["user"], record["body"]["temperature"]) == (as_model, "end-user-7", 0.2)
    # the upstream's own key (alpha's comes from ALPHA_KEY), never the client's
    assert record["headers"].get("Authorization") == ("Bearer alpha-secret" if served_by == "alpha" else None)


def test_a_stream_is_relayed_chunk_by_chunk_and_usage_is_asked_only_where_reported(sdk, upstream, second_upstream):
    for model, target in (("chat-a", upstream), ("chat-b", second_upstream)):
        mark = upstream.marker()
        target.script({"content": "one two three", "chunks": 3}, match=mark)
        chunks = list(sdk.chat.completions.create(model=model, messages=MESSAGES(mark), stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three"
        assert all(c.choices for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"
        sent = only(target, mark)["body"]
        # alpha reports streamed usage: asked for (and the usage chunk kept from the client); beta: not asked
        assert sent.get("stream_options") == ({"include_usage": True} if model == "chat-a" else None)


@pytest.mark.parametrize("model, target", [("chat-a", "alpha"), ("chat-b", "beta")])
def test_stream_options_of_the_client_pass_through(sdk, upstream, second_upstream, model, target):
    mark = upstream.marker()
    chunks = list(sdk.chat.completions.create(model=model, messages=MESSAGES(mark), stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    assert only(upstream if target == "alpha" else second_upstream, mark)["body"]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_come_back_as_the_upstream_made_them(sdk, upstream, stream):
    mark = upstream.marker()
    upstream.script({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "call_w1"}]}, match=mark)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    answer = sdk.chat.completions.create(model="chat-a", messages=MESSAGES(mark), tools=tools, stream=stream)
    if stream:
        deltas = [c.choices[0].delta for c in answer if c.choices and c.choices[0].delta.tool_calls]
        assert deltas[0].tool_calls[0].function.name == "get_weather"
        arguments = "".join(d.tool_calls[0].function.arguments for d in deltas)
    else:
        call = answer.choices[0].message.tool_calls[0]
        assert (call.id, call.function.name, answer.choices[0].finish_reason) == ("call_w1", "get_weather", "tool_calls")
        arguments = call.function.arguments
    assert json.loads(arguments) == {"city": "Oslo"}
    assert only(upstream, mark)["body"]["tools"] == tools


def test_embeddings_by_model_in_both_encodings(sdk, upstream):
    mark = upstream.marker()
    floats = sdk.embeddings.create(model="embed-a", input=[f"red apple {mark}", "green pear"], encoding_format="float")
    packed = sdk.embeddings.create(model="embed-a", input=[f"red apple {mark}", "green pear"])  # the SDK asks for base64
    assert [len(d.embedding) for d in floats.data] == [256, 256]
    assert packed.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)
    assert floats.usage.prompt_tokens == 5
    assert {r["body"]["model"] for r in upstream.requests(match=mark)} == {"alpha-embed"}


def test_auth_and_bad_bodies_are_openai_errors(gateway_service):
    for key in ("", "wrong-key"):
        answer = api(gateway_service, "POST", "/chat/completions", key=key, json={"model": "chat-a", "messages": []})
        assert answer.status_code == 401 and answer.json()["error"]["type"] == "invalid_request_error"
    assert api(gateway_service, "GET", "/models", key="wrong-key").status_code == 401
    bad = [
        ("/chat/completions", {"messages": MESSAGES("x")}, "model"),
        ("/chat/completions", {"model": "chat-a", "messages": []}, "messages"),
        ("/chat/completions", {"model": "chat-a", "messages": [{"content": "hi"}]}, "messages[0].role"),
        ("/chat/completions", {"model": "chat-a", "messages": MESSAGES("x"), "stream": "yes"}, "stream"),
        ("/embeddings", {"model": "embed-a"}, "input"),
        ("/embeddings", {"model": "embed-a", "input": "x", "encoding_format": "utf8"}, "encoding_format"),
    ]
    for path, body, param in bad:
        answer = api(gateway_service, "POST", path, json=body)
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param, (path, body, answer.text)
    answer = api(gateway_service, "POST", "/chat/completions", data="{", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_json"


def test_both_prefixes_serve_the_gateway(gateway_service, upstream):
    mark = upstream.marker()
    body = {"model": "chat-a", "messages": MESSAGES(mark)}
    answer = api(gateway_service, "POST", "/chat/completions", prefix="/api/v1", json=body)
    assert answer.status_code == 200 and answer.json()["object"] == "chat.completion"
    assert api(gateway_service, "GET", "/models/chat-b", key=KEY_B, prefix="/api/v1").json()["owned_by"] == "beta"


@pytest.mark.filterwarnings(DEPRECATION)
def test_ask_runs_and_file_search_pick_the_upstream_by_model_too(gateway_service, upstream, second_upstream):
    mark = upstream.marker()
    assert api(gateway_service, "POST", "/ask", json={"question": f"default {mark}"}).status_code == 200
    assert only(second_upstream, f"default {mark}")["body"]["model"] == "beta-chat"  # UPSTREAM_MODEL = chat-b
    assert api(gateway_service, "POST", "/ask", json={"question": f"alias {mark}", "model": "a-latest"}).status_code == 200
    assert only(upstream, f"alias {mark}")["body"]["model"] == "alpha-chat"
    answer = api(gateway_service, "POST", "/ask", json={"question": mark, "model": "gpt-nope"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "model_not_found"
    sdk = sdk_on(gateway_service, KEY_A)
    assistant = sdk.beta.assistants.create(model="a-latest")
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": f"run {mark}"}]})
    assert run.status == "completed" and only(upstream, f"run {mark}")["body"]["model"] == "alpha-chat"
    with pytest.raises(openai.NotFoundError) as caught:  # refused before anything is written
        sdk.beta.threads.create_and_run(assistant_id=assistant.id, model="gpt-nope",
                                        thread={"messages": [{"role": "user", "content": f"nope {mark}"}]})
    assert caught.value.body["code"] == "model_not_found"
    store = sdk.vector_stores.create(name="routed")
    sdk.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("notes.txt", f"routed words {mark}".encode()))
    assert {r["body"]["model"] for r in upstream.requests(match=mark) if r["path"] == "/v1/embeddings"} == {"alpha-embed"}


def test_with_one_upstream_every_model_name_goes_to_it_and_models_are_its_list(ask_service, upstream):
    sdk = sdk_on(ask_service, "key-a")
    mark = upstream.marker()
    answer = sdk.chat.completions.create(model="any-name/at-all", messages=MESSAGES(mark))
    assert answer.choices[0].message.content == f"echo: hello {mark}"
    assert only(upstream, mark)["body"]["model"] == "any-name/at-all"
    assert [m.id for m in sdk.models.list()] == ["scripted-model"]  # the upstream's own list, as it sent it
    assert sdk.models.retrieve("scripted-model").owned_by == "askservice-tests"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("not-listed")


def test_without_an_upstream_the_gateway_answers_503(bare_service):
    for method, path, body in (("GET", "/models", None), ("POST", "/chat/completions", {"model": "m", "messages": MESSAGES("x")}),
                               ("POST", "/embeddings", {"model": "m", "input": "x"})):
        answer = api(bare_service, method, path, json=body)
        assert answer.status_code == 503 and "UPSTREAMS_FILE" in answer.json()["error"]["message"]


def test_responses_go_to_the_upstream_of_their_model(sdk, upstream, second_upstream):
    mark = upstream.marker()
    answer = sdk.responses.create(model="chat-b", input=f"routed {mark}")
    assert answer.output_text == f"echo: routed {mark}" and answer.model == "chat-b"
    assert only(second_upstream, mark)["body"]["model"] == "beta-chat" and upstream.requests(match=mark) == []
