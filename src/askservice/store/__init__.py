"""The Store layer: `open_store` picks the backend named by STORE_URL (see `store.base` for the contract)."""

from __future__ import annotations

from askservice.blobs.base import BlobStore
from askservice.config import Settings, resolve_path
from askservice.store.base import Store


def open_store(settings: Settings, blobs: BlobStore) -> Store:
    """Open the store of `settings.store_url`; `blobs` keeps attributes too large for an item."""
    scheme, _, rest = settings.store_url.partition("://")
    if scheme == "sqlite":
        from askservice.store.sqlite import SqliteStore

        # sqlite:///rel/x.db is relative to the repository, sqlite:////abs/x.db absolute
        return SqliteStore(resolve_path(rest[1:] if rest.startswith("/") else rest))
    if scheme == "dynamodb":
        from askservice.store.dynamodb import DynamoStore

        store = DynamoStore(rest, blobs)
        if settings.store_create_table:
            store.create_table()
        return store
    raise ValueError(f"STORE_URL={settings.store_url!r}: unknown scheme")
