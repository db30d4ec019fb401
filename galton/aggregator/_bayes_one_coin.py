"""Bayesian Dawid-Skene with one accuracy per worker: the default's form when labels are many.

A full confusion matrix has K x K cells per worker. With many labels (a thousand ImageNet classes,
an LLM judge's open label set) a worker's judgments cannot fill them (300 judgments against a
million cells), the matrices are the prior's, and the fit still pays for them: pairs x K
digammas and evidence terms each iteration (1,000 labels, 100k judgments: 188 s and 3.5 GB against
majority vote's 1-3 s at the same accuracy; this form: 5-7 s, 1.8 GB). This form keeps everything else of
:class:`~galton.aggregator.bayesian.BayesianDawidSkene` (the class prior and its shrinkage, the
empirical-Bayes centre and window of the prior accuracies, the calibration) and gives each worker
one accuracy ``theta_w`` with a Beta prior instead::

    theta_w ~ Beta(s_w mu_w, s_w (1 - mu_w)),   s_w = prior_strength + shrinkage * n_w
    p(y = l | z = k) = theta_w if l == k else (1 - theta_w) / (K - 1)

(``s_w`` in pseudo-judgments of the worker, like one column of the full model's prior). With the
expected correct answers ``c_w = sum_j q_t(y_j)`` and wrong ones ``f_w = n_w - c_w``, VB gives
``q(theta_w) = Beta(s_w mu_w + c_w, s_w (1 - mu_w) + f_w)`` and the E-step table
``E[log theta_w]`` on the diagonal, ``E[log (1 - theta_w)] - log(K - 1)`` elsewhere. The prior
accuracies maximise the Beta-binomial evidence, as the full model's maximise the
Dirichlet-multinomial one: every worker's ``mu_w`` on a grid of accuracies, within the window around
the centre ``m``, the centre the grid point with the highest total (the previous choice is on the
grid, so no M-step lowers the ELBO by the choice of the prior). A worker's evidence is concave in
``mu`` (its second derivative is ``s^2`` times two differences of the decreasing trigamma), so its
best grid point in a window is its best grid point overall, clipped to the window.

The E-step is the shared kernel, asked for the posteriors instead of the pairs x K expected counts:
the statistics are then each pair's expected right answers (one number a pair, added by
:func:`galton.aggregator._pairs.right_stats`) and the class totals. The M-step gives the result of
the whole workers x grid table of evidence values, but evaluates the cells that decide it only (10-40
a worker instead of 256; :func:`one_coin_eb`) plus writing the pair table.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .._math import EPS, digamma, dirichlet_kl, gammaln
from ._pairs import per_worker_sum

__all__ = ["MANY_LABELS", "GRID", "uses_one_coin", "one_coin_eb", "one_coin_step"]

#: ``confusion="auto"`` fits one accuracy per worker above this many labels (the full matrices at or
#: below it; every shared dataset has at most 10). See docs/research/many_labels.py for the numbers.
MANY_LABELS = 32
#: points of the accuracy grid of the empirical-Bayes fit (from chance 1/K to MAX_ACCURACY)
GRID = 256


def uses_one_coin(confusion: str, n_labels: int) -> bool:
    """Whether a fit with this ``confusion`` setting and ``n_labels`` labels takes the one-accuracy form
    (never with one label: its only cell is the diagonal)."""
    k = int(n_labels)
    return k > 1 and (confusion == "one_coin" or (confusion == "auto" and k > MANY_LABELS))


def _grid(k: int, top: float, fixed: float | None) -> np.ndarray:
    mus = np.linspace(min(1.0 / k, top), top, GRID)
    return mus if fixed is None else np.unique(np.append(mus, fixed))


def _windows(mus: np.ndarray, centres: np.ndarray, half_width: float) -> tuple[np.ndarray, np.ndarray]:
    """The first and last grid index of each centre's window."""
    slack = EPS * 1e6  # grid values equal to the window's ends count as inside it
    lo = np.searchsorted(mus, mus[centres] - half_width - slack, side="left")
    hi = np.searchsorted(mus, mus[centres] + half_width + slack, side="right") - 1
    return lo, hi


