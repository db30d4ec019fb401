"""numba versions of Bayesian Dawid-Skene's M-step and objective kernels on the observed pairs
(imported on first use through ``_jit.twin``; the numpy references and the layout of their inputs
are in :mod:`galton.aggregator._bayes_eb`). The special functions, one value at a time or in
vectorised blocks, come from :mod:`galton.aggregator._special_numba`."""

from __future__ import annotations


import numba
import numpy as np

from ._bayes_band_numba import band_item, floats, worker_terms
from ._bayes_eb import BRACKET_TOL
from ._helpers_numba import segment_sum
from ._fork import items_kernel
from ._jit import work_items
from ._special_numba import lgamma_and_psi, lgamma_psi_block, psi_and_trigamma

__all__ = ["worker_derivatives", "band_pass", "pair_posterior", "band_finish", "BLOCK"]

#: workers per work item of the parallel M-step kernels (items handed out one at a time, as in the
#: E-step; each worker's result, and each item's partial sum, does not depend on the threads)
BLOCK = 4096


@numba.njit(cache=True, nogil=True, inline="always")
def _cell(n, base, dg0, tg0, g, h):  # noqa: ANN001, ANN202  # pragma: no cover
    """``(g, h)`` plus psi(base + n) - psi(base) and psi'(base + n) - psi'(base) (``dg0``, ``tg0``:
    psi and psi' at ``base``); a zero count adds exactly 0 and is skipped."""
    if n != 0.0:
        a, b = psi_and_trigamma(base + n)
        g += a - dg0
        h += b - tg0
    return g, h


@numba.njit(cache=True, nogil=True)
def _one(s, mu, counts, pl, wptr, w):  # noqa: ANN001, ANN202  # pragma: no cover
    """Worker ``w``'s first and second derivative at ``mu`` (cells with a count only)."""
    k = counts.shape[1]
    u = s * mu
    v = s * (1.0 - mu) / (k - 1)
    dg_u, tg_u = psi_and_trigamma(u)
    dg_v, tg_v = psi_and_trigamma(v)
    return _one_at(s, mu, counts, pl, wptr, w, dg_u, tg_u, dg_v, tg_v)


@numba.njit(cache=True, nogil=True, inline="always")
def _one_at(s, mu, counts, pl, wptr, w, dg_u, tg_u, dg_v, tg_v):  # noqa: ANN001, ANN202  # pragma: no cover
    """Worker ``w``'s derivatives from its pair rows: each pair's diagonal cell into the diagonal
    sums, its other cells into the off-diagonal ones (pairs in label order: the order of a sum over
    the diagonal of the worker's matrix)."""
    k = counts.shape[1]
    u = s * mu
    v = s * (1.0 - mu) / (k - 1)
    gd = hd = go = ho = 0.0
    for p in range(wptr[w], wptr[w + 1]):
        lab = pl[p]
        gd, hd = _cell(counts[p, lab], u, dg_u, tg_u, gd, hd)
        for c in range(k):
            if c != lab:
                go, ho = _cell(counts[p, c], v, dg_v, tg_v, go, ho)
    return worker_terms(s, gd, hd, go, ho, k)


@numba.njit(cache=True, nogil=True)
def _derivatives(strength, counts, pl, wptr, mu, g, h):  # noqa: ANN001, ANN202  # pragma: no cover
    for w in range(strength.size):
        g[w], h[w] = _one(strength[w], mu[w], counts, pl, wptr, w)


def _pair_labels(pl):  # noqa: ANN001, ANN202
    return np.ascontiguousarray(pl, dtype=np.int64)


def worker_derivatives(strength, counts, pl, wptr, mu):  # noqa: ANN001, ANN201
    """The compiled twin of ``_bayes_eb.worker_derivatives_numpy`` (same arguments and results)."""
    strength = floats(strength)
    mu = floats(np.broadcast_to(mu, strength.shape))
    g = np.empty(strength.size)
    h = np.empty(strength.size)
    _derivatives(strength, floats(counts), _pair_labels(pl), np.ascontiguousarray(wptr, dtype=np.int64), mu, g, h)
    return g, h


@items_kernel
@numba.njit(cache=True, parallel=True)
def _band_items(strength, counts, pl, wptr, start, a, b, end_lo, end_hi, tol, bracket_tol, todo, mu, side, hint, gw,
                sums, block):  # noqa: ANN001, ANN202  # pragma: no cover
    n = strength.size
    for i in numba.prange(sums.shape[0]):
        band_item(strength, counts, pl, wptr, start, a, b, end_lo, end_hi, tol, bracket_tol, todo, mu, side, hint, gw,
                  sums[i], i * block, min(n, (i + 1) * block))


