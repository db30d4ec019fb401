"""The rows ``duplicates=`` keeps and the repeats the warning counts, found by linear kernels
(:func:`galton.aggregator._kernels.repeat_rows`), equal a sort of the (task, worker) keys done here
by hand: every kept row, in row order, on shuffled rows with pairs repeated two and three times."""

from __future__ import annotations

import numpy as np
import pytest

from galton.data._repeats import one_row_per_pair, repeated_pairs


def _by_sort(task: np.ndarray, worker: np.ndarray, keep: str) -> np.ndarray:
    key = task.astype(np.int64) * 1000 + worker
    seen: dict[int, int] = {}
    for i, k in enumerate(key.tolist()):
        if keep == "last" or k not in seen:
            seen[k] = i
    return np.array(sorted(seen.values()), dtype=np.int64)


def _crowd(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 400, n).astype(np.int32), rng.integers(0, 12, n).astype(np.int32)  # ~7 a task of 12


@pytest.mark.parametrize("keep", ["first", "last"])
@pytest.mark.parametrize("n", [3000, 70_000])  # below and above the size the compiled twin takes over
def test_first_and_last_keep_the_rows_a_sort_keeps(keep: str, n: int) -> None:
    task, worker = _crowd(n, n)
    names_t, names_w = np.arange(task.max() + 1), np.arange(worker.max() + 1)
    got = one_row_per_pair(task, worker, names_t, names_w, keep)
    np.testing.assert_array_equal(got, _by_sort(task, worker, keep))
    assert got.size < n  # the crowd repeats pairs


def test_raise_names_every_later_row_of_a_pair_and_the_count_matches_the_warning() -> None:
    task = np.array([3, 1, 3, 1, 3, 0], dtype=np.int32)
    worker = np.array([0, 0, 0, 1, 0, 1], dtype=np.int32)  # (3, 0) at rows 0, 2 and 4
    with pytest.raises(ValueError, match=r"^2 repeated \(task, worker\) pair\(s\) \(rows 2, 4\)"):
        one_row_per_pair(task, worker, np.arange(4), np.arange(2), "raise")
    assert one_row_per_pair(task[:2], worker[:2], np.arange(4), np.arange(2), "raise") is None
    n, pairs, t, w = repeated_pairs(task, worker, 2)
    assert (n, pairs, t.tolist(), w.tolist()) == (2, 1, [3], [0])
