"""numba versions of Bayesian Dawid-Skene's M-step and objective kernels (imported on first use
through ``_jit.twin``; see ``bayesian.worker_derivatives`` and the twins beside it). The special
functions use the series of :mod:`galton._math`, one scalar at a time, after only the recurrence
steps that bring the argument to 10 or more (the numpy versions always take ten): the same values to
a few ulps, in a fraction of the divisions. log-gamma is ``math.lgamma``."""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["worker_derivatives", "worker_maximisers", "band_derivatives", "dirichlet_elog", "dirichlet_kl_columns"]


@numba.njit(cache=True, nogil=True, inline="always")
def _both(x):  # noqa: ANN001, ANN202  # pragma: no cover
    """(digamma(x), trigamma(x)) sharing the recurrence's divisions."""
    dg = 0.0
    tg = 0.0
    while x < 10.0:  # up to 10 by the recurrence: only the steps needed (same series after)
        inv = 1.0 / x
        dg -= inv
        tg += inv * inv
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    dg += np.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
    tail = 1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * 5 / 66))
    tg += inv * (1.0 + inv * (0.5 + inv * (1 / 6 - inv2 * tail)))
    return dg, tg


@numba.njit(cache=True, nogil=True, inline="always")
def _sums(base, counts, w, dg0, tg0):  # noqa: ANN001, ANN202  # pragma: no cover
    """sum_c psi(base + counts[w, c]) and sum_c psi'(base + counts[w, c]); a zero count reuses
    ``dg0`` = psi(base), ``tg0`` = psi'(base)."""
    gs = 0.0
    hs = 0.0
    for c in range(counts.shape[1]):
        n = counts[w, c]
        if n == 0.0:
            gs += dg0
            hs += tg0
        else:
            a, b = _both(base + n)
            gs += a
            hs += b
    return gs, hs


@numba.njit(cache=True, nogil=True)
def _one(s, mu, diag, off, w):  # noqa: ANN001, ANN202  # pragma: no cover
    """Worker ``w``'s first and second derivative at ``mu``."""
    k = diag.shape[1]
    n_off = off.shape[1]
    u = s * mu
    v = s * (1.0 - mu) / (k - 1)
    dg_u, tg_u = _both(u)
    dg_v, tg_v = _both(v)
    gd, hd = _sums(u, diag, w, dg_u, tg_u)
    go, ho = _sums(v, off, w, dg_v, tg_v)
    return (s * (gd - k * dg_u - (go - n_off * dg_v) / (k - 1)),
            s * s * (hd - k * tg_u + (ho - n_off * tg_v) / ((k - 1) * (k - 1))))


@numba.njit(cache=True, nogil=True)
def _derivatives(strength, diag, off, mu, g, h):  # noqa: ANN001, ANN202  # pragma: no cover
    """Every worker on its own, one thread (about 0.2 us per worker: the M-step is not worth
    threads that a busy core would hold back)."""
    for w in range(strength.size):
        g[w], h[w] = _one(strength[w], mu[w], diag, off, w)


def worker_derivatives(strength, diag, off, mu):  # noqa: ANN001, ANN201
    """The compiled twin of ``bayesian.worker_derivatives_numpy`` (same arguments and results)."""
    strength = np.ascontiguousarray(strength, dtype=np.float64)
    mu = np.ascontiguousarray(np.broadcast_to(mu, strength.shape), dtype=np.float64)
    g = np.empty(strength.size)
    h = np.empty(strength.size)
    _derivatives(strength, np.ascontiguousarray(diag, dtype=np.float64),
                 np.ascontiguousarray(off, dtype=np.float64), mu, g, h)
    return g, h


@numba.njit(cache=True, nogil=True, inline="always")
def _digamma(x):  # noqa: ANN001, ANN202  # pragma: no cover
    """psi(x): the recurrence and series of ``galton._math.digamma``, one scalar."""
    dg = 0.0
    while x < 10.0:
        dg -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    return dg + np.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))


@numba.njit(cache=True, nogil=True)
def _elog(a, out):  # noqa: ANN001, ANN202  # pragma: no cover
    n, m, k = a.shape
    for w in range(n):
        for c in range(k):
            s = 0.0
            for r in range(m):
                s += a[w, r, c]
            ps = _digamma(s)
            for r in range(m):
                out[w, r, c] = _digamma(a[w, r, c]) - ps


