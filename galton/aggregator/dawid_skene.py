"""Dawid-Skene family: models whose workers answer through a confusion matrix.

All of them share one E-step kernel (:func:`galton.aggregator._kernels.estep_table`): a worker's
answer contributes ``log p(observed | true, worker)`` to each class of its task. They differ only in
how the M-step turns expected counts into that table:

- :class:`DawidSkene` — a full K x K confusion matrix per worker;
- :class:`OneCoinDawidSkene` — one accuracy per worker, errors spread evenly over the other classes;
- ``BayesianDawidSkene`` (``bayesian.py``) — Dirichlet priors, variational Bayes.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._math import EPS, safe_log
from ..judgments import Judgments
from ._base import EMAggregator, argmax_ties_low
from ._engine import LocalEngine, Shard
from ._kernels import MIN_PARALLEL, counts_from_post, estep_table, vote_counts
from ._layout import crowdkit_result
from ._memory import FLOAT
from ._registry import register

__all__ = ["ConfusionEM", "DawidSkene", "OneCoinDawidSkene"]

#: crowd-kit's floor for probabilities of the confusion matrices and class priors (its
#: ``_EPS = 1e-10``): a cell of a label the worker gave never reaches 0, so its log stays finite.
#: Not the numerical EPS of galton._math (1e-300), which only guards log(0).
PROB_FLOOR = 1e-10


class ConfusionEM(EMAggregator):
    """Shared machinery of the confusion-matrix models.

    params is a dict with ``table`` (n_workers * K, K) = log p(observed | true, worker) indexed by
    ``worker * K + observed``, ``logprior`` (K,), plus model-specific entries.
    """

    _empty_attrs = {"errors_": ("errors", ""), "priors_": ("priors", ""), "skills_": ("worker", "skill")}

    #: float arrays of n_workers x K x K a fit holds at its peak: the expected counts, the old and
    #: new confusion matrices and log-table, the M-step's scratch (measured: 3.3 for ``ds``)
    _confusion_arrays = 4

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int,
                        n_judgments: int) -> tuple[int, str]:
        """Bytes of a fit: ``_confusion_arrays`` confusion tables of workers x labels x labels
        (plus a thread's copy of the counts per numba thread on large data), and the task x label
        posteriors and judgments of every model."""
        base, _ = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        arrays = self._confusion_arrays + (_numba_threads() if n_judgments >= MIN_PARALLEL else 0)
        cube = arrays * FLOAT * int(n_workers) * int(n_labels) ** 2
        return (base + cube, f"{n_workers:,} workers x {n_labels:,} labels x {n_labels:,} labels "
                f"(confusion matrices)")

    # ---------------------------------------------------------------- statistics of one shard
    def _mv_stats(self, shard: Shard) -> dict[str, Any]:
        """Initial statistics: task posteriors = vote shares (gold clamped), as crowd-kit starts."""
        k = shard.n_labels
        post = self._start_posteriors(shard, None)
        counts = counts_from_post(shard.task, shard.wl, post, shard.n_workers * k)
        seen = np.bincount(shard.wl, minlength=shard.n_workers * k).astype(float)
        return {"ll": 0.0, "counts": counts, "class_counts": post.sum(axis=0), "seen": seen}

    def _start_posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        """The majority-vote shares (gold clamped) the fit starts from: crowd-kit's ``n_iter=0``."""
        k = shard.n_labels
        votes = vote_counts(shard.task, shard.label, shard.n_tasks, k)
        post = votes / np.maximum(votes.sum(axis=1, keepdims=True), EPS)
        g = np.flatnonzero(shard.gold >= 0)
        post[g] = 0.0
        post[g, shard.gold[g]] = 1.0
        return post

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        ll, _, counts, class_counts = estep_table(
            shard.indptr, shard.task, shard.wl, params["table"], params["logprior"], shard.gold, False
        )
        return {"ll": ll, "counts": counts, "class_counts": class_counts}

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        return estep_table(shard.indptr, shard.task, shard.wl, params["table"], params["logprior"], shard.gold)[1]

    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameters from the majority-vote start; memory: the sizes and which (worker, label)
        pairs occur (a confusion column spreads only over a worker's own labels)."""
        stats = engine.map_sum(self._mv_stats)
        seen = (stats.pop("seen") > 0).reshape(judgments.n_workers, judgments.n_labels, 1)
        memory = {"n_workers": int(judgments.n_workers), "n_labels": int(judgments.n_labels), "seen": seen}
        return self._m_step(self._with_initial(stats, judgments), memory)

    def _with_initial(self, stats: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        return stats

    # ---------------------------------------------------------------- new data with fitted workers
    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        fitted: Judgments = self.judgments_
        new = Judgments.from_any(data, labels=fitted.label_names.tolist())
        self._check_memory(new)
        k = fitted.n_labels
        w_map = fitted.worker_names.searchsorted(new.worker_names) if fitted.worker_names.size else np.zeros(0, int)
        w_map = np.clip(w_map, 0, max(fitted.n_workers - 1, 0))
        known = fitted.worker_names[w_map] == new.worker_names
        table = np.zeros((new.n_workers * k, k))  # unseen workers carry no information
        fitted_table = self._params["table"].reshape(fitted.n_workers, k, k)
        table.reshape(new.n_workers, k, k)[known] = fitted_table[w_map[known]]
        eng = LocalEngine()
        eng.load(new, None)
        post = eng.gather(self._posteriors, {"table": table, "logprior": self._params["logprior"]})
        codes = argmax_ties_low(post)
        labels = self._out.labels(new.task_names, new.label_names, codes)
        probas = self._out.probas(new.task_names, new.label_names, post)
        return (crowdkit_result(self, "labels_", labels, new, fitted),
                crowdkit_result(self, "probas_", probas, new, fitted))


def _normalise_columns(counts: np.ndarray, seen: np.ndarray, inplace: bool = False) -> np.ndarray:
    """errors[w, obs, true] from counts[w, obs, true]: each (worker, true) column sums to one.

    Cells of labels the worker gave are floored at PROB_FLOOR (1e-10) (so a column with no mass, a class the
    worker never met, is uniform over the labels that worker uses, as in crowd-kit); labels the
    worker never gave keep probability 0 unless smoothing adds mass. ``inplace``: overwrite
    ``counts`` (a float64 array the caller owns) instead of a copy, which saves a W x K x K array."""
    if not inplace:
        counts = np.array(counts, dtype=np.float64)
    np.maximum(counts, PROB_FLOOR, out=counts, where=np.broadcast_to(seen, counts.shape))
    counts /= np.maximum(counts.sum(axis=1, keepdims=True), EPS)
    return counts


@register("ds", "dawid_skene", "dawid-skene")
class DawidSkene(ConfusionEM):
    r"""Dawid-Skene: one full confusion matrix per worker, fitted by EM.

    Generative model (Dawid & Skene, *Applied Statistics* 28(1), 1979)::

        z_t ~ Categorical(p)                       true class of task t
        y_tw | z_t = k ~ Categorical(e_w[:, k])    answer of worker w

    E-step: ``q_t(k) ∝ p_k * prod_w e_w[y_tw, k]`` (in log space, gold tasks clamped).
    M-step: ``e_w[l, k] ∝ alpha + sum_t q_t(k) [y_tw = l]`` and ``p_k ∝ alpha_prior + sum_t q_t(k)``.
    With ``alpha = alpha_prior = 0`` (the default) this is the maximum-likelihood EM of the paper and
    of crowd-kit; positive values give MAP estimates under Dirichlet(alpha + 1) priors, which keeps
    workers with few judgments from collapsing to 0/1 error rates. Initialised, like crowd-kit, from
    the majority-vote shares.

    Parameters
    ----------
    n_iter : int, default 100
        Maximum number of EM iterations (crowd-kit's name; ``max_iter`` is accepted too).
    tol : float, default 1e-7
        Stop when the log-likelihood changes by less than ``tol`` per judgment.
    alpha, alpha_prior : float, default 0
        Dirichlet smoothing pseudo-counts of the confusion matrices and the class prior.
    initial_error_strategy : {None, "assign", "addition"}
        How ``fit(..., initial_error=...)`` is used: replace the first M-step's counts, or add to them.

    Attributes
    ----------
    labels_, probas_, errors_ (index (worker, observed label), columns true label), priors_,
    skills_ (each worker's probability of a correct answer under the fitted prior), n_iter_,
    converged_, history_ (log-likelihood per iteration).
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-7, *, alpha: float = 0.0,
                 alpha_prior: float = 0.0, initial_error_strategy: str | None = None,
                 max_iter: int | None = None, random_state: Any = None, engine: Any = None,
                 n_shards: int | None = None, progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha
        self.alpha_prior = alpha_prior
        self.initial_error_strategy = initial_error_strategy
        self.max_iter = max_iter
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def fit(self, data: Any, gold: Any = None, initial_error: Any = None, **kwargs: Any) -> "DawidSkene":
        """Fit by EM. ``gold`` (crowd-kit: ``true_labels``) clamps known tasks; ``initial_error``
        holds prior error counts or probabilities (see ``initial_error_strategy``)."""
        if "true_labels" in kwargs:
            gold = kwargs.pop("true_labels")
        if self.alpha < 0 or self.alpha_prior < 0:
            raise ValueError("alpha and alpha_prior must be >= 0")
        if initial_error is not None and self.initial_error_strategy not in ("assign", "addition"):
            raise ValueError("initial_error needs initial_error_strategy='assign' or 'addition'")
        self._initial_error = initial_error
        try:
            return super().fit(data, gold, **kwargs)  # type: ignore[return-value]
        finally:
            self._initial_error = None

    def _with_initial(self, stats: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        init, self._initial_error = getattr(self, "_initial_error", None), None
        if init is None:
            return stats
        arr = _initial_error_array(init, judgments)
        w, k = judgments.n_workers, judgments.n_labels
        counts = stats["counts"].reshape(w, k, k)
        if self.initial_error_strategy == "assign":
            given = ~np.isnan(arr).any(axis=(1, 2))
            if not given.all():
                missing = judgments.worker_names[~given][:5].tolist()
                raise ValueError(
                    f"initial_error_strategy='assign' needs every worker's matrix; missing {missing}"
                )
            sums = arr.sum(axis=1)  # per (worker, true label): the column of observed labels
            if (arr <= 1.0).all() and not np.allclose(sums, 1.0):
                bad = judgments.worker_names[~np.isclose(sums, 1.0).all(axis=1)][:5].tolist()
                raise ValueError(
                    "initial_error holds probabilities (every value <= 1), so each worker's column "
                    f"for each true label must sum to 1; workers {bad} do not (crowd-kit's rule). "
                    "Give counts, or fix those matrices"
                )
            counts = arr.copy()
        else:
            counts = counts + np.nan_to_num(arr)
        return {**stats, "counts": counts.reshape(w * k, k)}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        w, k = memory["n_workers"], memory["n_labels"]
        counts = stats["counts"].reshape(w, k, k) + self.alpha  # a new array: normalised in place
        errors = _normalise_columns(counts, memory["seen"], inplace=True)
        cc = stats["class_counts"] + self.alpha_prior
        priors = np.maximum(cc / cc.sum(), PROB_FLOOR)
        table = safe_log(errors).reshape(w * k, k)
        return {"table": table, "logprior": np.log(priors), "errors": errors, "priors": priors}, memory

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        obj = float(stats["ll"])
        if self.alpha:
            obj += self.alpha * float(params["table"].sum())
        if self.alpha_prior:
            obj += self.alpha_prior * float(params["logprior"].sum())
        return obj

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        self._params = params
        out = self._out
        self.errors_ = out.errors(judgments.worker_names, judgments.label_names, params["errors"])
        self.priors_ = out.priors(judgments.label_names, params["priors"])
        diag = np.einsum("wkk->wk", params["errors"])
        self.skills_ = out.per_worker(judgments.worker_names, diag @ params["priors"], "skill")
        self.loss_history_ = list(self.history_)


def _initial_error_array(init: Any, judgments: Judgments) -> np.ndarray:
    """(W, K, K) array [worker, observed, true] from crowd-kit's frame or a numpy array; NaN where
    a worker has no matrix."""
    w, k = judgments.n_workers, judgments.n_labels
    if isinstance(init, np.ndarray):
        if init.shape != (w, k, k):
            raise ValueError(f"initial_error array must have shape (n_workers, K, K) = {(w, k, k)}")
        return init.astype(float)
    out = np.full((w, k, k), np.nan)
    df = init
    workers = judgments.worker_names.tolist()
    labels = judgments.label_names.tolist()
    widx = {x: i for i, x in enumerate(workers)}
    lidx = {x: i for i, x in enumerate(labels)}
    cols = [lidx.get(c, -1) for c in df.columns]
    if min(cols) < 0:
        raise ValueError(f"initial_error columns {list(df.columns)} must be labels from {labels}")
    for (worker, obs), row in zip(df.index, df.to_numpy(dtype=float)):
        if worker not in widx:
            continue
        wi = widx[worker]
        if np.isnan(out[wi]).all():
            out[wi] = 0.0
        out[wi, lidx[obs], cols] = row
    return out


@register("one_coin_ds", "onecoin", "one_coin", "one-coin-dawid-skene")
class OneCoinDawidSkene(DawidSkene):
    r"""One-coin Dawid-Skene: each worker has one accuracy ``s_w``.

    ``p(y = l | z = k) = s_w`` if ``l == k`` else ``(1 - s_w) / (K - 1)``. The M-step sets ``s_w`` to
    the expected share of the worker's answers that are correct (vectorised over all workers:
    crowd-kit fills its matrix row by row in Python). ``skills_`` holds ``s_w``.
    """

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        w, k = memory["n_workers"], memory["n_labels"]
        counts = stats["counts"].reshape(w, k, k)
        correct = np.einsum("wkk->w", counts) + self.alpha
        total = counts.sum(axis=(1, 2)) + 2 * self.alpha
        skill = np.clip(correct / np.maximum(total, PROB_FLOOR), PROB_FLOOR, 1 - PROB_FLOOR)
        off = (1 - skill) / max(k - 1, 1)
        errors = np.repeat(off[:, None, None], k, axis=1).repeat(k, axis=2)
        idx = np.arange(k)
        errors[:, idx, idx] = skill[:, None]
        if k == 1:
            errors[:] = 1.0
        cc = stats["class_counts"] + self.alpha_prior
        priors = np.maximum(cc / cc.sum(), PROB_FLOOR)
        return {"table": np.log(errors).reshape(w * k, k), "logprior": np.log(priors),
                "errors": errors, "priors": priors, "skill": skill}, memory

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        obj = float(stats["ll"])
        if self.alpha:
            s = params["skill"]
            obj += self.alpha * float(np.log(s).sum() + np.log1p(-s).sum())
        if self.alpha_prior:
            obj += self.alpha_prior * float(params["logprior"].sum())
        return obj

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        super()._finish(params, judgments)
        self.skills_ = self._out.per_worker(judgments.worker_names, params["skill"], "skill")


def _numba_threads() -> int:
    """Threads of the numba E-step on large shards (each keeps its own counts), 0 without numba."""
    from . import _kernels

    if not _kernels.HAVE_NUMBA:
        return 0
    return int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1)
