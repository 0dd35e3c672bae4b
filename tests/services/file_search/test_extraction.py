"""Text extraction: each supported kind gives its text; unreadable input raises ExtractionError."""

import json

import pytest

from askservice.services.file_search.extraction import ExtractionError, extract_text
from tests.pdf import make_pdf


def test_plain_kinds_decode_as_text():
    assert extract_text("notes.txt", "café au lait".encode()) == "café au lait"
    assert extract_text("README.md", b"# Title\n\nBody") == "# Title\n\nBody"
    assert json.loads(extract_text("data.json", b'{"a": 1}')) == {"a": 1}
    assert extract_text("t.csv", b"a,b\n1,2\n") == "a,b\n1,2\n"
    assert "def main" in extract_text("tool.py", b"def main():\n    pass\n")


def test_byte_order_marks_and_legacy_encodings():
    assert extract_text("bom.txt", "\ufeffhello".encode("utf-8")) == "hello"
    assert extract_text("wide.txt", "hello".encode("utf-16")) == "hello"
    assert extract_text("old.txt", "naïve".encode("cp1252")) == "naïve"


def test_html_keeps_visible_text_only():
    html = b"<html><head><title>t</title><style>p{}</style></head><body><h1>Big</h1><p>Hello &amp; bye</p>" \
           b"<script>var x = 1;</script></body></html>"
    assert extract_text("page.html", html) == "Big\nHello & bye"


def test_pdf_text_is_extracted():
    text = extract_text("doc.pdf", make_pdf(["The vault code is 7741.", "Second line."]))
    assert "The vault code is 7741." in text and "Second line." in text


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "unsupported_file"),
        ("image.png", b"\x89PNG\r\n\x1a\n", "unsupported_file"),
        ("noext", b"plain words", "unsupported_file"),
        ("binary.txt", b"abc\x00\x01\x02def", "unsupported_file"),
        ("blank.md", b"  \n\t ", "unsupported_file"),
    ],
)
def test_unreadable_files_raise_a_typed_error(name, data, code):
    with pytest.raises(ExtractionError) as info:
        extract_text(name, data)
    assert info.value.code == code and info.value.message
