"""Numeric ratings (a 0..100 score, a 1..5 grade): one aggregated value per task.

Input: ``task, worker, label`` with numeric labels, encoded once by :class:`~galton.Judgments` (the
label vocabulary holds the distinct values; a code maps back to its number). All models run through
the engine on the usual task shards (whole tasks per shard):

- :class:`MeanRating`, :class:`MedianRating`, :class:`TrimmedMeanRating` — per-task statistics
  (``engine.gather``);
- :class:`GaussianRating` — a bias and a noise level per worker, fitted by EM in the one driver.

Results: ``scores_`` (pandas: a Series by task named ``score``; polars / Arrow: a table ``task,
score``), ``labels_`` (the same values: the aggregated rating is the label), ``intervals_`` (``task,
score, se, lower, upper``; ``se`` is NaN where the model gives none; the 95% interval is ``score ±
1.96 se``, for :class:`MeanRating` Student's t quantile with n - 1 degrees of freedom in place of
1.96).
"""

from __future__ import annotations

import decimal
from typing import Any, TypeVar

import numpy as np

from .._math import EPS, t_upper_quantile
from ..data.judgments import non_numeric_error, number_labels, unusable_error, unusable_ratings
from ..judgments import Judgments
from ._base import BaseAggregator, EMAggregator, NotFittedError
from ._engine import Shard
from ._kernels import segment_order
from ._params import check_real
from ._pref_results import Z95, ItemOutput
from ._registry import register

__all__ = ["MeanRating", "MedianRating", "TrimmedMeanRating", "GaussianRating"]  # re-exported by galton

#: ``fit`` returns the model it is called on: its own class, a subclass included, for type checkers
_Self = TypeVar("_Self", bound="_StatisticRating")


def numeric_values(judgments: Judgments) -> np.ndarray:
    """The label vocabulary as float64 (decimals too); raises when the labels are not numbers."""
    names = judgments.label_names
    if names.dtype == object and names.size and all(isinstance(v, decimal.Decimal) for v in names.tolist()):
        names = names.astype(np.float64)  # Arrow decimal128, polars Decimal, pandas Decimal objects
    if names.dtype.kind not in "iuf":
        parsed, bad = number_labels(names)
        if not bad.any():  # numbers as text ("3" beside "3.0" stays text in a CSV): their values
            return _usable(judgments, parsed)
        fix = "Write them as numbers" if names.dtype.kind == "b" else "Fix those rows or pass on_invalid='drop'"
        raise non_numeric_error("rating models need", judgments.columns[2], names, bad, judgments.label,
                                f"{fix}, or aggregate the labels as categories (a categorical model: CLI --kind "
                                "categorical)")
    return _usable(judgments, names.astype(np.float64))


def _usable(judgments: Judgments, values: np.ndarray) -> np.ndarray:
    """``values`` (one per label), refusing inf, -inf and values whose squares overflow or underflow."""
    bad = unusable_ratings(values)
    if bad.any():
        rows = np.flatnonzero(bad[judgments.label])
        raise unusable_error(judgments.columns[2], rows, values[judgments.label[rows]])
    return values


def sorted_order(shard: Shard, values: np.ndarray) -> np.ndarray:
    """The order of the shard's judgments by (task, rating): each task's ratings ascending, in its
    own block of ``indptr``; cached (the medians and weighted medians share it). Where the label
    codes rank the values (a numeric vocabulary: sorted, distinct), each task's few rows are ordered
    by code in place (:func:`segment_order`): the lexsort's permutation, ties in row order, without
    sorting every judgment (0.48 s of 1M)."""
    order = shard.state.get("_ratings_order")
    if order is None:
        if bool(np.all(values[1:] > values[:-1])):  # (NaN, -0.0 beside 0.0, "10" before "9": the lexsort)
            order = segment_order(shard.indptr, shard.label)
        else:
            order = np.lexsort((values[shard.label], shard.task))
        shard.state["_ratings_order"] = order
    return order


def _sorted_by_task(shard: Shard, values: np.ndarray) -> np.ndarray:
    """The shard's ratings sorted by (task, value); cached."""
    ys = shard.state.get("_ratings_sorted")
    if ys is None:
        ys = shard.state["_ratings_sorted"] = values[shard.label][sorted_order(shard, values)]
    return ys


def task_mean(shard: Shard, values: np.ndarray) -> np.ndarray:
    """Per task: mean and its standard error ``sd / sqrt(n)`` (NaN for one rating)."""
    y = values[shard.label]
    n = np.diff(shard.indptr).astype(float)
    mean = np.bincount(shard.task, y, shard.n_tasks) / n
    ss = np.bincount(shard.task, (y - mean[shard.task]) ** 2, shard.n_tasks)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(ss / (n - 1) / n)
    return np.column_stack([mean, np.where(n > 1, se, np.nan)])


