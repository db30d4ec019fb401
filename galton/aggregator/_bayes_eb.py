"""Bayesian Dawid-Skene's kernels on the observed (worker, label) pairs: the empirical-Bayes fit of
the prior accuracies, the expected logs and the Dirichlet divergence of the confusion columns.

The expected counts come as rows of the observed pairs (see :mod:`galton.aggregator._pairs`); a
cell of a label a worker never gave has no count, so it adds nothing to the evidence's derivatives
(``psi(u + 0) - psi(u) = 0``) nor to the divergence (its posterior equals its prior). Everything here
therefore costs the observed pairs x K, never workers x K x K.

Inputs of the derivatives: the pair rows ``counts`` (P, K) (``counts[p, k] = N_w[l, k]`` for the
pair p of worker w and observed label ``l = pl[p]``), grouped by worker through ``wptr`` (W + 1,),
each worker's pairs in label order. A pair's diagonal cell is ``counts[p, pl[p]]``, its other cells
are off the diagonal. Each kernel is a numpy reference with a numba twin
(:mod:`galton.aggregator._bayes_numba`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._math import EPS, digamma, gammaln, trigamma
from ._jit import twin
from ._kernels import by_size
from ._pairs import per_worker_sum

__all__ = ["MAX_ACCURACY", "NEWTON_TOL", "CENTRE_TOL", "BRACKET_TOL", "HELD_SLACK", "worker_derivatives",
           "worker_derivatives_numpy", "band_pass", "band_pass_numpy", "band_pass_some", "held_beyond",
           "held_beyond_numpy", "pair_elog_numpy", "pair_kl_numpy", "pair_elog_kl_numpy", "pair_posterior",
           "pair_posterior_numpy", "prior_cells_numpy",
           "maximise_concave", "band_edges", "eb_accuracies", "split_diagonal", "cube_inputs"]

MAX_ACCURACY = 0.99  #: upper end of the fitted prior accuracy (keeps every prior pseudo-count > 0)
#: a Newton step of the prior accuracies shorter than this is the last one: it is taken, and as Newton
#: converges quadratically near a maximiser of these smooth concave functions, the result is within
#: about NEWTON_TOL ** 2 of it. On the wide-crowd benchmark 1e-4 gives the posteriors of 1e-12 to
#: 1e-9 (the fingerprints) in 0.8x the time: most workers then need one evaluation per M-step.
NEWTON_TOL = 1e-4
#: the same for the centre ``m`` of the band, whose every Newton evaluation is a pass over all the
#: workers: its last step is not evaluated, and every worker is then solved exactly on the final
#: band (the workers stay exact; only the centre is within about CENTRE_TOL ** 2 of the maximiser of
#: this M-step, and the next M-step starts from it). On the wide-crowd benchmark 1e-3 instead of
#: NEWTON_TOL saves the second full pass of 8-10 middle M-steps; fingerprints unchanged at 1e-9.
CENTRE_TOL = 1e-3
BRACKET_TOL = 1e-12  #: bisection steps and brackets stop only below this (their error does not square)


def split_diagonal(counts: np.ndarray, pl: np.ndarray, wptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(diag, off)`` of the pair rows ``counts`` (P, K) with observed labels ``pl``: each worker's
    diagonal cells (W, K; 0 where it never gave the label) and the rows with their diagonal cell
    zeroed (P, K). For the numpy references (the compiled kernels read ``counts`` and ``pl``)."""
    n_w = np.size(wptr) - 1
    pw = np.repeat(np.arange(n_w), np.diff(wptr))
    at = np.arange(np.size(pl))
    diag = np.zeros((n_w, counts.shape[1]))
    diag[pw, pl] = counts[at, pl]
    off = np.array(counts, dtype=np.float64)
    off[at, pl] = 0.0
    return diag, off


