"""The ask service: the upstream request it builds, and its answers when nothing is configured."""

import pytest

from askservice.config import Settings
from askservice.errors import InvalidRequestError, NotConfiguredError
from askservice.llm import LLMClient, Router
from askservice.services.ask import AskService, Question, Turn


def _service(**settings) -> AskService:
    settings = Settings(**settings)
    llm = Router.single(LLMClient(settings.upstream_base_url)) if settings.upstream_base_url else None
    return AskService(settings, llm)


HISTORY = [Turn("user", f"u{i}") if i % 2 == 0 else Turn("assistant", f"a{i}") for i in range(6)]


def test_system_prompt_then_the_most_recent_history_in_order_then_the_question():
    service = _service(system_prompt="be brief", max_history_messages=3, upstream_model="m")
    body = service.request_body(Question("why?", history=HISTORY))
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "assistant", "content": "a3"},
        {"role": "user", "content": "u4"},
        {"role": "assistant", "content": "a5"},
        {"role": "user", "content": "why?"},
    ]


def test_history_shorter_than_the_limit_is_kept_whole_and_zero_keeps_none():
    assert len(_service(upstream_model="m").request_body(Question("q", history=HISTORY))["messages"]) == 7
    assert _service(upstream_model="m", max_history_messages=0).request_body(Question("q", history=HISTORY))["messages"] == [
        {"role": "user", "content": "q"}
    ]


def test_history_system_messages_keep_their_place():
    history = [Turn("system", "s"), Turn("user", "u")]
    messages = _service(upstream_model="m").request_body(Question("q", history=history))["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "user"]


def test_user_id_becomes_user_and_options_pass_only_when_given():
    service = _service(upstream_model="default")
    plain = service.request_body(Question("q"))
    assert plain == {"model": "default", "messages": [{"role": "user", "content": "q"}]}
    full = service.request_body(Question("q", user_id="u-1", model="other", temperature=0.0, max_tokens=5))
    assert (full["model"], full["user"], full["temperature"], full["max_tokens"]) == ("other", "u-1", 0.0, 5)


def test_no_model_anywhere_is_a_400_naming_both_ways():
    with pytest.raises(InvalidRequestError) as caught:
        _service().request_body(Question("q"))
    assert caught.value.param == "model" and "UPSTREAM_MODEL" in caught.value.message


@pytest.mark.parametrize("call", ["answer", "stream"])
def test_no_upstream_is_a_503_naming_the_variable(call):
    with pytest.raises(NotConfiguredError) as caught:
        getattr(_service(upstream_model="m"), call)(Question("q"))
    assert caught.value.status_code == 503 and "UPSTREAM_BASE_URL" in caught.value.message
