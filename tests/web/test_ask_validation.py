"""POST /v1/ask input rules, one test per rule, through gunicorn: each is a 4xx in OpenAI's shape."""

import pytest
import requests

AUTH = {"Authorization": "Bearer key-a"}


def post(service, body=None, *, data=None, headers=None) -> requests.Response:
    return requests.post(service.url("/v1/ask"), json=body, data=data, headers={**AUTH, **(headers or {})}, timeout=10)


def assert_error(response: requests.Response, status: int, param: str | None = None, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert error["param"] == param
    if code:
        assert error["code"] == code
    return error


def test_question_is_required(ask_service):
    error = assert_error(post(ask_service, {"history": []}), 400, "question", "missing_required_parameter")
    assert "question" in error["message"]


@pytest.mark.parametrize("question", ["", "   \n"])
def test_question_must_not_be_empty(ask_service, question):
    assert_error(post(ask_service, {"question": question}), 400, "question", "invalid_value")


@pytest.mark.parametrize("question", [42, None, ["a"], {"text": "a"}])
def test_question_must_be_a_string(ask_service, question):
    assert_error(post(ask_service, {"question": question}), 400, "question")


@pytest.mark.parametrize("history", ["hello", {"role": "user"}, 3])
def test_history_must_be_a_list(ask_service, history):
    assert_error(post(ask_service, {"question": "q", "history": history}), 400, "history")


def test_history_items_must_be_objects(ask_service):
    assert_error(post(ask_service, {"question": "q", "history": [{"role": "user", "content": "a"}, "b"]}), 400, "history[1]")


def test_a_bad_role_names_its_index(ask_service):
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "robot", "content": "c"}]
    error = assert_error(post(ask_service, {"question": "q", "history": history}), 400, "history[2].role")
    assert "history[2].role" in error["message"]


def test_a_missing_content_names_its_index(ask_service):
    assert_error(post(ask_service, {"question": "q", "history": [{"role": "user"}]}), 400, "history[0].content")


def test_content_must_be_a_string(ask_service):
    history = [{"role": "user", "content": "a"}, {"role": "user", "content": 7}]
    assert_error(post(ask_service, {"question": "q", "history": history}), 400, "history[1].content")


@pytest.mark.parametrize("stream", ["yes", 1, "true"])
def test_stream_must_be_a_boolean(ask_service, stream):
    assert_error(post(ask_service, {"question": "q", "stream": stream}), 400, "stream")


@pytest.mark.parametrize("temperature", ["hot", -0.1, 2.5, True])
def test_temperature_must_be_a_number_from_0_to_2(ask_service, temperature):
    assert_error(post(ask_service, {"question": "q", "temperature": temperature}), 400, "temperature")


@pytest.mark.parametrize("max_tokens", ["5", 1.5, 0, True])
def test_max_tokens_must_be_a_positive_integer(ask_service, max_tokens):
    assert_error(post(ask_service, {"question": "q", "max_tokens": max_tokens}), 400, "max_tokens")


@pytest.mark.parametrize("field", ["client_id", "user_id", "model"])
def test_ids_and_model_must_be_strings(ask_service, field):
    assert_error(post(ask_service, {"question": "q", field: 12}), 400, field)


def test_invalid_json_is_a_400(ask_service):
    response = post(ask_service, data=b'{"question": "q",', headers={"Content-Type": "application/json"})
    assert_error(response, 400, None, "invalid_json")


def test_a_json_body_that_is_not_an_object_is_a_400(ask_service):
    assert_error(post(ask_service, ["question"]), 400, None, "invalid_json")


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", None])
def test_a_body_that_is_not_json_is_a_415(ask_service, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = post(ask_service, data=b'{"question": "q"}', headers=headers)
    assert_error(response, 415, None, "unsupported_media_type")


def test_a_body_past_max_body_bytes_is_a_413(ask_service):
    body = {"question": "q" * (1_048_576 + 10)}
    assert_error(post(ask_service, body), 413, None, "request_too_large")


def test_a_valid_request_with_extra_fields_is_answered(ask_service, upstream):
    mark = upstream.marker()
    body = {"question": mark, "history": None, "stream": False, "temperature": 1, "max_tokens": 10, "unknown": {"x": 1}}
    assert post(ask_service, body).status_code == 200
