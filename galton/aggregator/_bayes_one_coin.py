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
:func:`galton.aggregator._pairs.right_stats`) and the class totals. The M-step costs O(workers x
grid) plus writing the pair table.
"""

from __future__ import annotations

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


def one_coin_eb(strength: np.ndarray, correct: np.ndarray, wrong: np.ndarray, k: int, half_width: float,
                top: float, fixed: float | None = None) -> tuple[float, np.ndarray]:
    """``(m, mu)``: the centre and the per-worker prior accuracies that maximise the Beta-binomial
    evidence ``sum_w lnB(s mu + c, s (1 - mu) + f) - lnB(s mu, s (1 - mu))`` with every ``mu_w``
    within ``half_width`` of ``m``; all on a grid from chance (1/K) to ``top`` (plus ``fixed``, the
    centre when it is given)."""
    mus = _grid(k, top, fixed)
    s = strength[:, None]
    a0, b0 = s * mus, s * (1.0 - mus)
    ev = gammaln(a0 + correct[:, None]) - gammaln(a0) + gammaln(b0 + wrong[:, None]) - gammaln(b0)
    best = ev.argmax(axis=1)
    slack = EPS * 1e6  # grid values equal to the window's ends count as inside it
    centres = np.arange(mus.size) if fixed is None else np.flatnonzero(mus == fixed)
    lo = np.searchsorted(mus, mus[centres] - half_width - slack, side="left")
    hi = np.searchsorted(mus, mus[centres] + half_width + slack, side="right") - 1
    rows = np.arange(best.size)
    totals = np.array([ev[rows, np.clip(best, a, b)].sum() for a, b in zip(lo, hi)])
    j = int(np.argmax(totals))
    return float(mus[centres[j]]), mus[np.clip(best, lo[j], hi[j])]


def one_coin_step(right: np.ndarray, pl: np.ndarray, pw: np.ndarray, wptr: np.ndarray, n_w: np.ndarray,
                  strength: np.ndarray, k: int, half_width: float, top: float,
                  fixed: float | None) -> dict[str, Any]:
    """The M-step on the workers' accuracies from each pair's expected right answers (P,): the prior
    ``(m, mu)``, the posterior Beta ``(alpha, beta)``, each pair's E-step values (``coin_on`` /
    ``coin_off``: the expected log-probability of its label when it is / is not the truth, see
    :func:`galton.aggregator._pairs.estep_pairs`; no P x K table) and the divergence."""
    correct = np.minimum(per_worker_sum(right, wptr), n_w)
    wrong = n_w - correct
    m, mu = one_coin_eb(strength, correct, wrong, k, half_width, top, fixed)
    prior = np.stack([strength * mu, strength * (1.0 - mu)], axis=1)
    post = prior + np.stack([correct, wrong], axis=1)
    elog = digamma(post) - digamma(post.sum(axis=1))[:, None]  # E[log theta], E[log (1 - theta)]
    return {"accuracy": m, "worker_accuracy": mu, "theta": post, "coin_on": elog[pw, 0],
            "coin_off": elog[pw, 1] - np.log(k - 1), "coin_label": pl,
            "kl_e": dirichlet_kl(post, prior, axis=1, elog=elog)}
