"""The offline tokenizer: o200k_base from `bpe-openai`, for chunking files and counting prompts.

`bpe-openai` ships the vocabulary inside the package (tiktoken would download it at first use,
which fails on a closed network).
"""

from __future__ import annotations

import functools
import warnings

ENCODING = "o200k_base"


@functools.lru_cache(maxsize=1)
def encoding():
    """Return the tokenizer (loaded once per process; it takes most of a second)."""
    with warnings.catch_warnings():
        # bpe-openai 0.1.4 reads its bundled vocabulary through a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        return bpe_openai.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Return how many o200k_base tokens `text` holds."""
    return len(encoding().encode_ordinary(text)) if text else 0
