"""numpy for retrieval, limited to one BLAS thread per process.

Searches multiply a query vector by up to tens of thousands of chunk vectors, well under a
millisecond on one core. OpenBLAS's default thread team only adds spinning threads that compete
with the worker's greenlets (and the other workers) for the same cores, which made p99 several
times worse in bench/retrieval.py. The limit is read when numpy first loads, so every module
here imports numpy through this one; an explicit OPENBLAS_NUM_THREADS still wins.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

__all__ = ["np"]
