"""numba kernels of Bayesian Dawid-Skene's band pass that work on many workers at once: the
workers' Newton steps with every round of evaluations in one vectorised block of special functions
(:func:`band_item`, used by :func:`galton.aggregator._bayes_numba.band_pass`), and the
proof that a held worker stays held when the band's end moves away (:func:`held_beyond`, the
compiled twin of ``_bayes_eb.held_beyond_numpy``)."""

from __future__ import annotations

import numba
import numpy as np

from ._bayes_eb import HELD_SLACK
from ._special_numba import psi_and_trigamma, psi_trigamma_block

__all__ = ["band_item", "held_beyond", "ends_table", "worker_terms", "floats"]


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
    """Whether worker ``w`` has a count in any cell of its pair rows (without, its evidence is flat)."""
    for p in range(wptr[w], wptr[w + 1]):
        for c in range(counts.shape[1]):
            if counts[p, c] != 0.0:
                return True
    return False


@numba.njit(cache=True, nogil=True, inline="always")
def _gather(strength, counts, pl, wptr, ws, xs, m, arg):  # noqa: ANN001, ANN202  # pragma: no cover
    """The arguments of the special functions that the derivatives of workers ``ws[:m]`` at
    ``xs[:m]`` need, into ``arg``: per worker the prior's diagonal and off-diagonal values ``u``,
    ``v``, then every cell of its pair rows (the diagonal one first) as ``base + count``. Returns
    how many."""
    k = counts.shape[1]
    j = 0
    for i in range(m):
        w = ws[i]
        s = strength[w]
        x = xs[i]
        u = s * x
        v = s * (1.0 - x) / (k - 1)
        arg[j] = u
        arg[j + 1] = v
        j += 2
        for p in range(wptr[w], wptr[w + 1]):
            lab = pl[p]
            arg[j] = u + counts[p, lab]
            j += 1
            for c in range(k - 1):
                arg[j] = v + counts[p, c + (c >= lab)]
                j += 1
    return j


@numba.njit(cache=True, nogil=True, inline="always")
def _derivatives_at(strength, pl, wptr, w, k, dg, tg, j):  # noqa: ANN001, ANN202  # pragma: no cover
    """Worker ``w``'s ``(g, h, next j)`` from the block's digamma ``dg`` and trigamma ``tg`` of its
    arguments, which start at ``j`` (see :func:`_gather`). A zero count adds exactly 0, as the
    block's psi and psi' of ``base + 0`` are those of the base, so there is no test per cell; the
    sums are added in the order of the scalar evaluation (``_bayes_numba._one_at``), which skips
    zeros: the same bits."""
    dg_u, tg_u, dg_v, tg_v = dg[j], tg[j], dg[j + 1], tg[j + 1]
    j += 2
    gd = hd = go = ho = 0.0
    for _ in range(wptr[w], wptr[w + 1]):
        gd += dg[j] - dg_u
        hd += tg[j] - tg_u
        j += 1
        for _c in range(k - 1):
            go += dg[j] - dg_v
            ho += tg[j] - tg_v
            j += 1
    g, h = worker_terms(strength[w], gd, hd, go, ho, k)
    return g, h, j


