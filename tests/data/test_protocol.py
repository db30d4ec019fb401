"""The data protocol of galton.data: one null check, one encoder, one shared interface."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from galton.data import Choices, Comparisons, EncodedData, Judgments, encode_column


def _judgments():
    return Judgments.from_any({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "label": [0, 1, 0]})


def _comparisons():
    return Comparisons.from_any({"worker": ["a", "b", "b"], "left": ["x", "y", "x"], "right": ["y", "z", "z"],
                                 "label": ["x", "z", "z"]})


def _choices():
    return Choices.from_any(pa.table({"worker": ["a", "b"], "options": [["x", "y", "z"], ["y", "z"]],
                                      "choice": ["y", "z"]}))


@pytest.mark.parametrize("make,n,workers", [(_judgments, 3, ["a", "b"]), (_comparisons, 3, ["a", "b"]),
                                            (_choices, 2, ["a", "b"])])
def test_every_data_class_satisfies_the_protocol(make, n, workers):
    data = make()
    assert isinstance(data, EncodedData)
    assert len(data) == data.n_judgments == n
    assert data.n_workers == len(data.worker_names) == len(workers)
    assert data.worker_names.tolist() == workers
    assert data.source_kind == "dict" or data.source_kind == "arrow"
    assert data.n_dropped == 0
    assert repr(data).startswith(type(data).__name__ + "(") and str(n) in repr(data)
    assert not data.worker.flags.writeable and data.worker.dtype == np.int32


@pytest.mark.parametrize("build,col", [
    (lambda: Judgments.from_any({"task": ["t1", None, None, "t4"], "worker": ["a", "b", "c", "d"],
                                 "label": [0, 1, 0, 1]}), "task"),
    (lambda: Comparisons.from_any({"worker": ["a", "b", "c", "d"], "left": ["x", None, None, "x"],
                                   "right": ["y", "y", "y", "y"], "label": ["x", "y", "y", "y"]}), "left"),
    (lambda: Choices.from_any(pa.table({"worker": ["a", "b", "c", "d"],
                                        "options": [["x", "y"], ["x", "y"], ["x", "y"], ["x", "y"]],
                                        "choice": ["x", None, None, "y"]})), "choice"),
])
def test_the_one_null_check_has_one_message_shape(build, col):
    with pytest.raises(ValueError) as info:
        build()
    assert str(info.value) == (f"column {col!r} has 2 null value(s) (rows 1, 2); drop those rows or pass "
                               "on_invalid='drop' (CLI: --on-invalid drop)")


@pytest.mark.parametrize("values", [
    [5, -3, 70000, 5, 12],                                   # integers (the small-int fast path)
    [5, -3, 2**40, 5, 12],                                   # sparse integers (dictionary path)
    ["b", "a", "ä", "B", "a"],                               # strings
    ["10", "9", "007", "7", "9"],                            # integers written as text stay text
    [(2, "b"), (1, "z"), (2, "a"), (1, "z")],                # tuples (pandas)
])
def test_one_encoder_gives_one_vocabulary_for_labels_and_items(values):
    pd = pytest.importorskip("pandas")
    n = len(values)
    j = Judgments.from_any(pd.DataFrame({"task": values, "worker": ["w"] * n, "label": [0] * n}))
    other = values[1:] + values[:1]
    keep = [i for i in range(n) if values[i] != other[i]]
    c = Comparisons.from_any(pd.DataFrame({"left": [values[i] for i in keep], "right": [other[i] for i in keep],
                                           "label": [values[i] for i in keep]}))
    assert j.task_names.tolist() == c.item_names.tolist()
    if not isinstance(values[0], tuple):
        codes, vocab = encode_column(pa.array(values))
        assert vocab.tolist() == j.task_names.tolist() == sorted(set(values))
        assert vocab[codes].tolist() == values
    assert j.task_names[j.task].tolist() == values


@pytest.mark.parametrize("values,dtype", [
    ([2**40 + 5, 2**40, 2**40 + 2, 2**40 + 5], pa.int64()),  # beyond int32: offsets wrap on the way in
    ([-2**62 + 3, -2**62, -2**62 + 1], pa.int64()),
    ([2**63 - 1, 2**63 - 4, 2**63 - 2], pa.int64()),  # at int64's top
    ([2**64 - 1, 2**64 - 3, 2**64 - 3], pa.uint64()),  # beyond int64: the vocabulary stays uint64
    ([-128, 127, 0, 5], pa.int8()),  # the whole range of a narrow type
    ([255, 0, 7], pa.uint8()),
    ([2**33 + 2, 2**33, 2**33 + 1], pa.int64()),  # every id of the range present: codes are id - min
])
def test_integer_ids_in_a_dense_range_encode_to_their_sorted_values(values, dtype):
    """Integer ids spanning a short range are coded by offset from the minimum, computed in int32;
    ids anywhere in their type's range (int8 to uint64) come back as the sorted unique ids, in the
    column's own type, and the codes index them."""
    codes, vocab = encode_column(pa.array(values, type=dtype))
    assert codes.dtype == np.int32
    assert vocab.dtype == dtype.to_pandas_dtype()
    assert vocab.tolist() == sorted(set(values))
    assert vocab[codes].tolist() == values


def test_a_nan_label_is_called_nan_not_an_empty_field() -> None:
    """A label "nan" beside numbers (read as NaN) was reported as a "null value", though the file
    has no empty field (bug hunt)."""
    data = {"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [0.5, float("nan"), 1.0]}
    with pytest.raises(ValueError, match=r"column 'label' has 1 null or NaN value\(s\) \(rows 1\)"):
        Judgments.from_any(data)
