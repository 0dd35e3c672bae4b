"""S3 specifics: backend failures surface as BlobsUnavailable, never as botocore errors."""

from __future__ import annotations

import pytest

from askservice.blobs.base import BlobsUnavailable
from askservice.blobs.s3 import S3BlobStore


def test_a_missing_bucket_is_blobs_unavailable(s3_server):
    blobs = S3BlobStore("no-such-bucket", client=s3_server.client())
    with pytest.raises(BlobsUnavailable) as caught:
        blobs.put("k", b"x")
    assert caught.value.status_code == 503