def one_coin_eb(strength: np.ndarray, correct: np.ndarray, wrong: np.ndarray, k: int, half_width: float,
                top: float, fixed: float | None = None,
                memo: dict[str, Any] | None = None) -> tuple[float, np.ndarray]:
    """``(m, mu)``: the centre and the per-worker prior accuracies that maximise the Beta-binomial
    evidence ``sum_w lnB(s mu + c, s (1 - mu) + f) - lnB(s mu, s (1 - mu))`` with every ``mu_w``
    within ``half_width`` of ``m``; all on a grid from chance (1/K) to ``top`` (plus ``fixed``, the
    centre when it is given).

    The result is that of the whole table ``ev`` (workers x grid) of evidence values: each worker's
    first maximum on the grid ``best``, the window totals ``T(j) = sum_w ev[w, clip(best_w, lo_j,
    hi_j)]`` and the first centre of the highest total, to the last bit. It evaluates only the cells
    that can decide them (:func:`_grid_peaks`, :func:`_best_centre`): 10-40 a worker instead of 256,
    under 10 started from the previous M-step's choice, each computed as the table computes it.
    ``memo`` (the fit's memory) keeps that choice: the centre and each worker's best grid accuracy
    (``memo["centre"]``, ``memo["coin_best"]``); the result does not depend on it. Inputs the search
    does not cover (a negative or non-finite value, windows of uneven width) take the whole table
    (:func:`_table_eb`)."""
    mus = _grid(k, top, fixed)
    strength, correct, wrong = (np.asarray(x, dtype=np.float64) for x in (strength, correct, wrong))
    centres = np.arange(mus.size) if fixed is None else np.flatnonzero(mus == fixed)
    lo, hi = _windows(mus, centres, half_width)
    at = np.arange(centres.size)
    even = centres.size == 1 or (np.array_equal(lo, np.maximum(at - np.max(at - lo), 0))
                                 and np.array_equal(hi, np.minimum(at + np.max(hi - at), mus.size - 1)))
    usable = (even and half_width >= 0 and 0 < mus[0] and mus[-1] < 1 and strength.size > 0
              and bool(np.all(np.isfinite(strength) & (strength > 0)))
              and bool(np.all(np.isfinite(correct) & (correct >= 0) & np.isfinite(wrong) & (wrong >= 0))))
    memo = {} if memo is None else memo
    if usable:
        ev = _Evidence(strength, correct, wrong, mus)
        known = memo.get("coin_best")  # accuracies (a checkpoint takes integer arrays for constants)
        if isinstance(known, np.ndarray) and known.shape == strength.shape and np.isfinite(known).all():
            known = np.minimum(np.searchsorted(mus, known), mus.size - 1)
        else:
            known = None
        best, peak = _grid_peaks(ev, mus.size, known)
        hint = memo.get("centre")
        start = (int(np.argmin(np.abs(mus[centres] - hint)))
                 if isinstance(hint, (int, float)) and np.isfinite(hint) else None)
        j = 0 if centres.size == 1 else _best_centre(ev, best, peak, lo, hi, start)
    else:
        j, best = _table_eb(strength, correct, wrong, mus, lo, hi)
    memo["coin_best"], memo["centre"] = mus[best], float(mus[centres[j]])
    return float(mus[centres[j]]), mus[np.clip(best, lo[j], hi[j])]


def _table_eb(strength: np.ndarray, correct: np.ndarray, wrong: np.ndarray, mus: np.ndarray, lo: np.ndarray,
              hi: np.ndarray) -> tuple[int, np.ndarray]:
    """:func:`one_coin_eb`'s choice from the whole workers x grid table of evidence values: the
    window (of ``lo``, ``hi``) with the highest total and each worker's first maximum."""
    s = strength[:, None]
    a0, b0 = s * mus, s * (1.0 - mus)
    ev = gammaln(a0 + correct[:, None]) - gammaln(a0) + gammaln(b0 + wrong[:, None]) - gammaln(b0)
    best = ev.argmax(axis=1)
    rows = np.arange(best.size)
    totals = np.array([ev[rows, np.clip(best, a, b)].sum() for a, b in zip(lo, hi)])
    return int(np.argmax(totals)), best


