"""Bayesian weighted average (BWA): a precision-weighted vote with per-worker Gamma precisions.

Li, Rubinstein & Cohn, *Truth Inference at Scale: A Bayesian Model for Adjudicating Highly
Redundant Crowd Annotations*, WWW 2019. Each class ``k`` is its own one-vs-rest problem: task t's
score ``z_tk`` is the mean of a Gaussian that generated the workers' indicators ``y_jk = [y_j = k]``,
each worker ``w`` answering with its own precision ``v_wk``, Gamma-distributed. The fixed point of
the mean-field updates is a weighted vote whose weights are the precisions:

    start        z_tk = share of task t's judgments that say k (the majority-vote share)
    b_k          = a_v * adj * sum_t W_t z_tk (1 - z_tk) / J        (W_t: judgments of task t, J: all)
    repeat:
      mu_k       = mean_t z_tk
      v_wk       = (a_v + N_w) / (b_k + sum_{j of w} (z_{t_j k} - y_jk)^2)     (N_w: judgments of w)
      z_tk       = (lam * mu_k + sum_{j of t} v_{w_j k} y_jk) / (lam + sum_{j of t} v_{w_j k})

with ``adj = 4 (1 - 1/K)`` (the authors' "prior correction"; 1 without it). A class stops when
none of its scores moved by more than ``1e-8 + tol * |z|`` in an iteration (``numpy.allclose``
with ``rtol=tol``, as the authors' code), and keeps its scores from then on. The label of a task is
the class with the largest score; ``probas_`` are the scores divided by their sum over the classes
(the classes are fitted separately, so the scores do not sum to one themselves).

On the one core: the scores live with their shard (``shard.state["bwa_z"]``, saved in checkpoints);
one pass per iteration updates them from ``(mu, v)`` and returns the additive statistics of the new
scores (per worker and class squared residuals, per class sums, how many scores still moved); the
"M-step" turns them into ``(mu, v)``. It is not EM: ``history_`` holds the largest relative change
of a score in each pass (the maximum, not a sum, over the shards), and the fit has converged when it
is below ``tol``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..judgments import Judgments
from ._base import EMAggregator, argmax_ties_low
from ._declared_labels import LabelsInUse, label_columns
from ._estimator import fit_options
from ._engine import LocalEngine, Shard, add_stats
from ._jit import twin
from ._memory import FLOAT, judgments_bytes
from ._pairs import fitted_workers
from ._params import fit_setting
from ._registry import register
from .votes_shard import shard_label_counts, shard_vote_shares

__all__ = ["BWA"]

#: the absolute part of the convergence test (``numpy.allclose``'s default ``atol``)
ATOL = 1e-8
#: floor of the precisions' rate b_k (0 when every task is unanimous about class k)
MIN_RATE = 1e-12


def _residuals(task: np.ndarray, worker: np.ndarray, label: np.ndarray, z: np.ndarray, classes: np.ndarray,
               n_workers: int) -> np.ndarray:
    """``sse[w, k] = sum over w's judgments of (z_{t k} - [y = k])^2`` for ``classes`` (0 elsewhere)."""
    sse = np.zeros((n_workers, z.shape[1]))
    for k in classes:
        r = z[task, k] - (label == k)
        sse[:, k] = np.bincount(worker, weights=r * r, minlength=n_workers)
    return sse