@numba.njit(cache=True, nogil=True, error_model="numpy")
def band_item(strength, counts, pl, wptr, start, a, b, end_lo, end_hi, tol, bracket_tol, todo, mu, side, hint,  # pragma: no cover
              gw, sums, first, last):  # noqa: ANN001, ANN201
    """Workers ``first .. last - 1`` of ``_bayes_numba.band_pass`` (``gw``: each one's derivative
    where it stopped, 0 where not solved); adds the derivatives of the workers stopped at the lower
    / upper end into ``sums[0:2]`` / ``sums[2:4]`` (g, h), in the workers' order, written at the
    end (the rows of items that run side by side share a cache line).

    Each worker's maximiser on ``[a, b]`` from ``clip(start, a, b)`` takes the steps of
    ``_bayes_eb.maximise_concave`` for one scalar, with the evaluations in rounds: each round
    evaluates every worker not yet done in one vectorised block of special functions
    (:func:`psi_trigamma_block`: 2.5-3x faster a value than one at a time; the prior's own values
    are in the block too, which costs less than telling the workers whose prior values are shared
    apart), then takes each one's step. A worker's steps and evaluations are those of a scalar
    Newton on it alone: the same bits. Most workers stop after the first round (a warm start)."""
    k = counts.shape[1]
    n_w = last - first
    size = 2 * n_w + (wptr[last] - wptr[first]) * k
    arg, dg, tg = np.empty(size), np.empty(size), np.empty(size)
    ws, xs = np.empty(n_w, dtype=np.int64), np.empty(n_w)
    lts, hts, hw = np.empty(n_w), np.empty(n_w), np.zeros(n_w)
    gs, hs, news, sides, dones = np.empty(n_w), np.empty(n_w), np.empty(n_w), np.empty(n_w), np.empty(n_w, dtype=np.bool_)
    m = 0
    for w in range(first, last):
        gw[w] = 0.0
        side[w] = 0
        mu[w] = min(max(start[w], a), b)
        if todo[w]:
            ws[m], xs[m], lts[m], hts[m] = w, mu[w], a, b
            m += 1
        else:
            hint[w] = start[w]
    for it in range(200):
        if m == 0:
            break
        psi_trigamma_block(arg, dg, tg, _gather(strength, counts, pl, wptr, ws, xs, m, arg))
        j = 0
        for i in range(m):
            gs[i], hs[i], j = _derivatives_at(strength, pl, wptr, ws[i], k, dg, tg, j)
        for i in range(m):  # each worker's step, without branches (selects; apart, this loop runs 2x faster)
            x, g, h, lt, ht = xs[i], gs[i], hs[i], lts[i], hts[i]
            at_lo = x <= a
            at_hi = x >= b
            at_end = (at_lo & (g <= 0)) | (at_hi & (g >= 0)) | (g == 0)
            gpos = g > 0
            lt = x if gpos else lt
            ht = ht if gpos else x
            q = x - g / h
            new = q if h < 0 else np.nan
            newton = (lt <= new) & (new <= ht)  # a Newton step inside the bracket (NaN: False)
            mid = 0.5 * (lt + ht)
            new = (ht if ht >= b else mid) if new > ht else new  # beyond the bracket: to the band's end
            new = (lt if lt <= a else mid) if new < lt else new  # when never tried, else halfway
            new = mid if new != new else new
            sides[i] = (1.0 if (at_hi & gpos) else (-1.0 if (at_lo & (g < 0)) else 0.0)) if at_end else 0.0
            new = x if at_end else new
            step = abs(new - x)
            done = at_end | (newton & (step < tol)) | (step < bracket_tol) | (ht - lt < bracket_tol)
            news[i], lts[i], hts[i], dones[i] = new, lt, ht, done
        kept = 0
        for i in range(m):
            w, g, h, new = ws[i], gs[i], hs[i], news[i]
            if it == 0 and g == 0.0 and h == 0.0 and not _has_counts(counts, wptr, w):
                mu[w], side[w], hint[w] = a, -1, end_lo  # a flat evidence: the lower end, as 1/K clipped
            elif dones[i] or it == 199:
                sd = int(sides[i])
                mu[w], side[w], gw[w], hw[w - first] = new, sd, g, h
                hint[w] = new if sd == 0 else (end_hi if sd > 0 else end_lo)
            else:  # evaluated again in the next round, at ``new`` (i >= kept: nothing unread is overwritten)
                ws[kept], xs[kept], lts[kept], hts[kept] = w, new, lts[i], hts[i]
                kept += 1
        m = kept
    g_lo = h_lo = g_hi = h_hi = 0.0
    for w in range(first, last):  # a worker not solved adds 0 (its g and h are 0)
        if side[w] < 0:
            g_lo += gw[w]
            h_lo += hw[w - first]
        elif side[w] > 0:
            g_hi += gw[w]
            h_hi += hw[w - first]
    sums[0] += g_lo
    sums[1] += h_lo
    sums[2] += g_hi
    sums[3] += h_hi


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