#: the search's bound on how far a computed evidence value can lie from the exact one, relative to the
#: size of the log-gamma values behind it (their error is a few 1e-16 of it): what may hide a maximum
NOISE = 1e-10
#: widening steps of a worker's search before its whole row is evaluated (a row this flat is rare)
WIDEN = 8


class _Evidence:
    """``ev(rows, cols)``: the cells ``ev[rows, cols]`` of the table of :func:`_table_eb`, computed
    as it computes them (the same operations on the same numbers, so the same bits). The prior's
    terms ``gammaln(s mu)`` and ``gammaln(s (1 - mu))`` depend on the strength alone: a table per
    distinct strength when there are few (the strength is fixed by the judgment count)."""

    def __init__(self, strength: np.ndarray, correct: np.ndarray, wrong: np.ndarray, mus: np.ndarray) -> None:
        self.strength, self.correct, self.wrong, self.mus = strength, correct, wrong, mus
        self.rest = 1.0 - mus
        levels, self.level = np.unique(strength, return_inverse=True)
        self.tables = None
        if levels.size * 8 <= strength.size:
            self.tables = (gammaln(levels[:, None] * mus), gammaln(levels[:, None] * self.rest))

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        s = self.strength[rows]
        a0, b0 = s * self.mus[cols], s * self.rest[cols]
        if self.tables is None:
            ga, gb = gammaln(a0), gammaln(b0)
        else:
            at = self.level[rows]
            ga, gb = self.tables[0][at, cols], self.tables[1][at, cols]
        return gammaln(a0 + self.correct[rows]) - ga + gammaln(b0 + self.wrong[rows]) - gb

    @cached_property
    def noise(self) -> np.ndarray:
        """Per worker, a bound on ``|ev[w, i] - f_w(i)|`` at every grid index ``i``, where ``f_w`` is
        the exact evidence at the exact, evenly spaced grid point (a concave sequence): the log-gamma
        values are at most ``size`` (``|lnG(x)| <= max(|lnG|)`` at the ends of ``[s mu_0, s + c + f]``,
        lnG being convex, and ``(x + 1)(|ln x| + 1) + 1`` bounds it at a point), the grid points lie
        within 1e-15 of the even ones and the evidence's slope is below ``slope``."""
        s, c, f, mus = self.strength, self.correct, self.wrong, self.mus

        def size(x: np.ndarray) -> np.ndarray:
            return (x + 1.0) * (np.abs(np.log(x)) + 1.0) + 1.0

        big = 4.0 * np.maximum(size(s * min(mus[0], 1.0 - mus[-1])), size(s + c + f))
        slope = 1.0 / mus[0] + 1.0 / (1.0 - mus[-1]) + 2.0 * s * (np.log1p(c) + np.log1p(f))
        return NOISE * (big + 0.01 * slope)


