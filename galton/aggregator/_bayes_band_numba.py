"""numba kernels of Bayesian Dawid-Skene's band pass that work on many workers at once: every
worker's first Newton evaluation from one vectorised block of special functions
(:func:`first_derivatives`, used by :func:`galton.aggregator._bayes_numba.band_pass`), and the
proof that a held worker stays held when the band's end moves away (:func:`held_beyond`, the
compiled twin of ``_bayes_eb.held_beyond_numpy``)."""

from __future__ import annotations

import numba
import numpy as np

from ._bayes_eb import HELD_SLACK
from ._special_numba import psi_and_trigamma, psi_trigamma_block

__all__ = ["first_derivatives", "held_beyond", "ends_table", "worker_terms", "floats"]


def floats(x):  # noqa: ANN001, ANN201
    """``x`` as a contiguous float64 array (the kernels' argument type)."""
    return np.ascontiguousarray(x, dtype=np.float64)


@numba.njit(cache=True, nogil=True, inline="always")
def worker_terms(s, gd, hd, go, ho, k):  # noqa: ANN001, ANN201  # pragma: no cover
    """A worker's first and second derivative from its diagonal sums ``gd``, ``hd`` and off-diagonal
    sums ``go``, ``ho`` of psi and psi' differences (one formula for the scalar evaluation and the
    vectorised first one, so that both give the same bits)."""
    return s * (gd - go / (k - 1)), s * s * (hd + ho / ((k - 1) * (k - 1)))


@numba.njit(cache=True, nogil=True)
def ends_table(values, a, b, k):  # noqa: ANN001, ANN201  # pragma: no cover
    """Per distinct prior strength ``s`` (``values``): psi and psi' of the prior's diagonal cell
    ``s x`` and off-diagonal cell ``s (1 - x) / (K - 1)`` at ``x = a`` (columns 0-3: psi(u),
    psi'(u), psi(v), psi'(v)), then at ``x = b`` (columns 4-7). The band pass takes a held worker's
    prior terms from it; the held-worker bound its largest trigammas on a segment ``[a, b]``
    (columns 1 and 7)."""
    out = np.empty((values.size, 8))
    for i in range(values.size):
        s = values[i]
        for j, mu in ((0, a), (4, b)):
            out[i, j], out[i, j + 1] = psi_and_trigamma(s * mu)
            out[i, j + 2], out[i, j + 3] = psi_and_trigamma(s * (1.0 - mu) / (k - 1))
    return out


@numba.njit(cache=True, nogil=True)
def _has_counts(counts, wptr, w):  # noqa: ANN001, ANN202  # pragma: no cover
    for p in range(wptr[w], wptr[w + 1]):
        for c in range(counts.shape[1]):
            if counts[p, c] != 0.0:
                return True
    return False


