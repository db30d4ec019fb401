"""The worker report of pairwise, choice and rating models (see :mod:`galton.aggregator.worker_report`).

Pairwise models (Bradley-Terry, noisy Bradley-Terry, Crowd-BT), one row per worker:

- ``n_judgments`` (comparisons), ``n_pairs`` (distinct unordered pairs of items): all of them. The
  other columns and the flags read only the comparisons whose two items another rater also
  compared, as the categorical report reads the tasks another worker also judged: the fit sets
  the score of an item nobody else compared where the rater's own answers put it, so those answers
  agree with it whatever they are (a rater answering at random among 20 items nobody else compared,
  200 comparisons: Crowd-BT agreement 0.640, reliability 0.903, noisy Bradley-Terry 0.655, skill
  0.852, unflagged; Bradley-Terry's scores without the rater left those items at the prior's
  optimum, agreement 1/2, which flagged an honest rater of its own items uninformative too). A
  rater without such a comparison has ``too_little_data`` and NaN columns;
- ``agreement``: the share of the worker's comparisons won by the item with the higher fitted
  score (a tie counts one half; a comparison of equal scores one half), with a Wilson interval
  ``agreement_lower``, ``agreement_upper``; a rater answering at random agrees half the time.
  Bradley-Terry: the scores without the worker's own comparisons (per item, Newton on the others'
  information and the prior, :func:`galton.aggregator.worker_report_others.others_differences`; an
  item only the worker compared scores 0, the prior's optimum), which pulled the fit its way
  (200 items, 2,000 comparisons, five random raters of 25: they agreed 0.570 and 70% were flagged
  uninformative; now 0.500 and 94%, as scores refitted without each give). Crowd-BT and noisy
  Bradley-Terry weigh a random rater near zero (its agreement there: 0.497, 0.507) and are read
  against their fitted scores;
- ``left_share``: the share won by the left item (a position bias shows here);
- Crowd-BT: ``reliability`` η_w (the probability of reporting the true preference) with an
  interval from the Fisher information of η_w at the fit, item scores held fixed: ``(2 σ(d) -
  1)^2 / (P1 P0)`` a comparison (``P1 = η σ(d) + (1 - η) σ(-d)``; one of two close items says next to
  nothing of η), plus the Beta(a, b) prior's curvature ``(a - 1) / η^2 + (b - 1) / (1 - η)^2``, as a
  normal interval on the logit of η. It was the Wilson interval of the expected truthful count, taken
  as observed, which counted every comparison whole: with 50 items, 10 raters of η 0.55..0.95 and
  4,000 comparisons (six seeds) it held the true η for 53% of the raters, the Fisher interval for 92%;
- noisy Bradley-Terry: ``skill`` σ(γ_w) and ``bias`` σ(q_w) with intervals from the Fisher
  information of the logits γ_w and q_w at the fit (plus their N(0, 2.5²) priors), item scores
  held fixed. The fitted η_w, γ_w and q_w are the model's, from all the worker's comparisons; their
  information counts the comparisons read;
- flags: ``too_little_data`` (fewer than ``min_judgments`` comparisons read), ``constant`` (always the same side or
  always a tie), ``uninformative`` (the agreement interval holds 1/2), ``adversarial`` (its upper
  bound is below 1/2).

Rating models, one row per worker: ``n_judgments``, ``n_tasks`` (all of them); the other columns
and the flags read only the ``n`` judgments on tasks that another worker also rated (a worker's own
repeated row is no other), as the categorical report does: a task rated by the worker alone says
nothing of it, its residual there is zero (a rater of random numbers on 100 tasks nobody else
rated came out noise 0.000 [0, 0] under the statistics, the most precise worker, and 0.893 [0.655,
1.217] under the Gaussian model, the noise prior's alone; unflagged). A worker without such a
judgment has NaN bias and noise and ``too_little_data``. ``bias`` (Gaussian rating: the
fitted ``b_w`` with standard error ``σ_w / sqrt(n_eff + κ)``; the mean rating: the mean, over the
tasks the worker shares with others, of its rating (its mean rating of a task it rated more than
once) less the mean of the other workers' ratings of the task, standard error ``sd / sqrt(m)`` on those
``m`` tasks; the other statistics and truth discovery: the mean of ``rating - task score``,
standard error ``sd / sqrt(n)``) with a normal interval; ``noise`` (Gaussian rating: ``σ_w``; the
statistics: the residual standard deviation) with the interval ``noise * exp(±z / sqrt(2 dof))``
(``dof = n_eff + ν`` or ``n - 1``). ``n_eff`` counts each of the worker's judgments on shared tasks
as 1 less its share ``v_t / σ_w^2`` of its task's precision: the task values are fitted too, so one
it dominates says little about it (``n_w`` in place of ``n_eff`` made a precise worker's intervals
too narrow). ``too_little_data`` counts the shared judgments whole under every model, Gaussian
included: the flags read the correlation, which takes each shared task whole. The mean rating's bias was the mean
residual about a task mean that holds the worker's own rating, which shrinks it by ``(k - 1) / k``
on a task of ``k`` ratings; against the others its expectation is the worker's bias less the mean
bias of the workers it shares tasks with (with ``W`` workers drawn at random for each task,
``W / (W - 1)`` times its bias relative to the average worker). Simulated (6 workers of biases
-1.5..1.5, 2, 3 or 5 ratings a task, 300 tasks, 30 crowds), its interval covered that 87-100% of
the time; the old residual's, 0-80%. The statistics' ``noise`` is still the spread of the
residuals about the task score, which holds the worker's own rating: it mixes in the others' noise.

What the intervals do not cover (simulated, 95% intervals, 40 crowds of 6 workers of noise 0.5-2
and random biases of noise-weighted mean 0, 400 tasks): the Gaussian model's priors
(``noise_prior`` ν = 20 at the pooled within-task variance, ``bias_prior`` κ = 20) pull a
precise worker's noise towards the crowd's, so its interval misses it: the noise 0.5 worker came
out 0.70 with six ratings a task and 0.94 with three, covered in none of the crowds (the noise
1.3-2 workers in 78-93%); without the priors the precise worker's estimate was 0.50 and 0.29,
covered in 88% and 63% (with ``n_w`` in place of ``n_eff``, 68% and 20%). The bias intervals
covered the true biases in 53-85% of the crowds: the level of the biases is fitted with them,
which the interval leaves out. Read the Gaussian intervals as the model's, not as calibrated ones.

``correlation``: Pearson's correlation, over the worker's tasks, of its rating (its mean rating of
a task it rated more than once) with the task's leave-one-out score (the other workers' ratings'
mean, bias-corrected and noise-weighted for the Gaussian model; tasks rated by this worker alone
are left out), with a Fisher-z interval on the number of those tasks. Flags: ``too_little_data``,
``constant`` (one distinct rating), ``uninformative`` (the correlation interval holds 0),
``adversarial`` (its upper bound is below 0). Truth-discovery models (CATD, PM) are read as the
statistics (residuals about their scores) and add ``weight``, the model's own weight of the worker.

Choice models (Plackett-Luce), one row per worker: ``n_judgments`` (choice events; a ranking
gives several), ``agreement``: the mean relative rank, by the scores without the worker's own
choice events (as for Bradley-Terry; by the fitted scores, random choosers agreed 0.550 on 200
items and 2,000 best-of-4 choices, now 0.503), of the chosen item among those offered (1 the
best, 0 the worst, ties half; 1/2 for a random chooser; with two options the pairwise agreement),
with a Wilson interval on these soft counts (conservative: a [0, 1] value
varies no more than a 0/1 one of the same mean); ``first_share`` (choices of the first option
shown; NaN for rankings); flags as for pairwise data, ``constant`` meaning always the same
position (never set for rankings). As for pairwise data, only the choice events whose every
offered item another rater was also offered are read (``n_judgments`` counts them all).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import sigmoid
from ._kernels import pair_codes
from ._params import fit_setting
from .worker_report import distinct_tasks, two_sided_z, wilson_interval
from .worker_report_others import others_choice_scores, others_differences, reads_raters_out

__all__ = ["item_worker_columns", "pairwise_columns", "choice_columns", "rating_columns", "per_worker_values"]

#: noisy Bradley-Terry's N(0, 2.5^2) prior precision on the worker logits (see bradley_terry.py)
NOISY_BT_PRIOR_PRECISION = 1.0 / 2.5 ** 2


def _counts(worker: np.ndarray, n_workers: int, weights: Any = None) -> np.ndarray:
    return np.bincount(worker, weights=weights, minlength=n_workers).astype(np.float64)


def _flags(n: np.ndarray, constant: np.ndarray, lower: np.ndarray, upper: np.ndarray, neutral: float,
           min_judgments: float) -> dict[str, np.ndarray]:
    enough = n >= min_judgments
    return {"too_little_data": ~enough, "constant": enough & constant,
            "uninformative": enough & (constant | ((lower <= neutral) & (upper >= neutral))),
            "adversarial": enough & ~constant & (upper < neutral)}


def judged_by_others(worker: np.ndarray, item: np.ndarray, n_items: int, n_workers: int) -> np.ndarray:
    """Per entry (a rater's judgment of an item): whether another rater also judged the item (the
    lone-task rule of the categorical report, for items: a rater's judgments alone fix the score of
    an item nobody else judged, so its judgments of it are read against themselves)."""
    return distinct_tasks(item, worker, n_items, n_workers)[item] >= 2


def pairwise_columns(model: Any, *, min_judgments: float = 10, level: float = 0.95, **_: Any) -> dict[str, np.ndarray]:
    """The report's columns for a fitted pairwise model (numpy, one entry per worker)."""
    c = model.comparisons_
    theta = np.asarray(model.scores_values_, dtype=np.float64)
    w = int(c.worker_names.size)
    n = _counts(c.worker, w)
    lo, hi = np.minimum(c.left, c.right).astype(np.int64), np.maximum(c.left, c.right).astype(np.int64)
    n_pairs = distinct_tasks(c.worker, lo * theta.size + hi, w, theta.size * theta.size)
    # the comparisons whose two items another rater also compared (module docstring)
    seen = judged_by_others(np.concatenate([c.worker, c.worker]), np.concatenate([c.left, c.right]), theta.size, w)
    keep = seen[:c.left.size] & seen[c.left.size:]
    d = others_differences(model, c, theta) if reads_raters_out(model) else theta[c.left] - theta[c.right]
    worker, outcome, d = c.worker[keep], np.asarray(c.outcome, dtype=np.float64)[keep], d[keep]
    won_by_better = np.where(d > 0, outcome, np.where(d < 0, 1.0 - outcome, 0.5))
    n_kept = _counts(worker, w)
    agree = _counts(worker, w, won_by_better)
    lower, upper = wilson_interval(agree, n_kept, level)
    left = _counts(worker, w, outcome)
    # constant: every outcome of the worker equal (all left, all right or all ties)
    o_min = np.full(w, np.inf)
    o_max = np.full(w, -np.inf)
    np.minimum.at(o_min, worker, outcome)
    np.maximum.at(o_max, worker, outcome)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols: dict[str, np.ndarray] = {
            "n_judgments": n.astype(np.int64), "n_pairs": n_pairs.astype(np.int64),
            "agreement": agree / n_kept, "agreement_lower": lower, "agreement_upper": upper,
            "left_share": left / n_kept}
    cols.update(_model_terms(model, c, theta, keep, n_kept, level))
    cols.update(_flags(n_kept, (n_kept > 0) & (o_min == o_max), lower, upper, 0.5, min_judgments))
    return cols


