"""Codes of a dictionary-encoded column (a pandas category, a polars Categorical, an Arrow dictionary)
through its dictionary: :func:`galton.data._encode.encode_column` of the dictionary's entries, each
row's code that of its entry, and the entries no row uses dropped. Decoding every row to its value
and hashing the values again took 0.69 s of 1M categorical task ids (0.2 s this way); the codes and
the vocabulary are those of the decoded column, to the element and dtype."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ._encode import encode_column, plain_column

__all__ = ["dictionary_codes"]


def _parts(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray] | None:
    """The dictionary and the rows' indices into it (chunks with dictionaries of their own unified
    first: one dictionary for all); None where the rows' values are not those entries as they stand:
    a null row or entry (decoded, a null), a NaN entry (NaNs of other bits are kept apart and ordered
    as they first occur: in the rows, not in the dictionary)."""
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 0:
            return None
        column = column.unify_dictionaries() if column.num_chunks > 1 else column
        dictionary = column.chunk(0).dictionary
        chunks = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks]
        indices = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    else:
        dictionary, indices = column.dictionary, column.indices.to_numpy(zero_copy_only=False)
    if column.null_count or dictionary.null_count:
        return None
    floats = plain_column(dictionary).to_numpy(zero_copy_only=False) if pa.types.is_floating(dictionary.type) else None
    return None if floats is not None and np.isnan(floats).any() else (dictionary, indices)


def dictionary_codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`encode_column` of a dictionary-typed column: codes (int32) and the sorted vocabulary of
    the values the rows hold, through the dictionary where :func:`_parts` allows, else of the
    decoded column."""
    parts = _parts(column)
    if parts is None:
        return encode_column(plain_column(column))
    dictionary, indices = parts
    entry_codes, entry_vocab = encode_column(dictionary)  # equal entries (duplicates, -0.0 and 0.0) share one
    codes = entry_codes[indices]
    used = np.zeros(entry_vocab.size, dtype=bool)
    used[codes] = True
    if used.all():
        return codes, entry_vocab
    return (np.cumsum(used, dtype=np.int32) - 1)[codes], entry_vocab[used]