def prior_cells_numpy(u: np.ndarray, v: np.ndarray, pw: np.ndarray, pl: np.ndarray,
                      counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a0, a)``: the prior pseudo-counts of the pair rows (each worker's off-diagonal value
    ``v``, its diagonal value ``u`` in the observed label's column) and the posterior ones
    ``a0 + counts`` (P, K)."""
    a0 = np.repeat(v[pw][:, None], counts.shape[1], axis=1)
    a0[np.arange(pl.size), pl] = u[pw]
    return a0, a0 + counts


def cube_inputs(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, pl, wptr)`` of whole matrices ``counts[w, observed, true]`` (every pair a row)."""
    w, k, _ = counts.shape
    rows = np.array(counts, dtype=np.float64).reshape(w * k, k)
    return rows, np.tile(np.arange(k, dtype=np.int64), w), np.arange(w + 1, dtype=np.int64) * k


def worker_derivatives_numpy(strength: np.ndarray, counts: np.ndarray, pl: np.ndarray, wptr: np.ndarray,
                             mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives, per worker, of the evidence with respect to the worker's prior
    accuracy ``mu_w``. With ``u = s_w mu_w`` on the diagonal and ``v = s_w (1 - mu_w) / (K - 1)``::

        f_w'(mu)  = s_w   [sum_k (psi(u + N_kk) - psi(u))
                           - sum_{l != k} (psi(v + N_lk) - psi(v)) / (K - 1)]
        f_w''(mu) = s_w^2 [sum_k (psi'(u + N_kk) - psi'(u))
                           + sum_{l != k} (psi'(v + N_lk) - psi'(v)) / (K - 1)^2]

    summed over the cells with a count only (the others add exactly 0)."""
    return _split_derivatives(strength, *split_diagonal(counts, pl, wptr), wptr, mu)


def _split_derivatives(strength: np.ndarray, diag: np.ndarray, off: np.ndarray, wptr: Any, mu: Any) -> Any:
    """:func:`worker_derivatives_numpy` on rows already split (the band pass splits them once)."""
    k = diag.shape[1]
    u = strength * mu
    v = strength * (1.0 - mu) / (k - 1)
    pw = np.repeat(np.arange(strength.size), np.diff(wptr))
    vp = v[pw][:, None]

    def cells(fn: Callable[[Any], np.ndarray], base: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.where(n != 0, fn(base + n) - fn(base), 0.0).sum(axis=1)

    g = cells(digamma, u[:, None], diag) - per_worker_sum(cells(digamma, vp, off), wptr) / (k - 1)
    h = cells(trigamma, u[:, None], diag) + per_worker_sum(cells(trigamma, vp, off), wptr) / (k - 1) ** 2
    return strength * g, strength * strength * h


#: the derivatives per worker: numpy reference, numba version (one pass, scalar special functions)
worker_derivatives = twin("bds_derivatives", worker_derivatives_numpy,
                          "galton.aggregator._bayes_numba:worker_derivatives")

Derivatives = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def maximise_concave(deriv: Derivatives, lo: np.ndarray, hi: np.ndarray, start: np.ndarray,
                     tol: float = NEWTON_TOL, full: bool = False) -> Any:
    """Maximisers of concave functions on [lo, hi], element-wise: Newton steps from ``start`` kept
    inside a bracket that shrinks around the root of the derivative (bisection when a step would
    leave it). A step past an end of [lo, hi] not yet tried goes to that end, which is the
    maximiser when the derivative there still points outwards; so a warm start near the maximiser
    costs one or two evaluations and an optimum at an end two. A Newton step shorter than ``tol``
    is the last (quadratic convergence: the error is about ``tol ** 2``); other steps stop below
    ``BRACKET_TOL``. ``deriv(x, idx)`` gives the first and second derivatives of functions ``idx``
    at ``x``. ``full``: return ``(x, side, g, h)``, ``side`` +1 / -1 where the maximiser is the
    upper / lower end with the derivative pointing outwards (``g``, ``h``: the derivatives there),
    else 0."""
    lo, hi = lo.astype(float), hi.astype(float)
    x = np.clip(start, lo, hi).astype(float)
    end_lo, end_hi = lo.copy(), hi.copy()  # the ends of the interval, fixed
    todo = np.ones(lo.size, dtype=bool)
    side = np.zeros(lo.size, dtype=np.int8)
    g_end, h_end = np.zeros(lo.size), np.zeros(lo.size)
    for _ in range(200):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        g, h = deriv(x[idx], idx)
        xt, lt, ht = x[idx], lo[idx], hi[idx]
        at_end = ((xt <= end_lo[idx]) & (g <= 0)) | ((xt >= end_hi[idx]) & (g >= 0)) | (g == 0)
        lt = np.where(g > 0, xt, lt)
        ht = np.where(g > 0, ht, xt)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(h < 0, xt - g / h, np.nan)
        newton = (new >= lt) & (new <= ht)  # a Newton step inside the bracket (NaN: False)
        # a step beyond the bracket: to the interval's end when that end was never tried (the
        # bracket still reaches it), else halfway
        new = np.where(new > ht, np.where(ht >= end_hi[idx], ht, 0.5 * (lt + ht)), new)
        new = np.where(new < lt, np.where(lt <= end_lo[idx], lt, 0.5 * (lt + ht)), new)
        new = np.where(np.isnan(new), 0.5 * (lt + ht), new)
        new = np.where(at_end, xt, new)
        step = np.abs(new - xt)
        done = at_end | (newton & (step < tol)) | (step < BRACKET_TOL) | (ht - lt < BRACKET_TOL)
        x[idx], lo[idx], hi[idx] = new, lt, ht
        out = np.where(at_end & (xt >= end_hi[idx]) & (g > 0), 1, np.where(at_end & (xt <= end_lo[idx]) & (g < 0), -1, 0))
        side[idx], g_end[idx], h_end[idx] = out, g, h
        todo[idx[done]] = False
    return (x, side, g_end, h_end) if full else x


def band_pass_numpy(strength: np.ndarray, counts: np.ndarray, pl: np.ndarray, wptr: np.ndarray, start: np.ndarray,
                    a: float, b: float, tol: float, todo: np.ndarray,
                    ends: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray]:
    """Each worker's maximiser of its evidence ``f_w`` on the band ``[a, b]`` (Newton from
    ``clip(start, a, b)``, see :func:`maximise_concave`), for the workers in ``todo``. Returns
    ``(mu, side, low, high, hint, g)``: ``side`` +1 / -1 for a worker stopped at ``b`` / ``a`` with its
    derivative pointing outwards (its own maximiser lies beyond), 0 otherwise; ``low`` / ``high``:
    the sums ``(g, h)`` of the first and second derivatives of the workers stopped at ``a`` / ``b``,
    what the centre's objective's derivatives are made of; ``hint``: where the next pass starts each
    worker: its maximiser when inside the band, else the end of the whole range ``ends`` (1/K,
    MAX_ACCURACY) on its side, so that the next band's end is its first point wherever the band
    moves; ``start`` for a worker not in ``todo``; ``g``: each worker's derivative ``f_w'`` where
    it stopped (0 for a worker without counts or not in ``todo``).
    A worker without counts (flat ``f_w``) sits at ``a`` with side -1 and adds 0; one not in
    ``todo`` gets ``clip(start, a, b)`` and side 0."""
    w = strength.size
    todo = np.broadcast_to(todo, (w,))
    start = np.broadcast_to(start, (w,))
    mu = np.clip(start, a, b).astype(float)
    side = np.zeros(w, dtype=np.int8)
    has = per_worker_sum(np.abs(counts).sum(axis=1), wptr) != 0.0
    flat = todo & ~has
    mu[flat], side[flat] = a, -1
    data = np.flatnonzero(todo & has)
    point = mu.copy()  # the evaluation point of every worker
    diag, off = split_diagonal(counts, pl, wptr)  # once: every Newton step evaluates the same counts

    def own(x: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        point[data[sel]] = x
        g, h = _split_derivatives(strength, diag, off, wptr, point)
        return g[data[sel]], h[data[sel]]

    x, sd, g, h = maximise_concave(own, np.full(data.size, float(a)), np.full(data.size, float(b)), mu[data], tol,
                                   full=True)
    mu[data], side[data] = x, sd
    gw = np.zeros(w)
    gw[data] = g
    hint = np.where(side == 1, ends[1], np.where(side == -1, ends[0], mu))
    hint = np.where(todo, hint, start).astype(float)
    low, high = sd < 0, sd > 0
    return (mu, side, np.array([g[low].sum(), h[low].sum()]), np.array([g[high].sum(), h[high].sum()]), hint, gw)


#: the prior accuracies' pass over the workers for one band: numpy reference, numba version (one
#: scalar Newton per worker, its evaluations in rounds of vectorised blocks; work items of workers)
band_pass = twin("bds_band_pass", band_pass_numpy, "galton.aggregator._bayes_numba:band_pass")


#: :func:`held_beyond`'s allowance for rounding: the derivatives' computed values differ from the
#: exact ones by far less than this times ``s_w`` per cell (each term is a difference of two special
#: functions of moderate arguments, each good to 1e-12 relative)
HELD_SLACK = 1e-6


def held_beyond_numpy(strength: np.ndarray, counts: np.ndarray, pl: np.ndarray, wptr: np.ndarray, side: np.ndarray,
                      g: np.ndarray, old: float, new: float, levels: Any = None) -> np.ndarray:
    """The workers that a band pass held at its end ``old`` (``side`` +1 for an upper end that moves
    up to ``new``, -1 for a lower end that moves down; ``g``: their derivative at ``old``) and that
    are provably still held at ``new``: solving them again would stop at ``new`` at once, with the
    same side. ``f_w'`` is decreasing and ``|f_w''| <= H_w`` on the segment between the two ends,
    with ``H_w = s^2 [c_d psi'(s x_lo) + c_o psi'(s (1 - x_hi) / (K - 1)) / (K - 1)^2]`` (``c_d``,
    ``c_o``: the worker's diagonal and off-diagonal cells with a count; each cell's term
    ``|psi'(base + n) - psi'(base)|`` is below ``psi'(base)`` for ``n > 0``, largest at the smallest
    base on the segment), so ``f_w'`` cannot change sign over it while ``|g| > |new - old| H_w``
    (with room for rounding, :data:`HELD_SLACK`). A worker with a negative count is never included.
    ``levels``: ``np.unique(strength, return_inverse=True)`` or None; the compiled twin then takes
    the bound's trigammas once per distinct strength (the same values); this reference ignores it."""
    diag, off = split_diagonal(counts, pl, wptr)
    k = diag.shape[1]
    toward = 1 if new > old else -1
    x_lo, x_hi = min(old, new), max(old, new)
    c_d = (diag != 0).sum(axis=1)
    c_o = per_worker_sum((off != 0).sum(axis=1).astype(float), wptr)
    negative = (diag < 0).any(axis=1) | (per_worker_sum((off < 0).sum(axis=1).astype(float), wptr) > 0)
    bound = strength * strength * (c_d * trigamma(strength * x_lo)
                                   + c_o * trigamma(strength * (1.0 - x_hi) / (k - 1)) / (k - 1) ** 2)
    room = toward * g - abs(new - old) * bound * (1.0 + HELD_SLACK) - HELD_SLACK * strength * (1.0 + c_d + c_o)
    return (side == toward) & ~negative & (room > 0)


