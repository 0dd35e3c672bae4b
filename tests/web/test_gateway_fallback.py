"""Fallbacks across upstreams, and the gateway's counters (tests/conftest.py UPSTREAMS_TOML):
chat-a (alpha) falls back to chat-b (beta); chat-down (refused) to chat-a, then chat-b."""

from __future__ import annotations

import json
import time

import pytest

from tests.web.support import api, per_worker_requests, samples, total

FALLBACKS = "askservice_upstream_fallbacks_total"


def chat(service, model: str, text: str, stream: bool = False, key: str = "test-key"):
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    return api(service, "POST", "/chat/completions", key=key, json=body, stream=stream)


def data_lines(response) -> list:
    return [line[6:] for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")]


def metrics(service) -> dict:
    return samples(api(service, "GET", "/metrics", prefix="").text)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 503}, {"status": 429, "retry_after": "3"}])
def test_a_fault_before_the_first_byte_goes_to_the_fallback(gateway_service, upstream, second_upstream, fault, stream):
    mark = upstream.marker()
    upstream.script(fault, match=mark)
    before = total(metrics(gateway_service), FALLBACKS, from_upstream="alpha", to_upstream="beta")
    with chat(gateway_service, "chat-a", f"hi {mark}", stream=stream) as answer:
        assert answer.status_code == 200
        text = data_lines(answer) if stream else answer.json()["choices"][0]["message"]["content"]
    assert (text[-1] == "[DONE]" and '"error"' not in "".join(text)) if stream else text == f"echo: hi {mark}"
    assert [r["body"]["model"] for r in upstream.requests(match=mark)] == ["alpha-chat"]
    assert [r["body"]["model"] for r in second_upstream.requests(match=mark)] == ["beta-chat"]
    assert total(metrics(gateway_service), FALLBACKS, from_upstream="alpha", to_upstream="beta") == before + 1


@pytest.mark.parametrize("stream", [False, True])
def test_a_refused_connection_goes_to_the_fallback(gateway_service, upstream, second_upstream, stream):
    mark = upstream.marker()
    with chat(gateway_service, "chat-down", f"hi {mark}", stream=stream) as answer:
        assert answer.status_code == 200 and (data_lines(answer)[-1] == "[DONE]" if stream else True)
    assert [r["body"]["model"] for r in upstream.requests(match=mark)] == ["alpha-chat"]
    assert second_upstream.requests(match=mark) == []  # the first fallback answered


def test_embeddings_fall_back_too(gateway_service, upstream, second_upstream):
    mark = upstream.marker()
    upstream.script({"status": 502}, match=mark)
    answer = api(gateway_service, "POST", "/embeddings", json={"model": "embed-a", "input": [mark]})
    assert answer.status_code == 200 and len(answer.json()["data"]) == 1
    assert [r["body"]["model"] for r in second_upstream.requests(match=mark)] == ["beta-embed"]


def test_fallbacks_are_bounded_by_the_entry_and_the_last_failure_answers(gateway_service, upstream, second_upstream):
    mark = upstream.marker()
    upstream.script({"status": 500}, match=mark)
    second_upstream.script({"status": 429, "retry_after": "7"}, match=mark)
    before = metrics(gateway_service)
    answer = chat(gateway_service, "chat-down", f"hi {mark}")
    assert (answer.status_code, answer.headers.get("Retry-After")) == (429, "7")
    assert answer.json()["error"]["code"] == "rate_limit_exceeded"
    # down -> alpha -> beta, each once; alpha's own fallback (beta) is not walked again
    assert len(upstream.requests(match=mark)) == 1 and len(second_upstream.requests(match=mark)) == 1
    after = metrics(gateway_service)
    for hop in (("down", "alpha"), ("alpha", "beta")):
        labels = dict(zip(("from_upstream", "to_upstream"), hop))
        assert total(after, FALLBACKS, **labels) - total(before, FALLBACKS, **labels) == 1


@pytest.mark.parametrize("fault, status", [({"status": 400}, 400), ({"status": 401}, 502), ({"latency": 2.5}, 504)])
def test_other_faults_do_not_fall_back(gateway_service, upstream, second_upstream, fault, status):
    mark = upstream.marker()
    upstream.script(fault, match=mark)
    answer = chat(gateway_service, "chat-a", f"hi {mark}")
    assert answer.status_code == status and set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert second_upstream.requests(match=mark) == []


def test_no_fallback_once_the_stream_began(gateway_service, upstream, second_upstream):
    mark = upstream.marker()
    upstream.script({"content": "a b c d", "cut_after": 2}, match=mark)
    with chat(gateway_service, "chat-a", f"hi {mark}", stream=True) as answer:
        assert answer.status_code == 200
        received = data_lines(answer)
    assert received[-1] == "[DONE]" and json.loads(received[-2])["error"]["type"] == "upstream_error"
    assert len(received) == 4 and second_upstream.requests(match=mark) == []


def test_tokens_per_client_add_up_across_two_workers(gateway_service, upstream, second_upstream):
    mark = upstream.marker()
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    for target in (upstream, second_upstream):
        target.script({"content": "x y z", "usage": usage}, match=mark, repeat=True)
    before = metrics(gateway_service)
    # Given, by one client, until both workers answered some (each call a new connection):
    # a stream on alpha (asked for usage: counted, its usage chunk not relayed), a JSON chat on
    # beta (counted), a stream on beta (not asked: nothing to count), embeddings (prompt tokens)
    calls, prompt, completion = 0, 0, 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (calls < 8 or len([n for n in per_worker_requests(gateway_service.pid).values() if n]) < 2):
        kind = calls % 4
        if kind == 3:
            answer = api(gateway_service, "POST", "/embeddings", key="tokens-key", json={"model": "embed-a", "input": f"two {mark}"})
            assert answer.status_code == 200 and answer.json()["usage"]["prompt_tokens"] == 2
            prompt += 2
        else:
            model, stream = (("chat-a", True), ("chat-b", False), ("chat-b", True))[kind]
            with chat(gateway_service, model, f"hi {mark}", stream=stream, key="tokens-key") as answer:
                assert answer.status_code == 200
                relayed = data_lines(answer) if stream else [answer.text]
            assert relayed[-1] == "[DONE]" if stream else json.loads(relayed[0])["usage"] == usage
            assert not any('"usage"' in line for line in relayed) if stream else True
            prompt, completion = prompt + 7 * (kind < 2), completion + 3 * (kind < 2)
        calls += 1
    assert len([n for n in per_worker_requests(gateway_service.pid).values() if n]) == 2
    # Then /metrics, from either worker, holds exactly what they counted between them
    after = metrics(gateway_service)
    added = lambda name: total(after, name, client_id="client-tokens") - total(before, name, client_id="client-tokens")  # noqa: E731
    assert (added("askservice_prompt_tokens_total"), added("askservice_completion_tokens_total")) == (prompt, completion)
