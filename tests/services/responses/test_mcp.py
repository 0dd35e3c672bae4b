"""The mcp tool's rules of responses: names offered upstream, allowed tools, approval policies, the
approval answers a request may give, and MCP items sent upstream (services/responses/mcp.py, items.py)."""

from __future__ import annotations

import re

import pytest

from askservice.errors import InvalidRequestError
from askservice.services.responses.items import chat_messages
from askservice.services.responses.mcp import DECLINED, McpServer, approval_answers, function_name

LISTING = {"type": "mcp_list_tools", "server_label": "crm", "tools": [
    {"name": "find", "description": "Find a customer.", "input_schema": {"type": "object"},
     "annotations": {"readOnlyHint": True}},
    {"name": "delete.customer", "input_schema": {"type": "object"}, "annotations": None},
]}


def server(**options) -> McpServer:
    crm = McpServer("crm", "https://mcp.example/mcp", {}, options.get("allowed_tools"),
                    options.get("require_approval", "always"), open_client=None)
    crm.reuse(LISTING)
    return crm


def test_function_names_fit_what_chat_completions_accepts():
    assert function_name("crm", "find") == "crm__find"
    names = [function_name("crm", "delete.customer"), function_name("crm", "delete_customer"),
             function_name("a" * 40, "b" * 40), function_name("a" * 40, "b" * 41)]
    assert names[0].startswith("crm__delete_customer_") and len(set(names)) == 4  # cleaned or cut: never shared
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name) for name in names)
    assert list(server().functions()) == ["crm__find", names[0]]


@pytest.mark.parametrize("allowed, offered", [
    (None, ["find", "delete.customer"]),
    (["find"], ["find"]),
    ({"tool_names": ["delete.customer"]}, ["delete.customer"]),
    ({"read_only": True}, ["find"]),
    ({"read_only": False}, ["delete.customer"]),
    ([], []),
])
def test_allowed_tools_by_name_or_read_only_hint(allowed, offered):
    crm = server(allowed_tools=allowed)
    assert [tool.name for tool in crm.tools] == offered
    assert [tool.name for tool in crm.listed] == ["find", "delete.customer"]  # a later request may allow others


@pytest.mark.parametrize("policy, find, delete", [
    ("always", True, True),
    ("never", False, False),
    ({"never": {"tool_names": ["find"]}}, False, True),
    ({"never": {"read_only": True}}, False, True),
    ({"always": {"tool_names": ["delete.customer"]}}, True, True),  # unnamed tools keep the default: always
])
def test_approval_policies(policy, find, delete):
    crm = server(require_approval=policy)
    assert (crm.needs_approval("find"), crm.needs_approval("delete.customer")) == (find, delete)


def request(request_id: str = "mcpr_1", label: str = "crm") -> dict:
    return {"id": request_id, "type": "mcp_approval_request", "server_label": label, "name": "find",
            "arguments": '{"id": 7}'}


def answer(request_id: str = "mcpr_1", approve: bool = True) -> dict:
    return {"id": "mcpa_1", "type": "mcp_approval_response", "approval_request_id": request_id, "approve": approve}


def test_approval_answers_pair_each_answer_with_its_request():
    earlier = [request("mcpr_1"), request("mcpr_2")]
    pairs = approval_answers([answer("mcpr_2"), {"type": "message"}, answer("mcpr_1", False)], earlier, {"crm"})
    assert [(r["id"], a["approve"]) for r, a in pairs] == [("mcpr_2", True), ("mcpr_1", False)]


@pytest.mark.parametrize("own, earlier, labels, param", [
    ([answer("mcpr_nope")], [request()], {"crm"}, "input[0].approval_request_id"),
    ([answer(), answer()], [request()], {"crm"}, "input[1].approval_request_id"),  # answered twice
    ([answer()], [request(), answer()], {"crm"}, "input[0].approval_request_id"),  # answered before
    ([answer()], [request()], {"other"}, "tools"),  # its server's tool not given again
])
def test_bad_approval_answers_are_400s(own, earlier, labels, param):
    with pytest.raises(InvalidRequestError) as error:
        approval_answers(own, earlier, labels)
    assert error.value.param == param


def test_mcp_items_go_upstream_as_calls_and_outputs():
    call = {"id": "mcp_1", "type": "mcp_call", "server_label": "crm", "name": "find", "arguments": "{}",
            "output": None, "status": "failed", "error": {"type": "mcp_tool_execution_error",
                                                          "content": [{"type": "text", "text": "no such id"}]}}
    not_made = {**call, "id": "mcp_2", "status": "incomplete", "error": None}
    messages = chat_messages([LISTING, request(), answer(approve=False), call, not_made])
    assert messages == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "mcpr_1", "type": "function", "function": {"name": "crm__find", "arguments": '{"id": 7}'}}]},
        {"role": "tool", "tool_call_id": "mcpr_1", "content": DECLINED},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "mcp_1", "type": "function", "function": {"name": "crm__find", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "mcp_1", "content": "The tool failed: no such id"},
    ]
