"""EBCC: enhanced Bayesian classifier combination, with latent subtypes per class that capture
correlated workers (Li, Rubinstein & Cohn, ICML 2019), fitted by variational Bayes on the one core.

Several independent restarts run in one pass: every per-task and per-worker array has a leading
restart axis R, so one map over the shards per iteration serves all of them; the restart with the
best evidence lower bound gives the result.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._math import EPS, digamma, dirichlet_kl
from ..judgments import Judgments
from ._base import DeferredResult, EMAggregator, argmax_ties_low
from ._declared_labels import LabelsInUse, declared_errors, expand_params, label_columns
from ._ebcc_kernels import ebcc_estep, ebcc_mstep, restart_keys, subtype_start, task_keys, warn_collapsed
from ._engine import LoadedData, Shard
from ._fit_keywords import gold_keyword
from ._kernels import counts_from_post, vote_shares
from ._memory import FLOAT
from ._pairs import (DENSE_ERRORS_MAX, diagonal, errors_output, new_data_pairs, pair_codes, pair_labels, pair_memory,
                     pair_workers, per_worker_sum, seen_stats)
from ._params import fit_setting
from ._registry import register

__all__ = ["EBCC"]

#: the E-step's largest change of a class probability (per restart, over tasks and classes)
_CHANGE = "change"
#: the empirical class prior of a class no judgment gave (labels=; re-coded away in memory by
#: LabelsInUse): next to no mass, not 0
_UNUSED_CLASS_PRIOR = 1e-10


def _subtype_columns(values: np.ndarray, used: np.ndarray, m: int, value: float) -> np.ndarray:
    """``values`` (..., K_used * M), class-major columns, spread over the declared labels' classes
    (..., K * M), ``value`` in every column of an unused class."""
    lead = values.shape[:-1]
    by_class = np.moveaxis(values.reshape(lead + (int(used.sum()), m)), -2, -1)  # (..., M, K_used)
    return np.moveaxis(label_columns(by_class, used, value), -1, -2).reshape(lead + (used.size * m,))


@register("ebcc")
class EBCC(LabelsInUse, EMAggregator):
    r"""EBCC: Bayesian classifier combination with per-class latent subtypes, fitted by
    variational Bayes, best of ``n_init`` restarts.

    Generative model (Li, Rubinstein & Cohn, *Exploiting Worker Correlation for Label Aggregation
    in Crowdsourcing*, ICML 2019)::

        tau             ~ Dirichlet(alpha)                    class proportions
        pi_k            ~ Dirichlet(a_pi / M, ..., a_pi / M)  subtype weights of class k (M subtypes)
        v_w[k, m, :]    ~ Dirichlet(beta_k)                   worker w's answers to subtype (k, m)
        z_t             ~ Categorical(tau)                    true class of task t
        g_t | z_t = k   ~ Categorical(pi_k)                   its subtype
        y_tw | z_t = k, g_t = m ~ Categorical(v_w[k, m, :])

    with ``beta_k[l] = prior_diag`` if ``l == k`` else ``prior_off``. Workers who err together on
    some kind of task err on one subtype: their correlation is what the subtypes absorb, where
    Dawid-Skene and IBCC take it for independent evidence. ``alpha`` is, as the authors run it,
    the majority-vote class totals (``empirical_prior=True``; else 1 per class).

    Mean-field VB with ``q(z, g) q(tau) q(pi) q(v)``:

    - E-step: ``log q_t(k, m) = E[log tau_k] + E[log pi_km] + sum_{w in t} E[log v_w[k, m, y_tw]]``
      (the Dawid-Skene kernel over K * M columns; gold tasks keep only their class's columns);
      ``z_t(k) = sum_m q_t(k, m)``.
    - M-step: ``nu = alpha + sum_t z_t``, ``eta_k = a_pi / M + sum_t q_t(k, .)``,
      ``mu_w[k, m, l] = beta_k[l] + sum_{t: y_tw = l} q_t(k, m)``, and their expected logs
      ``psi(a) - psi(sum a)``.
    - ELBO (after each E-step): ``sum_t log sum_km exp(log q_t(k, m))`` minus the Dirichlet
      divergences of ``q(tau)``, ``q(pi)``, ``q(v)`` from their priors.

    Restart ``r`` starts, as the authors do, from the majority-vote shares split over the subtypes
    at random: ``q_t(k, .) = z_t(k) * Dirichlet(1, ..., 1)``, drawn from a counter-based hash of
    (``random_state + r``, the task's own id, k, m), so that the start depends neither on how the
    tasks are sharded nor on how the data was read (in memory or ingested by shards), and restart
    ``r`` of a fit equals restart 0 of a fit with ``random_state + r``.
    A restart stops when no class probability of any task moved by ``tol`` or more (the authors'
    rule, ``np.allclose(z_old, z_new, atol=1e-3)``); its parameters are then frozen. The fit stops
    when every restart has, and keeps the restart with the highest ELBO (ties: the lowest index).
    At ``n_iter`` with restarts still running it keeps the highest ELBO too, and ``converged_`` and
    the ConvergenceWarning are that restart's (``restart_iters_`` shows those cut at ``n_iter``).
    ``history_`` holds, per iteration, the largest change among the restarts still running
    (``_change``), ``elbos_`` the ELBO of each restart at its last iteration.

    The tables hold one row per observed (worker, label) pair (:mod:`galton.aggregator._pairs`),
    so memory grows with the pairs, not with workers x labels x labels x subtypes; a label a
    worker never gave keeps its prior (``mu = beta``) and counts only in the column sums.

    A label declared with ``labels=`` that no judgment and no gold gives is no class of the data:
    the fit is that of the labels in use, and the unused label gets probability 0 (``priors_`` 0,
    0 in ``errors_`` as answer and as true label, its ``subtype_weights_`` row the prior's
    ``1 / M``). It entered the Dirichlet priors of the answers (``beta`` over K labels) and the
    class proportions, which moved 46 of zheng_s_face's 584 labels. Judgments loaded with
    ``load_parquet`` cannot be re-coded: there such a label is refused.

    Parameters
    ----------
    n_iter : int, default 500
        Maximum number of VB iterations (the authors' ``max_iter``; ``max_iter`` is accepted too: the same limit; both
        set to different values is refused).
    tol : float, default 1e-3
        A restart stops when the largest change of a task's class probability falls below ``tol``.
    n_subtypes : int, default 10
        Subtypes per class (M).
    n_init : int, default 40
        Restarts, run side by side in each pass over the data.
    prior_diag, prior_off : float, default 4 and 1
        Dirichlet pseudo-counts of a worker's right answer and of each wrong one, per subtype.
    a_pi : float, default 0.1
        Total concentration of the subtype weights of a class.
    empirical_prior : bool, default True
        Class-proportion prior from the majority-vote totals (else 1 per class).
    random_state : int or None, default 0
        Seed of the restarts' starts (restart r uses ``random_state + r``).
    engine, n_shards, progress
        As everywhere in galton.

    Attributes
    ----------
    labels_, probas_ : aggregated labels and the class posteriors ``z_t`` of the best restart.
    errors_ : each worker's confusion matrix with the subtypes summed out,
        ``sum_m E[pi_km] E[v_w[k, m, l]]``, index (worker, observed label), columns true label
        (beyond ``DENSE_ERRORS_MAX`` cells, only the rows of the (worker, label) pairs observed).
    priors_ : ``E[tau]`` (a label the fit shut out keeps a share here: warned, see ``warn_collapsed``);
        skills_ : ``sum_k E[tau_k] errors_w[k, k]``.
    subtype_weights_ : (K, M) array ``E[pi]`` of the best restart.
    elbos_ : (n_init,) ELBO of each restart; best_restart_, elbo_; restart_iters_ : iterations per
        restart; history_, n_iter_; converged_ : whether the chosen restart stopped by ``tol``.

    ``predict`` / ``predict_proba`` on new data run one E-step with the best restart's parameters:
    a fitted worker's label it never gave keeps its prior share, a worker the fit never saw
    carries no information.
    """

    shard_state = ("ebcc_z",)
    monotone = False
    #: parts of a fit are frozen by ``tol`` (converged restarts / classes): a checkpoint of another
    #: ``tol`` is another fit (resumed, it kept the other tol's frozen parts)
    checkpoint_keeps_tol = True
    #: integer arrays the fit changes: counts, no indices (a resumed checkpoint's are checked as >= 0)
    checkpoint_counts = ("iters",)
    change_name = "largest change of a class probability"
    errors_ = DeferredResult()  # polars / Arrow: built on first read
    _empty_attrs = {"errors_": ("errors", ""), "priors_": ("priors", ""), "skills_": ("worker", "skill")}
    _kept_settings = ("prior_diag", "prior_off")  # predict on new data reads the fit's (_params.fit_setting)

    def __init__(self, n_iter: int = 500, tol: float = 1e-3, *, n_subtypes: int = 10, n_init: int = 40,
                 prior_diag: float = 4.0, prior_off: float = 1.0, a_pi: float = 0.1,
                 empirical_prior: bool = True, max_iter: int | None = None, random_state: Any = 0,
                 engine: Any = None, n_shards: int | None = None, progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.n_subtypes = n_subtypes
        self.n_init = n_init
        self.prior_diag = prior_diag
        self.prior_off = prior_off
        self.a_pi = a_pi
        self.empirical_prior = empirical_prior
        self.max_iter = max_iter
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "EBCC":
        """Fit by variational Bayes; ``gold`` (crowd-kit: ``true_labels``) clamps known tasks."""
        self._reset()  # the previous fit's results go first, also when this fit is refused
        gold = gold_keyword(self, gold, kwargs)
        for name in ("n_subtypes", "n_init"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")
        for name in ("prior_diag", "prior_off", "a_pi"):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)  # True was taken as 1
            if not (ok and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
        return super().fit(data, gold, **kwargs)  # type: ignore[return-value]

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int, n_judgments: int) -> tuple[int, str]:
        """Bytes of a fit: the restarts' class posteriors kept with the shards (and the E-step's
        new copy), R x tasks x K x 2; one restart's start, tasks x K x M x 2; the restarts'
        expected counts, expected-log tables and the M-step's scratch, R x pairs x K x M x 4, one
        row per observed (worker, label) pair (``P <= min(judgments, workers x labels)``); the
        pair index and the judgments per (worker, label), workers x K x 12; ``errors_``, whole
        matrices up to ``DENSE_ERRORS_MAX`` cells (else the pairs' rows), x 2."""
        base, _ = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        r, m, k, w = int(self.n_init), int(self.n_subtypes), int(n_labels), int(n_workers)
        pairs = min(int(n_judgments), w * k)
        tasks = FLOAT * int(n_tasks) * k * (2 * r + 2 * m)
        cube = 4 * FLOAT * r * pairs * k * m
        cells = w * k * k
        shown = 2 * FLOAT * (cells if cells <= DENSE_ERRORS_MAX else pairs * k)
        return (base + tasks + cube + shown + 12 * w * k + FLOAT * k * k,
                f"{r} restarts x {n_tasks:,} tasks x {k} labels and {r} restarts x {pairs:,} observed "
                f"(worker, label) pairs x {k} labels x {m} subtypes")

    # ---------------------------------------------------------------- statistics of one shard
    def _start_posteriors(self, shard: Shard, params: Any) -> np.ndarray:
        """The majority-vote shares (gold clamped) every restart starts from."""
        return vote_shares(shard.task, shard.label, shard.gold, shard.n_labels)

    def _start_stats(self, shard: Shard, keys: np.ndarray, tasks: np.ndarray | None, rows: np.ndarray,
                     n_pairs: int) -> dict[str, Any]:
        """Counts of the random starts of every restart, per observed pair (``rows``: the pair of
        each ``worker * K + label``); keeps the start's class posteriors. ``tasks``: every task's
        key (:func:`task_keys` of its id), by task code; None: the shard holds its tasks' ids (data
        ingested by shards) and keys them itself."""
        k, m, n_r = shard.n_labels, int(self.n_subtypes), keys.size
        z = self._start_posteriors(shard, None)
        own = tasks[shard.task_ids] if tasks is not None else task_keys(getattr(shard, "task_names"))
        pc = pair_codes(shard, rows)
        counts = np.empty((n_r, n_pairs, k * m))
        cc = np.empty((n_r, k * m))
        for r in range(n_r):
            q = subtype_start(keys[r], own, z, m)
            counts[r] = counts_from_post(shard.task, pc, q, n_pairs)
            cc[r] = q.sum(axis=0)
        shard.state["ebcc_z"] = np.broadcast_to(z, (n_r,) + z.shape).copy()
        return {"counts": counts, "cc": cc, "votes": z.sum(axis=0)}

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        pc = pair_codes(shard, params["rows"])
        ll, counts, cc, change, z = ebcc_estep(shard.indptr, shard.task, pc, params["table"],
                                               params["logprior"], shard.gold, params["active"],
                                               shard.state["ebcc_z"], shard.n_labels)
        shard.state["ebcc_z"] = z
        return {"ll": ll, "counts": counts, "cc": cc, _CHANGE: change}

    def _map_e_step(self, engine: Any, params: dict[str, Any]) -> dict[str, Any]:
        """The E-step over every shard: sums in shard order, and the largest change of any shard."""
        parts = engine.map(self._e_step, params)
        out = {key: parts[0][key].copy() for key in ("ll", "counts", "cc")}
        for p in parts[1:]:
            for key in out:
                out[key] = out[key] + p[key]
        out[_CHANGE] = np.max([p[_CHANGE] for p in parts], axis=0)
        return out

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        best = int(params["best"])
        one = slice(best, best + 1)
        z0 = self._start_posteriors(shard, None)[None]
        pc = pair_codes(shard, params["rows"])
        out = ebcc_estep(shard.indptr, shard.task, pc, params["table"][one], params["logprior"][one],
                         shard.gold, np.ones(1, dtype=bool), z0, shard.n_labels)
        # the class posteriors are sums of their subtypes' (each row of those sums to 1): the sums'
        # rounding gave 1.0000000000000002 on unanimous tasks; divided by the row's sum, none is above 1
        z = out[4][0]
        return z / np.maximum(z.sum(axis=1, keepdims=True), EPS)

    # ---------------------------------------------------------------- VB steps
    def _seed(self, rng: np.random.Generator) -> int:
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(rng.integers(0, 2**63))

    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        n_r, w, k, m = int(self.n_init), judgments.n_workers, judgments.n_labels, int(self.n_subtypes)
        keys = restart_keys(self._seed(rng), n_r)
        # keyed by the tasks' own ids: shards of data read in memory get every key (by code) from
        # here, shards of ingested data hold their ids and hash them where they are
        tasks = None if isinstance(judgments, LoadedData) else task_keys(judgments.task_names)
        seen = engine.map_sum(seen_stats)["seen"]
        pairs = pair_memory(seen, w, k)  # the tables' rows: the observed (worker, label) pairs
        n_p = int(pairs["pairs"].size)
        stats = engine.map_sum(self._start_stats, keys, tasks, pairs["rows"], n_p)
        alpha = stats.pop("votes") if self.empirical_prior else np.ones(k)
        # a class of labels= that no judgment gave has an empirical prior of 0, and digamma(0) made
        # every restart's ELBO NaN: a floor keeps it at (nearly) no mass, as the fit without it
        alpha = np.maximum(alpha, _UNUSED_CLASS_PRIOR)
        beta = np.full((k, k), float(self.prior_off))  # [observed l, true k]
        np.fill_diagonal(beta, float(self.prior_diag))
        memory = {"sizes": (int(w), int(k), int(m)), "n_workers": int(w), "n_labels": int(k), **pairs,
                  "pair_labels": pair_labels(pairs["pairs"], max(int(k), 1)), "alpha": np.asarray(alpha, dtype=float), "beta": beta,
                  "done": np.zeros(n_r, dtype=bool), "elbo": np.full(n_r, -np.inf), "kl": np.zeros(n_r),
                  "iters": np.zeros(n_r, dtype=np.int64), "frozen_best": -1, "frozen_mean": {},
                  "table": np.zeros((n_r, n_p, k * m)), "logprior": np.zeros((n_r, k * m))}
        stats[_CHANGE] = np.full(n_r, np.inf)
        stats["ll"] = np.zeros(n_r)
        return self._update(stats, memory, first=True)

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._update(stats, memory, first=False)

    def _update(self, stats: dict[str, Any], memory: dict[str, Any],
                first: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """The M-step of every running restart (frozen ones keep their tables), then which
        restarts stop and which is best so far."""
        w, k, m = memory["sizes"]
        running = np.flatnonzero(~memory["done"])
        table, logprior, kl = memory["table"], memory["logprior"], memory["kl"]
        if not first:
            memory["elbo"][running] = stats["ll"][running] - kl[running]
            memory["iters"][running] += 1
        beta, alpha = memory["beta"], memory["alpha"]
        a_sub = float(self.a_pi) / m
        new_tables, kl_v = ebcc_mstep(stats["counts"], beta, k, running, memory["pair_labels"], memory["wptr"])
        table[running] = new_tables
        del new_tables
        for i, r in enumerate(running):
            eta = stats["cc"][r].reshape(k, m) + a_sub
            nu = stats["cc"][r].reshape(k, m).sum(axis=1) + alpha
            elog_pi = digamma(eta) - digamma(eta.sum(axis=1, keepdims=True))
            elog_tau = digamma(nu) - digamma(nu.sum())
            logprior[r] = (elog_tau[:, None] + elog_pi).ravel()
            kl[r] = (kl_v[i] + dirichlet_kl(eta, np.full(eta.shape, a_sub), axis=1, elog=elog_pi)
                     + dirichlet_kl(nu, alpha, axis=0, elog=elog_tau))
        if not first:
            stop = running[stats[_CHANGE][running] < self.tol]
            memory["done"][stop] = True
            for r in stop:  # the means of the best stopped restart, from the counts of its tables
                f = int(memory["frozen_best"])
                if f < 0 or memory["elbo"][r] > memory["elbo"][f] or (memory["elbo"][r] == memory["elbo"][f] and r < f):
                    memory["frozen_best"], memory["frozen_mean"] = int(r), self._means(stats, memory, int(r))
        best = int(np.argmax(memory["elbo"]))
        if memory["done"][best] and int(memory["frozen_best"]) == best:
            mean = memory["frozen_mean"]
        else:
            mean = self._means(stats, memory, best)
        params = {"table": table, "logprior": logprior, "rows": memory["rows"], "pairs": memory["pairs"],
                  "active": ~memory["done"], "best": best,
                  "elbos": memory["elbo"].copy(), "iters": memory["iters"].copy(), **mean}
        return params, memory

    def _means(self, stats: dict[str, Any], memory: dict[str, Any], r: int) -> dict[str, np.ndarray]:
        """Posterior means of restart ``r`` from the statistics its new tables were made of: the
        worker's confusion rows with the subtypes summed out, ``sum_m E[pi_km] E[v_w[k, m, l]]``,
        of the observed pairs (``errors``, P x K) and of the labels a worker never gave (``fill``,
        workers x 2 x K: off the diagonal, on it)."""
        k, m = memory["sizes"][1:]
        beta, pl = memory["beta"], memory["pair_labels"]
        counts = stats["counts"][r].reshape(-1, k, m)
        a0 = beta.sum(axis=0)[None, :, None] + per_worker_sum(counts, memory["wptr"])  # (W, K, M)
        eta = stats["cc"][r].reshape(k, m) + float(self.a_pi) / m
        nu = stats["cc"][r].reshape(k, m).sum(axis=1) + memory["alpha"]
        pi = eta / eta.sum(axis=1, keepdims=True)
        v = (counts + beta[pl][:, :, None]) / a0[pair_workers(memory["pairs"], k)]
        off = beta[(np.arange(k) + 1) % k, np.arange(k)]  # beta's off-diagonal value per class
        fill = np.stack([np.einsum("wkm,km->wk", off[None, :, None] / a0, pi),
                         np.einsum("wkm,km->wk", np.diag(beta)[None, :, None] / a0, pi)], axis=1)
        # a0: the column sums of each worker's subtype tables (W, K, M), kept for predict
        return {"errors": np.einsum("pkm,km->pk", v, pi), "fill": fill, "pi_mean": pi, "tau_mean": nu / nu.sum(),
                "a0": a0}

    def _run(self, eng: Any, judgments: Judgments, rng: np.random.Generator) -> tuple[Any, np.ndarray | None]:
        """The fit, with ``converged_`` and the ConvergenceWarning of the chosen restart: a fit that
        reaches ``n_iter`` with restarts still running returns the best ELBO's, and where that one
        had stopped it is a converged fit (it warned that it did not converge)."""
        self._limit_warning = None  # kept by _not_converged, said below for the chosen restart only
        try:
            params, post = super()._run(eng, judgments, rng)
        finally:
            message = self.__dict__.pop("_limit_warning", None)
        running = np.asarray(params["active"])
        if message is not None:
            best, others = int(params["best"]), int(running.sum()) - 1
            if running[best]:
                note = (f"the chosen restart {best} (best ELBO) and {others} other{'s' * (others != 1)} of "
                        f"{running.size} were still running")
                head, sep, tail = message.rpartition("; raise ")
                super()._not_converged(f"{head}; {note}{sep}{tail}" if sep else f"{message} ({note})")
            else:  # its results are those of a converged restart; those cut short are in restart_iters_
                self.converged_ = True
        return params, post

    def _not_converged(self, message: str) -> None:
        self._limit_warning = message

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        """The largest change of a class probability among the restarts still running."""
        change = stats[_CHANGE][params["active"]]
        return float(change.max()) if change.size else 0.0

    def _change(self, history: list[float], n: int) -> float:
        return history[-1]

    def _progress_info(self, obj: float, delta: float) -> str:
        return f"largest change {obj:.3g}"

    # ---------------------------------------------------------------- new data with fitted workers
    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        """Class posteriors of new tasks under the best restart's fitted parameters: one E-step
        with its expected logs (a fitted worker's label it never gave: the prior's share, as in the
        fit; a worker the fit never saw carries no information) and its class-and-subtype prior."""
        fitted, new = self.judgments_, self._new_judgments(data)
        self._check_memory(new)
        params, diag, off = self._params, fit_setting(self, "prior_diag"), fit_setting(self, "prior_off")  # the fit's
        k, m = fitted.n_labels, params["a0"].shape[-1]  # (as its subtypes: a set_params after it changes nothing)
        scored = new_data_pairs(fitted, new, params["rows"])
        eng, memory, pl, fw, fitted_row = (scored[key] for key in ("engine", "memory", "pl", "fw", "row"))
        # a label a fitted worker never gave keeps its prior, mu = beta[l, k]: the expected log is
        # psi(beta[l, k]) - psi(a0[w, k, m]), a0 the worker's column sums (as in the fit)
        beta = np.full((k, k), float(off))  # [observed l, true k]
        np.fill_diagonal(beta, float(diag))
        table = (digamma(beta[pl])[:, :, None] - digamma(params["a0"][np.maximum(fw, 0)])).reshape(pl.size, k * m)
        have = fitted_row >= 0
        table[have] = params["table"][fitted_row[have]]
        table[fw < 0] = 0.0  # a worker the fit never saw carries no information
        new_params = {"table": table[None], "logprior": params["logprior"][None], "rows": memory["rows"], "best": 0}
        post = eng.gather(self._posteriors, new_params)
        codes = argmax_ties_low(post)
        out = self._new_out(new)
        return out.labels(new.task_names, new.label_names, codes), out.probas(new.task_names, new.label_names, post)

    def _declared_params(self, params: dict[str, Any], used: np.ndarray) -> dict[str, Any]:
        """The best restart's parameters over the declared labels: pair codes re-coded, an unused
        class's expected logs -inf, its errors and proportion 0, its subtype weights the prior's mean
        ``1 / M`` and its column sums the prior's (read by ``predict``, never winning)."""
        m, k = int(self.n_subtypes), used.size
        n_workers = params["rows"].size // max(int(used.sum()), 1)
        pairs = expand_params({"pairs": params["pairs"], "rows": params["rows"]}, used, n_workers)
        pi = np.full((k, m), 1.0 / m)
        pi[used] = params["pi_mean"]
        column_sum = float(self.prior_diag) + (k - 1) * float(self.prior_off)  # beta's, over the declared labels
        a0 = np.moveaxis(label_columns(np.moveaxis(params["a0"], 1, 2), used, column_sum), 2, 1)
        return {**params, **pairs, "table": _subtype_columns(params["table"], used, m, -np.inf),
                "logprior": _subtype_columns(params["logprior"], used, m, -np.inf),
                "errors": label_columns(params["errors"], used), "fill": label_columns(params["fill"], used),
                "tau_mean": label_columns(params["tau_mean"], used), "pi_mean": pi, "a0": a0}

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        best = int(params["best"])  # the best restart only, then over the declared labels (labels=[...])
        params = {**params, "table": params["table"][best], "logprior": params["logprior"][best]}
        params, judgments = self._declared_results(params, judgments)
        warn_collapsed(judgments.label_names, params["logprior"], self.n_subtypes)
        self._params = {**{key: params[key] for key in ("table", "logprior", "rows", "pairs", "a0")}, "best": best}
        out = self._out
        pi, tau, rows, fill = params["pi_mean"], params["tau_mean"], params["errors"], params["fill"]
        used = self.__dict__.get("_used")
        if used is None:
            self._deferred("errors_", errors_output, out, judgments, rows, fill, params["pairs"])
        else:  # 0 for an unused label as answer too (its fill is the prior's share)
            self._deferred("errors_", declared_errors, out, judgments, rows, fill, params["pairs"], used)
        self.priors_ = out.priors(judgments.label_names, tau)
        self.skills_ = out.per_worker(judgments.worker_names, np.einsum("wk,k->w", diagonal(rows, fill, params["pairs"]), tau),
                                      "skill")
        self.subtype_weights_ = pi
        self.elbos_ = np.array(params["elbos"], dtype=float)
        self.restart_iters_ = np.array(params["iters"], dtype=np.int64)
        self.best_restart_ = best
        self.elbo_ = float(self.elbos_[best])