def band_pass(strength, counts, pl, wptr, start, a, b, tol, todo, ends):  # noqa: ANN001, ANN201
    """The compiled twin of ``_bayes_eb.band_pass_numpy`` (work items of :data:`BLOCK` workers, see
    :func:`galton.aggregator._bayes_band_numba.band_item`; per-item sums added in item order: the
    same bits on any number of threads)."""
    n = np.size(strength)
    mu, hint, gw = np.empty(n), np.empty(n), np.empty(n)
    side = np.zeros(n, dtype=np.int8)
    args = (floats(strength), floats(counts), _pair_labels(pl), np.ascontiguousarray(wptr, dtype=np.int64),
            floats(np.broadcast_to(start, np.shape(strength))), float(a), float(b), float(ends[0]), float(ends[1]),
            float(tol), BRACKET_TOL,
            np.ascontiguousarray(np.broadcast_to(todo, np.shape(strength)), dtype=np.bool_), mu, side, hint, gw)
    if n <= BLOCK:
        sums = np.zeros(4)
        band_item(*args, sums, 0, n)
    else:
        parts = np.zeros(((n + BLOCK - 1) // BLOCK, 4))
        with work_items():
            _band_items(*args, parts, BLOCK)
        sums = parts.sum(axis=0)
    return mu, side, sums[0:2].copy(), sums[2:4].copy(), hint, gw


@numba.njit(cache=True, nogil=True)
def _posterior(u, v, counts, pl, wptr, pw, strength, a, colsum, out, level, lg_level, first,  # pragma: no cover
               last):  # noqa: ANN001, ANN202
    """Workers ``first .. last - 1`` and their pair rows: the column sums ``colsum = s_w + the
    counts' column sums`` (added as ``per_worker_sum`` adds them), the posterior cells ``a`` (the
    worker's prior value, ``u`` on a pair's diagonal cell and ``v`` on the others, plus the
    count), the expected logs into ``out``; returns their part of the divergence,
    ``sum_k [lnG(colsum_wk) - lnG(s_w)]`` plus the cells' terms. Log-gamma and digamma in two
    vectorised blocks: the column sums with the prior values of the workers not held at an end of
    the band, then the cells. A held worker's prior values and every ``lnG(s_w)`` come from
    ``lg_level`` (per strength: column 0 ``lnG(s)``, 1-4 the prior values at the ends, 5-8 their
    log-gammas) when there are levels."""
    k = counts.shape[1]
    n_w = last - first
    n_c = n_w * k
    arg, lgb, dgb = np.empty(n_c + 2 * n_w), np.empty(n_c + 2 * n_w), np.empty(n_c + 2 * n_w)
    for w in range(first, last):
        for c in range(k):
            x = strength[w] + segment_sum(counts, wptr[w], wptr[w + 1], c)
            colsum[w, c] = x
            arg[(w - first) * k + c] = x
    at = np.empty(n_w, dtype=np.int64)  # where a worker's prior values are: in the block, or -(table column)
    j = n_c
    for w in range(first, last):
        held = 0
        if level.size:
            row = lg_level[level[w]]
            held = 5 if (u[w] == row[1] and v[w] == row[2]) else (7 if (u[w] == row[3] and v[w] == row[4]) else 0)
        at[w - first] = -held if held else j
        arg[j] = u[w]
        arg[j + 1] = v[w]
        j += 0 if held else 2
    lgamma_psi_block(arg, lgb, dgb, j)
    lgu, lgv = np.empty(n_w), np.empty(n_w)
    kl_columns = 0.0
    for w in range(first, last):
        i = w - first
        row = lg_level[level[w]] if level.size else lg_level[0]
        lgs = row[0] if level.size else lgamma_and_psi(strength[w])[0]
        for c in range(k):
            kl_columns += lgb[i * k + c] - lgs
        q = at[i]
        lgu[i], lgv[i] = (row[-q], row[1 - q]) if q < 0 else (lgb[q], lgb[q + 1])
    p0, p1 = wptr[first], wptr[last]
    for p in range(p0, p1):
        w, lab = pw[p], pl[p]
        for c in range(k):
            a[p, c] = (u[w] if c == lab else v[w]) + counts[p, c]
    lgs, dgs = np.empty((p1 - p0, k)), np.empty((p1 - p0, k))
    lgamma_psi_block(a[p0:p1].reshape(-1), lgs.reshape(-1), dgs.reshape(-1), (p1 - p0) * k)
    kl_cells = 0.0
    for p in range(p0, p1):
        w, lab = pw[p], pl[p]
        i = w - first
        for c in range(k):
            x = a[p, c]
            e = dgs[p - p0, c] - dgb[i * k + c]
            out[p, c] = e
            y = u[w] if c == lab else v[w]
            if x != y:  # a cell without a count adds 0
                kl_cells += (lgu[i] if c == lab else lgv[i]) - lgs[p - p0, c] + (x - y) * e
    return kl_columns + kl_cells


@items_kernel
@numba.njit(cache=True, parallel=True)
def _posterior_items(u, v, counts, pl, wptr, pw, strength, a, colsum, out, level, lg_level, parts,
                     block):  # noqa: ANN001, ANN202  # pragma: no cover
    n_w = colsum.shape[0]
    for i in numba.prange(parts.size):
        parts[i] = _posterior(u, v, counts, pl, wptr, pw, strength, a, colsum, out, level, lg_level, i * block,
                              min(n_w, (i + 1) * block))


@numba.njit(cache=True, nogil=True)
def _level_table(values, a, b, k):  # noqa: ANN001, ANN202  # pragma: no cover
    """Per distinct strength s: lnG(s), the prior cells at the band's ends (s a, s (1 - a) / (K - 1),
    s b, s (1 - b) / (K - 1): the values a held worker's cells take) and their log-gammas."""
    out = np.empty((values.size, 9))
    for i in range(values.size):
        s = values[i]
        out[i, 0] = lgamma_and_psi(s)[0]
        out[i, 1] = s * a
        out[i, 2] = s * (1.0 - a) / (k - 1)
        out[i, 3] = s * b
        out[i, 4] = s * (1.0 - b) / (k - 1)
        for j in range(1, 5):
            out[i, j + 4] = lgamma_and_psi(out[i, j])[0]
    return out


def pair_posterior(u, v, strength, counts, pl, wptr, pw, levels=None):  # noqa: ANN001, ANN201
    """The compiled twin of ``_bayes_eb.pair_posterior_numpy``: work items of :data:`BLOCK` workers,
    each their column sums, then their pair rows' posterior cells, expected logs and divergence
    (per-item sums added in item order: the same total on any number of threads). With ``levels``
    the log-gammas of the strengths and of the prior cells of workers held at an end of the band
    are taken once per strength (the same values)."""
    u, v, strength, counts = floats(u), floats(v), floats(strength), floats(counts)
    pl, pw = _pair_labels(pl), np.ascontiguousarray(pw, dtype=np.int64)
    wptr = np.ascontiguousarray(wptr, dtype=np.int64)
    a, out = np.empty_like(counts), np.empty_like(counts)
    n_w, k = strength.size, counts.shape[1]
    colsum = np.empty((n_w, k))
    if levels is not None and k > 1:
        level = np.ascontiguousarray(levels[1], dtype=np.int64).reshape(-1)
        lg_level = _level_table(floats(levels[0]), float(levels[2]), float(levels[3]), k)
    else:
        level, lg_level = np.zeros(0, dtype=np.int64), np.zeros((1, 9))
    if n_w <= BLOCK:
        return a, colsum, out, float(_posterior(u, v, counts, pl, wptr, pw, strength, a, colsum, out, level, lg_level,
                                                0, n_w))
    parts = np.empty((n_w + BLOCK - 1) // BLOCK)
    with work_items():
        _posterior_items(u, v, counts, pl, wptr, pw, strength, a, colsum, out, level, lg_level, parts, BLOCK)
    return a, colsum, out, float(parts.sum())


@numba.njit(cache=True, nogil=True)
def _finish_rows(mu, side, mu_r, side_r, redo, a, b, out):  # noqa: ANN001, ANN202  # pragma: no cover
    for w in range(mu.size):
        x, sd = (mu_r[w], side_r[w]) if redo[w] else (mu[w], side[w])
        out[w] = b if sd == 1 else (a if sd == -1 else min(max(x, a), b))


def band_finish(mu, side, mu_r, side_r, redo, a, b):  # noqa: ANN001, ANN201
    """The compiled twin of ``_bayes_eb.band_finish_numpy`` (the same selections, one pass)."""
    out = np.empty(np.size(mu))
    _finish_rows(floats(mu), np.ascontiguousarray(side, dtype=np.int8), floats(mu_r),
                 np.ascontiguousarray(side_r, dtype=np.int8), np.ascontiguousarray(redo, dtype=np.bool_), float(a),
                 float(b), out)
    return out
