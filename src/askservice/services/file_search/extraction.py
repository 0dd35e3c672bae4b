"""Turn an uploaded file's bytes into plain text for chunking: text, markup, source code, PDF.

The kind is chosen by the file name's extension. A file that cannot be read as its kind (an
unknown extension, binary bytes in a text file, a broken or text-less PDF) raises
`ExtractionError`, which ingestion records as the vector-store file's `last_error`.
"""

from __future__ import annotations

import io
import logging
from html.parser import HTMLParser
from pathlib import PurePosixPath

log = logging.getLogger("askservice.extraction")

PLAIN = {
    ".txt", ".text", ".md", ".markdown", ".rst", ".json", ".jsonl", ".csv", ".tsv", ".xml",
    ".yaml", ".yml", ".toml", ".ini", ".cfg", ".log", ".tex", ".css", ".sql",
    ".py", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".java", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".go", ".rs", ".rb", ".php", ".sh", ".bash", ".kt", ".swift", ".scala", ".lua", ".pl", ".r",
}
HTML = {".html", ".htm"}
PDF = {".pdf"}


class ExtractionError(ValueError):
    """A file whose text cannot be read; `code` is the vector-store file's `last_error.code`."""

    def __init__(self, message: str, code: str = "unsupported_file") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def extension(filename: str) -> str:
    """Return the lower-cased extension of `filename` (`""` when it has none)."""
    return PurePosixPath(filename).suffix.lower()


def extract_text(filename: str, data: bytes) -> str:
    """Return the text of a file named `filename` holding `data`, or raise ExtractionError."""
    ext = extension(filename)
    if ext in PDF:
        text = _pdf_text(data)
    elif ext in HTML:
        text = _html_text(_decode(data, filename))
    elif ext in PLAIN:
        text = _decode(data, filename)
    else:
        raise ExtractionError(f"Files with extension '{ext or filename}' are not supported for file search.")
    if not text.strip():
        raise ExtractionError(f"The file '{filename}' holds no text that could be read.")
    return text


def _decode(data: bytes, filename: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ExtractionError(f"The file '{filename}' is binary, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many kinds on broken input; all mean "cannot read it"
        log.info("unreadable pdf: %r", exc)
        raise ExtractionError("The PDF could not be read: it is damaged or not a PDF.") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


class _TextOfHTML(HTMLParser):
    SKIP = {"script", "style", "head", "noscript", "template"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _TextOfHTML()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
