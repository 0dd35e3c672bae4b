"""The engine's Recorder for a response: deltas -> output items -> the spec's stream events.

Every event carries `sequence_number`, strictly increasing from 0. Output items open as their
first delta arrives (`response.output_item.added`, then `response.content_part.added` for text
and reasoning). Reasoning and text close (`...done` events) as soon as the next item opens, as
OpenAI's do; function calls close when the turn ends, in output order, so that parallel calls
whose argument deltas interleave stay well formed. Logprobs are kept only when `include` asked
for `message.output_text.logprobs`.

Server tools' calls are items of their own: `file_search_call`, `web_search_call` (with their
`in_progress`, `searching`, `completed` events), `mcp_call` (arguments streamed, then
`response.mcp_call.completed` or `failed`), or an `mcp_approval_request` when the call waits for
the client's approval; an `mcp_list_tools` item shows a server's tools as they are listed.
"""

from __future__ import annotations

import copy

from askservice.ids import new_id
from askservice.mcp import Tool
from askservice.services.engine.events import Events
from askservice.services.engine.executor import Call
from askservice.services.engine.tools import query_argument
from askservice.services.responses.items import output_text
from askservice.services.responses.mcp import McpServer, listing


def _delta_logprobs(entries: list[dict]) -> list[dict]:
    return [{"token": e.get("token", ""), "logprob": e.get("logprob", 0.0),
             "top_logprobs": [{"token": t.get("token", ""), "logprob": t.get("logprob", 0.0)}
                              for t in e.get("top_logprobs") or []]} for e in entries]


def _part_logprobs(entries: list[dict]) -> list[dict]:
    return [{"token": e.get("token", ""), "logprob": e.get("logprob", 0.0), "bytes": e.get("bytes") or [],
             "top_logprobs": [{"token": t.get("token", ""), "logprob": t.get("logprob", 0.0), "bytes": t.get("bytes") or []}
                              for t in e.get("top_logprobs") or []]} for e in entries]


