"""The `file_search` tool of runs and responses: the executor offers it upstream, the server runs the search.

The model calls `file_search(query)`; the tool searches the vector stores in scope (a run's
assistant's and thread's `tool_resources.file_search.vector_store_ids`; a response's tool names
them and is passed as the assistant's resources), with the tool's `filters`, hands the model the
top chunks as numbered sources, and records the results in the run step. The model is asked to
cite a source as `[n]`; `annotations` turns those markers (and quoted spans found verbatim in a
source) into `file_citation` annotations of the assistant's message.
"""

from __future__ import annotations

import time
from typing import Sequence

from askservice.errors import NotFoundError
from askservice.services.engine.tools import ToolContext, ToolResult, query_argument, search_function
from askservice.services.file_search.citations import citations
from askservice.services.file_search.search import RUN_RESULTS, Retriever
from askservice.services.file_search.vector_stores import VectorStoresService

NAME = "file_search"
RANKER = "default_2024_08_21"
INGEST_WAIT = 30.0  # seconds a search waits for files still being ingested
POLL = 0.2
INSTRUCTIONS = (
    "Answer from these sources. After a sentence that uses a source, cite it with its number in "
    "square brackets, e.g. [1]. Quote exact words in double quotes when you quote."
)


def store_ids(context: ToolContext) -> list[str]:
    """Return the vector store ids in scope of a run: the assistant's, then the thread's."""
    ids: list[str] = []
    for resources in (context.assistant_tool_resources, context.thread_tool_resources):
        ids += ((resources or {}).get("file_search") or {}).get("vector_store_ids") or []
    return list(dict.fromkeys(ids))


def sources_text(results: Sequence[dict]) -> str:
    """Return the results as the numbered sources the model reads."""
    if not results:
        return "No results were found in the files."
    parts = [INSTRUCTIONS]
    for n, result in enumerate(results, start=1):
        text = "\n".join(c["text"] for c in result.get("content", []))
        parts.append(f"[{n}] {result['file_name']} (file {result['file_id']}):\n{text}")
    return "\n\n".join(parts)


class FileSearchTool:
    """The ServerTool (see `engine.tools`) that answers the model's file_search calls."""

    def __init__(self, retriever: Retriever, vector_stores: VectorStoresService) -> None:
        self.retriever = retriever
        self.vector_stores = vector_stores

    def definition(self, context: ToolContext) -> dict:
        """Offer `file_search(query)` to the upstream model."""
        return search_function(NAME, "Search the user's uploaded files for passages relevant to a query.",
                               "What to look for, in words likely to appear in the files.")

    def execute(self, context: ToolContext, arguments: str) -> ToolResult:
        """Search the run's unexpired vector stores; return the sources text and the step's file_search details."""
        query = query_argument(arguments)
        options = (context.tool.get("file_search") or {})
        ranking = options.get("ranking_options") or {}
        threshold = float(ranking.get("score_threshold") or 0.0)
        limit = int(options.get("max_num_results") or RUN_RESULTS)
        scope = store_ids(context)
        self.wait_for_ingestion(context.owner, scope)
        results = self.retriever.search_for_run(context.owner, scope, str(query), limit, threshold,
                                                options.get("filters")) if query else []
        details = {"ranking_options": {"ranker": RANKER if ranking.get("ranker", "auto") == "auto" else ranking["ranker"],
                                       "score_threshold": threshold},
                   "results": results}
        return ToolResult(output=sources_text(results), details=details)

    def wait_for_ingestion(self, owner: str, vector_store_ids: Sequence[str]) -> None:
        """Wait (up to INGEST_WAIT seconds) until the stores have no file in progress, as OpenAI's runs do.

        Files just attached to a message are still being ingested when the run starts."""
        deadline = time.monotonic() + INGEST_WAIT
        pending = list(vector_store_ids)
        while pending and time.monotonic() < deadline:
            pending = [vs_id for vs_id in pending if self._in_progress(owner, vs_id)]
            if pending:
                time.sleep(POLL)

    def _in_progress(self, owner: str, vs_id: str) -> bool:
        """Tell whether a store still ingests files (an expired one is skipped, so never waited for)."""
        try:
            return self.vector_stores.get(owner, vs_id)["status"] == "in_progress"
        except NotFoundError:
            return False

    @staticmethod
    def annotations(text: str, details: Sequence[dict]) -> list[dict]:
        """Return the file_citation annotations of an answer, from the run's file_search details.

        Markers `[n]` number the sources of the latest search that found any (what the model read last)."""
        found = [call.get("results") for call in details if call.get("results")]
        return citations(text, found[-1]) if found else []