def per_worker_values(result: Any, names: np.ndarray, column: str) -> np.ndarray:
    """A fitted per-worker result (a pandas Series by worker, or a table with a ``worker`` column
    and ``column``) as a float array in the order of ``names``."""
    if hasattr(result, "reindex"):  # pandas
        return result.reindex(names).to_numpy(dtype=np.float64)
    workers = np.asarray(result["worker"].to_numpy() if hasattr(result["worker"], "to_numpy") else result["worker"])
    values = np.asarray(result[column].to_numpy(), dtype=np.float64)
    if workers.size != names.size or not np.array_equal(workers, names):
        raise ValueError(f"the fitted {column!r} table does not list the workers in sorted order")
    return values


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _model_terms(model: Any, c: Any, theta: np.ndarray, keep: np.ndarray, n: np.ndarray,
                 level: float) -> dict[str, np.ndarray]:
    """Crowd-BT's reliability, noisy BT's skill and bias, each with an interval (from the fitted
    ``reliability_`` / ``skills_`` and ``biases_``), the information from the comparisons ``keep``
    (``n`` of them a worker): NaN for a worker without one."""
    names = c.worker_names
    left, right, worker = c.left[keep], c.right[keep], c.worker[keep]
    if hasattr(model, "reliability_") and hasattr(model, "eta_prior"):  # Crowd-BT
        from ._pref_workers import crowd_bt_terms

        eta = np.where(n > 0, per_worker_values(model.reliability_, names, "skill"), np.nan)
        # the Fisher information of η: (2 σ(d) - 1)^2 / (P1 P0) a comparison (one of close items says
        # next to nothing of η), plus the Beta prior's curvature; on the logit of η, as noisy BT's
        _, d_eta, inverse, curvature = crowd_bt_terms(theta, eta, left, right, worker,
                                                      tuple(map(float, fit_setting(model, "eta_prior"))))
        info = _counts(worker, names.size, d_eta[:, 0] ** 2 * inverse) + curvature[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            half = two_sided_z(level) / (np.sqrt(info) * eta * (1.0 - eta))
        logit = _logit(eta)
        return {"reliability": eta, "reliability_lower": sigmoid(logit - half),
                "reliability_upper": sigmoid(logit + half)}
    if hasattr(model, "biases_") and hasattr(model, "skills_"):  # noisy Bradley-Terry
        from .bradley_terry import noisy_bt_terms

        gamma = np.where(n > 0, _logit(per_worker_values(model.skills_, names, "skill")), np.nan)
        q = np.where(n > 0, _logit(per_worker_values(model.biases_, names, "bias")), np.nan)
        terms = noisy_bt_terms(theta, q, gamma, left, right, worker, np.asarray(c.outcome)[keep], fisher=True)
        i_q, i_g = terms[5] + NOISY_BT_PRIOR_PRECISION, terms[6] + NOISY_BT_PRIOR_PRECISION
        z = two_sided_z(level)
        se_g, se_q = 1.0 / np.sqrt(i_g), 1.0 / np.sqrt(i_q)
        return {"skill": sigmoid(gamma), "skill_lower": sigmoid(gamma - z * se_g),
                "skill_upper": sigmoid(gamma + z * se_g), "bias": sigmoid(q),
                "bias_lower": sigmoid(q - z * se_q), "bias_upper": sigmoid(q + z * se_q)}
    return {}


def _pearson(x: np.ndarray, y: np.ndarray, group: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: Pearson's correlation of x and y (NaN for a constant x or y) and the count."""
    n = _counts(group, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = _counts(group, w, x) / n, _counts(group, w, y) / n
        dx, dy = x - mx[group], y - my[group]
        sxy, sxx, syy = _counts(group, w, dx * dy), _counts(group, w, dx * dx), _counts(group, w, dy * dy)
        r = sxy / np.sqrt(sxx * syy)
    return np.where((sxx > 0) & (syy > 0), np.clip(r, -1.0, 1.0), np.nan), n


def rating_columns(model: Any, *, min_judgments: float = 10, level: float = 0.95, **_: Any) -> dict[str, np.ndarray]:
    """The report's columns for a fitted rating model (numpy, one entry per worker)."""
    from .ratings import MeanRating, numeric_values

    j = model.judgments_
    if not all(hasattr(j, a) for a in ("task", "worker", "label")):
        raise ValueError("the worker report needs the per-judgment codes in this process")
    values = numeric_values(j)
    y = values[j.label]
    w, t = j.n_workers, j.n_tasks
    score = np.asarray(model.scores_values_, dtype=np.float64)
    n = _counts(j.worker, w)
    # per (worker, task) pair, in one linear pass (np.unique's sort of the keys took half the report)
    span = max(t, 1)
    pairs, pair = pair_codes(j.worker, j.task, w, t)
    pw, pt = pairs // span, pairs % span
    # the judgments on tasks another worker also rated (a worker's repeated row is no other): a task
    # rated by one worker alone says nothing of it (its residuals there are zeros)
    shared = np.bincount(pt, minlength=t)[j.task] >= 2
    ws = j.worker[shared]
    n_s = _counts(ws, w)
    z = two_sided_z(level)
    params = getattr(model, "params_", None)  # None: a statistic, which has no parameters
    with np.errstate(invalid="ignore", divide="ignore"):
        if params is not None and "s2" in params:  # Gaussian rating: the fitted bias and noise
            b, s2 = np.asarray(params["b"]), np.asarray(params["s2"])
            # the information on a worker's bias and noise: each judgment counts 1 less its share of its
            # task's precision (the task value is fitted too: a task rated by this worker alone tells
            # nothing, one it dominates little); n_w counted every judgment whole
            share = 1.0 / (np.bincount(j.task, 1.0 / s2[j.worker], t)[j.task] * s2[j.worker])
            n_eff = _counts(ws, w, np.clip(1.0 - share[shared], 0.0, 1.0))
            fitted_bias = fit_setting(model, "bias")  # the fit's settings, not those set after it
            kappa = float(fit_setting(model, "bias_prior")) if fitted_bias else np.inf
            # without a shared task the fitted values are the priors' alone (the noise prior's mode)
            bias, noise = np.where(n_s > 0, b, np.nan), np.where(n_s > 0, np.sqrt(s2), np.nan)
            bias_se = np.sqrt(s2 / (n_eff + kappa)) if fitted_bias else np.zeros(w)
            dof = n_eff + float(fit_setting(model, "noise_prior"))
            weight, shifted = 1.0 / s2[j.worker], y - b[j.worker]
        else:  # a per-task statistic: residuals about it, on the shared tasks
            res = (y - score[j.task])[shared]
            bias = _counts(ws, w, res) / n_s
            noise = np.sqrt(_counts(ws, w, (res - bias[ws]) ** 2) / np.where(n_s > 1, n_s - 1, np.nan))
            bias_se, dof = noise / np.sqrt(n_s), n_s - 1
            weight, shifted = np.ones(y.size), y
        # per (worker, task): the worker's mean rating against the other workers' weighted mean (a
        # worker's repeated ratings of a task are its own: leaving out only the judgment counted
        # them among the others, and a spammer who rated each task twice correlated with itself)
        tot_w, tot = np.bincount(j.task, weight, t), np.bincount(j.task, weight * shifted, t)
        others_w = tot_w[pt] - np.bincount(pair, weight, pairs.size)
        loo = (tot[pt] - np.bincount(pair, weight * shifted, pairs.size)) / others_w
        own = np.bincount(pair, y, pairs.size) / np.bincount(pair, minlength=pairs.size)
        keep = others_w > 1e-12 * tot_w[pt]
        corr, m = _pearson(own[keep], loo[keep], pw[keep], w)
        if isinstance(model, MeanRating):  # bias: against the other workers' mean, task by task
            diff, pk = own[keep] - loo[keep], pw[keep]
            bias = _counts(pk, w, diff) / m
            bias_se = np.sqrt(_counts(pk, w, (diff - bias[pk]) ** 2) / (m - 1) / m)
        fz, se = np.arctanh(np.clip(corr, -1 + 1e-15, 1 - 1e-15)), 1.0 / np.sqrt(m - 3)
        c_lo, c_hi = np.tanh(fz - z * se), np.tanh(fz + z * se)
        spread = np.exp(z / np.sqrt(2.0 * dof))
    nt = np.bincount(pw, minlength=w)
    v_min, v_max = np.full(w, np.inf), np.full(w, -np.inf)
    np.minimum.at(v_min, ws, y[shared])
    np.maximum.at(v_max, ws, y[shared])
    cols = {"n_judgments": n.astype(np.int64), "n_tasks": nt.astype(np.int64),
            "bias": bias, "bias_lower": bias - z * bias_se, "bias_upper": bias + z * bias_se,
            "noise": noise, "noise_lower": noise / spread, "noise_upper": noise * spread,
            "correlation": corr, "correlation_lower": np.where(m > 3, c_lo, np.nan),
            "correlation_upper": np.where(m > 3, c_hi, np.nan)}
    # a worker whose correlation is undefined (constant ratings or scores, too few shared tasks)
    # is neither uninformative nor adversarial by it (NaN compares false)
    cols.update(_flags(n_s, (n_s > 0) & (v_min == v_max), cols["correlation_lower"], cols["correlation_upper"],
                       0.0, min_judgments))
    if params is not None and "w" in params:  # truth discovery (CATD, PM): the model's own weight
        cols["weight"] = np.asarray(params["w"], dtype=np.float64)
    return cols


def choice_columns(model: Any, *, min_judgments: float = 10, level: float = 0.95, **_: Any) -> dict[str, np.ndarray]:
    """The report's columns for a fitted choice model (numpy, one entry per worker)."""
    c = model.comparisons_  # the encoded choice events (Choices)
    theta = np.asarray(model.scores_values_, dtype=np.float64)
    w = int(c.worker_names.size)
    sizes = np.diff(c.ptr)
    event = np.repeat(np.arange(sizes.size), sizes)
    chosen, offered = theta[c.chosen][event], theta[c.items]
    if reads_raters_out(model) and event.size:
        offered, chosen = others_choice_scores(model, c, theta, event)
    # relative rank of the chosen item among those offered: 1 the best, 0 the worst, ties half
    below = np.bincount(event, (offered < chosen) + 0.5 * (offered == chosen), sizes.size) - 0.5
    rank = np.where(sizes > 1, below / np.maximum(sizes - 1, 1), 0.5)
    position = np.bincount(event, np.where(c.items == c.chosen[event], np.arange(c.items.size) - c.ptr[event], 0),
                           sizes.size)
    n = _counts(c.worker, w)
    # the events whose every offered item another rater was also offered (module docstring)
    lone = ~judged_by_others(c.worker[event], c.items.astype(np.int64), theta.size, w)
    keep = np.bincount(event, lone, sizes.size) == 0
    worker, rank, position = c.worker[keep], rank[keep], position[keep]
    n_kept = _counts(worker, w)
    agree = _counts(worker, w, rank)
    lower, upper = wilson_interval(agree, n_kept, level)
    p_min, p_max = np.full(w, np.inf), np.full(w, -np.inf)
    np.minimum.at(p_min, worker, position)
    np.maximum.at(p_max, worker, position)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols: dict[str, np.ndarray] = {
            "n_judgments": n.astype(np.int64), "agreement": agree / n_kept, "agreement_lower": lower,
            "agreement_upper": upper, "first_share": _counts(worker, w, position == 0) / n_kept}
    if getattr(c, "layout", "choice") != "choice":  # a ranking's events start with its top item
        cols["first_share"] = np.full(w, np.nan)
        p_max = p_min + 1.0  # never constant by position
    cols.update(_flags(n_kept, (n_kept > 0) & (p_min == p_max), lower, upper, 0.5, min_judgments))
    return cols


def item_worker_columns(model: Any, **thresholds: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(worker names, report columns) of a fitted pairwise, choice or rating model."""
    if model.kind == "pairwise":
        return model.comparisons_.worker_names, pairwise_columns(model, **thresholds)
    if model.kind == "choice":
        return model.comparisons_.worker_names, choice_columns(model, **thresholds)
    if model.kind == "rating":
        return model.judgments_.worker_names, rating_columns(model, **thresholds)
    raise ValueError(f"{type(model).__name__} ({model.kind} data) has no worker report")