class ResponseRecorder:
    """Build `response["output"]` from a turn's deltas and announce each change to `events`."""

    def __init__(self, response: dict, events: Events, logprobs: bool = False, search_results: bool = False,
                 web_sources: bool = False):
        self.response = response
        self.events = events
        self.logprobs = logprobs
        self.search_results = search_results
        self.web_sources = web_sources
        self._mcp: dict[str, tuple[McpServer, Tool]] = {}
        self.sequence = 0
        self._message: dict | None = None
        self._reasoning: dict | None = None
        self._calls: dict[int, dict] = {}
        self._open: list[dict] = []
        self._indexes: dict[str, int] = {}

    def emit(self, kind: str, **fields) -> None:
        """Announce one event with the next sequence number."""
        self.events.emit(kind, {"type": kind, "sequence_number": self.sequence, **fields})
        self.sequence += 1

    def lifecycle(self, kind: str) -> None:
        """Announce `response.created`/`in_progress`/`completed`/... with the response as it is now."""
        self.emit(kind, response=copy.deepcopy(self.response))

    # -- the engine's Recorder ----------------------------------------------------------------

    def reasoning(self, piece: str) -> None:
        if self._reasoning is None or self._reasoning["status"] != "in_progress":
            self._reasoning = self._add({"id": new_id("rs_"), "type": "reasoning", "summary": [], "content": [],
                                         "status": "in_progress"})
            self._part(self._reasoning, {"type": "reasoning_text", "text": ""})
        self._reasoning["content"][0]["text"] += piece
        self.emit("response.reasoning_text.delta", item_id=self._reasoning["id"], output_index=self._index(self._reasoning),
                  content_index=0, delta=piece)

    def text(self, piece: str, logprobs: list[dict] | None) -> None:
        if self._message is None or self._message["status"] != "in_progress":
            self._message = self._add({"id": new_id("msg_"), "type": "message", "role": "assistant", "content": [],
                                       "status": "in_progress"})
            self._part(self._message, output_text(""))
        part = self._message["content"][0]
        part["text"] += piece
        kept = logprobs if self.logprobs and logprobs else []
        if kept:
            part["logprobs"].extend(_part_logprobs(kept))
        self.emit("response.output_text.delta", item_id=self._message["id"], output_index=self._index(self._message),
                  content_index=0, delta=piece, logprobs=_delta_logprobs(kept))

    def call(self, call: Call) -> None:
        if call.type == "function":
            self._calls[call.index] = self._add({"id": new_id("fc_"), "type": "function_call", "call_id": call.id,
                                                 "name": call.name, "arguments": "", "status": "in_progress"})
        elif call.type == "mcp":
            server, tool = self._mcp[call.name]
            head = {"server_label": server.label, "name": tool.name, "arguments": ""}
            if server.needs_approval(tool.name):
                self._calls[call.index] = self._add({"id": new_id("mcpr_"), "type": "mcp_approval_request", **head})
            else:
                self.mcp_call_opened(call.index, head)
        else:
            item = {"id": new_id("ws_"), "type": "web_search_call", "status": "in_progress",
                    "action": {"type": "search", "query": ""}} if call.type == "web_search" else \
                {"id": new_id("fs_"), "type": "file_search_call", "status": "in_progress", "queries": [], "results": None}
            self._calls[call.index] = self._add(item)
            self.emit(f"response.{item['type']}.in_progress", item_id=item["id"], output_index=self._index(item))

    def arguments(self, call: Call, piece: str) -> None:
        item = self._calls[call.index]
        if call.type == "function":
            item["name"] = call.name
        elif item["type"] not in ("mcp_call", "mcp_approval_request"):
            return  # a search's arguments are its query, shown once it runs
        item["arguments"] += piece
        if item["type"] != "mcp_approval_request":
            kind = "mcp_call_arguments" if call.type == "mcp" else "function_call_arguments"
            self.emit(f"response.{kind}.delta", item_id=item["id"], output_index=self._index(item), delta=piece)

    # -- server tools -------------------------------------------------------------------------

    def awaits_approval(self, call: Call) -> bool:
        """Tell whether the call became an `mcp_approval_request` (not executed in this response)."""
        return self._calls[call.index]["type"] == "mcp_approval_request"

    def not_made(self, call: Call) -> None:
        """Close the item of a server tool call that will not be made (`incomplete`); an approval
        request stays open, to be answered."""
        item = self._calls[call.index]
        if item["type"] != "mcp_approval_request":
            self._open.remove(item)
            self._close(item, "incomplete")

    def mcp_call_opened(self, index: int, head: dict, approval_request_id: str | None = None) -> None:
        """Open an `mcp_call` item (`head`: server_label, name, arguments) as call `index` of the turn."""
        item = self._calls[index] = self._add({"id": new_id("mcp_"), "type": "mcp_call", **head, "output": None,
                                               "error": None, "status": "in_progress",
                                               "approval_request_id": approval_request_id})
        self.emit("response.mcp_call.in_progress", item_id=item["id"], output_index=self._index(item))

    def server_call_running(self, call: Call) -> None:
        """The server executes the call now."""
        item = self._calls[call.index]
        if item["type"] == "mcp_call":
            self.emit("response.mcp_call_arguments.done", item_id=item["id"], output_index=self._index(item),
                      arguments=item["arguments"])
            return
        item["status"] = "searching"
        if item["type"] == "web_search_call":
            item["action"]["query"] = query_argument(call.arguments)
        else:
            item["queries"] = [query_argument(call.arguments)]
        self.emit(f"response.{item['type']}.searching", item_id=item["id"], output_index=self._index(item))

    def server_call_done(self, call: Call) -> None:
        """The call's results are in: close its item (results and sources shown when `include` asks)."""
        item = self._calls[call.index]
        details = call.details or {}
        event = f"response.{item['type']}.completed"
        if item["type"] == "mcp_call":
            item.update(output=details.get("output"), error=details.get("error"))
            item["status"] = "failed" if item["error"] else "completed"
            event = f"response.mcp_call.{item['status']}"
        elif item["type"] == "web_search_call":
            item["status"] = "failed" if details.get("error") else "completed"
            item["action"] = {k: v for k, v in details["action"].items() if k != "sources" or self.web_sources}
        else:
            item["status"] = "completed"
            if self.search_results:
                item["results"] = [{"file_id": r["file_id"], "filename": r["file_name"], "score": r["score"],
                                    "text": "\n".join(c["text"] for c in r.get("content", [])),
                                    "attributes": r.get("attributes") or {}} for r in details.get("results", [])]
        self.emit(event, item_id=item["id"], output_index=self._index(item))
        self._open.remove(item)
        self.emit("response.output_item.done", output_index=self._index(item), item=copy.deepcopy(item))

    def mcp_offered(self, name: str, server: McpServer, tool: Tool) -> None:
        """Know the function `name` offered upstream as `tool` of `server` (its calls become MCP items)."""
        self._mcp[name] = (server, tool)

    def mcp_listing(self, server: McpServer) -> dict:
        """Open the `mcp_list_tools` item of a server whose tools are being listed."""
        item = self._add({"id": new_id("mcpl_"), "type": "mcp_list_tools", "server_label": server.label, "tools": [],
                          "error": None})
        self.emit("response.mcp_list_tools.in_progress", item_id=item["id"], output_index=self._index(item))
        return item

    def mcp_listed(self, item: dict, tools: list[Tool] | None, error: str | None = None) -> None:
        """Close an `mcp_list_tools` item with the tools listed, or the error that stopped the listing."""
        item.update(tools=listing(tools or []), error=error)
        self.emit(f"response.mcp_list_tools.{'failed' if error else 'completed'}", item_id=item["id"],
                  output_index=self._index(item))
        self._open.remove(item)
        self.emit("response.output_item.done", output_index=self._index(item), item=copy.deepcopy(item))

    def annotate(self, citations: list[dict], results: list[dict]) -> None:
        """Add the server tools' citations (file_citation, url_citation) to the answer being written."""
        if self._message is None or self._message["status"] != "in_progress":
            return
        names = {r["file_id"]: r["file_name"] for r in results if "file_id" in r}
        part = self._message["content"][0]
        for citation in citations:
            if citation["type"] == "url_citation":
                annotation = {"type": "url_citation", **citation["url_citation"],
                              "start_index": citation["start_index"], "end_index": citation["end_index"]}
            else:
                file_id = citation["file_citation"]["file_id"]
                annotation = {"type": "file_citation", "file_id": file_id, "filename": names.get(file_id, ""),
                              "index": citation["start_index"]}
            part["annotations"].append(annotation)
            self.emit("response.output_text.annotation.added", item_id=self._message["id"],
                      output_index=self._index(self._message), content_index=0,
                      annotation_index=len(part["annotations"]) - 1, annotation=annotation)

    # -- the end of the turn ------------------------------------------------------------------

    def close(self, status: str) -> None:
        """Close every open item with `status` (`completed`, or `incomplete` when the answer was cut)."""
        for item in self._open:
            self._close(item, status)
        self._open = []

    def _close(self, item: dict, status: str) -> None:
        index = self._index(item)
        if item["type"] == "web_search_call" and status == "incomplete":  # not among its statuses
            status = "failed"
        if item["type"] != "mcp_approval_request":  # the spec's approval request has no status
            item["status"] = status
        if item["type"] == "message":
            part = item["content"][0]
            self.emit("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                      text=part["text"], logprobs=_delta_logprobs(part["logprobs"]))
            self.emit("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                      part=copy.deepcopy(part))
        elif item["type"] == "reasoning":
            part = item["content"][0]
            self.emit("response.reasoning_text.done", item_id=item["id"], output_index=index, content_index=0,
                      text=part["text"])
            self.emit("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                      part=copy.deepcopy(part))
        elif item["type"] == "function_call":
            self.emit("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                      name=item["name"], arguments=item["arguments"])
        self.emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))

    # -- helpers ------------------------------------------------------------------------------

    def _add(self, item: dict) -> dict:
        for earlier in [i for i in self._open if i["type"] in ("reasoning", "message")]:  # its text is over
            self._close(earlier, "completed")
            self._open.remove(earlier)
        output = self.response["output"]
        output.append(item)
        self._open.append(item)
        self._indexes[item["id"]] = len(output) - 1
        self.emit("response.output_item.added", output_index=len(output) - 1, item=copy.deepcopy(item))
        return item

    def _part(self, item: dict, part: dict) -> None:
        item["content"].append(part)
        self.emit("response.content_part.added", item_id=item["id"], output_index=self._index(item), content_index=0,
                  part=copy.deepcopy(part))

    def _index(self, item: dict) -> int:
        return self._indexes[item["id"]]
