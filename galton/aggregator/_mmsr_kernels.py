"""The pieces of M-MSR (:mod:`galton.aggregator.mmsr`): worker-pair agreement counts from one shard,
the symmetric pair table built from them on the driver, one trimmed-mean sweep, and the signs.

Everything is numpy over the pair table (one entry per ordered pair of workers who share a task),
never a ``workers x workers`` matrix, so memory grows with the pairs that exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import twin

__all__ = ["shard_pairs", "merge_pairs", "pair_table", "trimmed_sweep", "trimmed_sweep_numpy", "sweep_change", "pair_signs",
           "times_c_numpy", "components", "complete_components", "shard_sign_stats", "sign_z", "DENSE_CELLS",
           "CHUNK_PAIRS", "SIGN_Z", "SIGN_ROUNDS"]

#: below this many ``workers x workers`` cells a shard counts its pairs in a dense table (no sort)
DENSE_CELLS = 1 << 21
#: judgment pairs generated at a time (bounds the memory of one shard's pass)
CHUNK_PAIRS = 1 << 20
#: a worker's sign is negative only where its agreements with the others' signed votes fall this many
#: standard deviations below those of a worker who answers at random (:func:`shard_sign_stats`)
SIGN_Z = 2.0
#: passes of that check at most (each pass's signs weight the next one's votes)
SIGN_ROUNDS = 50


def _chunks(cnt: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Ranges ``[lo, hi)`` of judgments whose partner counts ``cnt`` add up to about ``limit``."""
    cum = np.cumsum(cnt, dtype=np.int64)
    out, lo = [], 0
    while lo < cnt.size:
        base = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, base + limit, side="right"))
        hi = max(hi, lo + 1)
        out.append((lo, hi))
        lo = hi
    return out


