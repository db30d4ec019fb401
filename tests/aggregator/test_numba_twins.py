"""Every numba kernel equals its numpy twin (one test over ``_jit.TWINS``), and numba loads lazily."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from galton._math import gammaln
from galton.aggregator import _jit, _kernels, _pref_kernels
from galton.aggregator import _bayes_eb  # (declares its twins)
from galton.aggregator import _chi2  # noqa: F401  (declares its twin)
from galton.aggregator import _mmsr_kernels  # noqa: F401  (declares its twin)
from galton.aggregator import bwa as _bwa  # noqa: F401  (declares its twin)
from galton.aggregator import glad as _glad  # noqa: F401  (declares its twin)

TOL = {"estep": (1e-11, 1e-10), "estep_coin": (1e-11, 1e-10), "counts_from_post": (0.0, 0.0), "vote_stats": (1e-13, 1e-13),
       "bt_pass": (1e-10, 1e-12), "noisy_pass": (1e-10, 1e-12),
       "bt_info_diag": (1e-10, 1e-300), "glad_pass": (1e-9, 1e-11), "bds_derivatives": (1e-11, 1e-9),
       "bds_pair_posterior": (1e-12, 1e-11),
       "bds_band_pass": (1e-9, 1e-10), "bwa_pass": (1e-12, 1e-12),
       "first_appearance": (0.0, 0.0), "task_order": (0.0, 0.0), "vote_shares": (0.0, 0.0), "argmax_ties_low": (0.0, 0.0),
       "column_sums": (0.0, 0.0), "take_rows": (0.0, 0.0), "code_counts": (0.0, 0.0), "pair_appearance": (0.0, 0.0),
       "dense_int_codes": (0.0, 0.0), "per_worker_sum": (0.0, 0.0), "normalise_rows": (0.0, 0.0),
       "bds_band_finish": (0.0, 0.0), "bds_held_beyond": (0.0, 0.0), "mmsr_sweep": (0.0, 0.0),
       "mmsr_times_c": (0.0, 0.0), "repeat_rows": (0.0, 0.0), "segment_order": (0.0, 0.0), "pair_codes": (0.0, 0.0),
       "chi2_solve": (0.0, 0.0)}


def _estep_args(rng: np.random.Generator, k: int = 4) -> tuple[Any, ...]:
    n_tasks, n_workers, per = 3000, 40, 5
    task = np.repeat(np.arange(n_tasks), per).astype(np.int32)
    wl = (rng.integers(0, n_workers, task.size) * k + rng.integers(0, k, task.size)).astype(np.int32)
    indptr = np.zeros(n_tasks + 1, dtype=np.int64)
    np.cumsum(np.bincount(task, minlength=n_tasks), out=indptr[1:])
    table = np.log(rng.dirichlet(np.ones(k), size=n_workers * k))
    gold = np.full(n_tasks, -1, dtype=np.int32)
    gold[::7] = rng.integers(0, k, gold[::7].size)
    return indptr, task, wl, table, np.log(rng.dirichlet(np.ones(k))), gold


def _coin_args(rng: np.random.Generator, k: int = 40) -> tuple[Any, ...]:
    """One accuracy per worker's E-step: pairs of 40 workers x 40 labels, gold on every 7th task."""
    indptr, _, wl, _, logprior, gold = _estep_args(rng, k)
    pairs, pc = np.unique(wl, return_inverse=True)
    theta = rng.uniform(0.3, 0.95, 40)[pairs // k]
    return (indptr, pc.astype(np.int32), np.log(theta), np.log((1 - theta) / (k - 1)), (pairs % k).astype(np.int32),
            logprior, gold)


def _bwa_args(rng: np.random.Generator) -> tuple[Any, ...]:
    indptr, task, wl, _, _, gold = _estep_args(rng)
    k, n_t = 4, indptr.size - 1
    worker, label = (wl // k).astype(np.int32), (wl % k).astype(np.int32)
    z = rng.dirichlet(np.ones(k), size=n_t)
    active = np.array([True, False, True, True])
    return (indptr, task, worker, label, gold, z, rng.uniform(0.5, 20.0, (40, k)), rng.dirichlet(np.ones(k)), active,
            1.0)


def _counts_args(rng: np.random.Generator) -> tuple[Any, ...]:
    indptr, task, wl, table, _, _ = _estep_args(rng)
    post = rng.dirichlet(np.ones(table.shape[1]), size=indptr.size - 1)
    return task, wl, post, table.shape[0]


def _vote_stats_args(rng: np.random.Generator, k: int = 4) -> tuple[Any, ...]:
    indptr, task, wl, _, _, gold = _estep_args(rng, k)
    indptr = np.concatenate([indptr, indptr[-1:]])  # a last task with no judgments and no gold
    gold = np.concatenate([gold, [-1]]).astype(np.int32)
    pc = rng.permutation(40 * k)[wl].astype(np.int32)  # the table rows: pairs in another order
    return indptr, task, (wl % k).astype(np.int32), pc, gold, 40 * k, k


def _appearance_args(rng: np.random.Generator) -> tuple[Any, ...]:
    values = rng.integers(0, 500, 3000).astype(np.int32)  # values 500..599 never appear
    return np.concatenate([values, [599], values[:7]]).astype(np.int32), 600


def _task_order_args(rng: np.random.Generator) -> tuple[Any, ...]:
    local = rng.integers(0, 700, 5000).astype(np.int32)  # repeated tasks: the order must be stable
    local[local == 3] = 4  # a task with no judgments
    return local, 701


def _vote_share_args(rng: np.random.Generator) -> tuple[Any, ...]:
    indptr, task, wl, _, _, gold = _estep_args(rng)
    gold = gold.copy()
    gold[-1] = -1
    return task, (wl % 4).astype(np.int32), gold, 5  # a fifth label nobody gave


def _argmax_args(rng: np.random.Generator) -> tuple[Any, ...]:
    p = rng.dirichlet(np.ones(4), size=2000)
    p[:50] = 0.25  # exact ties: the lowest column
    p[50:100, 2] = p[50:100, 3] = p[50:100].max(axis=1) + 1e-12  # ties within the tolerance
    p[100, 1] = np.nan  # NaN anywhere: no entry tied, column 0
    p[101] = -np.inf
    p[102] = [-3e5, -3e5 + 1e-6, -4e5, -3e5 - 1.0]  # log-scores: the tolerance is relative
    p[103, 0] = np.nan
    return (p,)


def _pairs(rng: np.random.Generator, spread: float = 3.0) -> tuple[Any, ...]:
    n, w, m = 20, 5, 5000
    left = rng.integers(0, n, m).astype(np.int32)
    right = ((left + rng.integers(1, n, m)) % n).astype(np.int32)
    worker = rng.integers(0, w, m).astype(np.int32)
    outcome = rng.choice([0.0, 1.0, 0.5], m)
    theta = rng.uniform(-spread, spread, n)
    theta[0], theta[1] = spread, -spread
    return left, right, worker, outcome, theta, n, w


def _bt_args(rng: np.random.Generator) -> tuple[Any, ...]:
    left, right, worker, outcome, theta, n, w = _pairs(rng)
    return left, right, outcome, worker, theta, rng.uniform(0.05, 0.95, w), True, True, n, w


def _noisy_args(rng: np.random.Generator) -> tuple[Any, ...]:
    left, right, worker, outcome, theta, n, w = _pairs(rng)
    return left, right, worker, outcome, theta, rng.uniform(0.1, 0.9, w), rng.uniform(0.1, 0.9, w), n, w


def _info_args(rng: np.random.Generator) -> tuple[Any, ...]:
    left, right, _, _, theta, n, _ = _pairs(rng, spread=300.0)  # strengths far beyond 1e100 apart
    return left, right, theta, n


def _glad_args(rng: np.random.Generator) -> tuple[Any, ...]:
    indptr, task, wl, _, _, gold = _estep_args(rng)
    k, n_workers, n_t = 4, 40, indptr.size - 1
    worker, label = (wl // k).astype(np.int32), (wl % k).astype(np.int32)
    gold = np.where(gold >= 0, 1, -1).astype(np.int32)
    return (indptr, task, worker, label, rng.normal(1, 1, n_workers), rng.normal(1, 0.5, n_t), np.ones(n_t),
            np.log(np.array([0.1, 0.2, 0.3, 0.4])), gold, 25, 1e-6)


def _bds_inputs(rng: np.random.Generator) -> tuple[Any, ...]:
    """Pair rows of 500 workers x 3 labels (a fifth of the pairs unobserved, some workers with none)."""
    w, k = 500, 3
    seen = rng.random(w * k) < 0.8
    seen[: 3 * k] = False
    pairs = np.flatnonzero(seen)
    counts = rng.gamma(0.7, 5.0, size=(pairs.size, k)) * (rng.random((pairs.size, 1)) < 0.95)
    pw, pl = pairs // k, pairs % k
    wptr = np.zeros(w + 1, dtype=np.int64)
    np.cumsum(np.bincount(pw, minlength=w), out=wptr[1:])
    strength = 5.0 + 2.0 * np.bincount(pw, weights=counts.sum(axis=1), minlength=w) / k
    return strength, counts, pl, wptr, pw


def _bds_args(rng: np.random.Generator) -> tuple[Any, ...]:
    strength, counts, pl, wptr, _ = _bds_inputs(rng)
    return strength, counts, pl, wptr, rng.uniform(1 / 3, 0.99, strength.size)


def _band_pass_args(rng: np.random.Generator) -> tuple[Any, ...]:
    strength, counts, pl, wptr, start = _bds_args(rng)
    todo = rng.random(strength.size) < 0.8
    counts[wptr[3]:wptr[4]] = 0.0  # a worker without counts: flat evidence
    return strength, counts, pl, wptr, start, 0.55, 0.7, 1e-8, todo, (1 / 3, 0.99)


def _posterior_args(rng: np.random.Generator) -> tuple[Any, ...]:
    strength, counts, pl, wptr, pw = _bds_inputs(rng)
    counts[::3, 0] = 0.0  # cells with no count: equal to their prior (they add nothing to the divergence)
    mu = rng.uniform(1 / 3, 0.99, strength.size)
    k = counts.shape[1]
    return strength * mu, strength * (1.0 - mu) / (k - 1), strength, counts, pl, wptr, pw


def _column_sums_args(rng: np.random.Generator) -> tuple[Any, ...]:
    return (rng.dirichlet(np.ones(4), size=3001) * rng.uniform(0.0, 1e3, (3001, 1)),)


def _take_rows_args(rng: np.random.Generator) -> tuple[Any, ...]:
    rows = rng.integers(-1, 500, 160).astype(np.int32)
    return rows, rng.integers(0, 160, 5000).astype(np.int32)


def _code_counts_args(rng: np.random.Generator) -> tuple[Any, ...]:
    return rng.integers(0, 150, 5000).astype(np.int32), 160  # codes 150..159 never occur


def _pair_appearance_args(rng: np.random.Generator) -> tuple[Any, ...]:
    worker = rng.integers(0, 50, 3000).astype(np.int32)  # workers 50..59 never appear
    return worker, rng.integers(0, 3, worker.size).astype(np.int32), 60, 4  # label 3 never appears


def _dense_int_args(rng: np.random.Generator) -> tuple[Any, ...]:
    return (rng.integers(-40, 900, 3000) * 3 + 10**12,)  # ids 3 apart: most of the range is missing


def _wptr(rng: np.random.Generator) -> np.ndarray:
    # workers with no pairs, with one, with a few, and one with 700 (numpy's pairwise sum recurses)
    sizes = np.concatenate([rng.integers(0, 6, 60), [0, 1, 700, 0, 129, 8, 9]])
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _per_worker_args(rng: np.random.Generator) -> tuple[Any, ...]:
    wptr = _wptr(rng)
    return rng.random((int(wptr[-1]), 3)) * 10.0 ** rng.uniform(-6, 6, (int(wptr[-1]), 1)), wptr


def _normalise_args(rng: np.random.Generator) -> tuple[Any, ...]:
    wptr = _wptr(rng)  # some workers without pairs
    n_w, k = wptr.size - 1, 3
    pw = np.repeat(np.arange(n_w), np.diff(wptr))
    labels = np.concatenate([np.sort(rng.choice(k, n, replace=False)) for n in np.diff(wptr)]).astype(np.int64) \
        if (np.diff(wptr) <= k).all() else np.zeros(pw.size, np.int64)
    counts = rng.random((pw.size, k)) * 10.0 ** rng.uniform(-12, 3, (pw.size, 1))
    counts[::7, 1] = 0.0  # below the floor
    extra = rng.random((n_w, k))
    return counts, wptr, pw * k + labels, k, 0.7, extra, 1e-10, 1e-300


def _band_finish_args(rng: np.random.Generator) -> tuple[Any, ...]:
    n = 5000
    side = rng.integers(-1, 2, n).astype(np.int8)
    mu = rng.uniform(0.3, 0.9, n)  # some outside the band: clipped
    return mu, side, rng.uniform(0.3, 0.9, n), rng.integers(-1, 2, n).astype(np.int8), rng.random(n) < 0.3, 0.4, 0.8


def _held_args(rng: np.random.Generator) -> tuple[Any, ...]:
    strength, counts, pl, wptr, start, a, b, tol, todo, ends = _band_pass_args(rng)
    p = wptr[5]
    counts[p, (pl[p] + 1) % counts.shape[1]] *= -1.0  # a negative count: never held by the bound
    _, side, _, _, _, g = _bayes_eb.band_pass_numpy(strength, counts, pl, wptr, start, a, b, tol, todo, ends)
    return strength, counts, pl, wptr, side, g, a, a - 1e-3


def _mmsr_args(rng: np.random.Generator) -> tuple[Any, ...]:
    size = rng.integers(0, 30, 300)  # columns of the pair table (some empty)
    indptr = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    rows = rng.integers(0, 300, indptr[-1]).astype(np.int32)
    x = np.round(rng.uniform(0, 1, rows.size), 2)  # ties with each other and with the anchors
    return rows, x, indptr, rng.uniform(0.5, 2.0, 300), np.round(rng.uniform(0, 1.5, 300), 2), 3, 0.01


def _times_c_args(rng: np.random.Generator) -> tuple[Any, ...]:
    """Pairs in shuffled order, a pair repeated, long sums on workers 0 and 1, a worker with none,
    signed entries, -0.0 and ties in x (bit equality needs the same order of additions)."""
    i = rng.integers(0, 60, 5000).astype(np.int32)
    j = rng.integers(0, 60, 5000).astype(np.int32)
    i[:1500], j[:3] = 0, 1
    i[i == 7], j[j == 7] = 8, 9
    c = rng.uniform(-1.0, 1.0, i.size) * 10.0 ** rng.integers(-8, 8, i.size)
    c[[10, 11]] = c[12]
    i[[10, 11]], j[[10, 11]] = i[12], j[12]
    x = np.round(rng.normal(size=61), 1)
    x[[3, 4]] = -0.0
    return i, j, c, x, 61


def _repeat_rows_args(rng: np.random.Generator) -> tuple[Any, ...]:
    task = rng.integers(0, 300, 4000).astype(np.int32)  # about 13 judgments a task from 40 workers:
    worker = rng.integers(0, 40, 4000).astype(np.int32)  # many repeated pairs, some three times
    task[task == 5] = 6  # a task with no judgments
    return task, worker, 301, 41  # and a worker with none


def _pair_codes_args(rng: np.random.Generator) -> tuple[Any, ...]:
    task, worker, n_tasks, n_workers = _repeat_rows_args(rng)  # shuffled rows, repeated pairs, empty codes
    return worker, task, n_workers, n_tasks


def _segment_order_args(rng: np.random.Generator) -> tuple[Any, ...]:
    sizes = rng.integers(0, 8, 400)  # short tasks (insertion sort), empty ones and two long ones
    sizes[[10, 200]] = [40, 300]
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return indptr, rng.integers(0, 12, indptr[-1]).astype(np.int64)  # many equal keys: stability


def _chi2_args(rng: np.random.Generator) -> tuple[Any, ...]:
    # one rating (the series), typical and large counts (the continued fraction), a half-integer
    df = np.unique(np.r_[[1.0, 2.0, 2.5, 1000.0, 4e4], rng.integers(3, 300, 25).astype(float)])
    return df, gammaln(df / 2.0), 0.975


#: inputs of each declared twin: a new twin needs an entry here (test_every_twin_is_tested)
INPUTS: dict[str, Callable[[np.random.Generator], tuple[Any, ...]]] = {
    "estep": _estep_args, "estep_coin": _coin_args, "counts_from_post": _counts_args, "vote_stats": _vote_stats_args, "bt_pass": _bt_args, "noisy_pass": _noisy_args,
    "bt_info_diag": _info_args,
    "glad_pass": _glad_args, "bds_derivatives": _bds_args, "bds_pair_posterior": _posterior_args, "bds_band_pass": _band_pass_args,
    "bwa_pass": _bwa_args, "first_appearance": _appearance_args, "task_order": _task_order_args,
    "vote_shares": _vote_share_args, "argmax_ties_low": _argmax_args,
    "column_sums": _column_sums_args, "take_rows": _take_rows_args, "code_counts": _code_counts_args, "pair_appearance": _pair_appearance_args,
    "dense_int_codes": _dense_int_args, "per_worker_sum": _per_worker_args, "normalise_rows": _normalise_args,
    "bds_band_finish": _band_finish_args, "bds_held_beyond": _held_args, "mmsr_sweep": _mmsr_args,
    "mmsr_times_c": _times_c_args,
    "repeat_rows": _repeat_rows_args, "segment_order": _segment_order_args, "pair_codes": _pair_codes_args,
    "chi2_solve": _chi2_args,
}


def test_every_twin_is_tested() -> None:
    assert set(_jit.TWINS) == set(INPUTS) == set(TOL)


def _assert_same(name: str, a: Any, b: Any) -> None:
    rtol, atol = TOL[name]
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float), rtol=rtol, atol=atol)


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("threads", ["one", "chunks"])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_numba_equals_numpy(name: str, threads: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled kernel (one thread, or one chunk per thread) gives the numpy twin's numbers."""
    if threads == "chunks":
        if _jit.numba_threads() < 2:
            pytest.skip("one numba thread here: the chunked path runs as one chunk")
        monkeypatch.setattr(_kernels, "MIN_PARALLEL", 0)
        monkeypatch.setattr(_pref_kernels, "MIN_PARALLEL", 0)
        if name in ("estep", "bwa_pass", "vote_stats"):  # many small work items, as on a large shard
            from galton.aggregator import _kernels_numba

            monkeypatch.setattr(_kernels_numba, "CHUNK_JUDGMENTS", 997)
        if name.startswith("bds_"):  # many work items of workers
            from galton.aggregator import _bayes_numba

            monkeypatch.setattr(_bayes_numba, "BLOCK", 37)
    kernel = _jit.TWINS[name]
    args = INPUTS[name](np.random.default_rng(7))
    frozen = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    got, want = kernel.compiled(*args), kernel.numpy(*args)
    _assert_same(name, got, want)
    for a, f in zip(args, frozen):  # neither twin writes into its inputs
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, f)
    # the dispatch follows the switch
    _assert_same(name, kernel(*args), got)
    monkeypatch.setattr(_jit, "HAVE_NUMBA", False)
    out = kernel(*args)
    for x, y in zip(out if isinstance(out, tuple) else (out,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 9, 13])
def test_estep_compiled_for_its_class_count_gives_the_generic_kernels_bits(k: int) -> None:
    """Up to SPECIALISED_CLASSES classes the E-step runs code compiled for that count (its loops
    over the classes unrolled and vectorised; with 2, 3, 4 and 8 classes a task's posterior, and with
    4 and 8 its scores, in local variables); it adds the same numbers in the same order as the version that reads the count from
    the table, so every output is identical to the last bit, and both equal the numpy twin. Above
    the limit the generic version runs."""
    from galton.aggregator import _kernels_numba as kn

    indptr, task, wl, table, logprior, gold = _estep_args(np.random.default_rng(k), k)
    kt = kn.class_tuple(k)
    assert len(kt) == (k if k <= kn.SPECIALISED_CLASSES else 0)
    runs = []
    for shape in (kt, ()):
        post, counts, cc = np.empty((indptr.size - 1, k)), np.zeros(table.shape), np.zeros(k)
        ll = kn.estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, 0, indptr.size - 1, True, shape)
        runs.append((ll, post, counts, cc))
    for x, y in zip(*runs):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    want = _kernels._estep_numpy(indptr, task, wl, table, logprior, gold)
    _assert_same("estep", tuple(runs[0]), want)


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: no threads")
def test_parallel_estep_hands_out_many_items_and_gives_the_same_bits_on_any_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The E-step of a large shard is cut into work items of whole tasks (about CHUNK_JUDGMENTS
    judgments each), handed out one at a time: a thread slowed by another process takes fewer.
    Each item sums into its own table and the tables are added in item order, so the result is the
    same to the last bit whatever the number of threads and whichever thread ran which item."""
    from galton.aggregator import _kernels_numba as kn

    monkeypatch.setattr(_kernels, "MIN_PARALLEL", 0)
    monkeypatch.setattr(kn, "CHUNK_JUDGMENTS", 997)
    args = _estep_args(np.random.default_rng(3))
    indptr, wl, table = args[0], args[2], args[3]
    bounds = kn.chunk_bounds(indptr, table.size)
    sizes = np.diff(indptr[bounds])
    assert bounds[0] == 0 and bounds[-1] == indptr.size - 1 and np.all(np.diff(bounds) > 0)
    assert bounds.size - 1 == -(-wl.size // 997) and sizes.max() <= 997 + 5  # whole tasks of 5
    runs = []
    for n in (1, _jit.numba_threads(), 1, _jit.numba_threads()):
        with _jit.threads(n):
            runs.append(kn.estep(*args))
    for other in runs[1:]:
        for x, y in zip(other, runs[0]):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # an iteration's E-step needs only the statistics: the same numbers without the posteriors
    with _jit.threads(_jit.numba_threads()):
        lean = kn.estep(*args, False)
    assert lean[1].shape == (0, table.shape[1])
    for x, y in zip(lean[::2] + lean[3:], runs[0][::2] + runs[0][3:]):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert _kernels._estep_numpy(*args, False)[1].shape == (0, table.shape[1])
    # the memory cap: never more count tables than MAX_CHUNK_BYTES holds
    monkeypatch.setattr(kn, "MAX_CHUNK_BYTES", 8 * table.size * 3)
    assert kn.chunk_bounds(indptr, table.size).size - 1 == 3


def test_a_twin_name_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        _jit.twin("estep", lambda: None, "x:y")


def _run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GALTON_")}
    full.update(env)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


FIT = ("import sys, galton\n"
       "df = {'task': [0, 0, 1, 1, 2, 2], 'worker': [0, 1, 0, 1, 0, 1], 'label': [1, 1, 0, 1, 0, 0]}\n"
       "m = galton.DawidSkene(n_iter=3).fit(df)\n"
       "print('numba' in sys.modules, m.label_codes_.tolist())\n")


@pytest.mark.parametrize("env", [{"GALTON_NUMBA": "0"}, {"GALTON_NO_NUMBA": "1"}])
def test_switching_numba_off_never_imports_it(env: dict[str, str]) -> None:
    assert _run(FIT, **env) == "False [1, 0, 0]"


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed")
def test_the_numba_switches_are_read_at_import_as_the_readme_says() -> None:
    """README listed GALTON_NUMBA / GALTON_NO_NUMBA with the variables galton reads at each use;
    they are read once, at ``import galton``: set afterwards, numba is still used."""
    code = "import os, galton\nos.environ['GALTON_NUMBA'] = '0'\n" + FIT
    assert _run(code) == "True [1, 0, 0]"
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert "`GALTON_NUMBA` and `GALTON_NO_NUMBA` are read once, at `import galton`" in readme


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed")
@pytest.mark.parametrize("value", ["0", "off", " False "])
def test_galton_no_numba_switched_off_keeps_numba(value: str) -> None:
    """GALTON_NO_NUMBA followed no rule of galton's on / off variables: any value, 0 and off too,
    switched numba off. It reads them as every other (galton._env): 0, false, no, off are off."""
    assert _run(FIT, GALTON_NO_NUMBA=value) == "True [1, 0, 0]"


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed")
def test_numba_is_imported_by_the_first_fit_not_before() -> None:
    code = "import sys, galton\nprint('numba' in sys.modules)\n" + FIT
    assert _run(code).splitlines() == ["False", "True [1, 0, 0]"]


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: no threads to read")
def test_numba_num_threads_is_read_as_numba_reads_it_and_a_refused_one_is_named() -> None:
    """The memory estimate of a fit of 200,000 judgments or more read NUMBA_NUM_THREADS with a bare
    int(): 'abc' failed with "invalid literal for int() with base 10: 'abc'" (numba itself warns and
    takes one thread per core, as small fits did), and '0' counted no threads there and failed in
    numba's import with "Number of threads specified must be > 0.", neither naming the variable."""
    code = ("import warnings\nwarnings.simplefilter('ignore')\n"
            "from galton.aggregator.dawid_skene import numba_threads\nn = numba_threads()\nimport numba\n"
            "print(n == numba.config.NUMBA_NUM_THREADS == numba.config.NUMBA_DEFAULT_NUM_THREADS)\n")
    assert _run(code, NUMBA_NUM_THREADS="abc") == "True"
    code = ("from galton.aggregator.dawid_skene import numba_threads\ntry:\n    print(numba_threads())\n"
            "except ValueError as exc:\n    print(exc)\n")
    for value in ("0", "-2"):
        said = _run(code, NUMBA_NUM_THREADS=value)
        assert said.startswith(f"NUMBA_NUM_THREADS='{value}' in the environment: numba refuses it"), said
        assert "at least 1, or unset it" in said


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: no threads to set")
def test_set_threads_clips_returns_the_previous_count_and_threads_restores_it() -> None:
    import numba

    start, most = numba.get_num_threads(), int(numba.config.NUMBA_NUM_THREADS)
    try:
        assert _jit.set_threads(0) == start and _jit.get_threads() == numba.get_num_threads() == 1  # at least 1
        assert _jit.set_threads(10 * most) == 1 and _jit.get_threads() == most  # at most NUMBA_NUM_THREADS
        with _jit.threads(1) as n:
            assert n == 1 and numba.get_num_threads() == 1
        assert numba.get_num_threads() == most  # the count before the block
        with pytest.raises(RuntimeError), _jit.threads(1):
            raise RuntimeError  # restored on an error too
        assert numba.get_num_threads() == most
    finally:
        numba.set_num_threads(start)


