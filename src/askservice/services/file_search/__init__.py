"""The retrieval half of the Assistants API: files, vector stores, ingestion, search, the file_search tool.

    files          uploads (`files/ID` blobs) and their metadata
    vector_stores  stores and their files
    contents       a store's files, memberships and counters, changed together
    deletion       delete = one conditional mark, then the parts; the sweep finishes a dead deleter's work
    batches        file batches of a store
    ingestion      per-process greenlets: extract, chunk, embed, pack, finish, under a renewed lease
    extraction     text from txt/md/json/csv/html/code/pdf
    chunking       o200k_base token windows
    index          packed chunk blobs, and each worker's cache of searchable Blocks
    ranking        BM25 + cosine fused score (numpy with one BLAS thread)
    search         store search and a run's search
    citations      file_citation annotations of an answer
    tool           the file_search ServerTool of runs

`build_file_search` wires them; `FileSearch.sweep` is what the worker's sweeper calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from askservice.blobs.base import BlobStore
from askservice.config import Settings
from askservice.llm import open_llm
from askservice.services.engine.leases import Leases
from askservice.services.file_search.batches import FileBatchesService
from askservice.services.file_search.contents import Contents
from askservice.services.file_search.files import FilesService
from askservice.services.file_search.index import Index
from askservice.services.file_search.ingestion import Dispatch, Embed, Ingestor
from askservice.services.file_search.search import Retriever
from askservice.services.file_search.tool import FileSearchTool
from askservice.services.file_search.vector_stores import VectorStoresService
from askservice.store.base import Store


@dataclass(frozen=True)
class FileSearch:
    """The services behind /files, /vector_stores and the file_search tool."""

    files: FilesService
    vector_stores: VectorStoresService
    batches: FileBatchesService
    ingestor: Ingestor
    index: Index
    retriever: Retriever
    tool: FileSearchTool

    def sweep(self) -> int:
        """Finish deletions left half done, then queue files whose ingestion lease lapsed; return how many."""
        return self.vector_stores.sweep() + self.files.sweep() + self.ingestor.sweep()


def embedder(settings: Settings, llm=None) -> Embed | None:
    """Return a function embedding texts with EMBEDDING_MODEL, or None (keyword ranking only)."""
    if not settings.embedding_model:
        return None
    llm = llm or open_llm(settings)
    if llm is None:
        return None
    model = settings.embedding_model
    return lambda texts: llm.embed(model, list(texts))


def build_file_search(settings: Settings, store: Store, blobs: BlobStore, leases: Leases, llm=None,
                      dispatch: Dispatch | None = None) -> FileSearch:
    """Build the file-search services on the given store and blob store, leasing with the process's `leases`.

    `dispatch`: where added files go instead of this process's ingestion greenlets (tests, benchmarks)."""
    embed = embedder(settings, llm)
    contents = Contents(store, blobs)
    files = FilesService(store, blobs, contents, leases, settings.max_file_bytes)
    ingestor = Ingestor(store, blobs, files, contents, leases, embed, dispatch)
    vector_stores = VectorStoresService(store, blobs, files, contents, ingestor, leases)
    index = Index(store, blobs)
    retriever = Retriever(vector_stores, index, embed)
    return FileSearch(
        files=files, vector_stores=vector_stores, batches=FileBatchesService(store, vector_stores, files, contents),
        ingestor=ingestor, index=index, retriever=retriever, tool=FileSearchTool(retriever, vector_stores),
    )