def _last_rows(shard: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``task, worker (int64), label, indptr`` of the shard's judgments, a worker who judged a task
    more than once counting with the last of those rows (rows stay in task order)."""
    indptr = np.asarray(shard.indptr, dtype=np.int64)
    task = np.asarray(shard.task)
    worker = np.asarray(shard.worker, dtype=np.int64)
    label = np.asarray(shard.label)
    n = task.size
    cell = task.astype(np.int64) * int(shard.n_workers) + worker
    _, last = np.unique(cell[::-1], return_index=True)
    if last.size < n:
        keep = np.sort(n - 1 - last)
        task, worker, label = task[keep], worker[keep], label[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(task, minlength=indptr.size - 1))]).astype(np.int64)
    return task, worker, label, indptr


def shard_pairs(shard: Any) -> dict[str, np.ndarray]:
    """Agreement counts of every pair of workers who judged a common task in this shard.

    Each pair of judgments of one task by two different workers ``i < j`` counts once in
    ``common[i, j]`` and, when their labels are equal, in ``agree[i, j]``. A worker who judged a
    task more than once counts with the last of those judgments, as crowd-kit's observation matrix
    holds one cell per (worker, task) that the last row fills (ten repeated rows moved a skill from
    0.98 to 0.32). Returned sparse: ``keys = i * W + j`` increasing, with the counts. Above
    :data:`DENSE_CELLS` the chunks' counts are merged whenever they pass twice the larger of the
    pairs merged so far and a chunk, so memory grows with the worker pairs, not the judgment pairs.
    """
    w_count = int(shard.n_workers)
    n = int(shard.n_judgments)
    empty = {"keys": np.zeros(0, np.int64), "common": np.zeros(0), "agree": np.zeros(0)}
    if n == 0:
        return empty
    task, worker, label, indptr = _last_rows(shard)
    n = task.size
    idx = np.arange(n, dtype=np.int64)
    cnt = indptr[task.astype(np.int64) + 1] - idx - 1  # the later judgments of the same task
    dense = w_count * w_count <= DENSE_CELLS
    common = np.zeros(w_count * w_count if dense else 0)
    agree = np.zeros_like(common)
    parts: list[dict[str, np.ndarray]] = []
    held, bound = 0, 2 * CHUNK_PAIRS  # entries in parts; merged when past the bound
    for lo, hi in _chunks(cnt, CHUNK_PAIRS):
        c = cnt[lo:hi]
        total = int(c.sum())
        if total == 0:
            continue
        a = np.repeat(idx[lo:hi], c)
        b = a + 1 + (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c))
        wa, wb = worker[a], worker[b]
        other = wa != wb
        wa, wb = wa[other], wb[other]
        same = (label[a] == label[b])[other].astype(np.float64)
        key = np.minimum(wa, wb) * w_count + np.maximum(wa, wb)
        if dense:
            common += np.bincount(key, minlength=common.size)
            agree += np.bincount(key, weights=same, minlength=common.size)
        else:
            keys, inv = np.unique(key, return_inverse=True)
            parts.append({"keys": keys, "common": np.bincount(inv, minlength=keys.size).astype(np.float64),
                          "agree": np.bincount(inv, weights=same, minlength=keys.size)})
            held += keys.size
            if held > bound:  # the worker pairs so far: at most 2 x max(pairs, chunk) + a chunk held
                parts = [merge_pairs(parts)]
                held = parts[0]["keys"].size
                bound = max(bound, 2 * held)  # each merge at least halves what it holds
    if dense:
        keys = np.flatnonzero(common).astype(np.int64)
        return {"keys": keys, "common": common[keys], "agree": agree[keys]}
    if not parts:
        return empty
    return merge_pairs(parts)


def merge_pairs(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The pair counts of several shards (or chunks) added per pair, keys increasing."""
    parts = [p for p in parts if p["keys"].size]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return {"keys": np.zeros(0, np.int64), "common": np.zeros(0), "agree": np.zeros(0)}
    keys, inv = np.unique(np.concatenate([p["keys"] for p in parts]), return_inverse=True)
    return {"keys": keys,
            "common": np.bincount(inv, weights=np.concatenate([p["common"] for p in parts]), minlength=keys.size),
            "agree": np.bincount(inv, weights=np.concatenate([p["agree"] for p in parts]), minlength=keys.size)}


def components(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """Connected component of each of ``n`` nodes given the edges ``(i, j)``: the smallest node
    number of its component (label propagation with pointer jumping)."""
    comp = np.arange(n, dtype=np.int64)
    if i.size == 0:
        return comp
    while True:
        low = np.minimum(comp[i], comp[j])
        new = comp.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        new = new[new]  # jump: a node takes its representative's representative
        if np.array_equal(new, comp):
            return comp
        comp = new


def pair_table(pairs: dict[str, np.ndarray], n_workers: int, n_labels: int) -> dict[str, Any]:
    """The symmetric table of the M-MSR iteration from the merged pair counts.

    ``C_ij = (K agree_ij / common_ij - 1) / (K - 1)`` estimates ``s_i s_j`` (``s`` the workers'
    skills rescaled so that a random worker has 0, a perfect one 1). Entries sorted by column, both
    orders of each pair: ``row`` their row, ``x = |C|``, ``indptr`` the column offsets; ``trim`` the
    number ``F`` of extreme values a sweep may drop at each end (``floor(d / 2) - 1``, at least 0,
    with ``d`` the fewest co-workers of a worker who has any); ``comp`` the connected components.
    """
    keys = pairs["keys"]
    i = (keys // n_workers).astype(np.int64)
    j = (keys % n_workers).astype(np.int64)
    k = float(n_labels)
    c = (k * pairs["agree"] / pairs["common"] - 1.0) / (k - 1.0)
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    vals = np.concatenate([c, c])
    order = np.argsort(cols, kind="stable")
    rows, cols, vals = rows[order], cols[order], vals[order]
    deg = np.bincount(cols, minlength=n_workers)
    linked = deg[deg > 0]
    trim = max(int(linked.min()) // 2 - 1, 0) if linked.size else 0
    return {"row": rows.astype(np.int32), "x": np.abs(vals),
            "indptr": np.concatenate([[0], np.cumsum(deg)]).astype(np.int64), "trim": trim,
            "i": i.astype(np.int32), "j": j.astype(np.int32), "c": c,
            "comp": components(i, j, n_workers), "linked": deg > 0,
            "shared": float(pairs["common"].mean()) if keys.size else 0.0,  # tasks a pair shares, on average
            "once": float(np.mean(pairs["common"] < 2)) if keys.size else 0.0}  # share of pairs that met once


def trimmed_sweep_numpy(rows: np.ndarray, x: np.ndarray, indptr: np.ndarray, denom: np.ndarray,
                        anchor: np.ndarray, trim: int, floor: float) -> np.ndarray:
    """One half of an M-MSR iteration: for every worker (column) ``j``, the mean of the ratios
    ``x_ij / denom_i`` over its co-workers ``i`` (entries ``indptr[j]:indptr[j+1]``, rows ``rows``)
    after dropping outliers around ``anchor_j``.

    With ``F = trim``: below ``anchor_j``, the ``F`` smallest ratios are dropped, or all of those
    below when there are fewer than ``F``; above it the same with the largest (Ma & Olshevsky's
    trimmed mean). A worker with no ratio left keeps ``anchor_j``; a mean of exactly 0 becomes
    ``floor`` (the next half would divide by it). Sums run in entry order (``F = 0``) or in
    ascending order of the ratios inside a column.
    """
    n = anchor.size
    size = np.diff(indptr)
    cols = np.repeat(np.arange(n), size)
    t = x / denom[rows]
    f = int(trim)
    if f == 0:
        total = np.bincount(cols, weights=t, minlength=n)
        kept = size.astype(np.float64)
    else:
        t = t[np.lexsort((t, cols))]  # columns stay in place (sorted), ratios ascend inside each
        pos = np.arange(t.size) - indptr[cols]
        a = anchor[cols]
        below, above = t < a, t > a
        n_below = np.bincount(cols, weights=below, minlength=n)[cols]
        n_above = np.bincount(cols, weights=above, minlength=n)[cols]
        keep = ~(below | above)
        keep |= below & (n_below >= f) & (pos >= f)
        keep |= above & (n_above >= f) & (pos < size[cols] - f)
        total = np.bincount(cols, weights=np.where(keep, t, 0.0), minlength=n)
        kept = np.bincount(cols, weights=keep, minlength=n)
    out = anchor.copy()
    has = kept > 0
    out[has] = total[has] / kept[has]
    out[has & (out == 0.0)] = floor
    return out


_sweep = twin("mmsr_sweep", trimmed_sweep_numpy, "galton.aggregator._mmsr_numba:trimmed_sweep")


def trimmed_sweep(table: dict[str, Any], denom: np.ndarray, anchor: np.ndarray, floor: float) -> np.ndarray:
    """:func:`trimmed_sweep_numpy` (or its compiled twin) over the pair table."""
    return _sweep(table["row"], table["x"], table["indptr"], denom, anchor, int(table["trim"]), float(floor))


def sweep_change(u: np.ndarray, v: np.ndarray, u0: np.ndarray, v0: np.ndarray) -> float:
    """``||u v' - u0 v0'||_F`` without forming either matrix, written as ``du v' + u0 dv'`` so that
    a small change is not lost to cancellation between two large norms."""
    du, dv = u - u0, v - v0
    sq = (float(np.sum(du * du)) * float(np.sum(v * v)) + float(np.sum(u0 * u0)) * float(np.sum(dv * dv))
          + 2.0 * float(np.sum(du * u0)) * float(np.sum(v * dv)))
    return float(np.sqrt(max(sq, 0.0)))


def times_c_numpy(i: np.ndarray, j: np.ndarray, c: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    """``C x`` over the pairs ``(i, j, c)`` (both orders of each), of length ``n``."""
    return np.bincount(i, c * x[j], n) + np.bincount(j, c * x[i], n)


#: the compiled twin adds the same products in the same order (one pass, two accumulators): same bits
_times = twin("mmsr_times_c", times_c_numpy, "galton.aggregator._mmsr_numba:times_c")


def _times_c(table: dict[str, Any], x: np.ndarray, n: int) -> np.ndarray:
    """``C x`` over the pair table."""
    return _times(table["i"], table["j"], table["c"], x, n)


def _leading(table: dict[str, Any], n: int, shift: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Power iteration on ``C + shift I`` from the all-ones vector, normalised per connected
    component (so that no component fades out), until the signs have not changed for 50 steps or the
    vector has converged; returns the vector and its Rayleigh quotient per component."""
    comp = table["comp"]
    x = np.where(table["linked"], 1.0, 0.0)
    stable, last = 0, np.sign(x)
    for _ in range(max_iter):
        y = shift * x + _times_c(table, x, n)
        scale = np.sqrt(np.bincount(comp, y * y, n))[comp]
        y = np.divide(y, scale, out=np.zeros_like(y), where=scale > 0)
        now = np.sign(y)
        stable = stable + 1 if np.array_equal(now, last) else 0
        done = float(np.max(np.abs(y - x))) < 1e-12
        x, last = y, now
        if done or stable >= 50:
            break
    return x, np.bincount(comp, x * _times_c(table, x, n), n)


def pair_signs(table: dict[str, Any], n_workers: int, max_iter: int = 5000) -> np.ndarray:
    """Each worker's sign (+1 better than random, -1 worse, 0 no co-worker) from the signed pair
    table: the signs of the leading eigenvector of ``C`` (``C_ij ~ s_i s_j``), by power iteration
    on ``C + c I``, so that it finds the largest eigenvalue rather than the largest in magnitude:
    first ``c = 0.6 rho`` (``rho`` the spectral radius estimated by 30 plain steps; enough unless
    the most negative eigenvalue passes the largest by more than ``1.2 rho``), and when a component
    ends with a negative Rayleigh quotient, again with the safe and slower ``c`` = the largest
    absolute row sum. In each connected component the orientation with more workers positive (most
    workers beat random), ties to a positive sum."""
    i, c = table["i"], table["c"]
    linked = table["linked"]
    if i.size == 0:
        return np.zeros(n_workers)
    x = np.where(linked, np.random.default_rng(0).random(n_workers), 0.0)
    rho = 0.0
    for _ in range(30):
        y = _times_c(table, x, n_workers)
        norm = float(np.sqrt(np.sum(y * y)))
        if norm == 0.0:
            break
        rho, x = norm / float(np.sqrt(np.sum(x * x))), y / norm
    x, quotient = _leading(table, n_workers, 0.6 * rho, max_iter)
    if (quotient < 0).any():
        gershgorin = np.bincount(i, np.abs(c), n_workers) + np.bincount(table["j"], np.abs(c), n_workers)
        x, _ = _leading(table, n_workers, float(gershgorin.max()), max_iter)
    comp = table["comp"]
    last = np.sign(x)
    pos = np.bincount(comp, last > 0, n_workers)
    neg = np.bincount(comp, last < 0, n_workers)
    total = np.bincount(comp, x, n_workers)
    flip = (neg > pos) | ((neg == pos) & (total < 0))
    sign = np.where(flip[comp], -last, last)
    sign[~linked] = 0.0
    return sign


def complete_components(table: dict[str, Any]) -> np.ndarray:
    """Per worker: whether it has a co-worker and every two workers of its connected component met."""
    comp, linked = table["comp"], table["linked"]
    n = comp.size
    size = np.bincount(comp[linked], minlength=n)
    pairs = np.bincount(comp[table["i"]], minlength=n)
    return (pairs == size * (size - 1) // 2)[comp] & linked


def shard_sign_stats(shard: Any, ref: np.ndarray, n_labels: int) -> np.ndarray:
    """Per worker ``i``, ``(2, W)``: the sum over its judgments of ``K m(y_i) - M``, where ``m(k)``
    is the sum of ``ref_j`` (+1, -1 or 0: the others' signs) over the other judgments of the task
    that say ``k`` and ``M`` their total; and the sum of ``K sum_k m(k)^2 - M^2``, the variance of
    the first were ``y_i`` drawn uniformly from the ``K`` labels (a random worker), the others'
    answers as given. The first is ``(K - 1) sum_j ref_j common_ij C_ij``: the worker's row of the pair
    table, summed with the others' signs. Integers, so any split of the tasks adds up to the same
    bits; a worker counts with its last row of a task, as in :func:`shard_pairs`."""
    out = np.zeros((2, int(shard.n_workers)))
    if shard.n_judgments == 0:
        return out
    task, worker, label, _ = _last_rows(shard)
    task = task.astype(np.int64)
    kk = float(n_labels)
    r = ref[worker]
    cell = task * int(shard.n_labels) + label
    m = np.bincount(cell, weights=r, minlength=shard.n_tasks * int(shard.n_labels))
    total = np.bincount(task, weights=r, minlength=shard.n_tasks)
    squares = (m * m).reshape(shard.n_tasks, int(shard.n_labels)).sum(axis=1)
    own = m[cell] - r  # the others' votes for this judgment's label
    rest = total[task] - r
    sq = squares[task] - 2.0 * r * m[cell] + r * r  # sum_k of the others' votes squared
    out[0] = np.bincount(worker, weights=kk * own - rest, minlength=out.shape[1])
    out[1] = np.bincount(worker, weights=kk * sq - rest * rest, minlength=out.shape[1])
    return out


def sign_z(stats: np.ndarray) -> np.ndarray:
    """The standard score of each worker's sum in :func:`shard_sign_stats` (0 where its variance is 0)."""
    return np.divide(stats[0], np.sqrt(stats[1]), out=np.zeros(stats.shape[1]), where=stats[1] > 0)