#: the workers held at a receding end that need no new solve: numpy reference, numba version
held_beyond = twin("bds_held_beyond", held_beyond_numpy, "galton.aggregator._bayes_band_numba:held_beyond")


def pair_elog_numpy(a: np.ndarray, colsum: np.ndarray, pw: np.ndarray) -> np.ndarray:
    """``E[log e_w[l, k]] = psi(a[p, k]) - psi(colsum[w, k])`` for the pair rows ``a`` (P, K) of
    workers ``pw`` with the column sums ``colsum`` (W, K)."""
    out = digamma(a)
    out -= digamma(colsum)[pw]
    return out


def pair_kl_numpy(a: np.ndarray, a0: np.ndarray, elog: np.ndarray, colsum: np.ndarray, strength: np.ndarray) -> float:
    """Sum over every worker's K confusion columns of KL(Dir(a) || Dir(a0)), from the pair rows:
    ``sum_{w,k} [lnG(colsum_wk) - lnG(s_w)] + sum_{p,k} [lnG(a0) - lnG(a) + (a - a0) elog]``
    (the prior's columns sum to ``s_w``; cells of unobserved pairs have a = a0 and add 0)."""
    k = colsum.shape[1]
    kl = gammaln(colsum).sum() - k * gammaln(strength).sum()
    kl += gammaln(a0).sum() - gammaln(a).sum() + ((a - a0) * elog).sum()
    return float(kl)


