"""The E-step kernel: the numba path equals the numpy reference, and both equal a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from galton.aggregator import _kernels as K


def _problem(seed: int, n_tasks: int, n_workers: int, k: int, per_task: int):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), per_task).astype(np.int32)
    wl = (rng.integers(0, n_workers, task.size) * k + rng.integers(0, k, task.size)).astype(np.int32)
    indptr = np.zeros(n_tasks + 1, dtype=np.int64)
    np.cumsum(np.bincount(task, minlength=n_tasks), out=indptr[1:])
    table = np.log(rng.dirichlet(np.ones(k), size=n_workers * k))
    logprior = np.log(rng.dirichlet(np.ones(k)))
    gold = np.full(n_tasks, -1, dtype=np.int32)
    gold[::7] = rng.integers(0, k, gold[::7].size)
    return indptr, task, wl, table, logprior, gold


def test_estep_matches_hand_computation():
    indptr, task, wl, table, logprior, gold = _problem(0, 5, 3, 3, 2)
    ll, post, counts, cc = K.estep_table(indptr, task, wl, table, logprior, gold)
    exp_ll, exp_post, exp_counts = 0.0, np.zeros_like(post), np.zeros_like(counts)
    for t in range(5):
        logq = logprior.copy()
        for j in range(indptr[t], indptr[t + 1]):
            logq = logq + table[wl[j]]
        if gold[t] >= 0:
            exp_ll += logq[gold[t]]
            exp_post[t, gold[t]] = 1.0
        else:
            exp_ll += np.log(np.exp(logq).sum())
            exp_post[t] = np.exp(logq) / np.exp(logq).sum()
        for j in range(indptr[t], indptr[t + 1]):
            exp_counts[wl[j]] += exp_post[t]
    assert ll == pytest.approx(exp_ll, rel=1e-12)
    np.testing.assert_allclose(post, exp_post, atol=1e-14)
    np.testing.assert_allclose(counts, exp_counts, atol=1e-13)
    np.testing.assert_allclose(cc, exp_post.sum(axis=0), atol=1e-13)


@pytest.mark.skipif(not K.HAVE_NUMBA, reason="numba is not installed; the numpy path is the one in use")
@pytest.mark.parametrize("n_tasks", [50, 60_000])  # one thread, and the parallel path (>= 200k judgments)
def test_numba_equals_numpy(n_tasks, monkeypatch):
    from galton.aggregator import _jit

    args = _problem(1, n_tasks, 40, 4, 5)
    fast = K.estep_table(*args)
    monkeypatch.setattr(_jit, "HAVE_NUMBA", False)
    ref = K.estep_table(*args)
    assert fast[0] == pytest.approx(ref[0], rel=1e-12)
    for a, b in zip(fast[1:], ref[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-10)
