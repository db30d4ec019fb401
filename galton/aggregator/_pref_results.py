"""Results of the preference models (Bradley-Terry family, Plackett-Luce): item scores with standard
errors and intervals, the ranking, and the per-pair / per-row probabilities built on first use.

:class:`PreferenceResults` is the results half of
:class:`~galton.aggregator._preference.PreferenceAggregator`; the fit (data, shards, the driver)
lives there. Standard errors come from the Fisher information the fit sums over the shards (see
that module's docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import sigmoid
from ._base import NotFittedError
from ._estimator import BaseAggregator
from ._memory import FLOAT
from ._pref_mle import check_bounded
from ._pref_workers import correction_bytes, schur_correction, worker_information
from ._results import Output, crowdkit_scores, pandas_index, unnamed_result

__all__ = ["ItemOutput", "PreferenceResults", "ranking_order", "standard_errors", "score_errors", "difference_se",
           "workers_free", "Z95", "DENSE_SE_MAX", "DENSE_SE_ARRAYS"]

Z95 = 1.959963984540054  #: two-sided 95% normal quantile for ``lower`` / ``upper``
DENSE_SE_MAX = 1000  #: up to this many items the standard errors use the exact inverse information
#: items x items float arrays the exact standard errors hold at once (the information and its parts,
#: its inverse): 21 MB over the fit's other arrays for Bradley-Terry on 1,000 items, 29-33 MB for
#: Plackett-Luce (measured with tracemalloc)
DENSE_SE_ARRAYS = 5


class ItemOutput:
    """Item-level results in the user's frame kind."""

    def __init__(self, kind: str):
        self.kind = "polars" if kind == "dict" else kind
        if self.kind not in ("pandas", "polars", "arrow"):
            raise ValueError(f"output must be 'pandas', 'polars' or 'arrow', not {kind!r}")

    def table(self, cols: dict[str, Any], index: str | None = None) -> Any:
        if self.kind == "pandas":
            import pandas as pd

            df = pd.DataFrame(cols)
            return df.set_index(index) if index else df
        return Output(self.kind).table(cols)

    def series(self, names: np.ndarray, values: np.ndarray, index: str, name: str) -> Any:
        import pandas as pd

        series = pd.Series(values, index=pandas_index(names, name=index), name=name)
        return series if index is not None else unnamed_result(series, "worker", name)


def standard_errors(info: dict[str, Any]) -> np.ndarray:
    """Standard error of each log-score relative to the average item, ``se(θ_i - mean θ)``
    (:func:`score_errors` without the covariance)."""
    return score_errors(info)[0]


