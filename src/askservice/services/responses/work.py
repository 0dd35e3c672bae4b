"""One response being generated: its turns on the engine, then its end written and announced.

`execute()` announces `response.created` (and `response.queued` for a background response,
which it first takes `queued -> in_progress`), holds the lease while the engine takes turns
(MCP servers' tools listed first, approved MCP calls made; server tool calls are executed here
and the model answers with their outputs), and ends the
response `completed`, `incomplete` (the upstream stopped for length or content), `failed` (an
upstream fault: `rate_limit_exceeded` or `server_error`) or `cancelled`: the end is written
(with the conversation's append, in one transaction) before its last event is announced.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from askservice import metrics
from askservice.errors import ConflictError, ServiceError, UpstreamRateLimitError
from askservice.llm import Router
from askservice.services import keys
from askservice.mcp import McpError
from askservice.services.engine.context import OfferedTool, TurnContext
from askservice.services.engine.executor import (
    CANCELLING,
    WORKING,
    Call,
    Cancelled,
    Executor,
    Lost,
    TurnResult,
    execute_server_calls,
)
from askservice.services.engine.prompt import call_messages
from askservice.services.engine.state import StateChanged, as_conflict, change
from askservice.services.engine.tools import ToolContext
from askservice.services.responses.items import mcp_messages
from askservice.services.responses.mcp import DECLINED, McpServer, function_name
from askservice.services.responses.recorder import ResponseRecorder
from askservice.services.responses.records import ACTIVE_FIELDS, QUEUED, now, usage_object
from askservice.store.base import Item, Update
from askservice.store.conflicts import retry_on_conflict

if TYPE_CHECKING:
    from askservice.services.responses.service import Responses

log = logging.getLogger("askservice.responses")
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""Chat finish reasons that leave a response `incomplete`, and the reason it gives."""
LIFECYCLE_ENDS = frozenset({"completed", "failed", "incomplete"})
"""End states with a stream event of their own (the spec has no `response.cancelled`)."""
CLAIM_TRIES = 20
"""Tries of a response in a conversation whose items or lock changed while it was claimed or ended."""
APPEND_AT_END = 48
"""Items a response's end appends in its own transaction (with its end and the conversation's meta)."""
MAX_TURNS = 10
"""Turns of one response: server tool calls (file_search) and the answer that uses them."""


