"""The BlobStore on S3 (or an S3-compatible server, via `AWS_ENDPOINT_URL_S3`), through boto3's client.

Streams are uploaded by boto3's transfer manager: one PUT below `MULTIPART_BYTES`, a multipart
upload of `MULTIPART_BYTES` parts above it, so memory holds a few parts, never the whole blob.
A failed or too-large upload is aborted by the transfer manager; S3 shows no partial object.
"""

from __future__ import annotations

from contextlib import closing
from typing import BinaryIO, Iterator, Union

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from askservice import aws
from askservice.blobs.base import CHUNK_SIZE, BlobsUnavailable, BlobStore, BlobTooLarge, check_key

MULTIPART_BYTES = 8 * 1024 * 1024
MISSING = ("NoSuchKey", "404", "NotFound")


class S3BlobStore(BlobStore):
    """Blobs as objects `PREFIX/KEY` in `bucket`."""

    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.client = client if client is not None else aws.client("s3")
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=4
        )

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: Union[bytes, BinaryIO], max_bytes: int | None = None) -> int:
        name = self._name(key)
        with _translated(key):
            if isinstance(data, (bytes, bytearray, memoryview)):
                if max_bytes is not None and len(data) > max_bytes:
                    raise BlobTooLarge(f"blob larger than {max_bytes} bytes")
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(data))
                return len(data)
            source = _Limited(data, max_bytes)
            self.client.upload_fileobj(source, self.bucket, name, Config=self.transfer)
            return source.size

    def get(self, key: str) -> Iterator[bytes]:
        name = self._name(key)
        with _translated(key):
            body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        return _chunks(body)

    def exists(self, key: str) -> bool:
        name = self._name(key)
        try:
            with _translated(key):
                self.client.head_object(Bucket=self.bucket, Key=name)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        name = self._name(key)
        with _translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=name)


class _Limited:
    """A read-only view of a stream that counts bytes and raises BlobTooLarge past `max_bytes`."""

    def __init__(self, source: BinaryIO, max_bytes: int | None):
        self.source = source
        self.max_bytes = max_bytes
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)  # the transfer manager asks for a part at a time
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise BlobTooLarge(f"blob larger than {self.max_bytes} bytes")
        return chunk


def _chunks(body) -> Iterator[bytes]:
    with closing(body):
        yield from body.iter_chunks(CHUNK_SIZE)


class _translated:
    """Turn S3's errors into FileNotFoundError (missing key) or BlobsUnavailable."""

    def __init__(self, key: str):
        self.key = key

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in MISSING:
                raise FileNotFoundError(f"no blob {self.key!r}") from None
            raise BlobsUnavailable(f"S3 failed: {code}") from exc
        if isinstance(exc, BotoCoreError):
            raise BlobsUnavailable(f"S3 failed: {exc}") from exc
        return False