def test_thread_settings_are_no_ops_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jit, "HAVE_NUMBA", False)
    assert _jit.get_threads() == 1 and _jit.set_threads(4) == 1
    with _jit.threads(3) as n:
        assert n == 1
    # switched off by the environment, numba is never imported for them
    code = ("import sys\nfrom galton.aggregator import _jit\n"
            "with _jit.threads(2) as n:\n    pass\n"
            "print(_jit.set_threads(3), _jit.get_threads(), n, 'numba' in sys.modules)\n")
    assert _run(code, GALTON_NUMBA="0") == "1 1 1 False"


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed: no OpenMP threads to configure")
def test_openmp_threads_sleep_when_idle_unless_the_user_says_otherwise() -> None:
    """numba's OpenMP layer spins between parallel regions by default; with another process on a
    core that made two threads slower than one. galton asks for passive waiting while it launches
    numba's layer (the runtime reads the variable then), keeps a value the user set, and takes its
    own out of the environment after the launch: a fit left OMP_WAIT_POLICY=PASSIVE in os.environ,
    inherited by every child process the user started afterwards."""
    code = FIT + "import os\nprint(os.environ.get('OMP_WAIT_POLICY'), flush=True)\n"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GALTON_NO_NUMBA", "GALTON_NUMBA")}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # GNU libgomp prints its settings as it loads: GOMP_SPINCOUNT 0 is passive
    for value, shown in ((None, "None"), ("ACTIVE", "ACTIVE")):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             env=env if value is None else {**env, "OMP_WAIT_POLICY": value})
        assert res.returncode == 0, res.stderr
        assert res.stdout.split()[-1] == shown  # the user's own value stays; galton's is gone
        spin = re.search(r"GOMP_SPINCOUNT = '(\d+)'", res.stderr)
        if spin is not None:  # numba's omp layer on GNU libgomp (others print nothing of the kind)
            assert (spin.group(1) == "0") == (value is None), res.stderr


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
def test_task_order_says_when_the_judgments_are_sorted_already() -> None:
    """Both twins answer None for judgments already grouped by task (build_shard then copies
    nothing) and the stable sorting order otherwise; one task out of place is enough."""
    twin = _jit.TWINS["task_order"]
    local = np.repeat(np.arange(50, dtype=np.int32), 3)
    for fn in (twin.numpy, twin.compiled):
        order, indptr = fn(local, 52)  # tasks 50 and 51 have no judgments
        assert order is None and fn(local[:1], 50)[0] is None
        np.testing.assert_array_equal(indptr, np.r_[np.arange(0, 151, 3), 150, 150])
        moved = local.copy()
        moved[[10, 11]] = moved[[11, 10]]
        moved[-1] = 0
        want = np.argsort(moved, kind="stable")
        order, indptr = fn(moved, 50)
        np.testing.assert_array_equal(order, want)
        np.testing.assert_array_equal(indptr, np.r_[0, np.cumsum(np.bincount(moved, minlength=50))])


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("k", [2, 3, 9])
def test_start_kernels_compiled_per_class_count_give_numpys_bits(k: int) -> None:
    """The majority-vote start's kernels (vote shares, their column sums, the expected counts) and
    the tie-aware arg max are compiled per class count up to SPECIALISED_CLASSES and generic above
    it: the same results as the numpy references for a count below, at and above that limit."""
    rng = np.random.default_rng(k)
    n_tasks, n_rows = 2000, 70
    task = np.sort(rng.integers(0, n_tasks, 9000)).astype(np.int32)
    label = rng.integers(0, k, task.size).astype(np.int32)
    gold = np.where(rng.random(n_tasks) < 0.1, rng.integers(0, k, n_tasks), -1).astype(np.int32)
    np.testing.assert_array_equal(_jit.TWINS["vote_shares"].compiled(task, label, gold, k),
                                  _kernels.vote_shares_numpy(task, label, gold, k))
    post = _kernels.vote_shares_numpy(task, label, gold, k) * rng.uniform(0.5, 2.0, (n_tasks, 1))
    np.testing.assert_array_equal(_jit.TWINS["column_sums"].compiled(post), post.sum(axis=0))
    shares = _kernels.vote_shares_numpy(task, label, gold, k)  # many exact ties
    np.testing.assert_array_equal(_jit.TWINS["argmax_ties_low"].compiled(shares),
                                  _jit.TWINS["argmax_ties_low"].numpy(shares))
    wl = rng.integers(0, n_rows, task.size).astype(np.int32)
    np.testing.assert_array_equal(_jit.TWINS["counts_from_post"].compiled(task, wl, post, n_rows),
                                  _kernels.counts_from_post_numpy(task, wl, post, n_rows))


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
def test_first_appearance_stops_once_every_value_is_seen_with_numpys_result() -> None:
    """Workers and labels all appear early in a large input: the compiled first-appearance passes
    stop there. Their result is numpy's, whether the whole range appears early, late (the last
    judgment), or not at all."""
    rng = np.random.default_rng(11)
    early = np.concatenate([rng.permutation(300), rng.integers(0, 300, 20_000)]).astype(np.int32)
    late = np.concatenate([rng.integers(0, 299, 20_000), [299]]).astype(np.int32)
    for values in (early, late, early[early != 7]):
        np.testing.assert_array_equal(_jit.TWINS["first_appearance"].compiled(values, 300),
                                      _kernels.first_appearance_numpy(values, 300))
        label = (values % 3).astype(np.int32)
        for worker in (values, values // 3):
            np.testing.assert_array_equal(_jit.TWINS["pair_appearance"].compiled(worker, label, 300, 3),
                                          _kernels.pair_appearance_numpy(worker, label, 300, 3))


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("dtype,lo", [(np.int64, -2**63), (np.int64, 2**63 - 2000), (np.uint64, 2**64 - 2000),
                                      (np.int8, -128), (np.uint8, 0), (np.int32, 5), (np.int16, -7)])
@pytest.mark.parametrize("holes", [False, True])
def test_dense_int_codes_compiled_equal_numpys_at_the_ends_of_every_type(dtype, lo, holes) -> None:
    """The compiled encoder of dense integer ids (min and max in one pass, offsets and presence in
    a second, renumbered when ids are missing) gives numpy's codes and vocabulary, in the ids' own
    type, at both ends of every integer type; a sparse range gives None in both."""
    from galton.data._encode import dense_int_codes_numpy

    rng = np.random.default_rng(abs(lo) % 1000)
    width = min(1000, int(np.iinfo(dtype).max) - lo + 1)
    offs = rng.permutation(np.repeat(np.arange(width), 3))
    if holes:
        offs = offs[offs % 5 != 2]
    values = (np.asarray(lo, dtype=dtype) + offs.astype(dtype)).astype(dtype)
    got, want = _jit.TWINS["dense_int_codes"].compiled(values), dense_int_codes_numpy(values)
    assert got[0].dtype == want[0].dtype == np.int32 and got[1].dtype == want[1].dtype == dtype
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[1][got[0]], values)
    if np.iinfo(dtype).bits == 64:
        far = lo + 10**9 if lo + 10**9 <= np.iinfo(dtype).max else lo - 10**9
        sparse = np.array([lo, far], dtype=dtype)
        assert _jit.TWINS["dense_int_codes"].compiled(sparse) is None and dense_int_codes_numpy(sparse) is None


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("shape", [(), (4,), (3, 5)])
def test_per_worker_sum_compiled_adds_like_numpys_reduceat(shape) -> None:
    """The compiled per-worker sum reproduces numpy's ``reduceat`` to the last bit (the segment's
    first row plus numpy's pairwise sum of the rest: one running sum below 8 rows, eight up to 128,
    halves above), for 1-, 2- and 3-dimensional values and workers with 0 to 700 pairs."""
    from galton.aggregator import _pairs

    rng = np.random.default_rng(len(shape))
    wptr = _wptr(rng)
    values = rng.random((int(wptr[-1]),) + shape) * 10.0 ** rng.uniform(-8, 8, (int(wptr[-1]),) + shape)
    got = _jit.TWINS["per_worker_sum"].compiled(values, wptr)
    want = _pairs.per_worker_sum_numpy(values, wptr)
    assert got.shape == want.shape == (wptr.size - 1,) + shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
