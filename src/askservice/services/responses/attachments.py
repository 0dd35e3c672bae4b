"""Files in input parts, made into what an OpenAI-compatible upstream takes: images and text.

An `input_image` given by `file_id` is sent as a base64 data URL of the uploaded file; an
`input_file` (by `file_id`, or inline as a base64 `file_data` data URL) is sent as its extracted
text (text, markup, code, PDF: the extraction file_search uses), because the self-hosted servers
behind this one read text and images, not documents. The stored items keep the parts as given.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from typing import Callable, Iterator

from askservice.errors import InvalidRequestError, NotFoundError

ReadFile = Callable[[str, str], tuple[dict, Iterator[bytes]]]
"""`(owner, file_id) -> (file object, its bytes)`; NotFoundError for another client's or an unknown file."""
ExtractText = Callable[[str, bytes], str]
"""`(filename, data) -> text`; raises ValueError (saying why) when the file holds no readable text."""
MAX_INLINE_BYTES = 32 * 1024 * 1024
"""The largest uploaded file a request may inline (OpenAI's limit for input files)."""


class Attachments:
    """Inline the files named in items' content parts, for one request."""

    def __init__(self, read_file: ReadFile, extract_text: ExtractText, max_bytes: int = MAX_INLINE_BYTES):
        self.read_file = read_file
        self.extract_text = extract_text
        self.max_bytes = max_bytes

    def inline(self, owner: str, items: list[dict]) -> list[dict]:
        """Return `items` with file parts replaced by image data URLs and text parts (others untouched)."""
        return [self._item(owner, item) for item in items]

    def _item(self, owner: str, item: dict) -> dict:
        key = "content" if item["type"] == "message" else "output" if item["type"] == "function_call_output" else None
        parts = item.get(key) if key else None
        if not isinstance(parts, list) or not any(p["type"] in ("input_file", "input_image") for p in parts):
            return item
        return {**item, key: [self._part(owner, part) for part in parts]}

    def _part(self, owner: str, part: dict) -> dict:
        if part["type"] == "input_image" and part.get("file_id"):
            meta, data = self._read(owner, part["file_id"])
            kind = mimetypes.guess_type(meta["filename"])[0] or "image/png"
            return {**part, "image_url": f"data:{kind};base64,{base64.b64encode(data).decode()}"}
        if part["type"] != "input_file":
            return part
        if part.get("file_id"):
            meta, data = self._read(owner, part["file_id"])
            filename = part.get("filename") or meta["filename"]
        else:
            filename, data = part.get("filename") or "file.txt", _data_url(part["file_data"])
        try:
            text = self.extract_text(filename, data)
        except ValueError as exc:
            raise InvalidRequestError(f"Cannot read the input file '{filename}': {exc}", param="input",
                                      code="unsupported_file") from None
        return {"type": "input_text", "text": f"[file {filename}]\n{text}"}

    def _read(self, owner: str, file_id: str) -> tuple[dict, bytes]:
        try:
            meta, chunks = self.read_file(owner, file_id)
        except NotFoundError:
            raise NotFoundError(f"No file found with id '{file_id}'.", param="input") from None
        if meta["bytes"] > self.max_bytes:
            raise InvalidRequestError(f"The file '{file_id}' is larger than {self.max_bytes} bytes: too large to inline.",
                                      param="input", code="file_too_large")
        return meta, b"".join(chunks)


def _data_url(value: str) -> bytes:
    """Return the bytes of a base64 data URL (or of bare base64)."""
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("file_data is not valid base64.", param="input", code="invalid_value") from None
