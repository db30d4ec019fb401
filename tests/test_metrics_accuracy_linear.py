"""Worker accuracy (get_accuracy, accuracy_on_aggregates) keeps one row of each repeated (task, worker,
label) without sorting every row (the repeated rows marked in linear passes, only they sorted) where
the weights are whole numbers (sums exact in any order): the same bits as the sort, by every grouping,
with and without repeated rows; fractional weights, whole ones summing to 2**53 and a (worker, label)
span beyond the marks keep the sort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from galton.aggregator import _kernels
from galton.metrics import accuracy_on_aggregates, get_accuracy, workers

pytestmark = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # w3's 0 / 0, on both paths

BYS = [None, "task", "worker", "label", "true_label", ["worker", "label"], ["true_label", "task"]]


def _frame(seed: int, weight: str | None, repeats: bool) -> tuple[pd.DataFrame, pd.Series]:
    """600 judgments of 150 tasks by 40 workers, 3 labels, shuffled, each (task, worker) once, or with 60
    rows again (some twice more: a triple three and four times; some with another label); gold for
    most tasks (some without: left out)."""
    rng = np.random.default_rng(seed)
    pairs = rng.choice(150 * 40, 600, replace=False)
    df = pd.DataFrame({"task": [f"t{p // 40}" for p in pairs], "worker": [f"w{p % 40}" for p in pairs],
                       "label": rng.choice(["a", "b", "c"], 600)})
    if repeats:
        again = df.iloc[rng.choice(600, 60, replace=False)]
        other = again.iloc[::4].assign(label=lambda d: np.where(d.label == "a", "b", "a"))
        df = pd.concat([df, again, again.iloc[:10], again.iloc[:5], other]).sample(frac=1.0, random_state=seed)
    n = len(df)
    if weight == "whole":  # 0, 1, 2, 5 (a triple's rows weigh apart), -0.0 for every row of w3 (a 0 / 0)
        df["weight"] = np.where(df.worker == "w3", -0.0, rng.choice([0.0, 1.0, 2.0, 5.0], n))
    elif weight == "fraction":
        df["weight"] = rng.uniform(0.1, 2.0, n)
    elif weight == "huge":  # whole weights whose sum reaches 2**53: not exact in any order
        df["weight"] = np.where(np.arange(n) == 0, 2.0**53, 1.0)
    gold = pd.Series(rng.choice(["a", "b", "c"], 150), index=[f"t{i}" for i in range(150)]).iloc[:140]
    return df, gold


def _bits(x: object) -> object:
    if isinstance(x, pd.Series):
        return list(x.index), x.to_numpy().view(np.int64).tolist()
    if isinstance(x, pl.DataFrame):
        return {c: (x[c].to_numpy().view(np.int64).tolist() if c == "accuracy" else x[c].to_list()) for c in x.columns}
    return np.float64(x).view(np.int64)


def _both(monkeypatch: pytest.MonkeyPatch, call: object) -> tuple[object, object, list[bool]]:
    """``call()`` as it is (and whether each call took the linear path) and through the sort alone."""
    taken, kept = [], workers._kept_rows
    with monkeypatch.context() as m:
        m.setattr(workers, "_kept_rows", lambda *a: taken.append(kept(*a)) or taken[-1])
        fast = call()
    with monkeypatch.context() as m:
        m.setattr(workers, "_kept_rows", lambda *a: None)
        return fast, call(), [t is not None for t in taken]


@pytest.mark.parametrize("small", [0, 1 << 30])  # the compiled marks and numpy's twin
@pytest.mark.parametrize("weight", [None, "whole"])
@pytest.mark.parametrize("repeats", [False, True])
def test_linear_rows_give_the_bits_of_the_sort(monkeypatch: pytest.MonkeyPatch, small: int, weight: str | None,
                                               repeats: bool) -> None:
    monkeypatch.setattr(_kernels, "SMALL", small)
    df, gold = _frame(1, weight, repeats)
    for by in BYS:
        fast, sort, taken = _both(monkeypatch, lambda by=by: get_accuracy(df, gold, by=by))
        assert taken == [True] and _bits(fast) == _bits(sort), by
    for frame in (df, pl.from_pandas(df)):
        fast, sort, taken = _both(monkeypatch, lambda frame=frame: accuracy_on_aggregates(frame, by="worker"))
        assert taken == [True] and _bits(fast) == _bits(sort)
    one = df.iloc[:1]
    fast, sort, taken = _both(monkeypatch, lambda: get_accuracy(one, gold, by="worker"))
    assert taken == [True] and _bits(fast) == _bits(sort)
    if weight == "whole":
        assert np.isnan(get_accuracy(df, gold, by="worker")["w3"])


def test_a_repeated_row_counts_once_by_its_best_score() -> None:
    """By hand: (t1, w1, a) three times, weighing 1, 5 and 2 (the 5 kept), (t1, w1, b) once; w2 right."""
    df = pd.DataFrame({"task": ["t1", "t1", "t1", "t1", "t2", "t1"], "worker": ["w1", "w1", "w2", "w1", "w2", "w1"],
                       "label": ["a", "a", "a", "b", "b", "a"], "weight": [1.0, 5.0, 1.0, 1.0, 3.0, 2.0]})
    gold = pd.Series({"t1": "a", "t2": "a"})
    assert get_accuracy(df, gold) == (5.0 + 1.0) / (5.0 + 1.0 + 1.0 + 3.0)
    assert get_accuracy(df, gold, by="worker").tolist() == [5.0 / 6.0, 1.0 / 4.0]


@pytest.mark.parametrize("case", ["fraction", "huge", "span"])
@pytest.mark.parametrize("repeats", [False, True])
def test_the_sort_stays_where_the_order_would_show(monkeypatch: pytest.MonkeyPatch, case: str, repeats: bool) -> None:
    df, gold = _frame(2, case if case != "span" else None, repeats)
    if case == "span":  # the (worker, label) codes beyond the marks: sorted
        monkeypatch.setattr(workers, "MARKS_PER_ROW", -(1 << 20))
    for by in BYS:
        fast, sort, taken = _both(monkeypatch, lambda by=by: get_accuracy(df, gold, by=by))
        assert taken == [False] and _bits(fast) == _bits(sort), by
