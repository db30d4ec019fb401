"""The categorical worker report finds the repeated (task, worker) rows (``_Repeats``) and orders the
judgments by worker (``WorkerLikelihood``) in linear passes instead of stable sorts of every key: the
same arrays, bit for bit, as the sorts they replace, on shuffled rows with pairs repeated twice and
three times, workers without judgments, rows sorted already, one row and none; the reports of the
models equal to the bit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import _kernels, worker_report_others
from galton.aggregator.worker_report_others import WorkerLikelihood


class _SortedRepeats:
    """``_Repeats`` as it was: a stable sort of every (task, worker) key."""

    def __init__(self, worker: np.ndarray, task: np.ndarray, n_workers: int, n_tasks: int = 0):
        key = task * max(int(n_workers), 1) + worker
        order = np.argsort(key, kind="stable")
        first = np.r_[True, key[order][1:] != key[order][:-1]] if key.size else np.zeros(0, bool)
        gid = np.cumsum(first) - 1
        repeated = np.bincount(gid)[gid] > 1 if key.size else first
        self.members = order[repeated]
        _, self.size = np.unique(gid[repeated], return_counts=True)
        self.ptr = np.cumsum(self.size) - self.size
        self.group = np.full(key.size, -1, dtype=np.int64)
        self.group[self.members] = np.repeat(np.arange(self.size.size), self.size)

    excess = worker_report_others._Repeats.excess


class _SortedLikelihood(WorkerLikelihood):
    """``WorkerLikelihood`` as it was: a stable argsort by worker."""

    def __init__(self, own: np.ndarray, worker: np.ndarray, n_workers: int, k: int):
        order = np.argsort(worker, kind="stable")
        self.c, self.d = worker_report_others._coin_terms(own[order], k)
        self.n = np.bincount(worker, minlength=n_workers)
        self.ptr = np.concatenate([[0], np.cumsum(self.n)])
        self.share = np.bincount(worker, own, n_workers)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "f":  # the same bits
        a, b = a.view(np.int64), b.view(np.int64)
    assert np.array_equal(a, b)


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``n`` shuffled (worker, task) rows (int64) with pairs repeated twice and three times; worker
    codes and task codes left unused."""
    rng = np.random.default_rng(seed)
    n_workers, n_tasks = 30, max(n // 3, 1) + 5
    worker, task = rng.integers(0, n_workers - 2, n), rng.integers(0, n_tasks - 2, n)
    if n > 4:
        pick = rng.choice(n, n // 10, replace=False)
        worker = np.concatenate([worker, worker[pick], worker[pick[: n // 30]]])
        task = np.concatenate([task, task[pick], task[pick[: n // 30]]])
        shuffle = rng.permutation(worker.size)
        worker, task = worker[shuffle], task[shuffle]
    return worker.astype(np.int64), task.astype(np.int64), n_workers, n_tasks


@pytest.mark.parametrize("small", [0, 1 << 30])  # the compiled repeat marks and counting sort; numpy's twins
def test_repeats_and_worker_order_equal_the_sorts(monkeypatch: pytest.MonkeyPatch, small: int) -> None:
    monkeypatch.setattr(_kernels, "SMALL", small)
    for n, seed in ((0, 0), (1, 1), (2, 2), (9, 3), (5000, 4), (5000, 5)):
        worker, task, n_workers, n_tasks = _rows(n, seed)
        if seed == 5:  # sorted by worker already (no order to apply), a long group of one pair
            worker, task = np.sort(worker), np.concatenate([np.full(40, 7), task[40:]])
        got = worker_report_others._Repeats(worker, task, n_workers, n_tasks)
        ref = _SortedRepeats(worker, task, n_workers)
        for name in ("members", "size", "ptr", "group"):
            _same(getattr(got, name), getattr(ref, name))
        assert n < 9 or got.members.size > n // 10  # repeats there to be found
        own = np.random.default_rng(seed).random(worker.size)
        own[::7] = 0.0
        lik, old = WorkerLikelihood(own, worker, n_workers, 3), _SortedLikelihood(own, worker, n_workers, 3)
        for name in ("c", "d", "n", "ptr", "share"):
            _same(getattr(lik, name), getattr(old, name))


def _judgments() -> pd.DataFrame:
    """1,200 judgments of 300 tasks by 12 workers, 3 labels, shuffled: a tenth of the rows there twice
    (a worker judging a task again, the same or another label), a task judged by one worker twice."""
    rng = np.random.default_rng(8)
    task, worker = rng.integers(0, 300, 1200), rng.integers(0, 12, 1200)
    df = pd.DataFrame({"task": task, "worker": worker, "label": (task + (rng.random(1200) < 0.3)) % 3})
    again = df.iloc[::10].assign(label=lambda d: np.where(np.arange(len(d)) % 2, d.label, (d.label + 1) % 3))
    lone = pd.DataFrame({"task": [999, 999], "worker": [3, 3], "label": [1, 2]})
    return pd.concat([df, again, lone], ignore_index=True).sample(frac=1.0, random_state=2)


@pytest.mark.parametrize("name", ["ds", "one_coin_ds", "bds"])
def test_categorical_report_equals_the_sorts(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(_kernels, "SMALL", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = galton.aggregate(_judgments(), name)
        linear = model.workers_
        monkeypatch.setattr(worker_report_others, "_Repeats", _SortedRepeats)
        monkeypatch.setattr(worker_report_others, "WorkerLikelihood", _SortedLikelihood)
        model = galton.aggregate(_judgments(), name)
        sorted_ = model.workers_
    assert list(linear.columns) == list(sorted_.columns) and linear.index.equals(sorted_.index)
    for col in linear.columns:
        a, b = linear[col].to_numpy(), sorted_[col].to_numpy()
        if a.dtype.kind == "f":
            _same(a, b)
        else:
            np.testing.assert_array_equal(a, b, err_msg=col)
