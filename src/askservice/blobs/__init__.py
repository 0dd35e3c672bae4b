"""The BlobStore layer: `open_blobs` picks the backend named by BLOB_URL (see `blobs.base` for the contract)."""

from __future__ import annotations

from askservice.blobs.base import BlobStore
from askservice.config import Settings, resolve_path


def open_blobs(settings: Settings) -> BlobStore:
    """Open the blob store of `settings.blob_url`: `file://FOLDER` or `s3://BUCKET/PREFIX`."""
    scheme, _, rest = settings.blob_url.partition("://")
    if scheme == "file":
        from askservice.blobs.local import LocalBlobStore

        return LocalBlobStore(resolve_path(rest))
    if scheme == "s3":
        from askservice.blobs.s3 import S3BlobStore

        bucket, _, prefix = rest.partition("/")
        return S3BlobStore(bucket, prefix)
    raise ValueError(f"BLOB_URL={settings.blob_url!r}: unknown scheme")
