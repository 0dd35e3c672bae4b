"""Token chunking: window sizes, overlap, and text that survives the round trip."""

import pytest

from askservice.services.engine.tokenizer import encoding
from askservice.services.file_search.chunking import chunk_text


def test_tokenizer_works_offline_and_counts():
    assert encoding().name == "o200k_base"
    assert len(encoding().encode_ordinary("hello world")) == 2


def test_windows_respect_size_and_overlap():
    words = [f"w{i}" for i in range(3000)]
    text = " ".join(words)
    chunks = chunk_text(text, max_tokens=200, overlap=50)
    assert all(c.tokens <= 200 for c in chunks)
    assert len(chunks) > 1
    # every word appears in some chunk, in order, and consecutive chunks overlap
    assert chunks[0].text.startswith("w0 ") and chunks[-1].text.endswith("w2999")
    for first, second in zip(chunks, chunks[1:]):
        tail = first.text.split()[-5:]
        assert " ".join(tail) in second.text


def test_short_text_is_one_chunk_and_empty_is_none():
    assert [c.text for c in chunk_text("just a little text")] == ["just a little text"]
    assert chunk_text("   ") == []


def test_multibyte_text_at_window_edges_is_not_garbled():
    text = "日本語のテキスト。" * 400
    chunks = chunk_text(text, max_tokens=100, overlap=20)
    assert all("\ufffd" not in c.text for c in chunks)
    assert all(set(c.text) <= set(text) for c in chunks)


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (100, 51), (100, -1)])
def test_bad_parameters_are_rejected(size, overlap):
    with pytest.raises(ValueError):
        chunk_text("x", max_tokens=size, overlap=overlap)