def dirichlet_elog(a):  # noqa: ANN001, ANN201
    """The compiled twin of ``bayesian.dirichlet_elog_numpy``."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    out = np.empty_like(a)
    _elog(a, out)
    return out


@numba.njit(cache=True, nogil=True)
def _kl(a, b, elog):  # noqa: ANN001, ANN202  # pragma: no cover
    n, m, k = a.shape
    total = 0.0
    for w in range(n):
        for c in range(k):
            sa = 0.0
            sb = 0.0
            part = 0.0
            for r in range(m):
                x = a[w, r, c]
                y = b[w, r, c]
                sa += x
                sb += y
                part += math.lgamma(y) - math.lgamma(x) + (x - y) * elog[w, r, c]
            total += part + math.lgamma(sa) - math.lgamma(sb)
    return total


def dirichlet_kl_columns(a, b, elog):  # noqa: ANN001, ANN201
    """The compiled twin of ``bayesian.dirichlet_kl_columns_numpy``."""
    f = np.ascontiguousarray
    return float(_kl(f(a, dtype=np.float64), f(np.broadcast_to(b, np.shape(a)), dtype=np.float64),
                     f(elog, dtype=np.float64)))


@numba.njit(cache=True, nogil=True)
def _newton(strength, diag, off, start, lo, hi, tol, out, first, last):  # noqa: ANN001, ANN202  # pragma: no cover
    """Workers ``first .. last - 1``'s maximisers on [lo, hi]: the steps of
    ``bayesian._maximise_concave``, one scalar at a time (a worker is evaluated only until it has
    converged)."""
    for w in range(first, last):
        if diag[w].sum() + off[w].sum() == 0.0:  # no data: a flat evidence, the lower end
            out[w] = lo
            continue
        x = min(max(start[w], lo), hi)
        lt, ht = lo, hi
        for _ in range(200):
            g, h = _one(strength[w], x, diag, off, w)
            at_end = (x <= lo and g <= 0) or (x >= hi and g >= 0) or g == 0
            if g > 0:
                lt = x
            else:
                ht = x
            new = x - g / h if h < 0 else np.nan
            if new > ht:
                new = ht if ht >= hi else 0.5 * (lt + ht)
            if new < lt:
                new = lt if lt <= lo else 0.5 * (lt + ht)
            if np.isnan(new):
                new = 0.5 * (lt + ht)
            if at_end:
                new = x
            done = at_end or abs(new - x) < tol or ht - lt < tol
            x = new
            if done:
                break
        out[w] = x


#: workers per work item of the parallel M-step kernels (items handed out one at a time, as in the
#: E-step; each worker's result, and each item's partial sum, does not depend on the threads)
BLOCK = 4096


@numba.njit(cache=True, parallel=True)
def _newton_blocks(strength, diag, off, start, lo, hi, tol, out, block):  # noqa: ANN001, ANN202  # pragma: no cover
    n = strength.size
    for b in numba.prange((n + block - 1) // block):
        _newton(strength, diag, off, start, lo, hi, tol, out, b * block, min(n, (b + 1) * block))


def worker_maximisers(strength, diag, off, start, lo, hi, tol):  # noqa: ANN001, ANN201
    """The compiled twin of ``bayesian.worker_maximisers_numpy``."""
    f = np.ascontiguousarray
    n = np.size(strength)
    out = np.empty(n)
    args = (f(strength, dtype=np.float64), f(diag, dtype=np.float64), f(off, dtype=np.float64),
            f(np.broadcast_to(start, np.shape(strength)), dtype=np.float64), float(lo), float(hi), float(tol), out)
    if n <= BLOCK:
        _newton(*args, 0, n)
    else:
        with numba.parallel_chunksize(1):
            _newton_blocks(*args, BLOCK)
    return out


@numba.njit(cache=True, nogil=True)
def _band(strength, diag, off, mu_star, lo, hi, first, last):  # noqa: ANN001, ANN202  # pragma: no cover
    g = 0.0
    h = 0.0
    for w in range(first, last):
        x = min(max(mu_star[w], lo), hi)
        if x != mu_star[w]:
            a, b = _one(strength[w], x, diag, off, w)
            g += a
            h += b
    return g, h


@numba.njit(cache=True, parallel=True)
def _band_blocks(strength, diag, off, mu_star, lo, hi, gs, hs, block):  # noqa: ANN001, ANN202  # pragma: no cover
    n = strength.size
    for b in numba.prange(gs.size):
        gs[b], hs[b] = _band(strength, diag, off, mu_star, lo, hi, b * block, min(n, (b + 1) * block))


def band_derivatives(strength, diag, off, mu_star, lo, hi):  # noqa: ANN001, ANN201
    """The compiled twin of ``bayesian.band_derivatives_numpy`` (per-item sums added in item order)."""
    f = np.ascontiguousarray
    n = np.size(strength)
    args = (f(strength, dtype=np.float64), f(diag, dtype=np.float64), f(off, dtype=np.float64),
            f(mu_star, dtype=np.float64), float(lo), float(hi))
    if n <= BLOCK:
        return _band(*args, 0, n)
    gs, hs = np.empty((n + BLOCK - 1) // BLOCK), np.empty((n + BLOCK - 1) // BLOCK)
    with numba.parallel_chunksize(1):
        _band_blocks(*args, gs, hs, BLOCK)
    return float(gs.sum()), float(hs.sum())
