"""The chat messages a run sends upstream: thread message content, then its own steps."""

from askservice.services.runs.prompt import chat_content, step_messages


def test_text_parts_become_one_string_and_images_keep_their_parts():
    text = {"content": [{"type": "text", "text": {"value": "a", "annotations": []}},
                        {"type": "text", "text": {"value": "b", "annotations": []}}]}
    assert chat_content(text) == "a\nb"
    image = {"content": [{"type": "text", "text": {"value": "see", "annotations": []}},
                         {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "auto"}}]}
    assert chat_content(image) == [{"type": "text", "text": "see"},
                                   {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "auto"}}]


def test_steps_become_answers_then_calls_with_their_outputs():
    steps = [
        {"type": "tool_calls", "chat_calls": [{"id": "call_1", "name": "f", "arguments": "{}", "output": "42"},
                                              {"id": "call_2", "name": "g", "arguments": "{}", "output": None}]},
        {"type": "message_creation", "chat_text": "done"},
        {"type": "message_creation"},  # still streaming: not part of the prompt yet
    ]
    assert step_messages(steps) == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "tool", "tool_call_id": "call_2", "content": ""},
        {"role": "assistant", "content": "done"},
    ]