class ResponseWork:
    """One response being generated: its turns on the engine, then its end written and announced."""

    def __init__(self, service: Responses, llm: Router, item: Item | None, response: dict, context: TurnContext,
                 recorder: ResponseRecorder, own: list[dict], conversation: Item | None,
                 mcp: list[McpServer] | None = None, approvals: list[tuple[dict, dict]] | None = None):
        self.service = service
        self.mcp = mcp or []
        self.approvals = approvals or []
        self.item = item
        self.own = own
        self.conversation = conversation
        self.response = response
        self.context = context
        self.recorder = recorder
        key = (item["pk"], item["sk"]) if item else keys.response(response["id"])
        self.executor = Executor(llm, service.store, service.leases, key)
        self.max_tool_calls = response.get("max_tool_calls")
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self.cached_tokens = self.reasoning_tokens = 0

    def start(self) -> None:
        """Execute in a new greenlet of this worker."""
        threading.Thread(target=self.execute, name=f"response-{self.response['id']}", daemon=True).start()

    def execute(self) -> dict:
        """Generate, write the end, announce it; return the response. Never raises (a failure is `failed`)."""
        response_id = self.response["id"]
        recorder = self.recorder
        try:
            recorder.lifecycle("response.created")
            if self.response["status"] == QUEUED:
                recorder.lifecycle("response.queued")
                if not self._claim():
                    return self._lost()
            recorder.lifecycle("response.in_progress")
            if self.item is not None:
                self.service.executors.add(response_id, self.executor)
                self.executor.hold()
            try:
                self.context = self._answer_approvals(self._offer_mcp(self.context))
                result = self._turns()
            except Cancelled:
                return self._end("cancelled")
            except Lost:
                return self._lost()
            except ServiceError as exc:
                log.warning("response %s failed upstream: %s", response_id, exc.message)
                code = "rate_limit_exceeded" if isinstance(exc, UpstreamRateLimitError) else "server_error"
                return self._end("failed", error={"code": code, "message": exc.message})
            except Exception:
                log.exception("response %s failed", response_id)
                return self._end("failed", error={"code": "server_error",
                                                  "message": "The server had an error while generating the response."})
            if result is None:
                return self._end("failed", error={"code": "server_error",
                                                  "message": f"The response took more than {MAX_TURNS} tool turns."})
            reason = INCOMPLETE.get(result.finish_reason or "")
            usage = usage_object(self.usage, self.cached_tokens, self.reasoning_tokens)
            if reason:
                return self._end("incomplete", incomplete_details={"reason": reason}, usage=usage)
            return self._end("completed", usage=usage, completed_at=now())
        finally:
            self.executor.release()
            self.service.executors.remove(response_id, self.executor)
            for server in self.mcp:
                server.close()
            recorder.events.close()

    def _turns(self) -> TurnResult | None:
        """Take turns while the model calls only server tools (executed here); return the last turn
        (None when MAX_TURNS did not suffice). The answer's citations are added before it closes."""
        context, called = self.context, []
        for _ in range(MAX_TURNS):
            result = self.executor.turn(context, self.recorder)
            self._count(result)
            server = [c for c in result.calls if c.type != "function"]
            if not server or len(server) < len(result.calls):  # an answer, or the client's functions
                for call in server:  # beside the client's calls they are not made (the client answers first)
                    self.recorder.not_made(call)
                self._annotate(context, result.text, called)
                return result
            waiting = [c for c in server if self.recorder.awaits_approval(c)]
            server = [c for c in server if c not in waiting]
            self._execute(context, server)
            called += server
            if waiting:  # the client approves or declines them in its next request
                return result
            context = replace(context, own=[*context.own, *call_messages(
                [{"id": c.id, "name": c.name, "arguments": c.arguments, "output": c.output} for c in server])])
            limit = self.max_tool_calls
            if limit is not None and len(called) >= limit:  # no more server calls: answer with what was found
                context = replace(context, tools=[t for t in context.tools
                                                  if t["function"]["name"] not in context.server_tools],
                                  server_tools={}, tool_choice=None if not context.tools else context.tool_choice)
        return None

    def _execute(self, context: TurnContext, calls: list[Call]) -> None:
        """Execute server tool calls, announcing each as it runs and as it ends."""
        for call in calls:
            self.recorder.server_call_running(call)
        execute_server_calls(context, calls)
        for call in calls:
            self.recorder.server_call_done(call)

    def _offer_mcp(self, context: TurnContext) -> TurnContext:
        """List the tools of MCP servers the chain has not listed (an `mcp_list_tools` item each), and
        offer every allowed tool as a function. A server that cannot list is shown with its error."""
        offered = {}
        for server in self.mcp:
            self.executor.on_stop(server.abort)
            if server.listed is None:
                item = self.recorder.mcp_listing(server)
                try:
                    self.recorder.mcp_listed(item, server.list_tools())
                except McpError as exc:
                    log.warning("response %s: MCP server %s did not list its tools: %s", self.response["id"],
                                server.label, exc)
                    self.recorder.mcp_listed(item, None, str(exc))
            for name, tool in server.functions().items():
                offered[name] = OfferedTool("mcp", server, ToolContext(owner=context.owner, run={}, tool={
                    "type": "mcp", "server_label": server.label, "name": tool.name, "function": name}))
                self.recorder.mcp_offered(name, server, tool)
        if not offered:
            return context
        return replace(context, tools=[*context.tools, *(o.tool.definition(o.context) for o in offered.values())],
                       server_tools={**context.server_tools, **offered})

    def _answer_approvals(self, context: TurnContext) -> TurnContext:
        """Make the MCP calls the input approves (an `mcp_call` item each); tell the model of those declined."""
        messages = []
        for n, (request, answer) in enumerate(self.approvals):
            if not answer["approve"]:
                messages += mcp_messages(request, DECLINED)
                continue
            call = Call(index=-1 - n, id=request["id"], name=function_name(request["server_label"], request["name"]),
                        type="mcp", arguments=request["arguments"])
            self.recorder.mcp_call_opened(call.index, {k: request[k] for k in ("server_label", "name", "arguments")},
                                          approval_request_id=request["id"])
            if call.name not in context.server_tools:
                call.output = f"The tool {request['name']} is not offered by MCP server {request['server_label']} now."
                call.details = {"error": {"type": "mcp_protocol_error", "code": -32601, "message": call.output}}
                self.recorder.server_call_done(call)
            else:
                self._execute(context, [call])
            messages += mcp_messages(request, call.output)
        return replace(context, own=[*context.own, *messages]) if messages else context

    def _count(self, result: TurnResult) -> None:
        for key in self.usage:
            self.usage[key] += result.usage[key]
        self.cached_tokens += result.cached_tokens
        self.reasoning_tokens += result.reasoning_tokens

    def _annotate(self, context: TurnContext, text: str, called: list[Call]) -> None:
        """Add the citations of the server tools' results to the answer being written."""
        found = []
        for offered in {o.type: o for o in context.server_tools.values()}.values():
            details = [c.details for c in called if c.type == offered.type and c.details]
            if details and text:
                found += offered.tool.annotations(text, details)
        if found:
            self.recorder.annotate(found, [r for c in called for r in (c.details or {}).get("results", [])])

    def _claim(self) -> bool:
        """Take a queued background response into `in_progress` (False: it was cancelled meanwhile)."""
        try:
            self.item = change(self.service.store, self.item,
                               {"status": WORKING, "response": {**self.response, "status": WORKING},
                                **self.service.leases.grant()}, allowed={QUEUED})
        except StateChanged:
            return False
        self.response["status"] = WORKING
        return True

    def _end(self, status: str, **fields) -> dict:
        self.executor.release()
        self.recorder.close("completed" if status == "completed" else "incomplete")
        self.response.update(fields, status=status)
        if self.item is not None:
            try:  # a cancel that came too late loses to the end it would have stopped
                if self.conversation is None:
                    change(self.service.store, self.item, {"status": status, "response": self.response},
                           ACTIVE_FIELDS, allowed={WORKING, CANCELLING})
                else:
                    self._end_in_conversation(status)
            except StateChanged:  # deleted, or swept meanwhile: what the store says now is the truth
                return self._lost()
        metrics.response_status(status)
        if status in LIFECYCLE_ENDS:
            self.recorder.lifecycle(f"response.{status}")
        return self.response

    def _end_in_conversation(self, status: str) -> None:
        """Write the end and append the input and output items to the conversation (releasing its lock),
        in one transaction; a failed or cancelled response appends nothing."""
        store, conversations = self.service.store, self.service.conversations
        appended = [*self.own, *self.response["output"]] if status in ("completed", "incomplete") else []
        first, rest = appended[:APPEND_AT_END], appended[APPEND_AT_END:]

        def attempt(n: int) -> None:
            item = self.item if n == 0 else store.get(self.item["pk"], self.item["sk"])
            if item is None or item["status"] not in (WORKING, CANCELLING):
                raise StateChanged(item)
            conversation = self.conversation if n == 0 else conversations.item(self.conversation["id"])
            writes = [Update(item["pk"], item["sk"], set={"status": status, "response": self.response},
                             remove=ACTIVE_FIELDS, expected_version=item["version"])]
            if conversation is not None and conversation.get("active_response") == self.response["id"]:
                writes += conversations.append_operations(conversation, first, {"active_response": None})
            store.transact(writes)

        retry_on_conflict(as_conflict(attempt), CLAIM_TRIES, lambda: StateChanged(None))
        for start in range(0, len(rest), APPEND_AT_END):  # only a response of more items than one transaction holds
            chunk = rest[start:start + APPEND_AT_END]

            def append(_: int, chunk=chunk) -> None:
                conversation = conversations.item(self.conversation["id"])
                if conversation is not None:
                    store.transact(conversations.append_operations(conversation, chunk))

            retry_on_conflict(append, CLAIM_TRIES, lambda: locked(self.conversation["id"]))

    def _lost(self) -> dict:
        """The item was taken away (deleted, or failed by a sweeper): announce it as the store has it."""
        current = self.service.store.get(*keys.response(self.response["id"]))
        if current is not None:
            self.response = current["response"]
        elif self.response["status"] == "in_progress":
            self.response.update(status="failed", error={"code": "server_error", "message": "The response was deleted."})
        self.recorder.response = self.response
        if self.response["status"] in LIFECYCLE_ENDS:
            self.recorder.lifecycle(f"response.{self.response['status']}")
        return self.response


def locked(conversation_id: str) -> ConflictError:
    return ConflictError(f"Another response is in progress in conversation '{conversation_id}': wait for it to end.",
                         param="conversation", code="conversation_locked")