@numba.njit(cache=True, nogil=True, error_model="numpy")
def first_derivatives(strength, counts, pl, wptr, start, a, b, todo, level, at_ends,  # pragma: no cover
                      first, last):  # noqa: ANN001, ANN201
    """The first evaluation of the Newton steps of workers ``first .. last - 1`` (at their start
    ``clip(start, a, b)``), all at once: the cells' arguments gathered into one array for
    :func:`psi_trigamma_block` (vector instructions), every cell of a pair row, the diagonal one
    first. A zero count adds exactly 0 here, as the block's psi and psi' of ``base + 0`` are those
    of the base (which the prior's terms are, to the bit, cached or not), so there is no test per
    cell; each sum is added in the order of :func:`_one_at`'s, which skips zeros: the same bits.
    Returns ``(solve, g, h)``: ``solve`` for the workers in ``todo`` with counts."""
    n_w = last - first
    k = counts.shape[1]
    size = n_w * 2 + (wptr[last] - wptr[first]) * k
    arg, dg, tg = np.empty(size), np.empty(size), np.empty(size)
    solve = np.zeros(n_w, dtype=np.bool_)
    cached = np.zeros(n_w, dtype=np.bool_)
    xs = np.empty(n_w)
    g, h = np.zeros(n_w), np.zeros(n_w)
    j = 0
    for w in range(first, last):
        i = w - first
        if not todo[w] or not _has_counts(counts, wptr, w):
            continue
        solve[i] = True
        s = strength[w]
        x = min(max(start[w], a), b)
        xs[i] = x
        u = s * x
        v = s * (1.0 - x) / (k - 1)
        c_i = level.size > 0 and k > 1 and (x == a or x == b)
        cached[i] = c_i
        arg[j] = u  # the prior's own terms: kept only when not cached
        arg[j + 1] = v
        j += 0 if c_i else 2
        for p in range(wptr[w], wptr[w + 1]):
            lab = pl[p]
            arg[j] = u + counts[p, lab]
            j += 1
            for c in range(k - 1):
                arg[j] = v + counts[p, c + (c >= lab)]
                j += 1
    psi_trigamma_block(arg, dg, tg, j)
    j = 0
    for w in range(first, last):
        i = w - first
        if not solve[i]:
            continue
        if cached[i]:
            e = 0 if xs[i] == a else 4
            row = at_ends[level[w]]
            dg_u, tg_u, dg_v, tg_v = row[e], row[e + 1], row[e + 2], row[e + 3]
        else:
            dg_u, tg_u, dg_v, tg_v = dg[j], tg[j], dg[j + 1], tg[j + 1]
            j += 2
        gd = hd = go = ho = 0.0
        for p in range(wptr[w], wptr[w + 1]):
            gd += dg[j] - dg_u
            hd += tg[j] - tg_u
            j += 1
            for c in range(k - 1):
                go += dg[j] - dg_v
                ho += tg[j] - tg_v
                j += 1
        g[i], h[i] = worker_terms(strength[w], gd, hd, go, ho, k)
    return solve, g, h


@numba.njit(cache=True, nogil=True)
def _held(strength, counts, pl, wptr, side, g, toward, step, x_lo, x_hi, level, table,  # pragma: no cover
          slack, out):  # noqa: ANN001, ANN202
    """See ``_bayes_eb.held_beyond_numpy`` (``table``: :func:`ends_table` on ``[x_lo, x_hi]``, whose
    columns 1 and 7 are psi' at ``s x_lo`` and at ``s (1 - x_hi) / (K - 1)``; empty: computed per
    worker)."""
    k = counts.shape[1]
    for w in range(strength.size):
        out[w] = False
        if side[w] != toward:
            continue
        c_d = 0
        c_o = 0
        negative = False
        for p in range(wptr[w], wptr[w + 1]):
            for c in range(k):
                n = counts[p, c]
                if c == pl[p]:
                    c_d += n != 0.0
                else:
                    c_o += n != 0.0
                negative |= n < 0.0
        if negative:
            continue
        s = strength[w]
        if table.shape[0]:
            tu, tv = table[level[w], 1], table[level[w], 7]
        else:
            tu = psi_and_trigamma(s * x_lo)[1]
            tv = psi_and_trigamma(s * (1.0 - x_hi) / (k - 1))[1]
        bound = s * s * (c_d * tu + c_o * tv / ((k - 1) * (k - 1)))
        room = toward * g[w] - step * bound * (1.0 + slack) - slack * s * (1.0 + c_d + c_o)
        out[w] = room > 0


def held_beyond(strength, counts, pl, wptr, side, g, old, new, levels=None):  # noqa: ANN001, ANN201
    """The compiled twin of ``_bayes_eb.held_beyond_numpy``; with ``levels`` the two trigammas of
    the bound are taken once per distinct strength."""
    n = np.size(strength)
    k = np.shape(counts)[1]
    x_lo, x_hi = min(old, new), max(old, new)
    if levels is not None and k > 1:
        table = ends_table(floats(levels[0]), float(x_lo), float(x_hi), k)
        level = np.ascontiguousarray(levels[1], dtype=np.int64).reshape(-1)
    else:
        table, level = np.zeros((0, 8)), np.zeros(0, dtype=np.int64)
    out = np.empty(n, dtype=np.bool_)
    _held(floats(strength), floats(counts), np.ascontiguousarray(pl, dtype=np.int64),
          np.ascontiguousarray(wptr, dtype=np.int64),
          np.ascontiguousarray(side, dtype=np.int8), floats(g), 1 if new > old else -1, abs(float(new) - float(old)),
          float(x_lo), float(x_hi), level, table, HELD_SLACK, out)
    return out
