"""Codes of a float column whose values are nearly all distinct (ratings with decimals, scores), by
one sort instead of :func:`galton.data._encode.encode_column`'s hash table and dictionary sort: 0.21
against 0.10 s for 1M simulated ratings (1.2 against 0.55 s at 4M). A column with many repeated values
(grades 1..5) stays with the hash table, 3-10x faster there than a sort; a sample tells the two apart.
Both give the same codes and vocabulary."""

from __future__ import annotations

import numpy as np

__all__ = ["SAMPLE", "distinct_float_codes"]

#: rows of the strided sample whose repeats decide between a sort and the hash table
SAMPLE = 4096


def distinct_float_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes (int32) and the sorted vocabulary (read-only, the values' own type, -0.0 taken as 0.0)
    of a null-free float column, by ``np.unique``, where a strided sample of :data:`SAMPLE` rows says
    that about half the values or more are distinct (its repeats suggest over ``n / 2`` distinct values:
    sample**2 / (2 repeats) estimates their number). None otherwise, for an empty column, and for one
    holding a NaN: Arrow's hash table keeps NaNs of other bits apart, ``np.unique`` merges them."""
    n = values.size
    if n == 0:
        return None
    sample = values[::max(1, n // SAMPLE)]
    repeats = sample.size - np.unique(sample).size
    if repeats * n >= sample.size * sample.size or np.isnan(values).any():
        return None
    vocab, codes = np.unique(values + values.dtype.type(0.0), return_inverse=True)  # -0.0 + 0.0 is 0.0
    vocab.setflags(write=False)  # as Arrow's zero-copy view of the dictionary
    return codes.reshape(-1).astype(np.int32), vocab
