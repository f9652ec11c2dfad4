"""Embeddings as Arrow columns: float16 lists, one per row (the schemas' ``list<float16>``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def half_lists(rows: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """An N × d float array as N float16 lists of d values; null where ``missing`` is true."""
    width = rows.shape[1] if rows.ndim == 2 else 0
    values = pa.array(np.nan_to_num(rows, nan=0.0).astype(np.float16).reshape(-1), pa.float16())
    offsets = pa.array(np.arange(len(rows) + 1, dtype=np.int32) * width)
    return pa.ListArray.from_arrays(offsets, values, mask=None if missing is None else pa.array(missing))
