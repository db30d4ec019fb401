"""Dawid-Skene family: models whose workers answer through a confusion matrix.

All of them share one E-step (:func:`galton.aggregator._pairs.estep_pairs`): a worker's answer adds
``log p(observed | true, worker)`` to each class of its task (a table row, or two numbers for one
accuracy per worker). They differ in how the M-step turns expected counts into that table:

- :class:`DawidSkene` — a full K x K confusion matrix per worker;
- ``OneCoinDawidSkene`` (``one_coin.py``) — one accuracy per worker, errors spread evenly over the other
  classes (two numbers per judgment, as ``bds`` with many labels);
- ``BayesianDawidSkene`` (``bayesian.py``) — Dirichlet priors, variational Bayes.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import numpy as np

from .._math import EPS, safe_log
from .._warnings import warn
from ..judgments import Judgments
from ._base import DeferredResult, EMAggregator, argmax_ties_low, caller_stacklevel
from ._calibrate import heldout_nll, log_posteriors, task_temperatures, temper
from ._engine import Shard
from ._fit_keywords import gold_keyword
from ._initial_error import assigned_errors, initial_error_array, initial_error_frame
from ._kernels import MIN_PARALLEL, vote_shares, vote_stats
from ._layout import crowdkit_result
from ._memory import FLOAT
from ._params import check_real
from ._predictive import single_judge_predictive
from ._pairs import (DENSE_ERRORS_MAX, dense_cells, diagonal, errors_output, estep_pairs, log_fill,
                     new_data_pairs, normalise_rows, pair_codes, pair_memory, pair_table, per_worker_sum, right_stats,
                     seen_stats)
from ._registry import register

__all__ = ["ConfusionEM", "DawidSkene"]  # re-exported by galton (ConfusionEM: the base of confusion-matrix models)

#: ``fit`` returns the model it is called on: its own class, a subclass included, for type checkers
_Self = TypeVar("_Self", bound="DawidSkene")

#: crowd-kit's floor (its ``_EPS``) of confusion cells and class priors: a cell of a label the worker
#: gave never reaches 0. Not galton._math's EPS (1e-300), which only guards log(0).
PROB_FLOOR = 1e-10


class ConfusionEM(EMAggregator):
    """Shared machinery of the confusion-matrix models.

    params is a dict with ``table`` (P, K) = log p(observed | true, worker), one row per observed
    (worker, label) pair (see :mod:`galton.aggregator._pairs`), ``rows`` (the pair of each
    ``worker * K + observed``), ``pairs``, ``logprior`` (K,), plus model-specific entries. After the
    fit, :meth:`_with_outputs` adds what only the results need: ``errors`` (P, K) and ``fill`` /
    ``fill_table`` (workers, 2, K), the probabilities / table values of the pairs a worker never gave
    (off-diagonal, diagonal).
    """

    _base_class = True
    _predictive_single = False  # bds: tasks of one worker get the posterior predictive (_predictive.py)
    errors_ = DeferredResult()  # polars / Arrow: built on first read (pairs x labels rows at many labels)
    _empty_attrs = {"errors_": ("errors", ""), "priors_": ("priors", ""), "skills_": ("worker", "skill")}

    #: float arrays of observed pairs x K a fit holds at its peak: the expected counts, the old and
    #: new confusion rows and log-table, the M-step's scratch, and in the last iteration the rows
    #: and log-table of the last E-step, kept for the results (measured for ``ds``: 3.3 before that
    #: was kept, now about 5: 126 MB of growth against an estimate of 152 MB in the memory test)
    _confusion_arrays = 6

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int,
                        n_judgments: int) -> tuple[int, str]:
        """Bytes of a fit: ``_confusion_arrays`` tables of one row of K per observed (worker,
        label) pair (at most min(judgments, workers x labels) rows; plus a thread's copy of the
        counts per numba thread on large data), the whole matrices of ``errors_`` when they are
        shown (up to ``DENSE_ERRORS_MAX`` cells), and the task x label posteriors and judgments of
        every model."""
        base, _ = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        w, k = int(n_workers), int(n_labels)
        pairs = min(int(n_judgments), w * k)
        arrays = self._held_arrays(k, n_judgments)
        cells = w * k * k
        shown = 2 * cells if cells <= DENSE_ERRORS_MAX else pairs * k  # pair rows: one array, errors_ shares it
        rows = (arrays * pairs * k + shown) * FLOAT + 12 * w * k
        return (base + rows, f"{pairs:,} observed (worker, label) pairs x {k:,} labels (confusion rows)")

    def _held_arrays(self, n_labels: int, n_judgments: int) -> int:
        """Arrays of pairs x K a fit holds at its peak, beside the outputs' rows."""
        return self._confusion_arrays + (numba_threads() if n_judgments >= MIN_PARALLEL else 0)

    # ---------------------------------------------------------------- statistics of one shard
    def _mv_stats(self, shard: Shard, rows: np.ndarray, n_pairs: int) -> dict[str, Any]:
        """Initial statistics: task posteriors = vote shares (gold clamped), as crowd-kit starts; the
        shares of :meth:`_start_posteriors`, counted in one pass without building them (a subclass
        that starts elsewhere overrides both)."""
        counts, class_counts = vote_stats(shard.indptr, shard.task, shard.label, pair_codes(shard, rows), shard.gold,
                                          n_pairs, shard.n_labels)
        return {"ll": 0.0, "counts": counts, "class_counts": class_counts}

    def _start_posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        """The majority-vote shares (gold clamped) the fit starts from: crowd-kit's ``n_iter=0``."""
        return vote_shares(shard.task, shard.label, shard.gold, shard.n_labels)

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        keep, pooled = params.get(KEEP_POSTERIORS), params.get("one_coin", False)
        ll, post, counts, class_counts = estep_pairs(  # one accuracy per worker: posteriors, not counts
            shard, params, keep is not None or pooled, not pooled
        )
        if keep is not None:  # the fit's last E-step: its posteriors are the results
            shard.state[KEPT_POSTERIORS] = (keep, post)
        if pooled:  # each observed pair's expected right answers are the statistics
            return {"ll": ll, **right_stats(shard, params["rows"], int(params["pairs"].size), post)}
        return {"ll": ll, "counts": counts, "class_counts": class_counts}

    def _keeping_posteriors(self, params: dict[str, Any]) -> dict[str, Any]:
        """The last E-step keeps its posteriors in the shards under a fresh token (one E-step less
        per fit: the results pass would repeat it); :meth:`_posteriors` takes them only with that
        token, so a shard's leftovers of an interrupted fit are never taken for another's."""
        return {**params, KEEP_POSTERIORS: int.from_bytes(os.urandom(7), "little")}

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        kept = shard.state.pop(KEPT_POSTERIORS, None)
        if kept is not None and params.get(KEEP_POSTERIORS) == kept[0]:
            post = kept[1]
        else:
            post = estep_pairs(shard, params, want_counts=False)[1]
        return temper(post, self._temperatures(shard, params), shard.gold,  # rows that underflowed: from log space
                      lambda tasks: log_posteriors(shard.indptr, tasks, pair_codes(shard, params["rows"]), params,
                                                   params["logprior"]))

    @staticmethod
    def _temperatures(shard: Shard, params: dict[str, Any]) -> Any:
        """Each task's temperature at the calibration's ``rho`` (1.0 without one): by its number of judgments, of
        fitted workers only where ``informative`` marks the table rows that carry information (new data)."""
        rho = float(params.get("rho", 0.0))
        if rho == 0.0:
            return 1.0
        informative = params.get("informative")
        if informative is None:
            return task_temperatures(np.diff(shard.indptr), rho)
        counted = informative[pair_codes(shard, params["rows"])].astype(np.float64)
        return task_temperatures(np.bincount(shard.task, weights=counted, minlength=shard.n_tasks), rho)

    def _heldout(self, shard: Shard, params: dict[str, Any], fraction: float, within: float = 1.0) -> dict[str, Any]:
        """One shard's held-out judgment NLL per rho (see :mod:`galton.aggregator._calibrate`)."""
        return heldout_nll(shard.indptr, shard.task_ids, shard.gold, pair_codes(shard, params["rows"]),
                           params["table"], params["logprior"], params["cells"], params["columns"], fraction,
                           pooled=params.get("pooled"), within=within, ranks=params.get("ranks"), workers=shard.worker)

    def _start(self, engine: Any, judgments: Judgments) -> tuple[dict[str, Any], dict[str, Any]]:
        """(memory, statistics) of the majority-vote start. Memory: the sizes, the observed
        (worker, label) pairs (a confusion column spreads only over a worker's own labels) and the
        judgments of each worker."""
        w, k = int(judgments.n_workers), int(judgments.n_labels)
        seen = engine.map_sum(seen_stats)["seen"]
        memory = {"n_workers": w, "n_labels": k, **pair_memory(seen, w, k),
                  "worker_judgments": seen.reshape(w, k).sum(axis=1)}
        stats = engine.map_sum(self._mv_stats, memory["rows"], int(memory["pairs"].size))
        unused = np.asarray(stats["class_counts"]) == 0  # a class of labels= that no judgment and no gold gave
        if unused.any():
            memory["unused"] = unused
        return memory, stats

    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameters from the majority-vote start (see :meth:`_start`)."""
        memory, stats = self._start(engine, judgments)
        return self._m_step(self._with_initial(stats, judgments, memory), memory)

    def _with_initial(self, stats: dict[str, Any], judgments: Judgments, memory: dict[str, Any]) -> dict[str, Any]:
        return stats

    def _pair_params(self, memory: dict[str, Any], **params: Any) -> dict[str, Any]:
        """The parameters with what the E-step and the outputs need of the pairs."""
        return {**params, "rows": memory["rows"], "pairs": memory["pairs"]}

    def _with_outputs(self, params: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        """The fitted parameters plus ``errors``, ``fill`` and ``fill_table`` (built once, after the
        fit: the iterations do not need them)."""
        raise NotImplementedError

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        self._params = params = self._with_outputs(params, judgments)
        out = self._out
        self._deferred("errors_", errors_output, out, judgments, params["errors"], params["fill"], params["pairs"])
        self.priors_ = out.priors(judgments.label_names, params["priors"])
        diag = diagonal(params["errors"], params["fill"], params["pairs"])
        self.skills_ = out.per_worker(judgments.worker_names, np.einsum("wk,k->w", diag, params["priors"]), "skill")
        if not self.stops_after_m_step:  # else the driver set it: the stopping rule's values
            self.loss_history_ = list(self.history_)

    def confusion_array(self) -> np.ndarray | None:
        """The fitted confusion matrices as one array ``[worker, observed, true]`` in the fit's
        worker and label codes, every (worker, label) pair included (``errors_`` in crowd-kit's
        layout lists the observed pairs only); None where it would exceed ``DENSE_ERRORS_MAX`` cells, or
        the fit had no judgment."""
        params, judgments = getattr(self, "_params", None), self.judgments_
        if params is None or judgments.n_workers * judgments.n_labels ** 2 > DENSE_ERRORS_MAX:  # no judgment
            return None
        return dense_cells(params["errors"], params["fill"], params["pairs"])

    # ---------------------------------------------------------------- new data with fitted workers
    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        fitted: Judgments = self.judgments_
        new = self._new_judgments(data)
        self._check_memory(new)
        params = self._params
        scored = new_data_pairs(fitted, new, params["rows"])
        eng, memory, pl, fw, fitted_row = (scored[key] for key in ("engine", "memory", "pl", "fw", "row"))
        at, have = np.arange(pl.size), fitted_row >= 0

        def new_table(fill: np.ndarray, observed: Any) -> np.ndarray:  # the (worker, label) rows of the new pairs
            fill = fill[np.maximum(fw, 0)]  # labels a fitted worker never gave: the fill values
            table = fill[:, 0, :].copy()
            table[at, pl] = fill[at, 1, pl]
            if observed is not None:
                table[have] = observed(fitted_row[have])
            table[fw < 0] = 0.0  # unseen workers carry no information
            return table

        post = eng.gather(self._posteriors, {"table": new_table(params["fill_table"], lambda r: pair_table(params, r)),
                                             "logprior": params["logprior"], "rows": memory["rows"],
                                             "rho": params.get("rho", 0.0), "informative": fw >= 0})
        if self._predictive_single:  # a task of one fitted worker: the posterior predictive (bds)
            with np.errstate(divide="ignore"):  # a declared label nobody gives: -inf
                observed = None if params["errors"] is None else (lambda r: np.log(params["errors"][r]))
                mean = new_table(log_fill(params["fill"]), observed)
            post = single_judge_predictive(post, params, new, mean, memory["rows"], fw)
        codes = argmax_ties_low(post)
        out = self._new_out(new)
        labels = out.labels(new.task_names, new.label_names, codes)
        probas = out.probas(new.task_names, new.label_names, post)
        return (crowdkit_result(self, "labels_", labels, new, fitted),
                crowdkit_result(self, "probas_", probas, new, fitted))


#: the parameters' mark of an E-step that keeps its posteriors, and the shard state's key of them
#: (a ``_`` key: a cache, which a checkpoint neither saves nor needs; without it they are computed)
KEEP_POSTERIORS = "keep_posteriors"
KEPT_POSTERIORS = "_kept_posteriors"


def normalise_pairs(counts: np.ndarray, memory: dict[str, Any], alpha: float = 0.0,
                    extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(errors, denom)``: the confusion rows of the observed pairs from their counts (P, K), each
    (worker, true) column summing to one over all K labels, and those column sums (W, K) (a label
    the worker never gave has ``alpha`` pseudo-counts: probability ``alpha / denom``).

    The observed cells are floored at PROB_FLOOR (1e-10) (so a column with no mass, a class the
    worker never met, is uniform over the labels that worker uses, as in crowd-kit). ``extra``
    (W, K): mass of unobserved cells given by an ``initial_error``, in the column sums only.
    ``counts`` is left as it is (the rows are a new array)."""
    return normalise_rows(counts, memory["wptr"], memory["pairs"], memory["n_labels"], alpha, extra,
                          PROB_FLOOR, EPS)


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
        Maximum number of EM iterations (crowd-kit's name; ``max_iter`` is accepted too: the same limit; both set to
        different values is refused).
    tol : float, default 1e-5
        The stopping threshold of ``stopping``. Under ``"elbo"`` the test is crowd-kit's signed one,
        ``rise < tol``: ``tol=0`` stops when the ELBO stops rising, ``tol < 0`` when it falls by more
        than ``-tol``, and ``tol=-inf`` (crowd-kit's way) runs all ``n_iter`` iterations; under
        ``"likelihood"`` the change is >= 0, so ``tol <= 0`` runs them all. No ConvergenceWarning
        for ``tol < 0``, nor for ``tol=0`` where the last change is exactly 0 (``converged_`` True).
    stopping : {"elbo", "likelihood"}, default "elbo"
        ``"elbo"``: crowd-kit's rule (the default fit is crowd-kit's, iteration for iteration): stop
        when crowd-kit's ELBO per judgment after the M-step (``loss_history_``) rises by less than
        ``tol`` or falls. It counts the class prior once per judgment, so EM does not maximise it;
        it often falls after a few iterations, and the fit stops early, whatever ``tol`` (act_cf: 5
        iterations, 67 to convergence), but where it keeps rising the fit runs longer than EM to
        convergence (zheng_d_product: 80 iterations against 63, as crowd-kit's; ``tol=0``: 149).
        ``"likelihood"``: EM to convergence, until the log-likelihood per judgment changes
        by less than ``tol`` (galton's rule before 2026-12-05, with ``tol=1e-7``); less accurate on the
        17 shared datasets (mean 0.833; the default's 0.840 is in ``docs/accuracy-report.md``).
    alpha, alpha_prior : float, default 0
        Dirichlet smoothing pseudo-counts of the confusion matrices and the class prior.
    initial_error_strategy : {None, "assign", "addition"}
        How ``fit(..., initial_error=...)`` is used: replace the first M-step's counts, or add to them.
        ``initial_error``: crowd-kit's frame (index (worker, label), a column per true label), galton's
        long ``errors_`` (worker, label, true_label, probability) or a (n_workers, K, K) array. With
        "assign", probabilities sum to 1 per (worker, true label), or to at most 1 where the frame leaves
        out some of a worker's (worker, label) rows (a pandas fit's ``errors_``): those share the rest.
    random_state, engine, n_shards, progress
        As everywhere in galton (the fit uses no randomness).

    Attributes
    ----------
    labels_, probas_, errors_ (index (worker, observed label), columns true label), priors_,
    skills_ (each worker's probability of a correct answer under the fitted prior), n_iter_,
    converged_, history_ (log-likelihood per iteration, before each M-step), loss_history_ (the rule's
    values: crowd-kit's ELBO per judgment after each M-step; with "likelihood", the log-likelihood).
    """

    #: crowd-kit's ``probas_``: those of the last E-step (see IterativeAggregator)
    posteriors_of_last_e_step = True

    def __init__(self, n_iter: int = 100, tol: float = 1e-5, initial_error_strategy: str | None = None, *,
                 stopping: str = "elbo", alpha: float = 0.0, alpha_prior: float = 0.0, max_iter: int | None = None,
                 random_state: Any = None, engine: Any = None, n_shards: int | None = None,
                 progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.stopping = stopping
        self.alpha = alpha
        self.alpha_prior = alpha_prior
        self.initial_error_strategy = initial_error_strategy
        self.max_iter = max_iter
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    @property
    def stops_after_m_step(self) -> bool:  # type: ignore[override]  # crowd-kit's rule: see _stop_value
        return self.stopping == "elbo"

    @property
    def change_name(self) -> str:  # type: ignore[override]
        return "ELBO rise per judgment" if self.stops_after_m_step else "change per judgment"

    def _progress_info(self, obj: float, delta: float) -> str:
        if self.stops_after_m_step:
            return f"log-likelihood {obj:.6g} ELBO rise/judgment {delta:.2e}"
        return super()._progress_info(obj, delta)

    def fit(self: _Self, data: Any, gold: Any = None, initial_error: Any = None, **kwargs: Any) -> _Self:
        """Fit by EM. ``gold`` (crowd-kit: ``true_labels``) clamps known tasks; ``initial_error``
        holds prior error counts or probabilities (see ``initial_error_strategy``). Other keywords: those of
        :meth:`EMAggregator.fit` (``engine``, ``n_shards``, ``checkpoint_dir``, ...) and of the data's reader
        :meth:`galton.Judgments.from_any` (``task_col``, ``on_invalid``, ``duplicates``, ``labels``, ...)."""
        self._reset()  # the previous fit's results go first, also when this fit is refused
        gold = gold_keyword(self, gold, kwargs)
        if self.stopping not in ("elbo", "likelihood"):
            raise ValueError(f"stopping must be 'elbo' (crowd-kit's rule) or 'likelihood', not {self.stopping!r}")
        for name in ("alpha", "alpha_prior"):  # NaN gave NaN probabilities, text a bare TypeError
            check_real(name, getattr(self, name), 0, finite=True)
        strategy = self.initial_error_strategy
        if strategy not in (None, "assign", "addition"):
            raise ValueError(f"initial_error_strategy must be 'assign', 'addition' or None, not {strategy!r}")
        if initial_error is not None and strategy is None:  # crowd-kit ignores it without a word
            warn("initial_error is ignored: pass initial_error_strategy='assign' or 'addition' to use it "
                 "(crowd-kit ignores it too)", UserWarning, stacklevel=caller_stacklevel())
            initial_error = None
        initial_error = initial_error_frame(initial_error)  # a long errors_ table pivoted; others refused
        self._initial_error = initial_error
        # a checkpoint's identity: another initial_error is another fit (it took up the first's)
        self._fit_inputs = None if initial_error is None else {"initial_error": initial_error}
        try:
            return super().fit(data, gold, **kwargs)  # type: ignore[return-value]
        finally:
            self._initial_error = self._fit_inputs = None

    def _with_initial(self, stats: dict[str, Any], judgments: Judgments, memory: dict[str, Any]) -> dict[str, Any]:
        init, self._initial_error = getattr(self, "_initial_error", None), None
        if init is None:
            return stats
        arr, listed = initial_error_array(init, judgments)
        if self.initial_error_strategy == "assign":
            given = ~np.isnan(arr).any(axis=(1, 2))
            if not given.all():
                missing = judgments.worker_names[~given][:5].tolist()
                raise ValueError(
                    f"initial_error_strategy='assign' needs every worker's matrix; missing {missing}"
                )
            arr = assigned_errors(arr, listed, judgments.worker_names)  # sums checked; unlisted rows: the rest
        else:
            arr = np.nan_to_num(arr)
        return self._add_initial(stats, arr, memory)

    def _add_initial(self, stats: dict[str, Any], arr: np.ndarray, memory: dict[str, Any]) -> dict[str, Any]:
        """The start's statistics with the checked ``initial_error`` (W, K, K) assigned or added."""
        rows = arr.reshape(-1, memory["n_labels"])[memory["pairs"]]
        # the mass of the cells of labels a worker never gave counts in its column sums only
        extra = arr.sum(axis=1) - per_worker_sum(rows, memory["wptr"])
        counts = rows if self.initial_error_strategy == "assign" else stats["counts"] + rows
        return {**stats, "counts": counts, "extra": extra}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        counts = stats["counts"] + self.alpha
        errors, denom = normalise_pairs(counts, memory, self.alpha, stats.get("extra"))
        cc = stats["class_counts"] + self.alpha_prior
        priors = np.maximum(cc / cc.sum(), PROB_FLOOR)
        if self.alpha_prior == 0 and memory.get("unused") is not None:
            # its maximum-likelihood prior is 0 and stays 0 (a fixed point of EM); at the floor, its
            # confusion columns, normalised from next to nothing, grew sharp and won tasks at p = 1
            priors[memory["unused"]] = 0.0
        unseen = 0.0  # the log-cells of the pairs never observed, in the prior's term of the objective
        if self.alpha:
            unseen = float(np.sum((memory["n_labels"] - np.diff(memory["wptr"])) * safe_log(self.alpha / denom).sum(axis=1)))
        return self._pair_params(memory, table=safe_log(errors), logprior=safe_log(priors), errors=errors,
                                 priors=priors, denom=denom, unseen_log=unseen), memory

    def _stop_value(self, stats: dict[str, Any], old: dict[str, Any], new: dict[str, Any], n: int) -> float:
        """crowd-kit's ELBO per judgment at this E-step's q and the next M-step's parameters, ``sum over
        judgments of q . (log e_w[y, :] + log p) + H(q)``; H(q) is the E-step's log-likelihood less q's expected
        log joint under its parameters (exact posteriors; 0 for gold): no pass over the data."""
        counts = stats["counts"]  # einsum: no temporary of the counts' size
        old_joint = np.einsum("pk,pk->", counts, old["table"]) + np.sum(stats["class_counts"] * old["logprior"])
        joint = np.einsum("pk,pk->", counts, new["table"]) + np.sum(counts.sum(axis=0) * new["logprior"])
        return float(joint + stats["ll"] - old_joint) / n

    def _with_outputs(self, params: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        fill = np.repeat((self.alpha / params["denom"])[:, None, :], 2, axis=1)
        return {**params, "fill": fill, "fill_table": safe_log(fill)}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        obj = float(stats["ll"])
        if self.alpha:
            obj += self.alpha * (float(params["table"].sum()) + params["unseen_log"])
        if self.alpha_prior:
            obj += self.alpha_prior * float(params["logprior"].sum())
        return obj

def numba_threads() -> int:
    """Threads of the numba E-step on large shards (each keeps its own counts), 0 without numba: as
    numba reads ``NUMBA_NUM_THREADS`` (one that is no number: numba warns and takes one per core; one
    below 1: an error naming the variable, :func:`galton.aggregator._jit.import_numba`)."""
    from . import _kernels
    if not _kernels.HAVE_NUMBA:
        return 0
    from ._jit import import_numba

    return int(import_numba().config.NUMBA_NUM_THREADS)


def __getattr__(name: str) -> Any:
    """``OneCoinDawidSkene`` lived here: models pickled before it moved still load."""
    if name == "OneCoinDawidSkene":
        from .one_coin import OneCoinDawidSkene

        return OneCoinDawidSkene
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