def _grid_peaks(ev: _Evidence, g: int, known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(best, peak)``: each worker's first maximum on the grid of ``g`` points and its value, those
    of ``argmax`` on the whole row. A worker's exact evidence ``f_w`` rises then falls along the grid
    (it is concave), and ``ev`` is within ``d_w`` (:meth:`_Evidence.noise`) of it. A start near the
    top: the previous M-step's maximum ``known`` where neither neighbour is higher, else an end of
    the grid where the row does not turn (most workers: one or two judgments, mostly right or mostly
    wrong), else bisection on the sign of a step. The search then widens the examined points to
    either side until a point is ``2 d_w`` below the highest examined value ``ev[e]``: that point's
    ``f_w`` is below ``f_w(e)``, so it lies on the falling side away from ``e``, and every point
    beyond it has ``ev <= f_w + d_w < ev[e]``. So the row's first maximum is among the examined
    points (a row still widening after WIDEN steps, nearly flat, is evaluated whole)."""
    n = ev.strength.size
    best, peak = np.zeros(n, dtype=np.int64), np.zeros(n)
    rows = np.flatnonzero((ev.correct > 0) | (ev.wrong > 0))  # the others' evidence is 0 everywhere
    m = rows.size
    if m == 0:
        return best, peak
    # the examined points [left, right] of each row: the first maximum ``at`` among them, its value
    # ``top`` and the values at the two ends
    at, left, right = (np.zeros(m, dtype=np.int64) for _ in range(3))
    top, end_l, end_r = np.zeros(m), np.zeros(m), np.zeros(m)
    rest = np.arange(m)
    if known is not None:
        h = known[rows]
        v = ev(np.tile(rows, 3), np.concatenate([np.maximum(h - 1, 0), h, np.minimum(h + 1, g - 1)])).reshape(3, m)
        held = ~(v[0] > v[1]) & ~(v[2] > v[1])  # no neighbour higher: the search starts there
        i = np.flatnonzero(held)
        left[i], right[i], top[i], end_l[i], end_r[i] = np.maximum(h[i] - 1, 0), np.minimum(h[i] + 1, g - 1), \
            v[1, i], v[0, i], v[2, i]
        at[i] = np.where(v[0, i] == v[1, i], left[i], h[i])  # a tie on the left: the first maximum
        rest = np.flatnonzero(~held)
    if rest.size:
        r = rows[rest]
        ends = ev(np.repeat(r, 4), np.tile([0, 1, g - 2, g - 1], r.size)).reshape(r.size, 4)
        low = ends[:, 1] <= ends[:, 0]  # falls from its first point: starts there
        high = ~low & (ends[:, 3] > ends[:, 2])  # still rises at its last point: starts there
        i, j = rest[low], rest[high]
        left[i], right[i], at[i], top[i], end_l[i], end_r[i] = 0, 1, 0, ends[low, 0], ends[low, 0], ends[low, 1]
        left[j], right[j], at[j], top[j], end_l[j], end_r[j] = g - 2, g - 1, g - 1, ends[high, 3], ends[high, 2], \
            ends[high, 3]
        inner = rest[~(low | high)]
        lo, hi = np.ones(inner.size, dtype=np.int64), np.full(inner.size, g - 2, dtype=np.int64)
        while True:
            go = np.flatnonzero(lo < hi)
            if go.size == 0:
                break
            mid, r = (lo[go] + hi[go]) // 2, rows[inner[go]]
            v = ev(np.concatenate([r, r]), np.concatenate([mid, mid + 1]))
            up = v[go.size:] > v[:go.size]
            lo[go[up]] = mid[up] + 1
            hi[go[~up]] = mid[~up]
        left[inner], right[inner], at[inner] = lo, lo, lo
        top[inner] = end_l[inner] = end_r[inner] = ev(rows[inner], lo)
    slack = 2.0 * ev.noise[rows]
    open_l = (end_l >= top - slack) & (left > 0)
    open_r = (end_r >= top - slack) & (right < g - 1)
    for _ in range(WIDEN):
        il, ir = np.flatnonzero(open_l), np.flatnonzero(open_r)
        if il.size + ir.size == 0:
            break
        left[il] -= 1
        right[ir] += 1
        v = ev(rows[np.concatenate([il, ir])], np.concatenate([left[il], right[ir]]))
        vl, vr = v[:il.size], v[il.size:]
        new = vl >= top[il]  # a tie on the left: the first maximum moves there
        at[il[new]], top[il[new]] = left[il[new]], vl[new]
        open_l[il] = (vl >= top[il] - slack[il]) & (left[il] > 0)
        new = vr > top[ir]
        at[ir[new]], top[ir[new]] = right[ir[new]], vr[new]
        open_r[ir] = (vr >= top[ir] - slack[ir]) & (right[ir] < g - 1)
    flat = np.flatnonzero(open_l | open_r)  # still widening: the whole row
    if flat.size:
        whole = ev(np.repeat(rows[flat], g), np.tile(np.arange(g), flat.size)).reshape(flat.size, g)
        at[flat] = whole.argmax(axis=1)
        top[flat] = whole[np.arange(flat.size), at[flat]]
    best[rows], peak[rows] = at, top
    return best, peak


def _best_centre(ev: _Evidence, best: np.ndarray, peak: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 start: int | None = None) -> int:
    """The first centre of the highest window total ``T(j) = sum_w ev[w, clip(best_w, lo_j, hi_j)]``,
    each total computed as the table computes it (the same numbers summed in the same order). With
    windows of one width in grid steps (cut at the grid's ends), each worker's
    ``f_w(clip(q_w, lo_j, hi_j))`` (``q_w`` the top of ``f_w``) is concave in ``j``: it follows
    ``f_w`` up, stays at its top while the window holds ``q_w``, and follows it down. Their sum
    ``F(j)`` is concave, and ``T`` is within ``D = 4 sum_w d_w`` of it (``ev`` within ``d_w`` of
    ``f_w``, ``best_w`` within ``2 d_w`` of the top, the sum's rounding). So a search for the top
    (golden section, or from ``start``, the previous M-step's centre, steps doubling uphill and golden
    section in the bracket), then widening as in :func:`_grid_peaks` with ``2 D``, examines every
    centre whose total may be the highest: 3-15 totals instead of 256, each evaluating the workers
    outside that window only."""
    n = lo.size
    holds_all = (lo <= best.min()) & (hi >= best.max())  # every worker's maximum inside: the same sum
    totals: dict[int, float] = {}

    def total(j: int) -> float:
        key = -1 if holds_all[j] else j
        if key not in totals:
            idx = np.clip(best, lo[j], hi[j])
            out = np.flatnonzero(idx != best)
            vals = peak.copy()
            vals[out] = ev(out, idx[out])
            totals[key] = float(vals.sum())
        return totals[key]

    def golden(a: int, b: int) -> int:  # golden-section search: one new total a step
        while b - a > 2:
            x1 = a + int(round(0.381966 * (b - a)))
            x2 = a + b - x1
            if total(x1) < total(x2):
                a = x1
            else:
                b = x2
        return max(range(a, b + 1), key=total)

    if start is None:
        a = golden(0, n - 1)
    else:  # from the hint, steps doubling uphill until the total falls, then golden section in between
        a, step = start, 0
        if start + 1 < n and total(start + 1) > total(start):
            step = 1
        elif start > 0 and total(start - 1) > total(start):
            step = -1
        back, here = a, a
        while step:
            ahead = min(max(here + step, 0), n - 1)
            if ahead == here or total(ahead) <= total(here):
                a = golden(min(back, ahead), max(back, ahead))
                break
            back, here, step = here, ahead, 2 * step
    slack = 8.0 * float(ev.noise.sum())
    left = right = a
    high = total(a)
    while left > 0:
        left -= 1
        high = max(high, total(left))
        if total(left) < high - slack:
            break
    while right < n - 1:
        right += 1
        high = max(high, total(right))
        if total(right) < high - slack:
            break
    return left + int(np.argmax([total(j) for j in range(left, right + 1)]))


def one_coin_step(right: np.ndarray, pl: np.ndarray, pw: np.ndarray, wptr: np.ndarray, n_w: np.ndarray,
                  strength: np.ndarray, k: int, half_width: float, top: float,
                  fixed: float | None, memo: dict[str, Any] | None = None) -> dict[str, Any]:
    """The M-step on the workers' accuracies from each pair's expected right answers (P,): the prior
    ``(m, mu)``, the posterior Beta ``(alpha, beta)``, each pair's E-step values (``coin_on`` /
    ``coin_off``: the expected log-probability of its label when it is / is not the truth, see
    :func:`galton.aggregator._pairs.estep_pairs`; no P x K table) and the divergence. ``memo`` (the
    fit's memory) keeps where the next M-step's searches start (see :func:`one_coin_eb`)."""
    correct = np.minimum(per_worker_sum(right, wptr), n_w)
    wrong = n_w - correct
    m, mu = one_coin_eb(strength, correct, wrong, k, half_width, top, fixed, memo)
    prior = np.stack([strength * mu, strength * (1.0 - mu)], axis=1)
    post = prior + np.stack([correct, wrong], axis=1)
    elog = digamma(post) - digamma(post.sum(axis=1))[:, None]  # E[log theta], E[log (1 - theta)]
    return {"accuracy": m, "worker_accuracy": mu, "theta": post, "coin_on": elog[pw, 0],
            "coin_off": elog[pw, 1] - np.log(k - 1), "coin_label": pl,
            "kl_e": dirichlet_kl(post, prior, axis=1, elog=elog)}
