"""The order of a shard's ratings by (task, value) (medians, trimmed means, weighted medians): by label
code within each task where the codes rank the values, else a lexsort; the same permutation either way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galton.aggregator import _kernels, ratings, truth_discovery
from galton.aggregator._engine import build_shard
from galton.aggregator._registry import get


def _lexsort(shard, values):  # main's sorted_order
    order = shard.state.get("_ratings_order")
    if order is None:
        order = shard.state["_ratings_order"] = np.lexsort((values[shard.label], shard.task))
    return order


def _shard(rng):
    sizes = rng.integers(1, 8, 300)  # one-row tasks, short ones (insertion sort), two long ones (merge sort)
    sizes[[10, 200]] = [40, 700]
    task = np.repeat(np.arange(sizes.size), sizes)
    n = task.size
    label = rng.integers(0, 9, n)  # few labels: many ties within a task
    label[task == 10] = 4  # a task of one value
    worker = rng.integers(0, 30, n)
    worker[:20] = worker[20:40]  # repeated rows
    perm = rng.permutation(n)  # shuffled rows: the shard sorts them by task
    return build_shard(task[perm], worker[perm], label[perm], np.arange(sizes.size, dtype=np.int32),
                       np.full(sizes.size, -1), 30, 9)


@pytest.mark.parametrize("kernel", ["numpy", "compiled"])
@pytest.mark.parametrize("values", [
    np.array([-3.0, -0.5, 0.0, 1.0, 2.5, 3.0, 10.0, 1e9, 1e12]),  # a sorted numeric vocabulary: by code
    np.array([0.0, 1.0, 10.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0]),  # text "0" "1" "10" "2" ... "9": lexsort
    np.array([-0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0]),  # equal values of two codes: lexsort
    np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, np.nan]),  # NaN: lexsort
])
def test_sorted_order_is_the_lexsorts_permutation(values, kernel, monkeypatch):
    twin = _kernels._segment_order
    monkeypatch.setattr(ratings, "segment_order", twin.numpy if kernel == "numpy" else twin.compiled)
    for seed in range(3):
        got, want = _shard(np.random.default_rng(seed)), _shard(np.random.default_rng(seed))
        assert np.array_equal(np.asarray(ratings.sorted_order(got, values)), _lexsort(want, values))
        np.testing.assert_array_equal(ratings._sorted_by_task(got, values), ratings._sorted_by_task(want, values))


def _ratings(seed):
    rng = np.random.default_rng(seed)
    n = 4000
    task = rng.integers(0, 500, n)
    task[:60] = 7  # a long task
    label = np.round(rng.normal(3.0, 1.5, n), 1)  # ties within tasks
    label[::50] = -0.0
    label[::77] = 0.0
    df = pd.DataFrame({"task": task, "worker": rng.integers(0, 40, n), "label": label})
    return pd.concat([df, df.iloc[:25]]).sample(frac=1.0, random_state=seed)  # repeated rows, shuffled


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("make", [lambda: get("rating_median")(), lambda: get("rating_trimmed")(),
                                  lambda: truth_discovery.PM(loss="absolute", n_iter=5, start="median"),
                                  lambda: truth_discovery.CATD(n_iter=5, start="median")])
def test_median_models_give_the_lexsorts_bits(make, monkeypatch):
    for seed in range(2):
        df = _ratings(seed)
        got = make().fit(df)
        with monkeypatch.context() as m:
            m.setattr(ratings, "sorted_order", _lexsort)
            m.setattr(truth_discovery, "sorted_order", _lexsort)
            want = make().fit(df)
        assert got.scores_values_.tobytes() == want.scores_values_.tobytes()
