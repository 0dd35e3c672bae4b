"""Ids named in request bodies (tool_resources, attachments, image files) must be the caller's.

An unknown, malformed or other client's file or vector store is a 404 naming the param, as an id
in the path is. `tool_resources.file_search.vector_stores` (a vector store to create from files)
becomes the id of the store it created. Files attached to messages for `file_search` go into the
thread's vector store, made for the purpose (expiring 7 days after its last use) when the thread
has none, as at OpenAI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services.crud import not_found

if TYPE_CHECKING:
    from askservice.services.file_search.files import FilesService
    from askservice.services.file_search.vector_stores import VectorStoresService

THREAD_STORE_EXPIRY = {"anchor": "last_active_at", "days": 7}


def search_file_ids(messages: list[dict]) -> list[str]:
    """Return the ids of the files the messages attach for `file_search`, once each, in order."""
    found = [
        attachment["file_id"]
        for message in messages
        for attachment in message.get("attachments") or []
        if any(tool.get("type") == "file_search" for tool in attachment.get("tools") or [])
    ]
    return list(dict.fromkeys(found))


class ResourceChecker:
    """Check the file and vector-store ids a request names against the caller's own."""

    def __init__(self, files: FilesService, vector_stores: VectorStoresService) -> None:
        self.files = files
        self.vector_stores = vector_stores

    def file(self, owner: str, file_id: str, param: str) -> None:
        """Raise NotFoundError (naming `param`) unless `file_id` is one of the caller's files."""
        try:
            self.files.owned(owner, file_id)
        except NotFoundError:
            raise not_found("file", file_id, param) from None

    def vector_store(self, owner: str, vs_id: str, param: str) -> None:
        """Raise NotFoundError (naming `param`) unless `vs_id` is one of the caller's vector stores."""
        try:
            self.vector_stores.owned(owner, vs_id)
        except NotFoundError:
            raise not_found("vector store", vs_id, param) from None

    def tool_resources(self, owner: str, requested: dict | None, param: str = "tool_resources") -> dict:
        """Return `tool_resources` as stored, after checking every id and creating requested stores."""
        out: dict = {}
        if not requested:
            return out
        code = requested.get("code_interpreter")
        if code is not None:
            file_ids = list(code.get("file_ids") or [])
            for index, file_id in enumerate(file_ids):
                self.file(owner, file_id, f"{param}.code_interpreter.file_ids[{index}]")
            out["code_interpreter"] = {"file_ids": file_ids}
        search = requested.get("file_search")
        if search is not None:
            vs_ids = list(search.get("vector_store_ids") or [])
            for index, vs_id in enumerate(vs_ids):
                self.vector_store(owner, vs_id, f"{param}.file_search.vector_store_ids[{index}]")
            new_stores = search.get("vector_stores") or []
            for index, new in enumerate(new_stores):
                for f_index, file_id in enumerate(new.get("file_ids") or []):
                    self.file(owner, file_id, f"{param}.file_search.vector_stores[{index}].file_ids[{f_index}]")
            for new in new_stores:
                created = self.vector_stores.create(
                    owner, None, new.get("file_ids") or [], new.get("chunking_strategy"), None, new.get("metadata"),
                )
                vs_ids.append(created["id"])
            out["file_search"] = {"vector_store_ids": vs_ids}
        return out

    def add_for_search(self, owner: str, tool_resources: dict | None, file_ids: list[str]) -> dict:
        """Add files to the vector store of `tool_resources` (a new one when there is none, or it is
        gone); return the tool_resources that name the store."""
        tool_resources = dict(tool_resources or {})
        if not file_ids:
            return tool_resources
        vs_ids = (tool_resources.get("file_search") or {}).get("vector_store_ids") or []
        if vs_ids:
            try:
                self.vector_stores.owned(owner, vs_ids[0], usable=True)
                for file_id in file_ids:
                    self.vector_stores.add_file(owner, vs_ids[0], file_id, None, None)
                return tool_resources
            except (NotFoundError, InvalidRequestError):  # the store was deleted or expired since: make a new one
                pass
        created = self.vector_stores.create(owner, None, file_ids, None, THREAD_STORE_EXPIRY, None)
        tool_resources["file_search"] = {"vector_store_ids": [created["id"]]}
        return tool_resources

    def drop_store(self, owner: str, vs_id: str) -> None:
        """Delete a vector store made by `add_for_search` that lost a race to be the thread's."""
        try:
            self.vector_stores.delete(owner, vs_id)
        except NotFoundError:
            pass