def pair_elog_kl_numpy(a: np.ndarray, a0: np.ndarray, colsum: np.ndarray, pw: np.ndarray,
                       strength: np.ndarray, levels: Any = None) -> tuple[np.ndarray, float]:
    """The expected logs of the pair rows (:func:`pair_elog_numpy`) and the divergence of all the
    confusion columns from their priors (:func:`pair_kl_numpy`), which are made of the same
    special functions of the same cells. ``levels``: ``(values, index, a, b)``, the distinct prior
    strengths, each worker's index into them and the final band's ends, or None; the compiled
    :func:`pair_posterior` then takes log-gamma of the strengths and of the prior cells of workers
    held at an end once per strength (the same values); this reference ignores it."""
    elog = pair_elog_numpy(a, colsum, pw)
    return elog, pair_kl_numpy(a, a0, elog, colsum, strength)


def pair_posterior_numpy(u: np.ndarray, v: np.ndarray, strength: np.ndarray, counts: np.ndarray, pl: np.ndarray,
                         wptr: np.ndarray, pw: np.ndarray,
                         levels: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """An M-step's ``(a, colsum, elog, kl)`` from the expected counts (P, K) and the prior's values
    per worker (``u`` on the diagonal, ``v`` off it): the posterior cells (:func:`prior_cells_numpy`),
    column sums ``s_w + the counts'`` (W, K), expected logs and divergence (:func:`pair_elog_kl_numpy`,
    ``levels`` as there). ``pw``: each pair's worker."""
    a0, a = prior_cells_numpy(u, v, pw, pl, counts)
    colsum = strength[:, None] + per_worker_sum(counts, wptr)
    elog, kl = pair_elog_kl_numpy(a, a0, colsum, pw, strength, levels)
    return a, colsum, elog, kl


#: an M-step's posterior: numpy reference, numba version (a pass over the workers, one over the
#: pair rows; log-gamma and digamma of a cell share their recurrence; no prior cells stored)
pair_posterior = twin("bds_pair_posterior", pair_posterior_numpy, "galton.aggregator._bayes_numba:pair_posterior")


def band_finish_numpy(mu: np.ndarray, side: np.ndarray, mu_r: np.ndarray, side_r: np.ndarray, redo: np.ndarray,
                      a: float, b: float) -> np.ndarray:
    """The workers' accuracies on the final band ``[a, b]``: those solved again (``redo``) from
    ``mu_r`` / ``side_r``, the others from ``mu`` / ``side``; a worker held at an end sits on it,
    the rest are clipped to the band."""
    mu, side = np.where(redo, mu_r, mu), np.where(redo, side_r, side)
    return np.where(side == 1, b, np.where(side == -1, a, np.clip(mu, a, b)))


#: an M-step's final accuracies: numpy reference, numba version (one pass, not seven; the same selections)
_band_finish = twin("bds_band_finish", band_finish_numpy, "galton.aggregator._bayes_numba:band_finish")


def band_finish(mu: np.ndarray, side: np.ndarray, mu_r: np.ndarray, side_r: np.ndarray, redo: np.ndarray,
                a: float, b: float) -> np.ndarray:
    """See :func:`band_finish_numpy` (compiled from ``SMALL`` values on, or once numba is imported)."""
    return by_size(_band_finish, np.size(mu))(mu, side, mu_r, side_r, redo, a, b)


def band_pass_some(strength: np.ndarray, counts: np.ndarray, pl: np.ndarray, wptr: np.ndarray, start: np.ndarray,
                   a: float, b: float, todo: np.ndarray, ends: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """``(mu, side, hint)`` of :func:`band_pass` for the workers in ``todo`` only (``mu`` / ``side``:
    0 / 0 elsewhere, ``hint``: ``start`` elsewhere), from their own rows gathered into small arrays:
    a pass over every worker costs 0.4-0.8 ms on the wide crowd even when it solves two of them,
    and the final band's re-solves are usually a handful. Each worker's solve depends on its own
    rows only, so the results are the same bits as the whole pass's."""
    idx = np.flatnonzero(todo)
    first, size = wptr[idx], wptr[idx + 1] - wptr[idx]
    sub_ptr = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(size, out=sub_ptr[1:])
    rows = np.arange(sub_ptr[-1]) + np.repeat(first - sub_ptr[:-1], size)
    start = np.broadcast_to(start, strength.shape)
    mu_s, side_s, _, _, hint_s, _ = band_pass(strength[idx], counts[rows], pl[rows], sub_ptr, start[idx], a, b,
                                              NEWTON_TOL, True, ends)
    mu, side, hint = np.zeros(strength.size), np.zeros(strength.size, dtype=np.int8), np.array(start, dtype=float)
    mu[idx], side[idx], hint[idx] = mu_s, side_s, hint_s
    return mu, side, hint


def band_edges(m: float, half_width: float, k: int) -> tuple[float, float]:
    """The band ``[a, b]`` of prior accuracies around the centre ``m``: within ``half_width`` of it
    and within [1/K, MAX_ACCURACY] (``(m, m)`` clipped when ``half_width <= 0``)."""
    return max(1.0 / k, m - max(half_width, 0.0)), min(MAX_ACCURACY, m + max(half_width, 0.0))


def eb_accuracies(strength: np.ndarray, counts: np.ndarray, pl: np.ndarray, wptr: np.ndarray, half_width: float,
                  fixed: float | None = None, memo: dict[str, Any] | None = None) -> tuple[float, np.ndarray]:
    """The prior accuracies that maximise the evidence: a centre ``m`` and, per worker, ``mu_w``
    within ``half_width`` of it (all within [1/K, MAX_ACCURACY]); ``fixed`` fixes ``m``. ``memo``
    (the fit's memory): the previous M-step's centre ``memo["centre"]`` and where each worker's
    Newton steps start, ``memo["mu_star"]`` (its maximiser, or the end of the whole range on the side
    of the band it was held at); without them the start is each worker's share of agreeing counts.

    With ``A_w = s_w C(mu_w)`` and expected counts ``N_w``, the part of the ELBO that depends on
    (q(e), m, mu), maximised over q(e), is the Dirichlet-multinomial evidence
    ``sum_w f_w(mu_w)``, ``f_w(mu) = sum_{l,k} [lnG(A_wlk + N_wlk) - lnG(A_wlk)] + const`` (the
    column sums of A do not depend on mu). Each f_w is concave, and the constraint
    ``|mu_w - m| <= half_width`` is convex, so the joint maximum is ``m`` maximising
    ``F(m) = sum_w max_{|mu - m| <= half_width} f_w(mu)`` (concave, as a partial maximum), whose
    derivative sums ``f_w'`` at the band's ends over the workers held there (their own maximiser
    lies beyond). Newton on ``m``: each evaluation is one pass (:func:`band_pass`) that finds every
    worker's maximiser on that centre's band and the derivative at once, so a worker held at an end
    costs one evaluation of ``f_w'`` per pass, and a warm M-step usually one pass. Returns ``(m, mu)``.
    """
    w, k = np.size(wptr) - 1, counts.shape[1]
    lo, hi = 1.0 / k, MAX_ACCURACY
    if k == 1:
        return 1.0, np.ones(w)

    def agreeing() -> tuple[np.ndarray, np.ndarray]:  # each worker's agreeing and total counts
        diag, off = split_diagonal(counts, pl, wptr)
        agree = diag.sum(axis=1)
        return agree, agree + per_worker_sum(off.sum(axis=1), wptr)

    if half_width <= 0:  # one shared accuracy: maximise sum_w f_w(m)
        if fixed is not None:
            return fixed, np.full(w, fixed)
        agree, n_w = agreeing()
        total = n_w.sum()
        pooled = float(np.clip(agree.sum() / total, lo, hi)) if total > 0 else 0.5 * (lo + hi)

        def shared(m: np.ndarray, _: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            out = [worker_derivatives(strength, counts, pl, wptr, np.full(w, x)) for x in m]
            return np.array([g.sum() for g, _ in out]), np.array([h.sum() for _, h in out])

        m = float(maximise_concave(shared, np.array([lo]), np.array([hi]), np.array([pooled]))[0])
        return m, np.full(w, m)

    start = None if memo is None else memo.get("mu_star")
    centre = None if memo is None else memo.get("centre")
    if start is None or np.shape(start) != (w,):
        agree, n_w = agreeing()
        start = np.clip(agree / np.maximum(n_w, EPS), lo, hi)
        centre = None
    everyone = np.ones(w, dtype=bool)
    # the distinct prior strengths (fixed for a fit: kept in its memory) for the held workers' bound;
    # the model's fit passes its memory's own strength array, never changed: no check needed then
    levels = None if memo is None else (memo.get("strength_values"), memo.get("strength_index"))
    if (levels is None or levels[0] is None or np.shape(levels[1]) != (w,)
            or (memo.get("strength") is not strength  # type: ignore[union-attr]
                and not np.array_equal(levels[0][levels[1]], strength))):  # kept, but for these strengths?
        levels = np.unique(strength, return_inverse=True)
        if memo is not None:
            memo["strength_values"], memo["strength_index"] = levels

    def edges(m: float) -> tuple[float, float]:
        return band_edges(m, half_width, k)

    if fixed is not None:
        a, b = edges(fixed)
        mu, _, _, _, hint, _ = band_pass(strength, counts, pl, wptr, start, a, b, NEWTON_TOL, everyone, (lo, hi))
        if memo is not None:
            memo["mu_star"] = hint
        return fixed, mu
    if centre is None:  # the first M-step: the workers' own maximisers give the centre's start
        start = band_pass(strength, counts, pl, wptr, start, lo, hi, NEWTON_TOL, everyone, (lo, hi))[0]
        # no ``@``: OpenBLAS's threaded dot leaves a thread spinning ~0.1 s, a busy core to the loops
        centre = float(np.clip(np.sum(strength * start) / strength.sum(), lo, hi))

    # Newton on the centre: every evaluation is one pass over the workers on the band of that
    # centre, which gives each worker's maximiser there and the centre's derivatives at once
    last: dict[str, Any] = {"start": start}

    def at_centre(m: np.ndarray, _: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = edges(float(m[0]))
        mu, side, low, high, hint, g = band_pass(strength, counts, pl, wptr, last["start"], a, b, NEWTON_TOL,
                                                 everyone, (lo, hi))
        last.update(a=a, b=b, mu=mu, side=side, start=hint, g=g)
        # an end that is 1/K or MAX_ACCURACY does not move with the centre: its workers add nothing
        d = np.zeros(2)
        if a > lo:
            d += low
        if b < hi:
            d += high
        return d[:1], d[1:]

    m = float(maximise_concave(at_centre, np.array([lo]), np.array([hi]), np.array([float(centre)]),
                               tol=CENTRE_TOL)[0])
    # the last Newton step of the centre was not evaluated: a worker stopped at the end the band
    # moved away from may now lie inside it, so those workers are solved again on the final band,
    # but for those whose derivative provably keeps its sign up to the new end (most of them: the
    # last step is short); a new solve of those would stop at the new end at once, with the same
    # side and hint, so the result is the same to the last bit
    a, b = edges(m)
    mu, side = last["mu"], last["side"]
    redo = np.zeros(w, dtype=bool)  # held at an end the band moved away from
    for new, old, held in ((b, last["b"], 1), (a, last["a"], -1)):
        if new * held > old * held:
            redo |= (side == held) & ~held_beyond(strength, counts, pl, wptr, side, last["g"], old, new, levels)
    hint = last["start"]
    mu_r, side_r = mu, side
    if redo.any():
        mu_r, side_r, hint = band_pass_some(strength, counts, pl, wptr, hint, a, b, redo, (lo, hi))
    mu = band_finish(mu, side, mu_r, side_r, redo, a, b)
    if memo is not None:
        memo["mu_star"], memo["centre"] = hint, m
    return m, mu
