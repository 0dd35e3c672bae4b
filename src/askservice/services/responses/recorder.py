"""The engine's Recorder for a response: deltas -> output items -> the spec's stream events.

Every event carries `sequence_number`, strictly increasing from 0. Output items open as their
first delta arrives (`response.output_item.added`, then `response.content_part.added` for text
and reasoning). Reasoning and text close (`...done` events) as soon as the next item opens, as
OpenAI's do; function calls close when the turn ends, in output order, so that parallel calls
whose argument deltas interleave stay well formed. Logprobs are kept only when `include` asked
for `message.output_text.logprobs`.
"""

from __future__ import annotations

import copy
import json

from askservice.ids import new_id
from askservice.services.engine.events import Events
from askservice.services.engine.executor import Call
from askservice.services.responses.items import output_text


def _delta_logprobs(entries: list[dict]) -> list[dict]:
    return [{"token": e.get("token", ""), "logprob": e.get("logprob", 0.0),
             "top_logprobs": [{"token": t.get("token", ""), "logprob": t.get("logprob", 0.0)}
                              for t in e.get("top_logprobs") or []]} for e in entries]


def _query(arguments: str) -> str:
    try:
        return str(json.loads(arguments or "{}").get("query") or "")
    except (ValueError, AttributeError):
        return arguments or ""


def _part_logprobs(entries: list[dict]) -> list[dict]:
    return [{"token": e.get("token", ""), "logprob": e.get("logprob", 0.0), "bytes": e.get("bytes") or [],
             "top_logprobs": [{"token": t.get("token", ""), "logprob": t.get("logprob", 0.0), "bytes": t.get("bytes") or []}
                              for t in e.get("top_logprobs") or []]} for e in entries]


class ResponseRecorder:
    """Build `response["output"]` from a turn's deltas and announce each change to `events`."""

    def __init__(self, response: dict, events: Events, logprobs: bool = False, search_results: bool = False):
        self.response = response
        self.events = events
        self.logprobs = logprobs
        self.search_results = search_results
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
            return
        item = self._calls[call.index] = self._add({"id": new_id("fs_"), "type": f"{call.type}_call",
                                                    "status": "in_progress", "queries": [], "results": None})
        self.emit(f"response.{item['type']}.in_progress", item_id=item["id"], output_index=self._index(item))

    def arguments(self, call: Call, piece: str) -> None:
        item = self._calls[call.index]
        if call.type != "function":
            return  # a server tool's arguments are its query, shown once it runs
        item["name"] = call.name
        item["arguments"] += piece
        self.emit("response.function_call_arguments.delta", item_id=item["id"], output_index=self._index(item),
                  delta=piece)

    # -- server tools (file_search) -----------------------------------------------------------

    def server_call_running(self, call: Call) -> None:
        """The server executes the call now."""
        item = self._calls[call.index]
        item["status"] = "searching"
        item["queries"] = [_query(call.arguments)]
        self.emit(f"response.{item['type']}.searching", item_id=item["id"], output_index=self._index(item))

    def server_call_done(self, call: Call) -> None:
        """The call's results are in: close its item (results shown when `include` asked for them)."""
        item = self._calls[call.index]
        item["status"] = "completed"
        if self.search_results:
            item["results"] = [{"file_id": r["file_id"], "filename": r["file_name"], "score": r["score"],
                                "text": "\n".join(c["text"] for c in r.get("content", [])),
                                "attributes": r.get("attributes") or {}} for r in (call.details or {}).get("results", [])]
        self.emit(f"response.{item['type']}.completed", item_id=item["id"], output_index=self._index(item))
        self._open.remove(item)
        self.emit("response.output_item.done", output_index=self._index(item), item=copy.deepcopy(item))

    def annotate(self, citations: list[dict], results: list[dict]) -> None:
        """Add file citations (`start_index`, `file_citation.file_id`) to the answer being written."""
        if self._message is None or self._message["status"] != "in_progress":
            return
        names = {r["file_id"]: r["file_name"] for r in results}
        part = self._message["content"][0]
        for citation in citations:
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
