"""The upstream client against the scripted upstream: JSON, streams, closing, and every failure."""

import time

import gevent
import pytest

from askservice.errors import (
    InvalidRequestError,
    UpstreamBadGatewayError,
    UpstreamRateLimitError,
    UpstreamTimeoutError,
)
from askservice.llm import LLMClient
from tests.servers import free_port


@pytest.fixture(scope="module")
def llm(upstream):
    return LLMClient(upstream.base_url, api_key="upstream-secret", timeout=1.0)


def _body(mark: str, **extra) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": mark}], **extra}


def _record(upstream, mark: str) -> dict:
    (record,) = upstream.requests(match=mark)
    return record


def test_chat_returns_the_bytes_received_and_sends_the_key(llm, upstream):
    mark = upstream.marker()
    upstream.script({"content": "hello", "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}, match=mark)
    completion = llm.chat(_body(mark, stream=True))
    assert completion.data["choices"][0]["message"]["content"] == "hello"
    assert completion.raw.startswith(b'{"id": "chatcmpl-') and completion.data["usage"]["total_tokens"] == 3
    record = _record(upstream, mark)
    assert record["headers"]["Authorization"] == "Bearer upstream-secret" and record["body"]["stream"] is False


def test_stream_yields_chunks_before_the_upstream_finished(llm, upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b c d", "delay": 0.2}, match=mark)
    with llm.stream_chat(_body(mark)) as stream:
        chunks = iter(stream)
        assert next(chunks)["choices"][0]["delta"]["role"] == "assistant"
        assert _record(upstream, mark)["outcome"] == "streaming"
        rest = list(chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in rest) == "a b c d"
    assert _record(upstream, mark)["outcome"] == "completed"


def test_streams_reuse_one_pooled_connection(llm, upstream):
    mark = upstream.marker()
    for _ in range(3):
        with llm.stream_chat(_body(mark)) as stream:
            list(stream)
    llm.chat(_body(mark))
    assert len({r["client_port"] for r in upstream.requests(match=mark)}) == 1


def test_close_from_another_greenlet_ends_the_stream_and_the_connection(llm, upstream):
    mark = upstream.marker()
    upstream.script({"content": "x " * 100, "delay": 0.5}, match=mark)
    stream = llm.stream_chat(_body(mark))
    received = []
    reader = gevent.spawn(lambda: received.extend(stream))
    gevent.sleep(0.2)
    closed_at = time.time()
    stream.close()
    reader.join(timeout=2)
    assert reader.successful() and len(received) == 1
    deadline = time.monotonic() + 3
    while _record(upstream, mark)["ended_at"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    record = _record(upstream, mark)
    assert record["outcome"] == "disconnected" and record["ended_at"] - closed_at < 1.0


def test_an_upstream_lingering_after_done_does_not_hold_the_stream(upstream):
    patient = LLMClient(upstream.base_url, timeout=10.0)
    mark = upstream.marker()
    upstream.script({"content": "a b", "linger": 3.0}, match=mark)
    started = time.monotonic()
    with patient.stream_chat(_body(mark)) as stream:
        assert len(list(stream)) == 4
    assert time.monotonic() - started < 2.0  # the drain after [DONE] is bounded, unlike the 3 s linger
    deadline = time.monotonic() + 3
    while _record(upstream, mark)["ended_at"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _record(upstream, mark)["outcome"] == "disconnected"  # that connection was dropped, not pooled


def test_sse_framing_variants_are_parsed(llm, upstream):
    mark = upstream.marker()
    raw = 'data:{"n": 1}\r\n\r\n: a comment\n\nevent: x\ndata: {"n":\ndata: 2}\n\ndata: [DONE]\n\n'
    upstream.script({"raw": raw, "content_type": "text/event-stream"}, match=mark)
    with llm.stream_chat(_body(mark)) as stream:
        assert list(stream.events()) == [b'{"n": 1}', b'{"n":\n2}']


def test_an_error_event_mid_stream_raises(llm, upstream):
    mark = upstream.marker()
    raw = 'data: {"choices": []}\n\ndata: {"error": {"message": "engine died"}}\n\n'
    upstream.script({"raw": raw, "content_type": "text/event-stream"}, match=mark)
    with llm.stream_chat(_body(mark)) as stream, pytest.raises(UpstreamBadGatewayError, match="engine died"):
        list(stream)


@pytest.mark.parametrize(
    "spec, error, status",
    [
        ({"status": 429, "retry_after": "12"}, UpstreamRateLimitError, 429),
        ({"status": 500}, UpstreamBadGatewayError, 502),
        ({"status": 503}, UpstreamBadGatewayError, 502),
        ({"status": 401}, UpstreamBadGatewayError, 502),
        ({"status": 400, "error": "context too long"}, InvalidRequestError, 400),
        ({"raw": "<html>oops"}, UpstreamBadGatewayError, 502),
        ({"latency": 1.5}, UpstreamTimeoutError, 504),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
def test_failures_before_the_answer_map_through_the_table(llm, upstream, spec, error, status, streaming):
    mark = upstream.marker()
    upstream.script(spec, match=mark)
    with pytest.raises(error) as caught:
        if streaming:
            llm.stream_chat(_body(mark))
        else:
            llm.chat(_body(mark))
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.headers() == {"Retry-After": "12"}
    if "error" in spec:
        assert "context too long" in caught.value.message
    if spec.get("status") == 401:
        assert "UPSTREAM_API_KEY" in caught.value.message


def test_a_cut_stream_raises_bad_gateway(llm, upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b c d e", "cut_after": 3}, match=mark)
    received = []
    with llm.stream_chat(_body(mark)) as stream, pytest.raises(UpstreamBadGatewayError, match="broke"):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3  # the role chunk and two words, then the cut


def test_a_gap_longer_than_the_timeout_mid_stream_is_a_timeout(llm, upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b", "delay": 1.5}, match=mark)
    with llm.stream_chat(_body(mark)) as stream, pytest.raises(UpstreamTimeoutError, match="next chunk"):
        list(stream)


def test_unreachable_upstream_is_bad_gateway_after_bounded_retries():
    dead = LLMClient(f"http://127.0.0.1:{free_port()}/v1", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(UpstreamBadGatewayError) as caught:
        dead.chat({"model": "m", "messages": []})
    # bounded: two quick retries, not a wait for UPSTREAM_TIMEOUT or a retry loop
    assert caught.value.code == "upstream_unreachable" and time.monotonic() - started < 3.0


def test_embeddings_come_back_in_input_order(llm, upstream):
    vectors = llm.embed("e", ["red apple", "green apple", "red apple"])
    assert len(vectors) == 3 and vectors[0] == vectors[2] != vectors[1]
    assert sum(v * v for v in vectors[0]) == pytest.approx(1.0)