def task_median(shard: Shard, values: np.ndarray) -> np.ndarray:
    """Per task: the median (mean of the two middle values for an even count)."""
    ys = _sorted_by_task(shard, values)
    start, n = shard.indptr[:-1], np.diff(shard.indptr)
    med = 0.5 * (ys[start + (n - 1) // 2] + ys[start + n // 2])
    return np.column_stack([med, np.full(med.size, np.nan)])


def task_trimmed_mean(shard: Shard, values: np.ndarray, proportion: float) -> np.ndarray:
    """Per task: the mean after cutting ``int(proportion * n)`` ratings from each end (the rule of
    ``scipy.stats.trim_mean``)."""
    ys = _sorted_by_task(shard, values)
    start, n = shard.indptr[:-1], np.diff(shard.indptr)
    k = np.floor(proportion * n).astype(np.int64)
    task = np.repeat(np.arange(n.size), n)  # the task of each sorted rating
    place = np.arange(ys.size) - start[task]
    kept = (place >= k[task]) & (place < (n - k)[task])
    # summed task by task, as the mean is: a difference of one running sum over every task lost the
    # last digits of large ratings (1e9 with 3 decimals: 0.055 off scipy's trim_mean)
    tm = np.bincount(task[kept], ys[kept], n.size) / (n - 2 * k)
    return np.column_stack([tm, np.full(tm.size, np.nan)])


class RatingAggregator(BaseAggregator):
    """Results and checks shared by the rating models."""

    kind = "rating"
    #: repeated (task, worker) rows, in their warning (:func:`galton.data._repeats.warn_repeated_pairs`)
    _repeats_effect = ("that worker's rating counts more than the others' in the task's value, and the intervals "
                       "come out too narrow (a task's standard error falls as if more workers had rated it)")

    def _prepare(self, data: Any, gold: Any = None, **options: Any) -> tuple[Judgments, Any]:
        options.setdefault("numeric", True)  # numeric labels: no "treated as classes" warning
        return super()._prepare(data, gold, **options)

    def _store(self, judgments: Judgments, post: np.ndarray,  # type: ignore[override]
               output: str | None) -> None:
        out = ItemOutput(output or judgments.source_kind)
        self.judgments_ = judgments
        self.scores_values_ = post[:, 0]
        order = getattr(judgments, "task_order", None)  # Ray-ingested codes: the tables by id, as a local fit's
        rows = slice(None) if order is None else order
        score, se, names = post[rows, 0], post[rows, 1], judgments.task_names[rows]
        crit = self._critical(post[rows])
        cols = {"task": names, "score": score, "se": se, "lower": score - crit * se, "upper": score + crit * se}
        self.intervals_ = out.table(cols, index="task")
        if out.kind == "pandas":
            self.scores_ = out.series(names, score, "task", "score")
        else:
            self.scores_ = out.table({"task": names, "score": score})
        self.labels_ = self.scores_
        self._out = out

    def _critical(self, post: np.ndarray) -> Any:
        """The multiple of ``se`` on each side of the score for a 95% interval: the normal 1.96."""
        return Z95

    #: the parameters of a fit without workers, for ``_finish`` (the iterative models)
    _empty_params: dict[str, Any] = {}

    def _fit_empty(self, judgments: Judgments, output: str | None) -> "RatingAggregator":  # type: ignore[override]
        """An empty frame gives empty results typed and named like a non-empty fit's, as the statistics
        (which run on it) do: the shared one stored a (0, labels) posterior, without the score and se
        columns (an IndexError), and per-worker results the rating models do not have."""
        self._store(judgments, np.zeros((0, 2)), output)
        if hasattr(self, "_finish"):
            self._finish(dict(self._empty_params), judgments)
        if "n_iter" in self.get_params():
            self.n_iter_, self.converged_, self.history_ = 0, True, []
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(data) first")

    def predict_proba(self, data: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} aggregates numeric ratings; it has no class "
                                  "probabilities (see scores_ and intervals_)")

    def fit_predict_proba(self, data: Any, gold: Any = None, **kwargs: Any) -> Any:
        return self.predict_proba()  # the same answer, before the fit's time is spent (AttributeError before)

    def _per_worker(self, judgments: Judgments, values: np.ndarray, name: str) -> Any:
        if self._out.kind == "pandas":
            return self._out.series(judgments.worker_names, values, "worker", name)
        return self._out.table({"worker": judgments.worker_names, name: values})


class _StatisticRating(RatingAggregator):
    """A per-task statistic computed on the shards."""

    engine: Any = None
    n_shards: int | None = None

    def _row_fn(self, shard: Shard, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self: _Self, data: Any, gold: Any = None, *, engine: Any = None, n_shards: int | None = None,
            output: str | None = None, **encode_options: Any) -> _Self:
        """Aggregate ``task, worker, label`` ratings (column names via ``task_col=`` etc.)."""
        self._reset()  # the previous fit's results go first, also when this fit is refused
        no_gold(gold)
        judgments, _ = self._prepare(data, None, **encode_options)
        values = numeric_values(judgments)
        return self._fit_lifecycle(
            judgments, output, lambda eng, rng: eng.gather(self._row_fn, values),
            lambda rows: self._store(judgments, rows, output), engine=engine, n_shards=n_shards, empty=False)


def no_gold(gold: Any) -> None:
    """Rating models take no gold: say so when some is given."""
    if gold is not None:
        raise ValueError("rating models take no gold labels; compare scores_ with your reference instead")


@register("rating_mean", "mean_rating")
class MeanRating(_StatisticRating):
    """The mean rating of each task; ``se`` = sample sd / sqrt(n), and the 95% interval ``lower``,
    ``upper`` = mean ± ``t_{0.975}(n - 1) se``, Student's t with n - 1 degrees of freedom (12.71 at
    two ratings, 4.30 at three, 2.26 at ten), exact for normally distributed ratings (1.96 covered
    the mean 70% of the time at two ratings, 82% at three). A task with one rating has no ``se``:
    ``se``, ``lower`` and ``upper`` are NaN. Parameters ``engine``, ``n_shards``: as everywhere in galton."""

    def __init__(self, *, engine: Any = None, n_shards: int | None = None):
        self.engine = engine
        self.n_shards = n_shards

    def _row_fn(self, shard: Shard, values: np.ndarray) -> np.ndarray:
        return np.column_stack([task_mean(shard, values), np.diff(shard.indptr)])  # the count for the t quantile

    def _critical(self, post: np.ndarray) -> Any:
        return t_upper_quantile(0.025, post[:, 2] - 1) if post.shape[1] > 2 else Z95


@register("rating_median", "median_rating")
class MedianRating(_StatisticRating):
    """The median rating of each task (mean of the two middle ratings for an even count); no
    standard error: ``se``, ``lower`` and ``upper`` in ``intervals_`` are NaN. Parameters ``engine``,
    ``n_shards``: as everywhere in galton."""

    def __init__(self, *, engine: Any = None, n_shards: int | None = None):
        self.engine = engine
        self.n_shards = n_shards

    def _row_fn(self, shard: Shard, values: np.ndarray) -> np.ndarray:
        return task_median(shard, values)


@register("rating_trimmed", "trimmed_mean_rating")
class TrimmedMeanRating(_StatisticRating):
    """The trimmed mean of each task: ``int(proportion * n)`` ratings cut from each end; no
    standard error: ``se``, ``lower`` and ``upper`` in ``intervals_`` are NaN.

    Parameters
    ----------
    proportion : float in [0, 0.5), default 0.1 (with 10 ratings: drop the lowest and the highest).
    engine, n_shards
        As everywhere in galton.
    """

    def __init__(self, proportion: float = 0.1, *, engine: Any = None, n_shards: int | None = None):
        self.proportion = proportion
        self.engine = engine
        self.n_shards = n_shards

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "TrimmedMeanRating":
        self._reset()  # the previous fit's results go first, also when this fit is refused
        if not (0 <= check_real("proportion", self.proportion) < 0.5):
            raise ValueError(f"proportion must be in [0, 0.5), not {self.proportion}")
        return super().fit(data, gold, **kwargs)  # type: ignore[return-value]

    def _row_fn(self, shard: Shard, values: np.ndarray) -> np.ndarray:
        return task_trimmed_mean(shard, values, self.proportion)


@register("rating_gaussian", "gaussian_rating")
class GaussianRating(RatingAggregator, EMAggregator):
    r"""Gaussian annotator model: each worker has a bias and a noise level, fitted by EM.

    Model (the continuous analogue of Dawid-Skene; Raykar et al., *JMLR* 11, 2010, section 5;
    Welinder & Perona 2010)::

        y_tw = μ_t + b_w + ε_tw,            ε_tw ~ N(0, σ_w^2)
        b_w | σ_w^2 ~ N(0, σ_w^2 / κ)       (bias_prior κ: the bias is worth κ ratings of 0)
        σ_w^2 ~ InvGamma(ν / 2, ν σ_0^2 / 2)  (noise_prior ν: ν pseudo-ratings at the pooled
                                              within-task variance σ_0^2; see below)

    with a flat prior on the task values ``μ_t`` and ``σ_0^2`` the pooled within-task variance
    (sum of squares about the task means over ``sum_t (n_t - 1)``; the variance of all ratings when
    that is 0 or undefined). E-step: ``μ_t | y ~ N(m_t, v_t)`` with ``v_t = 1 / sum_w 1/σ_w^2`` and
    ``m_t = v_t sum_w (y_tw - b_w) / σ_w^2``. M-step (MAP, exact and joint in ``b_w, σ_w^2``):
    ``b_w = sum_t (y_tw - m_t) / (n_w + κ)``, ``σ_w^2 = (Q_w + κ b_w^2 + ν σ_0^2) / (n_w + ν + 3)``
    with ``Q_w = sum_t [(y_tw - m_t - b_w)^2 + v_t]`` (``bias=False``: ``b_w = 0``, no bias prior,
    ``n_w + ν + 2``). Every iteration raises the objective, the log-posterior: the marginal
    likelihood with ``μ`` integrated out plus the two log-priors without their normalising constants.
    The reported score is ``m_t`` at the last parameters.

    The level of the scores: shifting every ``μ_t`` by ``c`` and every ``b_w`` by ``-c`` leaves the
    likelihood unchanged, so only the bias prior fixes it; at the maximum ``sum_w b_w / σ_w^2 = 0``:
    the noise-weighted mean bias is zero, and the level follows the workers with small noise.

    The priors matter: with 20 ratings per worker, unshrunk variances reward workers who give the
    same rating to everything (their residuals are small when most items sit near that value). The
    model has no per-worker scale, so such workers still get the larger weights: on 0..100 ratings
    with many zeros (the Snow et al. 2008 affect sets) the scores come out compressed and lower than
    the plain mean (regression slope on the mean 0.78-0.94, 1-3 points lower on average).

    The noise prior pulls a precise worker up far more than ν of its ``n_w`` ratings would in a plain
    average: where a worker's ratings carry most of the weight of its tasks, they fix the task values
    ``m_t``, so the worker's residuals ``Q_w`` grow with its fitted noise, and the prior's push feeds
    on itself. 20 workers of noise 2-15, 5 ratings a task, 20,000 tasks, ``σ_0^2 = 110``: the most
    precise worker, σ 2.698 with 5,038 ratings, is fitted 2.997 (+11%, as about 85 ratings at
    ``σ_0^2`` would do in a plain average; 20 would give 2.773), 2.792 with ν = 5, 2.702 with ν = 0;
    the next, 3.29 with 5,078, 3.51 (+7%, about 78 ratings); workers of noise above 4 within 3%. That
    is the MAP of the model as written (scipy's Powell on the log-posterior: 2.998 and 3.505);
    give a small ``noise_prior`` where workers have many ratings each and their noise levels matter.

    Parameters
    ----------
    n_iter : int, default 500
    tol : float, default 1e-8   (change of the log-posterior per rating)
    bias : bool, default True   (False: no bias term)
    bias_prior : float, default 20.0   (κ)
    noise_prior : float, default 20.0  (ν; its pull on precise workers with many ratings: above)
    random_state, engine, n_shards, progress
        As everywhere in galton (the fit uses no randomness).

    Attributes
    ----------
    scores_, labels_, intervals_ (``se = sqrt(v_t)``), biases_ (``b_w``), noise_ (``σ_w``), skills_
    (``σ_0^2 / σ_w^2``: the worker's weight relative to a typical worker), n_iter_, converged_,
    history_.
    """

    _kept_settings = ("bias", "bias_prior", "noise_prior")  # the bias and noise intervals (worker_report_items)

    def __init__(self, n_iter: int = 500, tol: float = 1e-8, *, bias: bool = True,
                 bias_prior: float = 20.0, noise_prior: float = 20.0, random_state: Any = None,
                 engine: Any = None, n_shards: int | None = None, progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.bias = bias
        self.bias_prior = bias_prior
        self.noise_prior = noise_prior
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "GaussianRating":  # type: ignore[override]
        """Fit by EM on ``task, worker, label`` ratings (column names via ``task_col=`` etc.)."""
        self._reset()  # the previous fit's results go first, also when this fit is refused
        no_gold(gold)
        for name in ("bias_prior", "noise_prior"):  # NaN gave NaN ratings, text a bare TypeError
            check_real(name, getattr(self, name), 0, finite=True)
        return EMAggregator.fit(self, data, None, **kwargs)  # type: ignore[return-value]

    # ---------------------------------------------------------------- EM pieces
    @staticmethod
    def _init_stats(shard: Shard, values: np.ndarray) -> dict[str, Any]:
        y = values[shard.label]
        n = np.diff(shard.indptr)
        mean = np.bincount(shard.task, y, shard.n_tasks) / np.maximum(n, 1)
        return {"ss": float(((y - mean[shard.task]) ** 2).sum()), "dof": float((n - 1).clip(0).sum()),
                "sum": float(y.sum()), "n": float(y.size)}

    @staticmethod
    def _spread_stats(shard: Shard, values: np.ndarray, centre: float) -> dict[str, Any]:
        return {"ss": float(((values[shard.label] - centre) ** 2).sum())}

    _empty_params = {"b": np.zeros(0), "s2": np.zeros(0), "sigma0_sq": np.nan}

    def _init_params(self, engine: Any, judgments: Judgments, rng: np.random.Generator) -> dict[str, Any]:
        """Worker biases 0 and noise variances at the pooled within-task variance ``sigma0_sq``;
        the rating values and ``sigma0_sq`` travel with the parameters (the E-step and the prior
        need them)."""
        values = numeric_values(judgments)
        s = engine.map_sum(self._init_stats, values)
        if s["dof"] > 0 and s["ss"] > 0:
            s0 = s["ss"] / s["dof"]
        else:  # one rating per task: fall back on the spread of all ratings, about their mean (a second
            # pass: sq / n - mean^2 cancelled, 1e-6 for ratings 1e9 + 1..4); 1e-12 where they are all equal
            spread = engine.map_sum(self._spread_stats, values, s["sum"] / s["n"])["ss"] / s["n"]
            s0 = spread if spread > 0 else 1e-12
        return {"b": np.zeros(judgments.n_workers), "s2": np.full(judgments.n_workers, s0),
                "values": values, "sigma0_sq": float(s0)}

    @staticmethod
    def _task_posterior(shard: Shard, params: dict[str, Any]) -> tuple[np.ndarray, ...]:
        y = params["values"][shard.label]
        wt = 1.0 / params["s2"][shard.worker]
        z = y - params["b"][shard.worker]
        prec = np.bincount(shard.task, wt, shard.n_tasks)
        m = np.bincount(shard.task, wt * z, shard.n_tasks) / prec
        return y, z, wt, m, 1.0 / prec

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        y, z, wt, m, v = self._task_posterior(shard, params)
        w, nw = shard.n_workers, shard.worker_judgments
        res = y - m[shard.task]
        ll = (-0.5 * float((np.log(2 * np.pi / wt) + (z - m[shard.task]) ** 2 * wt).sum())
              + 0.5 * float(np.log(2 * np.pi * v).sum()))
        return {"ll": ll, "n": nw, "s1": np.bincount(shard.worker, res, w),
                "s2": np.bincount(shard.worker, res * res, w),
                "sv": np.bincount(shard.worker, v[shard.task], w)}

    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        params = self._init_params(engine, judgments, rng)
        return params, {"values": params["values"], "sigma0_sq": params["sigma0_sq"]}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        n, s1, s2, sv = stats["n"], stats["s1"], stats["s2"], stats["sv"]
        kb, nu, s0 = float(self.bias_prior), float(self.noise_prior), memory["sigma0_sq"]
        b = s1 / np.maximum(n + kb, EPS) if self.bias else np.zeros_like(s1)
        q = s2 - 2 * b * s1 + n * b * b + sv
        extra = kb * b * b if self.bias else 0.0
        dof = n + nu + (3.0 if self.bias else 2.0)
        var = (q + extra + nu * s0) / dof
        return {"b": b, "s2": np.maximum(var, 1e-12 * s0), "values": memory["values"], "sigma0_sq": s0}, memory

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        b, s2 = params["b"], params["s2"]
        kb, nu = float(self.bias_prior), float(self.noise_prior)
        lp = -(nu / 2 + 1) * np.log(s2) - nu * params["sigma0_sq"] / (2 * s2)
        if self.bias:
            lp = lp - 0.5 * np.log(s2) - kb * b * b / (2 * s2)
        return float(stats["ll"]) + float(lp.sum())

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        _, _, _, m, v = self._task_posterior(shard, params)
        return np.column_stack([m, np.sqrt(v)])

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        self.biases_ = self._per_worker(judgments, params["b"], "bias")
        self.noise_ = self._per_worker(judgments, np.sqrt(params["s2"]), "noise")
        self.skills_ = self._per_worker(judgments, params["sigma0_sq"] / params["s2"], "skill")
        self.sigma0_ = float(np.sqrt(params["sigma0_sq"]))
