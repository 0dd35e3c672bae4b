"""Hostile JSON bodies: the decoder's rules, then every JSON route, in-process and through gunicorn."""

from __future__ import annotations

import pytest
import requests

from askservice.errors import InvalidRequestError
from askservice.web.jsonbody import MAX_DEPTH, loads

NESTED_OK = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
HOSTILE = {
    "deep lists": (b"[" * 50_000 + b"]" * 50_000, "nested deeper than 32"),
    "deep objects": (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "nested deeper than 32"),
    "one level too deep": (b'{"q":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", "nested deeper than 32"),
    "huge integer": (b'{"question": "q", "max_tokens": ' + b"9" * 5_000 + b"}", "64-bit"),
    "integer past 64 bits": (b'{"question": "q", "max_tokens": 9223372036854775808}', "64-bit"),
    "float overflow": (b'{"question": "q", "temperature": 1e999}', "too large"),
    "float past what the store keeps": (b'{"question": "q", "temperature": 1e38}', "too large"),
    "float below what the store keeps": (b'{"question": "q", "temperature": 1e-131}', "too small"),
    "NaN": (b'{"question": "q", "temperature": NaN}', "NaN"),
    "Infinity": (b'{"question": "q", "temperature": -Infinity}', "-Infinity"),
    "invalid UTF-8": (b'{"question": "caf\xe9"}', "not valid UTF-8 (byte 17)"),
    "UTF-16 body": ('{"question": "q"}'.encode("utf-16"), "not valid UTF-8"),
    "lone surrogate": (b'{"question": "\\ud800 alone"}', "lone UTF-16 surrogate"),
    "lone surrogate in a key": (b'{"question": "q", "metadata": {"\\uDFFF": "v"}}', "lone UTF-16 surrogate"),
    "duplicate key": (b'{"question": "a", "question": "b"}', "'question' appears twice"),
    "nested duplicate key": (b'{"question": "q", "history": [{"role": "user", "role": "system"}]}', "'role' appears twice"),
    "truncated": (b'{"question": "q",', "line 1 column"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_the_decoder_refuses_each_hostile_shape_naming_it(name):
    raw, problem = HOSTILE[name]
    with pytest.raises(InvalidRequestError) as caught:
        loads(raw)
    assert caught.value.status_code == 400 and caught.value.code == "invalid_json"
    assert problem in caught.value.message


@pytest.mark.parametrize("raw, value", [
    (NESTED_OK, eval("[" * MAX_DEPTH + "]" * MAX_DEPTH)),
    (b'{"n": 9223372036854775807, "m": -9223372036854775808}', {"n": 2**63 - 1, "m": -(2**63)}),
    (b'{"f": 9.9e37, "g": 12345678901234567890.5, "h": -1e-130, "z": 0.0}',
     {"f": 9.9e37, "g": 12345678901234567890.5, "h": -1e-130, "z": 0.0}),
    (b'{"emoji": "\\ud83d\\ude00", "text": "caf\xc3\xa9"}', {"emoji": "\U0001F600", "text": "café"}),
    (b'\xef\xbb\xbf{"bom": true}', {"bom": True}),
    (b'{"a": {"k": 1}, "b": {"k": 2}}', {"a": {"k": 1}, "b": {"k": 2}}),
    # brackets inside strings (and escaped quotes and backslashes) are not nesting
    (b'{"s": "' + b"[{" * 100 + b'\\\\\\" [", "t": [' + b"[]," * 100 + b'[]]}',
     {"s": "[{" * 100 + '\\" [', "t": [[]] * 101}),
])
def test_the_decoder_takes_what_is_valid(raw, value):
    assert loads(raw) == value


JSON_ROUTES = ["/v1/ask", "/v1/assistants", "/v1/threads", "/v1/threads/runs", "/v1/vector_stores",
               "/api/v1/threads/thread_x/messages", "/v1/threads/thread_x/runs/run_x/submit_tool_outputs"]


def _assert_invalid_json(status: int, body: dict, problem: str) -> None:
    assert status == 400, body
    assert body["error"]["code"] == "invalid_json" and body["error"]["type"] == "invalid_request_error"
    assert problem in body["error"]["message"] and set(body["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("name", HOSTILE)
def test_every_json_route_answers_400_in_process(http, route, name):
    raw, problem = HOSTILE[name]
    response = http.post(route, data=raw, headers={"Content-Type": "application/json"})
    _assert_invalid_json(response.status_code, response.get_json(), problem)


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/assistants", "/v1/threads/runs", "/v1/vector_stores"])
@pytest.mark.parametrize("name", ["deep lists", "huge integer", "NaN", "invalid UTF-8", "lone surrogate", "duplicate key"])
def test_every_json_route_answers_400_through_gunicorn(bare_service, route, name):
    raw, problem = HOSTILE[name]
    response = requests.post(bare_service.url(route), data=raw, headers={"Content-Type": "application/json"}, timeout=10)
    _assert_invalid_json(response.status_code, response.json(), problem)


def test_a_hostile_body_leaves_nothing_behind(http):
    before = http.get("/v1/assistants").get_json()["data"]
    raw = b'{"model": "gpt-4o", "name": "twice", "name": "again"}'
    assert http.post("/v1/assistants", data=raw, headers={"Content-Type": "application/json"}).status_code == 400
    assert http.get("/v1/assistants").get_json()["data"] == before


def test_curl_default_form_type_carries_a_json_question(bare_service):
    # `curl -d '{"question": "hi"}'` sends application/x-www-form-urlencoded: the body is read as JSON
    # (no upstream on the bare service: the 503 shows the question got past parsing)
    response = requests.post(bare_service.url("/v1/ask"), data=b'{"question": "hi"}',
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert response.status_code == 503 and "UPSTREAM_BASE_URL" in response.json()["error"]["message"]
    bad = requests.post(bare_service.url("/v1/ask"), data=b'{"question": "hi", "question": "ho"}',
                        headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    _assert_invalid_json(bad.status_code, bad.json(), "appears twice")


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/assistants"])
@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://elsewhere.example"},
    {"Content-Type": "text/plain"},
])
def test_other_types_and_browser_forms_keep_their_415(http, route, headers):
    response = http.post(route, data=b'{"question": "hi", "model": "gpt-4o"}', headers=headers)
    assert response.status_code == 415
    assert "Content-Type must be application/json" in response.get_json()["error"]["message"]


def test_only_the_ask_route_takes_the_form_type(http):
    response = http.post("/v1/assistants", data=b'{"model": "gpt-4o"}',
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415


def _nested_tool(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return {"model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]}


def test_the_deepest_body_taken_is_one_the_store_keeps(http):
    # body depth = 2 * levels + 5: 13 levels is 31 deep (stored), 14 levels 33 deep (refused, never a 500)
    assert http.post("/v1/assistants", json=_nested_tool(13)).status_code == 200
    response = http.post("/v1/assistants", json=_nested_tool(14))
    _assert_invalid_json(response.status_code, response.get_json(), "nested deeper than 32")


@pytest.mark.parametrize("route", ["/v1/assistants", "/v1/files", "/v1/vector_stores", "/v1/threads/thread_x/messages"])
def test_a_cursor_past_any_id_is_a_400(http, route):
    response = http.get(route, query_string={"after": "a" * 2000})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "after"
