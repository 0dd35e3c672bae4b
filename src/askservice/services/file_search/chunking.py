"""Split text into overlapping windows of tokens, counted with the engine's offline tokenizer.

The spec's strategies: `auto` is 800 tokens with 400 of overlap; `static` takes
`max_chunk_size_tokens` (100-4096) and `chunk_overlap_tokens` (at most half of it).
"""

from __future__ import annotations

from dataclasses import dataclass

from askservice.services.engine.tokenizer import encoding

AUTO = {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}


@dataclass(frozen=True)
class Chunk:
    """One window of a file's text and how many tokens it holds."""

    text: str
    tokens: int


def chunk_text(text: str, max_tokens: int = 800, overlap: int = 400) -> list[Chunk]:
    """Split `text` into windows of at most `max_tokens` tokens, each sharing `overlap` with the last."""
    if max_tokens < 1 or not 0 <= overlap <= max_tokens // 2:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap <= max_tokens / 2")
    enc = encoding()
    tokens = enc.encode_ordinary(text)
    step = max_tokens - overlap
    chunks = []
    for start in range(0, max(len(tokens), 1), step):
        window = tokens[start:start + max_tokens]
        # a window edge can cut a multi-byte character; drop the partial bytes, not the chunk
        piece = enc.decode_bytes(window).decode("utf-8", errors="ignore").strip()
        if piece:
            chunks.append(Chunk(piece, len(window)))
        if start + max_tokens >= len(tokens):
            break
    return chunks
