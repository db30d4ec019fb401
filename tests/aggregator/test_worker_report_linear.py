"""The worker reports count distinct (worker, task) pairs and code them in linear passes (a counting
sort by task, then by worker) instead of sorting the pair keys: the same numbers, bit for bit, as
the sorts (np.sort / np.unique) they replace, on shuffled rows with repeated pairs, lone tasks and
items, ties, one row and none."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import (
    _kernels,
    worker_report,
    worker_report_items,
    worker_report_others,
)
from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _sorted_distinct(worker: np.ndarray, task: np.ndarray, n_workers: int, n_tasks: int) -> np.ndarray:
    """The sort the linear count replaced (distinct_tasks before)."""
    span = max(int(n_tasks), 1)
    key = np.sort(np.asarray(worker, dtype=np.int64) * span + np.asarray(task, dtype=np.int64))
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return np.bincount(key[first] // span, minlength=n_workers).astype(np.int64)


@pytest.fixture(autouse=True)
def compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled kernels at any size (a small fit that has not imported numba runs the numpy twins)."""
    monkeypatch.setattr(_kernels, "SMALL", 0)


@pytest.fixture
def sorts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reports through the sorts they used: np.unique pair codes, sorted distinct counts."""
    for module in (worker_report_items, worker_report_others):
        monkeypatch.setattr(module, "pair_codes", _kernels.pair_codes_numpy)
    monkeypatch.setattr(worker_report_items, "distinct_tasks", _sorted_distinct)


@pytest.mark.parametrize("linear_span", [8, -1])  # the counting path and the sort (a span beyond the rows)
def test_distinct_tasks_counts_as_the_sort(monkeypatch: pytest.MonkeyPatch, linear_span: int) -> None:
    monkeypatch.setattr(_kernels, "LINEAR_SPAN", linear_span)
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 5000, 80_000):  # 80,000 rows: the compiled repeat marks
        worker = rng.integers(0, 50, n).astype(np.int32)
        task = rng.integers(0, max(n // 4, 1), n).astype(np.int32)  # repeats; some codes unused
        for w, t, n_w, n_t in ((worker, task, 51, max(n // 4, 1) + 3), (task, worker, max(n // 4, 1) + 3, 51)):
            got = worker_report.distinct_tasks(w, t, n_w, n_t)
            np.testing.assert_array_equal(got, _sorted_distinct(w, t, n_w, n_t))
            assert got.dtype == np.int64
            if n:
                ref = pd.DataFrame({"w": w, "t": t}).groupby("w").t.nunique().reindex(range(n_w), fill_value=0)
                np.testing.assert_array_equal(got, ref.to_numpy())


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and a.index.equals(b.index)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        assert x.dtype == y.dtype, col
        if x.dtype.kind == "f":  # the same bits: -0.0 and NaN included
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), col
        else:
            np.testing.assert_array_equal(x, y, err_msg=col)


def _ratings() -> pd.DataFrame:
    """3,000 ratings of 600 tasks by 40 raters, shuffled: repeated (task, rater) rows, tasks rated
    by one rater alone (one of them twice), ratings on a few values (ties)."""
    rng = np.random.default_rng(5)
    task = rng.integers(0, 600, 3000)
    worker = rng.integers(0, 40, 3000)
    rows = pd.DataFrame({"task": task, "worker": worker, "label": np.round(rng.normal(task % 7, 1.0), 0)})
    lone = pd.DataFrame({"task": [900, 901, 901], "worker": [3, 4, 4], "label": [1.0, 2.0, 5.0]})
    rows = pd.concat([rows, rows.iloc[:300], lone], ignore_index=True)
    return rows.sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.mark.parametrize("name", ["rating_mean", "rating_gaussian", "pm"])
def test_rating_report_equals_the_sorts(request: pytest.FixtureRequest, name: str) -> None:
    model = galton.aggregate(_ratings(), name, kind="rating")
    linear = worker_report.worker_report(model)
    request.getfixturevalue("sorts")
    _same(linear, worker_report.worker_report(model))
    data = _ratings()
    np.testing.assert_array_equal(linear.n_tasks.to_numpy(), data.groupby("worker").task.nunique().to_numpy())


def test_pairwise_report_equals_the_sorts(request: pytest.FixtureRequest) -> None:
    """Bradley-Terry reads each rater against scores without it (_leave_out_scores' pair codes);
    items only one rater compared, repeated comparisons."""
    data = pd.DataFrame(simulate_pairwise(4000, n_responses=60, n_workers=30, seed=2).data)
    extra = pd.DataFrame({"worker": [7, 7, 7], "left": [1000, 1001, 1000], "right": [1001, 1000, 1001],
                          "label": [1000, 1000, 1001]})
    data = pd.concat([data, extra, data.iloc[:200]], ignore_index=True).sample(frac=1.0, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = galton.aggregate(data, "bt", kind="pairwise")
        linear = worker_report.worker_report(model)
        request.getfixturevalue("sorts")
        _same(linear, worker_report.worker_report(model))


def test_choice_report_equals_the_sorts(request: pytest.FixtureRequest) -> None:
    data = simulate_best_of_n(3000, n_prompts=200, n_responses=4, n_workers=25, shown=3, seed=4).data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = galton.aggregate(data, "plackett_luce", kind="choice")
        linear = worker_report.worker_report(model, output="pandas")
        request.getfixturevalue("sorts")
        _same(linear, worker_report.worker_report(model, output="pandas"))