def workers_free(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with ``diag`` / ``full`` the information of the scores with the worker parameters free:
    the Schur complement (:mod:`._pref_workers`), its worker terms then dropped."""
    if "wJ" not in info:
        return info
    full = info["full"]
    correction = schur_correction(info, info["diag"].size, not np.isscalar(full))
    rest = {k: v for k, v in info.items() if k not in ("wJ", "cross")}
    if np.isscalar(full):
        return {**rest, "diag": np.maximum(info["diag"] - correction, 1e-12 * info["diag"])}
    return {**rest, "full": full - correction}


def score_errors(info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(se, cov)``: the standard error of each log-score relative to the average item,
    ``se(θ_i - mean θ)``, and on the dense path the centred covariance ``P I^-1 P`` of the scores
    (items x items; None on the diagonal path).

    Only differences of scores have meaning; the location is pinned by the weak prior alone, so the
    absolute variance of every score would carry the (large, irrelevant) uncertainty of that
    location. Dense path (``info["full"]`` a matrix): the diagonal of ``P I^-1 P`` with ``P`` the
    centring projection. Without a prior ``I`` is singular along the location, and the fit adds
    ``11^T / n`` to it (the mean-0 location): the inverse is then ``I^+ + 11^T / n``, whose centring is
    ``I^+`` exactly (``inv`` of the singular ``I`` itself gave entries of 1e15 that the centring
    cancelled into noise). Diagonal path: ``1 / sqrt(I_ii)``. The
    covariance gives the spread of a score difference, ``var(θ_l - θ_r) = C_ll + C_rr - 2 C_lr``
    (:func:`difference_se`), which the items' own ``se`` cannot: two items compared 200 times with
    each other and little else each have a wide ``se`` but a narrow difference.
    """
    info = workers_free(info)
    full = info["full"]
    if np.isscalar(full):
        with np.errstate(divide="ignore"):
            return 1.0 / np.sqrt(np.maximum(info["diag"], 0.0)), None
    try:
        cov = np.linalg.inv(full)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(full, hermitian=True)
    if not np.isfinite(cov).all():
        cov = np.linalg.pinv(full, hermitian=True)
    del full
    row = cov.mean(axis=1)
    var = np.diag(cov) - 2 * row + row.mean()
    cov -= row[:, None]  # centred in place: no second items x items array
    cov -= row[None, :]
    cov += row.mean()
    return np.sqrt(np.maximum(var, 0.0)), cov


def difference_se(model: Any, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Standard error of ``θ_left - θ_right`` (item codes) under a fitted preference model:
    ``sqrt(C_ll + C_rr - 2 C_lr)`` from the centred covariance the fit keeps up to
    :data:`DENSE_SE_MAX` items (with Crowd-BT's / noisy Bradley-Terry's worker parameters free).
    Above it (or for a model without it) ``sqrt(se_l^2 + se_r^2)`` from the diagonal ``se``
    (``1 / sqrt(I_ii)``, each item with the others held fixed): an approximation that ignores the
    covariance of the two scores, so it understates the spread of a pair joined only through
    other items (a weak link between two well-measured clusters)."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    cov = getattr(model, "_score_cov", None)
    if cov is not None:
        return np.sqrt(np.maximum(cov[left, left] + cov[right, right] - 2.0 * cov[left, right], 0.0))
    se = getattr(model, "se_values_", None)
    if se is None:
        return np.zeros(left.size)
    se = np.asarray(se, dtype=np.float64)
    return np.sqrt(se[left] ** 2 + se[right] ** 2)


def ranking_order(theta: np.ndarray, tol: float) -> np.ndarray:
    """Items best first; items whose scores differ by less than what the fit resolves (a run of
    neighbours each within ``max(sqrt(tol), 1e-12)``) tied, in item order. The fit stops when the
    log-posterior changes by less than ``tol`` a comparison; near its maximum the log-posterior is
    quadratic in the scores, so scores are known to about ``sqrt(tol)`` (1e-6 at the default
    1e-12): below that, which of two tied items came first was the convergence noise's choice (a
    cycle of five equal items ranked by their last bits)."""
    if theta.size == 0:
        return np.zeros(0, dtype=np.int64)
    eps = max(float(np.sqrt(tol)) if np.isfinite(tol) and tol > 0 else 0.0, 1e-12)
    by_score = np.argsort(-theta, kind="stable")
    group = np.empty(theta.size, dtype=np.int64)
    group[by_score] = np.concatenate([[0], np.cumsum(-np.diff(theta[by_score]) > eps)])
    return np.lexsort((np.arange(theta.size), group))


class PreferenceResults:
    """Fitted attributes and the public API of the preference models.

    ``scores_`` (log-scores: ``P(i preferred to j) = 1 / (1 + exp(s_j - s_i))``; a pandas Series by
    item for pandas input, else a table ``item, score, se, lower, upper``), ``intervals_`` (that
    table for every output kind; pandas: indexed by item), ``ranking_`` (items best first),
    ``pair_probas_`` (every compared pair ``left < right`` in item order: ``n`` comparisons,
    ``observed`` share won by ``left``, fitted ``proba`` that ``left`` is preferred — the soft label
    a reward model trains on), ``row_probas_``, ``comparisons_`` (the encoded data).
    """

    #: pandas ``scores_`` on crowd-kit's scale ("softmax" or "expit") for the crowd-kit-named
    #: classes; None: the log-scores θ (``scores_values_``) in a Series named ``score``
    _crowdkit_scores: str | None = None

    history_: list[float]
    #: the centred covariance of the scores (items x items, dense path only; :func:`difference_se`)
    _score_cov: np.ndarray | None = None
    _fit_private = BaseAggregator._fit_private + ("_score_cov",)
    #: parameters per worker left free in the standard errors (Crowd-BT 1, noisy Bradley-Terry 2)
    _worker_params = 0
    #: with worker parameters: the model's name and why its scores may grow without bound (no prior)
    _unbounded = ("", "")
    #: the parameter that sets the prior's strength (``_prior_strength``), and its default
    _prior_name = "prior"
    _prior_default = 1.0

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int,
                        n_judgments: int) -> tuple[int, str]:
        """The judgments' bytes and, up to :data:`DENSE_SE_MAX` items (``n_tasks``), the items x
        items arrays of the exact standard errors; with worker parameters, their terms in the
        standard errors (:func:`~galton.aggregator._pref_workers.correction_bytes`)."""
        base, what = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)  # type: ignore[misc]
        dense = n_tasks <= DENSE_SE_MAX
        if self._worker_params:
            base += correction_bytes(n_tasks, n_workers, n_judgments, self._worker_params, dense)
            what = f"{what} with {n_workers:,} workers' parameters"
        if not dense:
            return base, what
        return (base + DENSE_SE_ARRAYS * FLOAT * int(n_tasks) ** 2,
                f"{n_tasks:,} items x {n_tasks:,} items (exact standard errors) and {what}")

    def _theta(self, params: Any) -> np.ndarray:
        return params["theta"]

    def _row_probas(self, data: Any, theta: np.ndarray) -> np.ndarray:
        """Per row of the data, the fitted probability that its left item is preferred."""
        return sigmoid(theta[data.left] - theta[data.right])

    def _pair_table(self, data: Any, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        a, b, n, wins, _ = data.pairs()
        return a, b, n, wins / n, sigmoid(theta[a] - theta[b])

    def _worker_terms(self, shard: Any, params: Any) -> tuple[np.ndarray, ...] | None:
        """Models with worker parameters φ_w: per comparison ``∂P1/∂d``, ``∂P1/∂φ_w`` (rows x m),
        ``1 / (P1 (1 - P1))``, and the worker priors' curvature (workers x m); None: no worker
        parameters (the standard errors are then those of θ alone)."""
        return None

    def _with_worker_info(self, shard: Any, params: Any, info: dict[str, Any]) -> dict[str, Any]:
        terms = self._worker_terms(shard, params)
        if terms is None:
            return info
        d_item, d_worker, weight, curvature = terms
        extra = worker_information(shard.left, shard.right, shard.worker, shard.n_items, curvature.shape[0],
                                   d_item, d_worker, weight)
        if shard.holds_prior:  # the priors once, as the item prior
            diagonal = np.arange(curvature.shape[1])
            extra["wJ"][:, diagonal, diagonal] += curvature
        return {**info, **extra}

    def _store_results(self, data: Any, params: Any, info: dict[str, Any], output: str | None) -> None:
        info = workers_free(info)
        if "grad" in info:  # no prior, worker parameters: the fit's end is checked (:func:`check_bounded`)
            check_bounded(self._theta(params), info, self.converged_, model=self._unbounded[0],
                          why=self._unbounded[1], param=self._prior_name, default=self._prior_default)
        se, cov = score_errors(info)
        self._store_scores(data, self._theta(params), se, output)
        self._score_cov = cov  # the spread of score differences, for galton.allocate

    def _store_scores(self, data: Any, theta: np.ndarray, se: np.ndarray, output: str | None) -> None:
        # reported relative to the average item, as ``se`` is: the prior's location (its pseudo-item
        # at 0) put the scores a constant away, and ``score ± 1.96 se`` then missed the centred truth
        # (seven tied items and one far below: every interval missed)
        # (crowd-kit's ``scores_`` keep the fitted location: noisy BT's ``expit(θ)`` depends on it)
        fitted, finite = theta, np.isfinite(theta)
        theta = theta - theta[finite].mean() if finite.any() else theta
        out = ItemOutput(output or data.source_kind)
        names = data.item_names
        self.comparisons_ = data
        self.scores_values_ = theta
        self.se_values_ = se
        cols = {"item": names, "score": theta, "se": se, "lower": theta - Z95 * se, "upper": theta + Z95 * se}
        self.intervals_ = out.table(cols, index="item")
        if out.kind != "pandas":
            self.scores_ = out.table(cols)
        elif self._crowdkit_scores is None:
            self.scores_ = out.series(names, theta, "item", "score")
        else:
            self.scores_ = crowdkit_scores(names, fitted, self._crowdkit_scores)
        order = ranking_order(theta, getattr(self, "tol", 0.0))
        rank = np.arange(1, theta.size + 1)
        if out.kind == "pandas":
            import pandas as pd

            self.ranking_ = pd.Series(names[order], index=pandas_index(rank, name="rank"), name="item")
        else:
            self.ranking_ = out.table({"rank": rank, "item": names[order], "score": theta[order]})
        self.loss_history_ = list(self.history_)
        self._out = out

    # ---------------------------------------------------------------- results built on first use
    # (with a million comparisons, the distinct pairs and per-row probabilities cost more than
    # the fit itself; a pipeline that wants the scores only should not pay for them)
    def _lazy_result(self, name: str, build: Any) -> Any:
        self._check_fitted()
        cache = self.__dict__.setdefault("_lazy", {})
        if name not in cache:
            cache[name] = build()
        return cache[name]

    @property
    def pair_probas_(self) -> Any:
        """Every compared pair ``left < right`` (item order): ``n`` comparisons, ``observed`` share
        won by ``left``, fitted ``proba`` that ``left`` is preferred (built on first access)."""

        def build() -> Any:
            names = self.comparisons_.item_names
            a, b, n, observed, proba = self._pair_table(self.comparisons_, self.scores_values_)
            return self._out.table({"left": names[a], "right": names[b], "n": n, "observed": observed,
                                    "proba": proba})

        return self._lazy_result("pair_probas", build)

    @property
    def row_probas_(self) -> np.ndarray:
        """Fitted probabilities, built on first access. Pairwise models (Bradley-Terry, Crowd-BT,
        noisy Bradley-Terry): one per comparison row (after dropped rows), the probability
        ``σ(θ_left - θ_right)`` that its left item is preferred, whichever the label names, from the
        item scores alone (no worker term). Plackett-Luce: one per choice event of ``comparisons_``
        (``comparisons_.row`` gives each one's input row), the probability of the item chosen among
        those offered: one a best-of-n row, ``m - 1`` a ranking of m items (``min(k, m - 1)`` for the
        top k of m options) and, on pairwise rows, one a comparison, of the item the label names
        (not of the left item, as Bradley-Terry's)."""
        return self._lazy_result("row_probas", lambda: self._row_probas(self.comparisons_, self.scores_values_))

    def _per_worker(self, data: Any, values: np.ndarray, name: str, index: str | None = "worker") -> Any:
        """Per worker: a pandas Series (its index named ``index``), else a ``worker, <name>`` table."""
        if self._out.kind == "pandas":
            return self._out.series(data.worker_names, values, index, name)
        return self._out.table({"worker": data.worker_names, name: values})

    # ---------------------------------------------------------------- public API
    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) or fit_predict(data) first"
            )

    def predict(self, data: Any = None) -> Any:
        """The fitted item scores (``scores_``)."""
        self._check_fitted()
        if data is not None:
            raise NotImplementedError(f"{type(self).__name__} scores the items it was fitted on; "
                                      "call fit_predict(data) for new comparisons")
        return self.scores_

    def predict_proba(self, data: Any = None) -> Any:
        """The fitted preference probability of every compared pair (``pair_probas_``)."""
        self._check_fitted()
        if data is not None:
            raise NotImplementedError(f"{type(self).__name__} scores the pairs it was fitted on; "
                                      "call fit_predict_proba(data) for new comparisons")
        return self.pair_probas_

    def fit_predict(self, data: Any, **kwargs: Any) -> Any:
        """Fit and return ``scores_`` (crowd-kit's ``fit_predict``)."""
        return self.fit(data, **kwargs).scores_  # type: ignore[attr-defined]

    def fit_predict_proba(self, data: Any, **kwargs: Any) -> Any:
        """Fit and return ``pair_probas_``."""
        return self.fit(data, **kwargs).pair_probas_  # type: ignore[attr-defined]

    def _finish(self, params: Any, data: Any) -> None:
        pass
