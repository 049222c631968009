"""A fingerprint of a customer table: tells whether two fits saw the same data."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

from rfmkit.schema import CUSTOMER_ID, FREQUENCY, MONETARY, RECENCY

__all__ = ["fingerprint"]


def fingerprint(customers: pd.DataFrame) -> str:
    """SHA-256 of the customer table's id and metrics: tells whether two fits saw the same data."""
    digest = hashlib.sha256()
    # The ids as Arrow stores them (one chunk): offsets, so lengths, then UTF-8 bytes; then the
    # metrics' raw float64 bytes. ~20 ms for a million customers.
    ids = pa.array(customers[CUSTOMER_ID].astype(str), type=pa.large_string())
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[ids.offset:ids.offset + len(ids) + 1]
    digest.update(len(ids).to_bytes(8, "little"))
    digest.update((offsets - offsets[0]).tobytes())
    digest.update(memoryview(ids.buffers()[2])[offsets[0]:offsets[-1]])
    for col in (RECENCY, FREQUENCY, MONETARY):
        digest.update(np.ascontiguousarray(customers[col].to_numpy(np.float64)).tobytes())
    return digest.hexdigest()