def bwa_pass_numpy(indptr: np.ndarray, task: np.ndarray, worker: np.ndarray, label: np.ndarray, gold: np.ndarray,
                   z: np.ndarray, v: np.ndarray, mu: np.ndarray, active: np.ndarray,
                   lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pass over a shard: the new scores ``z`` (tasks x K; gold tasks and stopped classes kept)
    of the classes in ``active`` from the precisions ``v`` and class means ``mu``; returns them
    with, per class, the largest relative move of a score, ``max(|new - old| - ATOL, 0) / |new|``
    (``numpy.allclose(old, new, rtol)`` holds exactly when it is <= rtol; inf for a move away
    from a new score of 0), the squared residuals per worker and class (active classes only) and
    the scores' sums."""
    z = np.array(z, dtype=float, copy=True)
    n_t = indptr.size - 1
    move = np.zeros(z.shape[1])
    free = gold < 0
    classes = np.flatnonzero(active)
    for c in classes:
        vj = v[worker, c]
        den = lam + np.bincount(task, weights=vj, minlength=n_t)
        num = lam * mu[c] + np.bincount(task, weights=vj * (label == c), minlength=n_t)
        new = np.where(free, num / den, z[:, c])
        excess = np.abs(new - z[:, c]) - ATOL
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(excess > 0, excess / np.abs(new), 0.0)
        move[c] = rel.max() if rel.size else 0.0
        z[:, c] = new
    return z, move, _residuals(task, worker, label, z, classes, v.shape[0]), z.sum(axis=0)


#: the pass: numpy reference, numba version (work items of whole tasks, per-item residual tables
#: added in item order: the same numbers on any number of threads)
bwa_pass = twin("bwa_pass", bwa_pass_numpy, "galton.aggregator._bwa_numba:bwa_pass")


def _normalised(z: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
    """Scores divided by their sum per task (uniform over ``classes``, default all, where a task has none)."""
    total = z.sum(axis=1, keepdims=True)
    even = 1.0 / max(z.shape[1], 1) if classes is None else classes / max(int(classes.sum()), 1)
    return np.where(total > 0, z / np.where(total > 0, total, 1.0), even)


@register("bwa", "bayesian_weighted_average")
class BWA(LabelsInUse, EMAggregator):
    r"""Bayesian weighted average: a vote weighted by per-worker precisions (Li et al., WWW 2019).

    Each worker's precision is fitted one class at a time (Li, Rubinstein & Cohn). Cheap (one pass
    over the judgments per iteration, K numbers per judgment, no K x K matrices) and strong on wide
    crowds: on a simulated crowd of 37k workers with 215k judgments it was the most accurate of
    ``ds``, ``bds`` and ``bwa`` in 0.03 s (``python -m galton.benchmarks.speed --wide``); over the 17
    shared real datasets it averages 0.8283, below the default.

    A label declared with ``labels=`` that no judgment and no gold gives is no class of the data:
    the fit is that of the labels in use (the prior correction counts their K), and the unused
    label gets score, probability, prior and precision 0 (``skills_`` average the labels in use).
    It counted in ``4 (1 - 1/K)`` and changed the other scores (act_cf: 1 of 300 labels).
    Judgments loaded with ``load_parquet`` cannot be re-coded: there such a label is refused.

    The updates are in the module docstring; the defaults are the authors' (``a_v=15``, ``lam=1``,
    prior correction on, at most 500 iterations, relative tolerance 1e-3). Each judgment counts once
    (the authors' sparse matrices count a repeated (task, worker) pair once).

    Parameters
    ----------
    a_v : float, default 15
        Shape of the Gamma prior on the workers' precisions (pseudo-judgments; > 0).
    lam : float, default 1
        Weight of the class mean ``mu_k`` in every task's score (>= 0).
    prior_correction : bool, default True
        Scale the prior's rate by ``4 (1 - 1/K)`` (the authors' setting).
    n_iter : int, default 500
        Maximum number of iterations (``max_iter`` is accepted too: the same limit; both set to different values is
        refused).
    tol : float, default 1e-3
        A class has converged when no score moved by more than ``1e-8 + tol * |z|``; 0 runs every
        iteration ``n_iter`` allows, as in every galton model.
    random_state, engine, n_shards, progress
        As everywhere in galton (the fit uses no randomness).

    Attributes
    ----------
    labels_, probas_ : the class with the largest score; the scores normalised per task.
    scores_ : the scores ``z_tk`` themselves (rows need not sum to one); like ``labels_``, None
        when the results went to ``results_dir``.
    precisions_ : ``v_wk`` per worker (rows) and class (columns), from the final scores.
    skills_ : each worker's precision averaged over the classes.
    priors_ : the class means ``mu_k`` normalised to sum to one.
    history_ : the largest relative change of a score, per iteration; ``n_iter_``, ``converged_``.

    ``predict`` / ``predict_proba`` score new data by one pass from the fitted precisions and class
    means: on the fitted data itself that is one pass beyond ``probas_`` (act_cf, act_sp, welinder, zheng_s_face:
    within 1.1e-4 of them, the same labels), as Dawid-Skene's is one E-step beyond its fit.
    """

    #: the scores live with their shard (checkpoints save and restore them there)
    shard_state = ("bwa_z",)
    monotone = False
    #: parts of a fit are frozen by ``tol`` (converged restarts / classes): a checkpoint of another
    #: ``tol`` is another fit (resumed, it kept the other tol's frozen parts)
    checkpoint_keeps_tol = True
    change_name = "largest relative change of a score"
    _empty_attrs = {"skills_": ("worker", "skill"), "priors_": ("priors", "")}

    _kept_settings = ("a_v", "lam")  # predict on new data reads the fit's (:func:`._params.fit_setting`)

    def __init__(self, a_v: float = 15.0, lam: float = 1.0, prior_correction: bool = True, n_iter: int = 500,
                 tol: float = 1e-3, *, max_iter: int | None = None, random_state: Any = None,
                 engine: Any = None, n_shards: int | None = None, progress: bool | None = None):
        self.a_v = a_v
        self.lam = lam
        self.prior_correction = prior_correction
        self.n_iter = n_iter
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def _validate_params(self, judgments: Judgments) -> None:
        super()._validate_params(judgments)
        for name, low, closed in (("a_v", 0.0, False), ("lam", 0.0, True)):
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
            if not (ok and (value >= low if closed else value > low)):
                raise ValueError(f"{name} must be a finite number {'>=' if closed else '>'} {low:g}, not {value!r}")

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int, n_judgments: int) -> tuple[int, str]:
        base, words = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        # precisions, residuals and their sum over shards (workers x labels); the pass's judgment temporaries
        extra = 3 * FLOAT * int(n_workers) * int(n_labels) + judgments_bytes(n_judgments) // 2
        return base + extra, f"{words}, {n_workers:,} workers x {n_labels:,} labels (precisions)"

    # ---------------------------------------------------------------- shard functions
    @staticmethod
    def _init_shard(shard: Shard) -> dict[str, Any]:
        """Start at the vote shares; the statistics the first (mu, v) and the prior's rate need."""
        z = shard_vote_shares(shard, None)  # the majority-vote shares, gold tasks one-hot
        shard.state["bwa_z"] = z
        k = shard.n_labels
        per_task = np.diff(shard.indptr).astype(float)
        return {"zsum": z.sum(axis=0), "spread": np.einsum("t,tk->k", per_task, z * (1.0 - z)),
                "votes": shard_label_counts(shard).astype(float),
                "worker_judgments": np.bincount(shard.worker, minlength=shard.n_workers).astype(float),
                "sse": _residuals(shard.task, shard.worker, shard.label, z, np.arange(k), shard.n_workers)}

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        """New scores of the moving classes from (mu, v), kept in the shard; their statistics."""
        z, move, sse, zsum = bwa_pass(shard.indptr, shard.task, shard.worker, shard.label, shard.gold,
                                      shard.state["bwa_z"], params["v"], params["mu"], params["active"],
                                      float(self.lam))
        shard.state["bwa_z"] = z
        return {"zsum": zsum, "move": move, "sse": sse}

    def _map_e_step(self, engine: Any, params: dict[str, Any]) -> dict[str, Any]:
        """The shards' statistics added, except the largest relative move per class: a maximum."""
        parts = engine.map(self._e_step, params)
        stats = add_stats([{k: v for k, v in p.items() if k != "move"} for p in parts])
        stats["move"] = np.max(np.stack([p["move"] for p in parts]), axis=0)
        return stats

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        return _normalised(shard.state["bwa_z"])

    @staticmethod
    def _new_scores(shard: Shard, v: np.ndarray, mu: np.ndarray, lam: float, classes: np.ndarray) -> np.ndarray:
        """Scores of new tasks from fitted precisions: one weighted vote per class of ``classes``
        (the others, declared labels the fit did not use, score 0), no iteration."""
        k = shard.n_labels
        z = bwa_pass(shard.indptr, shard.task, shard.worker, shard.label, np.full(shard.n_tasks, -1, np.int32),
                     np.zeros((shard.n_tasks, k)), v, mu, classes, lam)[0]
        return z

    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        """Labels and normalised scores of new data from the fitted precisions and class means; a
        worker the fit never saw gets the prior's mean precision ``a_v / b_k``."""
        fitted: Judgments = self.judgments_
        new = self._new_judgments(data)
        self._check_memory(new)
        params = self._params
        idx = fitted_workers(fitted, new, "each gets the prior's mean precision")
        a_v, lam = float(fit_setting(self, "a_v")), float(fit_setting(self, "lam"))  # the fit's, not set_params'
        v = np.tile(a_v / params["rate"], (new.n_workers, 1))
        v[idx >= 0] = params["v"][idx[idx >= 0]]
        used = self.__dict__.get("_used")  # declared labels the fit did not use: score 0
        classes = np.ones(new.n_labels, dtype=bool) if used is None else used
        eng = LocalEngine()
        eng.load(new, None)
        post = _normalised(eng.gather(self._new_scores, v, params["mu"], lam, classes), classes)
        out = self._new_out(new)
        return out.labels(new.task_names, new.label_names, argmax_ties_low(post)), out.probas(
            new.task_names, new.label_names, post)

    @staticmethod
    def _shard_scores(shard: Shard) -> np.ndarray:
        return shard.state["bwa_z"]

    # ---------------------------------------------------------------- driver pieces
    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        k = judgments.n_labels
        stats = engine.map_sum(self._init_shard)
        adj = 4.0 * (1.0 - 1.0 / k) if self.prior_correction and k > 1 else 1.0
        rate = float(self.a_v) * adj * stats["spread"] / max(judgments.n_judgments, 1)
        memory = {"rate": np.maximum(rate, MIN_RATE), "worker_judgments": stats["worker_judgments"],
                  "n_tasks": judgments.n_tasks, "active": stats["votes"] > 0}  # a label never given stays 0
        return self._m_step(stats, memory)

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        was = memory["active"]
        mu = stats["zsum"] / max(memory["n_tasks"], 1)
        v = (float(self.a_v) + memory["worker_judgments"][:, None]) / (memory["rate"][None, :] + stats["sse"])
        if "v" in memory:  # a class that had stopped has no new residuals: its precisions stay
            v[:, ~was] = memory["v"][:, ~was]
        # a class whose scores all stayed within tol (numpy.allclose) in this pass has converged: it
        # keeps them
        active = was & (stats["move"] > float(self.tol)) if "move" in stats else was
        return {"mu": mu, "v": v, "active": active, "rate": memory["rate"]}, {**memory, "active": active, "v": v}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        """The largest relative move of a score in this pass (what ``history_`` holds; the fit has
        converged when it is below ``tol``)."""
        return float(stats["move"].max()) if stats["move"].size else 0.0

    def _change(self, history: list[float], n: int) -> float:
        return history[-1]

    def _progress_info(self, obj: float, delta: float) -> str:
        return f"largest relative change {obj:.2e}"

    def _run(self, eng: Any, judgments: Judgments, rng: np.random.Generator) -> tuple[Any, np.ndarray | None]:
        params, post = super()._run(eng, judgments, rng)
        if not fit_options().collect:  # results written where the shards live: no per-task array here
            return params, post
        return {**params, "scores": eng.gather(self._shard_scores)}, post

    def _declared_params(self, params: dict[str, Any], used: np.ndarray) -> dict[str, Any]:
        """Declared labels that no judgment or gold gives: fitted without, mean, precisions and
        scores 0, rate inf (a worker new to ``predict`` gets precision 0 there too)."""
        out = {**params, "mu": label_columns(params["mu"], used), "v": label_columns(params["v"], used),
               "rate": label_columns(params["rate"], used, np.inf), "active": label_columns(params["active"], used) > 0}
        if "scores" in params:
            out["scores"] = label_columns(params["scores"], used)
        return out

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        params, judgments = self._declared_results(params, judgments)  # labels=[...] that no judgment gives
        self._params = params
        out = self._out
        v = params["v"]
        used = self.__dict__.get("_used")
        self.precisions_ = out.per_worker_label(judgments.worker_names, judgments.label_names, v, "v")
        self.skills_ = out.per_worker(judgments.worker_names, (v if used is None else v[:, used]).mean(axis=1), "skill")
        mu = params["mu"]
        self.priors_ = out.priors(judgments.label_names, mu / mu.sum() if mu.sum() > 0 else mu)
        self.scores_ = (out.probas(judgments.task_names, judgments.label_names, params["scores"])
                        if "scores" in params else None)
