"""Dictionary-encoded columns (pandas category, polars Categorical, Arrow dictionaries) are coded
through their dictionary (its entries encoded, each row's code its entry's, unused entries dropped)
instead of decoding every row: the same codes, vocabulary, dtypes and flags as the decoded column, to
the last bit, with duplicate entries, unused ones, -0.0 beside 0.0, chunks of their own dictionaries,
no rows, one row; nulls and NaN entries take the decoded column."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from galton.data import _dict_codes
from galton.data._encode import encode_column, plain_column
from galton.data.judgments import Judgments
from galton.metrics import alpha_krippendorff


def _dictionary(indices: list | np.ndarray, entries: list | pa.Array,
                index_type: pa.DataType | None = None) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(indices, index_type or pa.int32()), entries)


UTC = pa.timestamp("us", "UTC")


def _columns() -> dict[str, tuple[pa.Array | pa.ChunkedArray, bool]]:
    """name: (column, whether the dictionary path takes it)."""
    rng = np.random.default_rng(4)
    ids = np.char.add("t", rng.integers(0, 3000, 20_000).astype(str))
    cats = pd.Categorical(ids, categories=sorted(set(ids)) + ["unused", "t-1", "a0"])  # unused categories
    big = rng.integers(-(2**40), 2**40, 50)  # integer ids too sparse for the presence table
    stamps = pa.array([datetime.datetime(2024, 1, 2), datetime.datetime(2023, 5, 6)], UTC)
    polars = pl.DataFrame({"t": ids}).with_columns(pl.col("t").cast(pl.Categorical)).to_arrow().column("t")
    return {
        "pandas category": (pa.array(cats), True),
        "pandas category, every entry used": (pa.array(pd.Categorical(ids)), True),
        "polars Categorical (large_string, uint32)": (polars, True),
        "duplicate entries": (_dictionary([0, 1, 2, 3, 1, 0], ["b", "a", "b", "c"]), True),
        "duplicate entries, one used": (_dictionary([2, 2], ["b", "a", "b", "c"], pa.int8()), True),
        "int ids, dense": (_dictionary(rng.integers(0, 40, 500), pa.array(rng.permutation(60) * 2)), True),
        "int ids, sparse": (_dictionary(rng.integers(0, 50, 500), pa.array(big)), True),
        "uint64 ids": (_dictionary([1, 0, 1], pa.array([2**64 - 1, 3], pa.uint64())), True),
        "floats, -0.0 beside 0.0": (_dictionary([0, 1, 2, 3, 2, 4], [0.5, -0.0, 0.0, -1.5, 0.5]), True),
        "float16": (_dictionary([0, 1, 2], pa.array(np.array([1.5, -0.0, 0.25], np.float16))), True),
        "large_string": (_dictionary([1, 0, 2, 0], pa.array(["y", "x", "zz", "q"], pa.large_string())), True),
        "string_view (no take kernel to decode it)": (_dictionary([1, 0, 1], pa.array(["y", "x"], pa.string_view())),
                                                      True),
        "zoned timestamps": (_dictionary([1, 0], stamps), True),
        "dates": (_dictionary([0, 1, 0], pa.array([datetime.date(2024, 3, 1), datetime.date(2020, 1, 1)])), True),
        "chunks, dictionaries of their own": (pa.chunked_array([_dictionary([0, 1, 1], ["x", "y", "w"]),
                                                                _dictionary([1, 0, 2], ["y", "a", "x"])]), True),
        "one chunk": (pa.chunked_array([_dictionary([1, 0], ["x", "y", "z"])]), True),
        "one row": (_dictionary([2], ["x", "y", "z"]), True),
        "no rows": (_dictionary([], ["x", "y"]), True),
        "no rows, no entries": (_dictionary([], pa.array([], pa.string())), True),
        "no chunks": (pa.chunked_array([], pa.dictionary(pa.int32(), pa.string())), False),
        "a null entry, unused": (_dictionary([0, 2], ["b", None, "a"]), False),
        "NaN entries (other bits kept apart)": (_dictionary([1, 0, 2, 1], pa.array(
            np.array([0x7FF8000000000001, 0x7FF8000000000000, 0x3FF0000000000000], np.uint64).view(np.float64))),
            False),
    }


@pytest.mark.parametrize("name", list(_columns()))
def test_dictionary_codes_equal_the_decoded_columns(name: str) -> None:
    column, through_dictionary = _columns()[name]
    assert (_dict_codes._parts(column) is not None) == through_dictionary  # both sides of the switch
    codes, vocab = encode_column(column)
    if name.startswith("string_view"):  # Arrow cannot decode it: the same entries as plain strings
        column = _dictionary(column.indices, pa.array(column.dictionary.to_pylist(), pa.string()))
    want_codes, want_vocab = encode_column(plain_column(column))  # decoded: the path every column took
    assert codes.dtype == want_codes.dtype == np.int32 and vocab.dtype == want_vocab.dtype
    np.testing.assert_array_equal(codes, want_codes)
    if vocab.dtype == object:
        assert vocab.tolist() == want_vocab.tolist() and [type(v) for v in vocab] == [type(v) for v in want_vocab]
    else:  # the same bits: 0.0, never -0.0; NaNs of other bits
        assert vocab.tobytes() == want_vocab.tobytes()
    assert (codes.flags.writeable, vocab.flags.writeable) == (want_codes.flags.writeable, want_vocab.flags.writeable)


def test_categorical_frames_read_as_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judgments of a pandas frame with category columns (unused categories, a row with a null dropped)
    and of a polars one with Categorical columns: the codes and names of the same frame as text."""
    rng = np.random.default_rng(7)
    n = 3000
    df = pd.DataFrame({"task": np.char.add("t", rng.integers(0, 700, n).astype(str)),
                       "worker": np.char.add("w", rng.integers(0, 40, n).astype(str)),
                       "label": rng.choice(["cat", "dog", "bird"], n)})
    df.loc[5, "worker"] = None  # dropped: its worker's category may be left unused
    cat = df.astype("category")
    cat["task"] = cat.task.cat.add_categories(["zz", "t-1"])
    plc = pl.from_pandas(df).with_columns(pl.all().cast(pl.Categorical))
    want = Judgments.from_any(df, on_invalid="drop", duplicates="keep")
    parts, taken = _dict_codes._parts, []
    monkeypatch.setattr(_dict_codes, "_parts", lambda column: taken.append(parts(column)) or taken[-1])
    for frame in (cat, plc):
        taken.clear()
        got = Judgments.from_any(frame, on_invalid="drop", duplicates="keep")
        assert len(taken) == 3 and all(t is not None for t in taken)  # the three columns through their dictionaries
        for name in ("task", "worker", "label"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
            assert getattr(got, f"{name}_names").tolist() == getattr(want, f"{name}_names").tolist()


def _null_entry_cases() -> dict[str, tuple[str, pa.Array | pa.ChunkedArray]]:
    """name: (the column it stands in, a dictionary column whose rows point to null or NaN entries)."""
    nan = pa.array([1.0, 1.0, 2.0, 2.0, np.nan, np.nan], from_pandas=False)
    text = pa.array(["x", "x", "y", "y", "y", None])
    return {
        "NaN entry, float label": ("label", nan.dictionary_encode()),
        "null entry, text label": ("label", text.dictionary_encode(null_encoding="encode")),
        "null entry and null index": ("label", _dictionary([0, 1, None, 1, 0, 2], ["x", "y", None])),
        "null entry, task": ("task", pa.array([1, 1, 1, 2, None, 2]).dictionary_encode(null_encoding="encode")),
        "null entry, worker": ("worker", pa.array(list("abcab") + [None]).dictionary_encode(null_encoding="encode")),
        "chunks, NaN entry in the second": ("label", pa.chunked_array([_dictionary([0, 1, 1], [1.0, 2.0]),
                                                                      _dictionary([0, 1, 1], [np.nan, 2.0])])),
    }


@pytest.mark.parametrize("name", list(_null_entry_cases()))
def test_null_and_nan_entries_of_a_dictionary_are_missing_values_as_in_the_decoded_column(name: str) -> None:
    """A NaN entry of a float dictionary was read as a label (task 2's label nan, a p_nan column), a null
    entry (``null_count`` counts null indices only) crashed with an IndexError: both are the decoded
    column's nulls, refused with its error and dropped by on_invalid='drop', for Arrow tables and pandas'
    ArrowDtype columns alike, and by the Ray ingest's partition."""
    from galton.workers._partition import partition_unit

    role, column = _null_entry_cases()[name]
    plain = {"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": ["x", "x", "y", "y", "x", "y"]}
    decoded = pa.table({**plain, role: plain_column(column)})
    frames = [pa.table({**plain, role: column}),
              pd.DataFrame({**plain, role: pd.arrays.ArrowExtensionArray(pa.chunked_array(column))})]
    with pytest.raises(ValueError, match=rf"column '{role}' has \d null") as want:
        Judgments.from_any(decoded)
    with pytest.raises(ValueError) as want_metric:
        alpha_krippendorff(decoded)
    kept = Judgments.from_any(decoded, on_invalid="drop")
    for frame in frames:
        with pytest.raises(ValueError) as got:
            Judgments.from_any(frame)
        assert str(got.value) == str(want.value)
        with pytest.raises(ValueError) as got:
            alpha_krippendorff(frame)
        assert str(got.value) == str(want_metric.value)
        dropped = Judgments.from_any(frame, on_invalid="drop")
        for part in ("task", "worker", "label"):
            np.testing.assert_array_equal(getattr(dropped, part), getattr(kept, part))
            assert getattr(dropped, f"{part}_names").tolist() == getattr(kept, f"{part}_names").tolist()
    cols = ["task", "worker", "label"]
    meta, _ = partition_unit(frames[0], cols, 2, "raise")
    assert meta["nulls"] == partition_unit(decoded, cols, 2, "raise")[0]["nulls"] != {}
    assert partition_unit(frames[0], cols, 2, "drop")[0]["dropped"] == 6 - kept.task.size
