"""Background mode, cancel, resumable streams, compaction, conversations (CRUD, item pages, responses in one) and
file_search of the Responses API with the official Node SDK, against gunicorn+gevent on both store backends
(file_search: on gateway_service, the shared service with an EMBEDDING_MODEL, SQLite only)
(tests/web/node/responses_more.cjs; `make node-openai` installs the SDK). The Python SDK's side is
tests/web/test_responses_background.py, test_responses.py and test_conversations.py."""

from __future__ import annotations


from tests.web.test_responses_node import REPO, run_node

SCRIPT = REPO / "tests/web/node/responses_more.cjs"
SLOW = {"content": " ".join(f"w{i}" for i in range(40)), "delay": 0.1}  # about 4 s of deltas


def node(service, upstream, marker: str, part: str, script=SCRIPT) -> dict:
    """Run one part of a Node script on `service` (it reads the scripted upstream's record too)."""
    return run_node(script, service.url("/v1"), marker, part, upstream.root)


def kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def message_events(deltas: int) -> list[str]:
    """The event types of a streamed background response whose one message has `deltas` text deltas."""
    return ["response.created", "response.queued", "response.in_progress", "response.output_item.added",
            "response.content_part.added", *["response.output_text.delta"] * deltas, "response.output_text.done",
            "response.content_part.done", "response.output_item.done", "response.completed"]


