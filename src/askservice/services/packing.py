"""The compact blob of one vector-store file's chunks: texts as JSON, vectors as packed float32.

Layout: `ASV1`, a 4-byte little-endian header length, the JSON header `{"texts": [...],
"dim": D}`, then `len(texts) * D` little-endian float32 values (none when D is 0). One blob per
ingested file keeps a store of 10,000 chunks to a handful of reads on DynamoDB+S3 as on disk.
"""

from __future__ import annotations

import json
import struct
from typing import Sequence

from askservice.services.numeric import np

MAGIC = b"ASV1"


def pack(texts: Sequence[str], vectors: Sequence[Sequence[float]] | None) -> bytes:
    """Return the blob for `texts` and their `vectors` (or None when there are none)."""
    matrix = np.asarray(vectors, dtype="<f4") if vectors is not None and len(texts) else None
    if matrix is not None and matrix.shape[0] != len(texts):
        raise ValueError("one vector per text")
    dim = int(matrix.shape[1]) if matrix is not None else 0
    header = json.dumps({"texts": list(texts), "dim": dim}, ensure_ascii=False).encode()
    body = matrix.tobytes() if matrix is not None else b""
    return MAGIC + struct.pack("<I", len(header)) + header + body


def unpack(blob: bytes) -> tuple[list[str], np.ndarray | None]:
    """Return the texts and vectors (n x D float32, or None) held by `blob`."""
    if blob[:4] != MAGIC:
        raise ValueError("not a chunk blob")
    (length,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8:8 + length])
    texts, dim = header["texts"], header["dim"]
    if not dim:
        return texts, None
    vectors = np.frombuffer(blob, dtype="<f4", offset=8 + length).reshape(len(texts), dim)
    return texts, vectors
