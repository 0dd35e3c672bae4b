"""Wire the retrieval half of the Assistants API: files, vector stores, ingestion and search."""

from __future__ import annotations

from dataclasses import dataclass

from askservice.blobs.base import BlobStore
from askservice.config import Settings
from askservice.services.file_batches import FileBatchesService
from askservice.services.files import FilesService
from askservice.services.ingestion import Embed, Ingestor
from askservice.services.retrieval import Retriever
from askservice.services.vector_stores import VectorStoresService
from askservice.store.base import Store


@dataclass(frozen=True)
class FileSearch:
    """The services behind /files, /vector_stores and the file_search tool."""

    files: FilesService
    vector_stores: VectorStoresService
    batches: FileBatchesService
    ingestor: Ingestor
    retriever: Retriever


def embedder(settings: Settings, llm=None) -> Embed | None:
    """Return a function embedding texts with EMBEDDING_MODEL, or None (keyword ranking only)."""
    if not settings.embedding_model or not settings.upstream_base_url:
        return None
    if llm is None:
        from askservice.llm.client import LLMClient

        llm = LLMClient(settings.upstream_base_url, settings.upstream_api_key, settings.upstream_timeout)
    model = settings.embedding_model
    return lambda texts: llm.embed(model, list(texts))


def build_file_search(settings: Settings, store: Store, blobs: BlobStore, llm=None) -> FileSearch:
    """Build the file-search services on the given store and blob store."""
    embed = embedder(settings, llm)
    files = FilesService(store, blobs, settings.max_file_bytes)
    vector_stores = VectorStoresService(store, blobs, files)
    ingestor = Ingestor(vector_stores, embed)
    vector_stores.schedule = ingestor.submit
    return FileSearch(files, vector_stores, FileBatchesService(vector_stores), ingestor, Retriever(vector_stores, embed))
