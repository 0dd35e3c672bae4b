"""The `file_citation` annotations of an answer grounded in file_search results.

Two forms are cited: source markers (`[n]` or `【n†name】`, n counting the results from 1, as the
file_search tool numbers them for the model) and quoted spans ("...") found verbatim in a result;
`start_index`/`end_index` bound the marker or the quoted span in the answer.
"""

from __future__ import annotations

import re
from typing import Sequence

from askservice.services.engine.tools import source_markers

QUOTE = re.compile(r"[\"“]([^\"”]{12,}?)[\"”]")


def citations(text: str, results: Sequence[dict]) -> list[dict]:
    """Return file_citation annotations for `text`, an answer grounded in `results` (a step's file_search results)."""
    annotations = []
    for n, start, end in source_markers(text, len(results)):
        annotations.append(_citation(text, start, end, results[n - 1]["file_id"]))
    for m in QUOTE.finditer(text):
        quote = m.group(1)
        source = next((r for r in results if any(quote in c["text"] for c in r.get("content", []))), None)
        if source is not None:
            annotations.append(_citation(text, m.start(1), m.end(1), source["file_id"]))
    annotations.sort(key=lambda a: a["start_index"])
    return annotations


def _citation(text: str, start: int, end: int, file_id: str) -> dict:
    return {"type": "file_citation", "text": text[start:end], "file_citation": {"file_id": file_id},
            "start_index": start, "end_index": end}
