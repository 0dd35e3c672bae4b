"""The scripted upstream itself: what later tests rely on, checked with the openai SDK and raw HTTP."""

import json
import socket
import time

import openai
import pytest
import requests

from tests.upstream import embed


@pytest.fixture(scope="module")
def sdk(upstream):
    return openai.OpenAI(base_url=upstream.base_url, api_key="test-key", max_retries=0)


def _events(response) -> list:
    out = []
    for line in response.iter_lines():
        if line.startswith(b"data: "):
            data = line[6:]
            out.append(data.decode() if data == b"[DONE]" else json.loads(data))
    return out


def test_default_answer_echoes_the_last_user_message(sdk, upstream):
    mark = upstream.marker()
    completion = sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": f"hello {mark}"}])
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == f"echo: hello {mark}"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    (record,) = upstream.requests(match=mark)
    assert record["headers"]["Authorization"] == "Bearer test-key" and record["body"]["model"] == "m"


def test_scripts_are_keyed_and_taken_in_order(sdk, upstream):
    mark, other = upstream.marker(), upstream.marker()
    upstream.script({"content": "first"}, {"content": "second"}, match=mark)
    ask = lambda m: sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": m}])  # noqa: E731
    assert ask(other).choices[0].message.content == f"echo: {other}"
    assert [ask(mark).choices[0].message.content for _ in range(3)] == ["first", "second", f"echo: {mark}"]


def test_streamed_tool_calls_reassemble_with_the_sdk(sdk, upstream):
    mark = upstream.marker()
    calls = [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {"tz": "CET"}}]
    upstream.script({"tool_calls": calls, "chunks": 3}, match=mark)
    stream = sdk.chat.completions.create(
        model="m", messages=[{"role": "user", "content": mark}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    arguments: dict[int, str] = {}
    names = {}
    for c in chunks:
        for delta in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            arguments[delta.index] = arguments.get(delta.index, "") + (delta.function.arguments or "")
            names.setdefault(delta.index, delta.function.name)
    assert names == {0: "get_weather", 1: "get_time"}
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"city": "Paris"}, 1: {"tz": "CET"}}
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.tool_calls) == 2 * 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_non_streamed_tool_calls(sdk, upstream):
    mark = upstream.marker()
    upstream.script({"tool_calls": [{"name": "f", "arguments": "{\"a\": 1}", "id": "call_x"}]}, match=mark)
    message = sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": mark}]).choices[0].message
    assert message.content is None and message.tool_calls[0].id == "call_x"
    assert message.tool_calls[0].function.arguments == '{"a": 1}'


def test_chunks_and_delays_are_streamed_as_scripted(upstream):
    mark = upstream.marker()
    upstream.script({"content": "abcdefghij", "chunks": 5, "delay": 0.05}, match=mark)
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": mark}]}
    started = time.monotonic()
    with requests.post(upstream.base_url + "/chat/completions", json=body, stream=True, timeout=5) as response:
        arrivals = []
        for line in response.iter_lines():
            if line.startswith(b"data: "):
                arrivals.append((time.monotonic() - started, line))
    texts = [json.loads(line[6:])["choices"][0]["delta"].get("content") for _, line in arrivals[1:-2]]
    assert texts == ["ab", "cd", "ef", "gh", "ij"] and arrivals[-1][1] == b"data: [DONE]"
    assert arrivals[-1][0] >= 0.05 * 6
    assert upstream.requests(match=mark)[0]["outcome"] == "completed"


def test_faults_are_answered_as_scripted(sdk, upstream):
    mark = upstream.marker()
    upstream.script({"status": 429, "retry_after": "7"}, {"status": 500}, {"raw": "not json"}, match=mark)
    url, body = upstream.base_url + "/chat/completions", {"messages": [{"role": "user", "content": mark}]}
    limited = requests.post(url, json=body, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert requests.post(url, json=body, timeout=5).status_code == 500
    assert requests.post(url, json=body, timeout=5).content == b"not json"


def test_slow_first_byte(upstream):
    mark = upstream.marker()
    upstream.script({"latency": 0.5}, match=mark)
    body = {"messages": [{"role": "user", "content": mark}]}
    with pytest.raises(requests.ReadTimeout):
        requests.post(upstream.base_url + "/chat/completions", json=body, timeout=(1, 0.2))


def test_stream_cut_drops_the_connection_without_done(upstream):
    mark = upstream.marker()
    upstream.script({"content": "one two three four", "cut_after": 2}, match=mark)
    body = {"stream": True, "messages": [{"role": "user", "content": mark}]}
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.post(upstream.base_url + "/chat/completions", json=body, stream=True, timeout=5) as response:
            list(response.iter_lines())
    record = upstream.requests(match=mark)[0]
    assert (record["outcome"], record["chunks_sent"]) == ("cut", 2)


def test_a_client_that_goes_away_is_recorded_as_disconnected(upstream):
    mark = upstream.marker()
    upstream.script({"content": "x " * 200, "delay": 0.05}, match=mark)
    body = json.dumps({"stream": True, "messages": [{"role": "user", "content": mark}]}).encode()
    port = int(upstream.root.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    closed_at = time.time()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and upstream.requests(match=mark)[0]["ended_at"] is None:
        time.sleep(0.05)
    record = upstream.requests(match=mark)[0]
    assert record["outcome"] == "disconnected" and record["ended_at"] - closed_at < 1.0


def test_embeddings_share_words_and_decode_with_the_sdk(sdk, upstream):
    texts = ["the cat sat on the mat", "a cat on a mat", "quantum chromodynamics lecture"]
    vectors = [d.embedding for d in sdk.embeddings.create(model="e", input=texts).data]
    assert vectors[0] == pytest.approx(embed(texts[0]), abs=1e-6)
    cos = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    assert cos(vectors[0], vectors[1]) > 0.3 > abs(cos(vectors[0], vectors[2]))
    floats = requests.post(upstream.base_url + "/embeddings", json={"input": "x y", "dimensions": 8}, timeout=5).json()
    assert len(floats["data"][0]["embedding"]) == 8


def test_models_are_listed(sdk):
    assert [m.id for m in sdk.models.list()] == ["scripted-model"]