def test_background_is_queued_then_polled_and_streamed_from_the_create(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script({"content": "one two three four five", "delay": 0.2}, match=f"{marker} polled")

    out = node(runs_short_service, upstream, marker, "background")

    created = out["created"]
    assert {k: created[k] for k in ("object", "status", "background", "output", "output_text")} == {
        "object": "response", "status": "queued", "background": True, "output": [], "output_text": ""}
    assert out["seen"] in (["queued", "in_progress", "completed"], ["in_progress", "completed"])
    assert out["done"] == {"id": created["id"], "status": "completed", "background": True,
                           "output_text": "one two three four five", "output_types": ["message"]}

    stream = out["stream"]
    assert kinds(stream) == message_events(3) and [e["seq"] for e in stream] == list(range(len(stream)))
    lifecycle = [(e["type"], e["status"], e["id"]) for e in stream if "status" in e]
    assert lifecycle == [("response.created", "queued", out["streamed_id"]), ("response.queued", "queued", out["streamed_id"]),
                         ("response.in_progress", "in_progress", out["streamed_id"]),
                         ("response.completed", "completed", out["streamed_id"])]
    text = f"echo: streamed {marker}"
    assert "".join(e["delta"] for e in stream if "delta" in e) == text == out["streamed_final"]

    gone = {"class": "NotFoundError", "status": 404, "type": "invalid_request_error", "param": "response_id",
            "code": None, "message": f"404 No response found with id '{created['id']}'."}
    assert out["other_client"] == {"retrieve": gone, "cancel": gone}  # another API key's response
    assert out["without_store"] == {"class": "BadRequestError", "status": 400, "type": "invalid_request_error",
                                    "param": "store", "code": "invalid_value",
                                    "message": "400 A background response must be stored: drop store=false."}


def test_cancel_in_progress_streamed_and_at_once(runs_short_service, upstream):
    marker = upstream.marker()
    for suffix in ("polled", "streamed", "immediate"):
        upstream.script(SLOW, match=f"{marker} {suffix}")

    out = node(runs_short_service, upstream, marker, "cancel")

    cancelled = out["cancelled"]
    assert cancelled["status"] == "cancelled" and cancelled["background"] is True and out["took"] < 3
    assert cancelled["output"] == [{"type": "message", "status": "incomplete"}]
    assert out["again_same"] is True  # cancelling a cancelled response returns it
    assert out["retrieved"]["status"] == "cancelled"
    assert out["retrieved"]["output_text"] and SLOW["content"].startswith(out["retrieved"]["output_text"])
    assert out["retrieved"]["output_text"] != SLOW["content"]
    for suffix in ("polled", "streamed"):  # the upstream call was closed, not read to its end
        (call,) = upstream.requests(match=f"{marker} {suffix}")
        assert call["outcome"] == "disconnected", (suffix, call["outcome"])

    # A cancelled stream has no terminal event: it ends with the open items closed incomplete.
    stream, retrieved = out["stream"], out["stream_retrieved"]
    assert out["stream_cancel"] == "cancelled" and retrieved["status"] == "cancelled"
    deltas = sum(e["type"] == "response.output_text.delta" for e in stream)
    assert deltas >= 1 and kinds(stream) == message_events(deltas)[:-1]
    assert [e["seq"] for e in stream] == list(range(len(stream)))
    text = "".join(e["delta"] for e in stream if "delta" in e)
    assert text == retrieved["output_text"] == stream[-3]["text"] and SLOW["content"].startswith(text)
    assert stream[-1]["item_status"] == "incomplete" and retrieved["output"] == [{"type": "message", "status": "incomplete"}]
    assert out["stream_replayed"] == stream  # what was persisted is what was sent

    immediate = out["immediate"]
    assert immediate["created"] == "queued" and immediate["status"] == immediate["retrieved"] == "cancelled"
    assert all(item["status"] == "incomplete" for item in immediate["output"])


def test_what_cannot_be_cancelled(runs_short_service, upstream):
    marker = upstream.marker()

    out = node(runs_short_service, upstream, marker, "refusals")

    refused = {"class": "BadRequestError", "status": 400, "type": "invalid_request_error", "code": "invalid_value"}
    assert out["completed"] == {**refused, "param": "response_id",
                                "message": "400 Cannot cancel a response with status 'completed'."}
    assert out["foreground"] == {**refused, "param": "response_id",
                                 "message": "400 Only responses created with background set to true can be cancelled."}
    assert out["foreground_stream"] == {
        **refused, "param": "stream", "message": "400 Only responses created with background set to true can be streamed again."}
    assert out["unknown"] == {"class": "NotFoundError", "status": 404, "type": "invalid_request_error",
                              "param": "response_id", "code": None, "message": "404 No response found with id 'resp_unknown'."}


def test_a_dropped_background_stream_resumes_after_its_cursor(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script(SLOW, match=marker)

    out = node(runs_short_service, upstream, marker, "resume")

    seen, rest, cursor = out["seen"], out["rest"], out["cursor"]
    assert kinds(seen) == message_events(4)[:9] and cursor == 8 == seen[-1]["seq"]
    assert out["status_at_resume"] == "in_progress"  # the resumed stream follows live events
    assert [e["seq"] for e in rest] == list(range(cursor + 1, cursor + 1 + len(rest)))
    assert kinds(seen + rest) == message_events(40)
    assert (rest[-1]["type"], rest[-1]["status"], rest[-1]["id"]) == ("response.completed", "completed", out["id"])
    text = "".join(e["delta"] for e in seen + rest if "delta" in e)
    assert text == SLOW["content"] == out["completed_text"] == out["retrieved"] == rest[-4]["text"]
    # responses.stream({response_id, starting_after}): the SDK replays from the start and emits after the cursor.
    assert out["helped"] == rest
    assert out["helper_final"] == {"id": out["id"], "status": "completed", "output_text": SLOW["content"]}
    assert out["whole"] == seen + rest  # from the start: every event, in order


def test_compaction_then_a_response_that_carries_it(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script({"content": "The user is Ada."}, match=f"{marker} summary")

    out = node(runs_short_service, upstream, marker, "compact")

    compacted = out["compacted"]
    assert compacted["object"] == "response.compaction" and compacted["id"].startswith("resp_")
    assert [(o["type"], o["id"][:4], o["encrypted"]) for o in compacted["output"]] == [("compaction", "cmp_", True)]
    assert compacted["usage"] == ["input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details",
                                  "total_tokens"]
    assert out["follow"] == {"status": "completed", "output_text": f"echo: Who am I? {marker} follow"}
    summarised, followed = (r["body"]["messages"] for r in upstream.requests(match=marker))
    assert [m["role"] for m in summarised] == ["system", "user", "user"]
    assert summarised[1:] == [{"role": "user", "content": f"My name is Ada. {marker} summary"},
                              {"role": "user", "content": "Summarize the conversation above now."}]
    assert followed == [{"role": "user", "content": "Summary of the conversation so far:\nThe user is Ada."},
                        {"role": "user", "content": f"Who am I? {marker} follow"}]
    assert out["missing_model"] == {"class": "BadRequestError", "status": 400, "type": "invalid_request_error",
                                    "param": "model", "code": "missing_required_parameter",
                                    "message": "400 Missing required parameter: 'model'."}
    assert out["forged"] == {"class": "BadRequestError", "status": 400, "type": "invalid_request_error",
                             "param": "input", "code": "invalid_value",
                             "message": "400 This compaction item was not made by this server's /responses/compact."}


def test_conversations_crud_and_item_pages(runs_short_service, upstream):
    marker = upstream.marker()

    out = node(runs_short_service, upstream, marker, "conversations")

    conversation = out["conversation"]
    assert conversation["id"].startswith("conv_") and conversation["object"] == "conversation"
    assert conversation["metadata"] == {"topic": "demo"} and isinstance(conversation["created_at"], int)
    assert out["retrieved_same"] is True
    added = out["added"]
    assert (added["object"], added["has_more"]) == ("list", False)
    assert [(i["type"], i["role"], i["text"], i["part"]) for i in added["data"]] == [
        ("message", "user", f"m{n}", "input_text") for n in range(1, 6)]
    assert (added["first_id"], added["last_id"]) == (added["data"][0]["id"], added["data"][-1]["id"])
    ascending = out["ascending"]  # auto-paged two at a time
    assert [(i["role"], i["text"], i["part"]) for i in ascending] == [
        ("developer", "Be brief.", "input_text"), ("user", f"hello {marker}", "input_text"),
        ("assistant", "Hi!", "output_text"), *(("user", f"m{n}", "input_text") for n in range(1, 6))]
    ids = [i["id"] for i in ascending]
    assert all(i.startswith("msg_") for i in ids) and len(set(ids)) == 8 and ids[3:] == [i["id"] for i in added["data"]]
    assert out["pages"] == [ids[::-1][:3], ids[::-1][3:6], ids[::-1][6:]]  # newest first, by getNextPage()
    assert out["first_page"] == {"has_more": True, "last_id": ids[5]}
    assert out["after"] == ids[3:6]
    assert out["one"] == ascending[4]
    assert out["after_item_delete"] == conversation  # deleting an item answers the conversation
    assert out["item_gone"] == {"class": "NotFoundError", "status": 404, "type": "invalid_request_error",
                                "param": "item_id", "code": None, "message": f"404 No item found with id '{ids[4]}'."}
    assert out["updated"] == {**conversation, "metadata": {"topic": "changed"}}
    assert out["remaining"] == ids[:4] + ids[5:]
    gone = {"class": "NotFoundError", "status": 404, "type": "invalid_request_error", "param": "conversation_id",
            "code": None, "message": f"404 No conversation found with id '{conversation['id']}'."}
    assert out["foreign"] == {"retrieve": gone, "items": gone, "add": gone}  # another API key's conversation
    assert out["deleted"] == {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}
    assert out["after_delete"] == {"retrieve": gone, "items": gone, "delete": gone}


def test_responses_in_a_conversation(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script(SLOW, match=f"{marker} locked")

    out = node(runs_short_service, upstream, marker, "conversation_response")

    conversation_id, response, second = out["conversation_id"], out["response"], out["second"]
    assert response["status"] == second["status"] == "completed"
    assert response["conversation"] == second["conversation"] == {"id": conversation_id}
    assert response["output_text"] == f"echo: Who am I? {marker} ask"
    assert second["output_text"] == f"echo: And now? {marker} again"
    texts = [(i["type"], i["role"], i["text"], i["part"]) for i in out["after"]]
    assert texts == [("message", "user", f"My name is Ada. {marker}", "input_text"),
                     ("message", "assistant", "Hello Ada.", "output_text"),
                     ("message", "user", f"Who am I? {marker} ask", "input_text"),
                     ("message", "assistant", f"echo: Who am I? {marker} ask", "output_text"),
                     ("message", "user", f"And now? {marker} again", "input_text"),
                     ("message", "assistant", f"echo: And now? {marker} again", "output_text")]
    assert out["items"] == out["after"][:4]  # the input and output items appended when the response ended
    assert [out["after"][3]["id"]] == response["output_ids"] and [out["after"][5]["id"]] == second["output_ids"]
    ask, again = (r["body"]["messages"] for r in upstream.requests(match=f"{marker} a"))  # its items are the context
    assert ask == [{"role": "user", "content": f"My name is Ada. {marker}"}, {"role": "assistant", "content": "Hello Ada."},
                   {"role": "user", "content": f"Who am I? {marker} ask"}]
    assert again == [*ask, {"role": "assistant", "content": f"echo: Who am I? {marker} ask"},
                     {"role": "user", "content": f"And now? {marker} again"}]

    refused = {"class": "BadRequestError", "status": 400, "type": "invalid_request_error", "param": "conversation"}
    assert out["with_previous"] == {**refused, "code": "invalid_value",
                                    "message": "400 Give either conversation or previous_response_id, not both."}
    for name, conversation in (("unknown", "conv_unknown"), ("foreign", conversation_id)):
        assert out[name] == {**refused, "class": "NotFoundError", "status": 404, "code": None,
                             "message": f"404 No conversation found with id '{conversation}'."}

    locked = out["locked"]
    assert {k: locked["refused"][k] for k in ("class", "status", "type", "param", "code")} == {
        "class": "ConflictError", "status": 409, "type": "invalid_request_error", "param": "conversation",
        "code": "conversation_locked"}
    assert locked["cancelled"] == "cancelled" and locked["next"] == {"status": "completed",
                                                                     "output_text": f"echo: next {marker}"}
    assert locked["items"] == [["user", f"first {marker}"], ["user", f"next {marker}"],  # a cancelled one appends nothing
                               ["assistant", f"echo: next {marker}"]]


def test_file_search_with_results_and_a_citation(gateway_service, upstream):
    """gateway_service is the shared service with an EMBEDDING_MODEL (SQLite only); model chat-a is `upstream`."""
    marker = upstream.marker()
    for suffix in ("ask", "stream"):
        upstream.script({"tool_calls": [{"name": "file_search", "arguments": {"query": "vault code north tower"}}]},
                        {"content": "The code is 7741 [1]."}, match=f"{marker} {suffix}")

    out = node(gateway_service, upstream, marker, "file_search")

    assert out["file_status"] == "completed"
    for shaped in (out["response"], out["final"]):  # created, and assembled by responses.stream().finalResponse()
        assert (shaped["status"], shaped["output_text"]) == ("completed", "The code is 7741 [1].")
        search, message = shaped["output"]
        assert search["id"].startswith("fs_") and {k: v for k, v in search.items() if k != "id"} == {
            "type": "file_search_call", "status": "completed", "queries": ["vault code north tower"],
            "results": [{"file_id": out["file_id"], "filename": "notes.txt",
                         "text": f"The vault code for the north tower is 7741. {marker}"}]}
        assert message == {"type": "message", "status": "completed", "annotations": [
            {"type": "file_citation", "file_id": out["file_id"], "filename": "notes.txt", "index": 17}]}
    assert out["events"] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.file_search_call.in_progress", "response.file_search_call.searching",
        "response.file_search_call.completed", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", *["response.output_text.delta"] * 5,
        "response.output_text.annotation.added", "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    first, second = (r["body"] for r in upstream.requests(match=f"{marker} ask"))
    assert [t["function"]["name"] for t in first["tools"]] == ["file_search"]
    (call,) = second["messages"][1]["tool_calls"]
    assert second["messages"][2]["tool_call_id"] == call["id"] and second["messages"][2]["role"] == "tool"
    assert f"[1] notes.txt (file {out['file_id']}):\nThe vault code for the north tower is 7741. {marker}" \
        in second["messages"][2]["content"]
