"""Float columns of nearly all distinct values are coded by one sort (``np.unique``), the others by
Arrow's hash table: both give the same codes, vocabulary, types and flags, to the last bit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from galton.data import _encode, _float_codes
from galton.data._encode import encode_column


def _hash_table(column, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(_encode, "distinct_float_codes", lambda values: None)
        return encode_column(column)


def _mostly_distinct(rng, n, dtype=np.float64):
    x = np.round(rng.normal(50.0, 20.0, n), 6).astype(dtype)
    x[rng.integers(0, n, n // 50)] = x[rng.integers(0, n, n // 50)]  # repeated values (ties)
    x[:: 97] = -0.0
    x[5 :: 101] = 0.0
    x[[1, 2, 3]] = [np.inf, -np.inf, 5e-324 if dtype == np.float64 else 1e-45]
    return rng.permutation(x)


def _columns():
    rng = np.random.default_rng(11)
    x = _mostly_distinct(rng, 20_000)
    few = rng.integers(0, 5, 20_000).astype(float) - 0.0 * rng.integers(0, 2, 20_000)
    few[::3] *= -1.0  # -0.0 among grades
    return {
        "mostly distinct": (pa.array(x), True),
        "chunked": (pa.chunked_array([pa.array(x[:7000]), pa.array(x[7000:])]), True),
        "float32": (pa.array(_mostly_distinct(rng, 20_000, np.float32)), True),
        "float16": (pa.array(np.round(rng.normal(0, 30, 3000), 2).astype(np.float16)), True),
        "sliced": (pa.array(x).slice(333, 9000), True),
        "one row": (pa.array([-0.0]), True),
        "two equal": (pa.array([0.0, -0.0]), True),
        "many repeats (hash table)": (pa.array(few), False),
        "NaN (hash table)": (pa.array(np.r_[x, np.nan, -np.nan, x[:10]]), False),
        "empty": (pa.array(np.zeros(0)), False),
    }


@pytest.mark.parametrize("name", list(_columns()))
def test_float_codes_equal_the_hash_tables(name, monkeypatch):
    column, sorted_path = _columns()[name]
    values = _encode.plain_column(column).to_numpy()
    assert (_float_codes.distinct_float_codes(values) is not None) == sorted_path  # both sides of the switch
    codes, vocab = encode_column(column)
    want_codes, want_vocab = _hash_table(column, monkeypatch)
    assert codes.dtype == want_codes.dtype == np.int32 and vocab.dtype == want_vocab.dtype
    assert vocab.flags.writeable == want_vocab.flags.writeable
    np.testing.assert_array_equal(codes, want_codes)
    assert vocab.tobytes() == want_vocab.tobytes()  # the same bits: 0.0, never -0.0
    assert not np.signbit(vocab[vocab == 0]).any()


def test_nan_of_other_bits_stay_apart_as_in_arrow():
    """Arrow's hash table keeps NaNs of other bits apart (np.unique would merge them): such a column
    takes the hash table."""
    bits = np.array([0x7FF8000000000001, 0x7FF8000000000000, 0xFFF8000000000000], dtype=np.uint64)
    x = np.r_[np.arange(5000.0) / 3, bits.view(np.float64)]
    codes, vocab = encode_column(pa.array(x))
    assert vocab.size == 5003 and codes.max() == 5002