def test_work_item_bounds_are_the_first_tasks_at_even_cuts_of_the_judgments() -> None:
    """The compiled item bounds equal numpy's searchsorted of the even cuts (repeats once, 0 and
    the task count at the ends), on shards with empty tasks, empty shards and more items than tasks."""
    from galton.aggregator import _kernels_numba as kn

    rng = np.random.default_rng(5)
    for _ in range(500):
        n_t = int(rng.integers(0, 60))
        sizes = rng.integers(0, 20, n_t) * (rng.random(n_t) < rng.random())
        indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        items = int(rng.integers(1, 40))
        cuts = (np.arange(1, items) * int(indptr[-1])) // items
        want = np.unique(np.concatenate(([0], np.searchsorted(indptr, cuts, side="left"), [n_t])))
        np.testing.assert_array_equal(kn._item_bounds(indptr, items), want)


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("parallel", [False, True])
def test_posteriors_only_estep_gives_the_same_posteriors_without_counts(parallel, monkeypatch) -> None:
    """The results of a fit need only the posteriors: the E-step asked for no counts skips adding
    them (it returns a table without rows) and gives the same posteriors, log-likelihood and class
    totals to the last bit, on one work item or many."""
    from galton.aggregator import _kernels_numba as kn

    if parallel:
        monkeypatch.setattr(_kernels, "MIN_PARALLEL", 0)
        monkeypatch.setattr(kn, "CHUNK_JUDGMENTS", 997)
    args = _estep_args(np.random.default_rng(4))
    full = kn.estep(*args, True, True)
    only = kn.estep(*args, True, False)
    assert only[2].shape == (0, args[3].shape[1]) and full[2].shape == args[3].shape
    assert only[0] == full[0]
    np.testing.assert_array_equal(only[1], full[1])
    np.testing.assert_array_equal(only[3], full[3])
    ref = _kernels._estep_numpy(*args, True, False)
    assert ref[2].shape == only[2].shape
    np.testing.assert_allclose(ref[1], only[1], rtol=1e-11, atol=1e-12)


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("band", [(0.55, 0.7), (1 / 3, 0.99), (0.6, 0.6000001)])
def test_band_pass_rounds_give_each_workers_scalar_newton_bits(band) -> None:
    """The compiled band pass evaluates the workers in rounds, each one vectorised block of special
    functions (the prior's values included) for every worker not yet done: each worker's
    accuracy, side and derivative are those of Newton's steps on it alone with the scalar compiled
    derivatives (``maximise_concave`` over ``worker_derivatives``) to the last bit, for workers held
    at either end, inside the band, and after several rounds; the numpy reference agrees."""
    from galton.aggregator import _bayes_eb, _bayes_numba

    args = list(_band_pass_args(np.random.default_rng(9)))
    strength, counts, pl, wptr, start = args[:5]
    strength[::3] = strength[1]  # workers sharing a strength, as workers with as many judgments do
    a, b = band
    args[5], args[6] = a, b
    tol, todo = args[7], args[8]
    mu, side, low, high, hint, g = _bayes_numba.band_pass(*args)
    solved = todo & (_bayes_numba.worker_derivatives(strength, counts, pl, wptr, np.full(strength.size, 0.6))[1] != 0)
    idx = np.flatnonzero(solved)
    point = np.clip(start, a, b).astype(float)

    def scalar(x: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        point[idx[sel]] = x
        gs, hs = _bayes_numba.worker_derivatives(strength, counts, pl, wptr, point)
        return gs[idx[sel]], hs[idx[sel]]

    x, sd, g_end, h_end = _bayes_eb.maximise_concave(scalar, np.full(idx.size, a), np.full(idx.size, b),
                                                     np.clip(start, a, b)[idx], tol, full=True)
    np.testing.assert_array_equal(mu[idx], x)
    np.testing.assert_array_equal(side[idx], sd)
    np.testing.assert_array_equal(g[idx], g_end)
    if band == (0.55, 0.7):  # held at both ends and inside the band
        assert {-1, 0, 1} <= set(side[idx].tolist())
    # the sums over the held workers (added one after the other per item; numpy's sum is pairwise)
    np.testing.assert_allclose(low, [g_end[sd < 0].sum(), h_end[sd < 0].sum()], rtol=1e-13)
    np.testing.assert_allclose(high, [g_end[sd > 0].sum(), h_end[sd > 0].sum()], rtol=1e-13)
    _assert_same("bds_band_pass", (mu, side, low, high, hint, g), _bayes_eb.band_pass_numpy(*args))


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("parallel", [False, True])
def test_posterior_with_the_strength_levels_gives_the_same_bits(parallel, monkeypatch) -> None:
    """Given the distinct strengths and the band, the compiled M-step posterior takes log-gamma of
    each strength and of the prior cells of workers held at an end once per strength: the same
    cells, column sums, expected logs and divergence to the last bit as without them, and numpy's
    numbers; its cells are ``prior_cells_numpy``'s and its column sums ``per_worker_sum``'s to the
    bit, workers with more than 8 pairs (numpy's pairwise sum) and with none included."""
    from galton.aggregator import _bayes_eb, _bayes_numba
    from galton.aggregator._pairs import per_worker_sum_numpy

    if parallel:
        monkeypatch.setattr(_bayes_numba, "BLOCK", 37)
    rng = np.random.default_rng(12)
    strength, counts, pl, wptr, pw = _bds_inputs(rng)
    strength = np.round(strength)  # workers with as many judgments share a strength
    k, (a, b) = counts.shape[1], (0.45, 0.8)
    mu = rng.uniform(a, b, strength.size)
    mu[::2], mu[1::5] = a, b  # most workers held at an end of the band
    u, v = strength * mu, strength * (1.0 - mu) / (k - 1)
    args = (u, v, strength, counts, pl, wptr, pw)
    levels = (*np.unique(strength, return_inverse=True), a, b)
    plain = _bayes_numba.pair_posterior(*args)
    fast = _bayes_numba.pair_posterior(*args, levels)
    for x, y in zip(plain[:3], fast[:3]):
        np.testing.assert_array_equal(x, y)
    assert plain[3] == fast[3]
    np.testing.assert_array_equal(plain[0], _bayes_eb.prior_cells_numpy(u, v, pw, pl, counts)[1])
    np.testing.assert_array_equal(plain[1], strength[:, None] + per_worker_sum_numpy(counts, wptr))
    _assert_same("bds_pair_posterior", fast, _bayes_eb.pair_posterior_numpy(*args, levels))
    # twelve labels: workers with up to 12 pairs, summed pairwise past 8 as numpy's reduceat does
    w, k = 40, 12
    pw = np.repeat(np.arange(w), np.r_[0, 1, 12, 9, rng.integers(0, 13, w - 4)])
    pl = np.concatenate([rng.permutation(k)[:n] for n in np.bincount(pw, minlength=w)])
    wptr = np.r_[0, np.cumsum(np.bincount(pw, minlength=w))]
    counts = rng.gamma(0.5, 30.0, (pw.size, k))
    strength = rng.uniform(5, 50, w)
    out = _bayes_numba.pair_posterior(strength * 0.7, strength * 0.3 / (k - 1), strength, counts, pl, wptr, pw)
    np.testing.assert_array_equal(out[1], strength[:, None] + per_worker_sum_numpy(counts, wptr))


def test_code_counts_refuse_a_code_out_of_range_like_numpy():
    codes = np.array([0, 3, 7], dtype=np.int32)
    np.testing.assert_array_equal(_jit.TWINS["code_counts"].compiled(codes, 8), [1, 0, 0, 1, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="code 7 at position 2 is outside"):
        _jit.TWINS["code_counts"].compiled(codes, 7)
    with pytest.raises(ValueError):
        _jit.TWINS["code_counts"].numpy(np.array([-1], dtype=np.int32), 3)


def test_normalise_rows_without_smoothing_or_extra_mass():
    counts, wptr, pairs, k, _, _, floor, eps = _normalise_args(np.random.default_rng(3))
    twin = _jit.TWINS["normalise_rows"]
    for alpha, extra in ((0.0, None), (0.0, np.ones((wptr.size - 1, k)))):
        got, want = twin.compiled(counts, wptr, pairs, k, alpha, extra, floor, eps), \
            twin.numpy(counts, wptr, pairs, k, alpha, extra, floor, eps)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: nothing to compare")
@pytest.mark.parametrize("k", [2, 3, 4, 5, 8])
def test_vote_stats_in_one_item_gives_the_bits_of_its_three_passes(k: int) -> None:
    """The majority-vote start in one pass over the tasks (votes in local variables for 4 and 8
    classes, shares added as the E-step adds posteriors for 2-4 and 8, the plain loops for 5)
    gives, in one work item, exactly the three passes it replaced: the vote shares, their counts
    added in judgment order, and the shares' column sums; the parallel items agree to rounding."""
    from galton.aggregator import _kernels_numba as kn

    args = _vote_stats_args(np.random.default_rng(k), k)
    indptr, task, label, pc, gold, n_rows, _ = args
    assert (gold >= 0).any() and indptr[-1] == indptr[-2]
    counts, cc = kn.vote_stats(*args)
    post = _kernels.vote_shares(task, label, gold, k)  # the last task's row: zeros
    np.testing.assert_array_equal(counts, _kernels.counts_from_post(task, pc, post, n_rows))
    np.testing.assert_array_equal(cc, _kernels.column_sums(post))
    np.testing.assert_allclose(cc.sum(), indptr.size - 2, rtol=1e-13)  # each task's shares sum to 1, but the empty one's


def test_dense_int_codes_of_uint64_ids_at_the_top_after_small_ones() -> None:
    """The compiled twin passed the smallest id on as a Python int, which numba typed as int64 when an
    earlier call had compiled that: uint64 ids from 2**63 then raised OverflowError (order-dependent:
    CI met it once another test had coded small uint64 ids)."""
    compiled = _kernels._dense_int_codes.compiled
    for values in ([5, 3, 3], [2**64 - 1, 2**64 - 3, 2**64 - 3], [2**63 + 1, 2**63]):
        v = np.array(values, dtype=np.uint64)
        codes, vocab = compiled(v)
        ref_codes, ref_vocab = _kernels.dense_int_codes_numpy(v)
        assert codes.tolist() == ref_codes.tolist() and vocab.tolist() == ref_vocab.tolist() == sorted(set(values))
        assert vocab.dtype == np.uint64


@pytest.mark.parametrize("compiled", [False, True])
def test_repeat_rows_marks_every_later_row_of_a_pair_in_row_order(compiled: bool) -> None:
    """By hand: the pair (1, 2) at rows 0, 2 and 4, (0, 2) once, (0, 3) at rows 3 and 5; rows out of
    task order, so the compiled twin's counting sort has to keep the row order within a task."""
    twin = _jit.TWINS["repeat_rows"]
    fn = twin.compiled if compiled else twin.numpy
    task = np.array([1, 0, 1, 0, 1, 0], dtype=np.int32)
    worker = np.array([2, 2, 2, 3, 2, 3], dtype=np.int32)
    np.testing.assert_array_equal(fn(task, worker, 2, 4), [False, False, True, False, True, True])
    np.testing.assert_array_equal(fn(np.sort(task), worker, 2, 4), [False, True, True, False, False, True])


@pytest.mark.parametrize("compiled", [False, True])
def test_pair_codes_equal_np_unique_of_the_pair_keys(compiled: bool) -> None:
    """The distinct (worker, task) keys and each row's index, bit for bit and dtype for dtype as
    np.unique gives them: shuffled rows with repeats, rows already in task order (the counting sort's
    no-order path), one row, none, a task span of 0 (span 1) and int64 codes; keys spanning few
    times the rows (the dense path) and many (the counting sorts)."""
    fn = _jit.TWINS["pair_codes"].compiled if compiled else _jit.TWINS["pair_codes"].numpy
    rng = np.random.default_rng(4)
    worker = rng.integers(0, 30, 5000).astype(np.int32)
    task = rng.integers(0, 200, 5000).astype(np.int32)
    cases = [(worker, task, 31, 201), (worker[np.argsort(task, kind="stable")], np.sort(task), 31, 201),
             (worker[:1], task[:1], 31, 201), (worker[:0], task[:0], 31, 201),
             (worker, np.zeros_like(task), 31, 0), (worker.astype(np.int64), task.astype(np.int64) * 7, 30, 1400)]
    dense = [n_w * max(n_t, 1) <= 4 * w.size for w, _, n_w, n_t in cases]  # the compiled twin's two paths
    assert dense == [True, True, False, False, True, False]
    for w, t, n_w, n_t in cases:
        keys, inverse = fn(w, t, n_w, n_t)
        ref_keys, ref_inverse = np.unique(w.astype(np.int64) * max(n_t, 1) + t, return_inverse=True)
        assert keys.dtype == inverse.dtype == np.int64
        np.testing.assert_array_equal(keys, ref_keys)
        np.testing.assert_array_equal(inverse, ref_inverse)
