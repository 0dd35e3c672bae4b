"""Clean text from fetched pages with trafilatura (main content, without navigation, footers and
ads), cut to a length; `plain` turns an engine's HTML snippet into text with lxml."""

from __future__ import annotations

import lxml.html
import trafilatura


def plain(fragment: str) -> str:
    """Return the text of an HTML fragment (`<strong>a</strong> b` -> `a b`), whitespace folded."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    try:
        text = lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()
    except (ValueError, lxml.etree.ParserError):
        text = fragment
    return " ".join(text.split())


def cut(text: str, limit: int) -> str:
    """Return `text` of at most `limit` characters (a cut one ends in " …"), cut between words when
    a space is near the end."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 2, 0)]
    space = head.rfind(" ")
    return (head[:space] if space > len(head) * 0.8 else head).rstrip() + " …"


def page_text(body: bytes, content_type: str, charset: str | None, url: str, limit: int) -> tuple[str, str]:
    """Return (title, text) of a page; HTML goes through trafilatura, plain text is decoded as is."""
    if content_type == "text/plain":
        return "", cut(body.decode(charset or "utf-8", errors="replace").strip(), limit)
    source: bytes | str = body
    if charset:  # the header's charset wins over what trafilatura would guess
        try:
            source = body.decode(charset, errors="replace")
        except LookupError:
            pass
    document = trafilatura.bare_extraction(
        source, url=url, include_comments=False, include_tables=True, include_images=False, with_metadata=True
    )
    title = (document.title or "") if document is not None else ""
    text = (document.text or "") if document is not None else ""
    if not text.strip():  # too short or too odd for the main-content heuristics: all visible text
        text = trafilatura.html2txt(source) or ""
    return " ".join(title.split()), cut(text.strip(), limit)
