"""Intervals of a study's accuracies that keep their coverage near 0% and 100%.

The percentile bootstrap over tasks collapses when a score has few or no errors: an expert right
on 30 of 30 tasks has every replicate at 1.000, so its interval is [1.000, 1.000]; with a true
accuracy of 0.97 on 60 tasks such intervals covered it 81% of the time for a stated 95%, and a
crowd near 0.99 37% of the time, so verdicts said "beats" or "below" where the accuracies were
equal. Every accuracy interval of a study is therefore the *union* of the percentile bootstrap
interval and the Wilson score interval (Wilson 1927) of the same accuracy on the same number of
scored tasks:

- the Wilson interval never has width 0 (30 of 30 right: [0.886, 1.000] at 95%) and keeps its
  coverage near 0 and 1, where the bootstrap (and the normal approximation) fail;
- it treats the ``n`` scored *tasks* as the units, as the bootstrap does: a task's credit
  averaged over the repetitions lies in ``[0, 1]``, so its variance is at most ``p(1 - p)``, and
  the Wilson interval on ``n`` tasks is conservative for the crowd (its repetitions can only make
  its accuracy less variable than ``n`` independent 0/1 scores) and about exact for an expert's
  0/1 scores;
- the bootstrap interval is kept where it is wider (it also resamples the repetitions and sees
  the spread of credits the Wilson interval does not).

A difference of two accuracies on the same tasks (crowd minus expert) gets the union of the
percentile interval of its paired replicates and the MOVER interval ("method of variance estimates
recovery": Newcombe, *Stat. Med.* 1998, method 10; Zou & Donner, *Stat. Med.* 2008), built from the
two accuracies' own intervals above and the correlation ``r`` of their replicates (0 where one
side's replicates do not vary):

    L = d - sqrt((a - l_a)^2 + (u_b - b)^2 - 2 r (a - l_a)(u_b - b))
    U = d + sqrt((u_a - a)^2 + (b - l_b)^2 - 2 r (u_a - a)(b - l_b))

so a crowd and an expert both without an error on 40 tasks give a band around 0, not the single
point 0.

A Kendall tau of the preference study (:func:`tau_interval`) is the same with the share of
concordant pairs ``(tau + 1) / 2`` as the proportion, counted on ``P * effective_pairs(m)`` pairs for
``P`` prompts of ``m`` responses (:func:`galton.benchmarks.ranking.effective_pairs`: a prompt's pairs
share items, so they are worth fewer than ``m (m - 1) / 2`` independent ones), and the interval mapped
back to tau. Prompts were too few units: 10 prompts of 3 responses and an expert of tau 0.95 gave a
zero-width percentile interval 44% of the time and 55% coverage for a stated 95% (99% with
the floor); one prompt gave every replicate the same tau. A difference of two taus is
:func:`difference_interval` of the two tau intervals (MOVER is unchanged by the map ``2 c - 1``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..aggregator.worker_report import wilson_interval
from .ranking import effective_pairs

__all__ = ["percentile_interval", "proportion_interval", "tau_interval", "difference_interval",
           "replicate_correlation"]


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along the last axis (NaN replicates ignored)."""
    a = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # an all-NaN row (nothing scored at that k) gives NaN, said once by the table
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(replicates, [a, 1.0 - a], axis=-1)
    return lo, hi


def proportion_interval(estimate: np.ndarray, replicates: np.ndarray, n: np.ndarray,
                        level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """An accuracy's interval: the union of the percentile bootstrap interval of ``replicates``
    (last axis) and the Wilson score interval of ``estimate`` on ``n`` scored tasks (see the module
    docstring); NaN where nothing was scored (``n == 0``)."""
    lo, hi = percentile_interval(replicates, level)
    est, n = np.asarray(estimate, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        w_lo, w_hi = wilson_interval(est * n, n, level)
    none = ~(n > 0) | np.isnan(est)
    return np.where(none, np.nan, np.fmin(lo, w_lo)), np.where(none, np.nan, np.fmax(hi, w_hi))


def tau_interval(estimate: np.ndarray, replicates: np.ndarray, n_prompts: np.ndarray, group_size: int,
                 level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """A mean Kendall tau's interval over ``n_prompts`` prompts of ``group_size`` responses: the
    :func:`proportion_interval` of the concordant share ``(tau + 1) / 2`` on
    ``n_prompts * effective_pairs(group_size)`` pairs, mapped back to tau (see the module docstring)."""
    n = np.asarray(n_prompts, dtype=np.float64) * effective_pairs(group_size)
    lo, hi = proportion_interval((np.asarray(estimate, dtype=np.float64) + 1.0) / 2.0, (replicates + 1.0) / 2.0,
                                 n, level)
    return 2.0 * lo - 1.0, 2.0 * hi - 1.0


def replicate_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation of two sets of bootstrap replicates along the last axis (NaN replicates left
    out); 0 where either does not vary."""
    ok = ~(np.isnan(a) | np.isnan(b))
    n = np.maximum(ok.sum(axis=-1, keepdims=True), 1)
    a0 = np.where(ok, a - np.where(ok, a, 0.0).sum(axis=-1, keepdims=True) / n, 0.0)
    b0 = np.where(ok, b - np.where(ok, b, 0.0).sum(axis=-1, keepdims=True) / n, 0.0)
    cov, va, vb = (a0 * b0).sum(axis=-1), (a0 * a0).sum(axis=-1), (b0 * b0).sum(axis=-1)
    tiny = 1e-24
    return np.where((va > tiny) & (vb > tiny), cov / np.sqrt(np.maximum(va * vb, tiny)), 0.0)


def difference_interval(diff_replicates: np.ndarray, a: tuple[np.ndarray, np.ndarray, np.ndarray],
                        b: tuple[np.ndarray, np.ndarray, np.ndarray], r: np.ndarray,
                        level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ``a - b`` (paired): the union of the percentile interval of
    ``diff_replicates`` and the MOVER interval from ``a = (estimate, low, high)``, ``b`` likewise
    (their :func:`proportion_interval`) and the correlation ``r`` of their replicates."""
    lo, hi = percentile_interval(diff_replicates, level)
    (ea, la, ua), (eb, lb, ub) = a, b
    r = np.clip(r, -1.0, 1.0)
    d = ea - eb
    m_lo = d - np.sqrt(np.maximum((ea - la) ** 2 + (ub - eb) ** 2 - 2 * r * (ea - la) * (ub - eb), 0.0))
    m_hi = d + np.sqrt(np.maximum((ua - ea) ** 2 + (eb - lb) ** 2 - 2 * r * (ua - ea) * (eb - lb), 0.0))
    return np.fmin(lo, m_lo), np.fmax(hi, m_hi)
